#!/usr/bin/env bash
# Creates the venv the local runner and the tests use: $NBV_VENV (under the
# user's cache, so fresh clones reuse it) with the kernel pinned in
# scripts/requirements-kernel.txt. Registers nothing globally: the runner finds
# the kernel because scripts/env.sh puts $NBV_VENV/bin on PATH, and the venv's
# share/jupyter/kernels/python3 kernelspec comes with ipykernel.
#
# Idempotent: does nothing when the stamp holds the hash of the requirements
# and of the Python version they were installed for.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=env.sh
source scripts/env.sh

req=scripts/requirements-kernel.txt
# The base interpreter, not the venv's own python3 that env.sh put first on PATH.
python="${NBV_PYTHON:-$(PATH="${PATH//"$NBV_VENV/bin:"/}" command -v python3 || true)}"
[[ -n "$python" ]] || {
  echo "setup-python: $python is required for the local Jupyter kernel (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
}
stamp="$NBV_VENV/.nbv-requirements.sha256"
want="$( (cat "$req"; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$NBV_VENV/bin/python" ]]; then
  exit 0
fi

if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "setup-python: $python lacks venv/ensurepip (Debian: apt-get install python3-venv)" >&2
  exit 1
fi

echo "setup-python: creating $NBV_VENV ($(grep -v '^#' "$req" | tr '\n' ' '))" >&2
# A half-built venv from an interrupted run is not worth repairing.
rm -rf "$NBV_VENV"
mkdir -p "$(dirname "$NBV_VENV")"
"$python" -m venv "$NBV_VENV"
"$NBV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
# Fail here, not in the first notebook run, if the kernel cannot be imported.
"$NBV_VENV/bin/python" -c 'import ipykernel, ipykernel_launcher'
echo "$want" >"$stamp"
echo "setup-python: kernel ready: $("$NBV_VENV/bin/python" -c 'import ipykernel; print("ipykernel", ipykernel.__version__)')" >&2
