# Shared environment for every project script: one cache outside the clone, so a
# fresh clone on the same machine reuses what earlier runs built.
# shellcheck shell=bash
export NBV_CACHE="${NBV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nbv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$NBV_CACHE/target}"
export NBV_VENV="${NBV_VENV:-$NBV_CACHE/venv}"
export PATH="$NBV_VENV/bin:$PATH"
