#!/usr/bin/env bash
# `nbv run` against papermill on the same 20-cell notebook and the same
# ipykernel, side by side, several times. Prints every wall time, the means
# and the ratio nbv/papermill (goal: <= 0.5). Uses hyperfine when it is
# installed (or installable with apt), else a plain loop.
#
#   RUNS=10 bench/runner_vs_papermill.sh        # more runs
#   NBV_BIN=/path/to/nbv bench/runner_vs_papermill.sh   # e.g. the static musl build
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup-python.sh

runs="${RUNS:-5}"
notebook=bench/notebook20.ipynb
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# papermill lives in its own venv so it can never leak into the runner's.
bench_venv="$NBV_CACHE/bench-venv"
req=bench/requirements-bench.txt
stamp="$bench_venv/.nbv-requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "bench: creating $bench_venv with $(grep -v '^#' "$req" | tr '\n' ' ')" >&2
  rm -rf "$bench_venv"
  base_python="$(PATH="${PATH//"$NBV_VENV/bin:"/}" command -v python3)"
  "$base_python" -m venv "$bench_venv"
  "$bench_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi

if [[ -z "${NBV_BIN:-}" ]]; then
  cargo build --quiet --release -p nbv --no-default-features --bin nbv
  NBV_BIN="$CARGO_TARGET_DIR/release/nbv"
fi

nbv_cmd="$NBV_BIN run -q $notebook -o $work/nbv.ipynb --kernel python3"
pm_cmd="$bench_venv/bin/papermill --log-level ERROR -k python3 $notebook $work/papermill.ipynb"

# Both must actually succeed before their times mean anything.
$nbv_cmd
$pm_cmd 2>/dev/null

if ! command -v hyperfine >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  { apt-get install -y -qq hyperfine || { apt-get update -qq && apt-get install -y -qq hyperfine; }; } >/dev/null 2>&1 || true
fi

if command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs "$runs" --export-json "$work/times.json" \
    -n "nbv run" "$nbv_cmd" -n papermill "$pm_cmd" >&2
  python3 - "$work/times.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for name, r in results.items():
    print(f"{name:>9}: " + " ".join(f"{t:.3f}s" for t in r["times"]) + f"  mean {r['mean']:.3f}s")
ratio = results["nbv run"]["mean"] / results["papermill"]["mean"]
print(f"ratio nbv/papermill: {ratio:.2f} (goal <= 0.5)")
PY
else
  echo "bench: hyperfine not available; timing a plain loop" >&2
  python3 - "$runs" "$nbv_cmd" "$pm_cmd" <<'PY'
import shlex, subprocess, sys, time
runs, commands = int(sys.argv[1]), {"nbv run": sys.argv[2], "papermill": sys.argv[3]}
times = {name: [] for name in commands}
for _ in range(runs):
    # Alternate so drift in machine load hits both alike.
    for name, cmd in commands.items():
        started = time.perf_counter()
        subprocess.run(shlex.split(cmd), check=True, stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - started)
mean = {name: sum(ts) / len(ts) for name, ts in times.items()}
for name, ts in times.items():
    print(f"{name:>9}: " + " ".join(f"{t:.3f}s" for t in ts) + f"  mean {mean[name]:.3f}s")
print(f"ratio nbv/papermill: {mean['nbv run'] / mean['papermill']:.2f} (goal <= 0.5)")
PY
fi
