#!/usr/bin/env bash
# The strategy runtime's cost per call and per load, against a native
# trait-object baseline: runs the criterion bench of host/runtime, then prints
# each measurement (criterion's estimate and its 95% interval), its goal and the
# ratio wasm/native.
#
#   bench/strategy_runtime.sh              # bench, then the table
#   NO_RUN=1 bench/strategy_runtime.sh     # only the table, from the last run
#
# Goals: warm call <= 100 us, load from the compile cache <= 5 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

if [[ -z "${NO_RUN:-}" ]]; then
  cargo bench -p nbv-runtime --bench strategy_calls
fi

python3 - "$CARGO_TARGET_DIR/criterion" <<'PY'
import json, os, sys

root = sys.argv[1]

def mean(group, name):
    """Criterion's headline estimate (the slope when it sampled linearly, else
    the mean) and its 95% interval for group/name, in nanoseconds."""
    path = os.path.join(root, group, name, "new", "estimates.json")
    try:
        with open(path) as f:
            e = json.load(f)
        m = e.get("slope") or e["mean"]
    except (OSError, KeyError, ValueError) as err:
        sys.exit(f"strategy_runtime.sh: no estimate at {path} ({err}); run without NO_RUN")
    ci = m["confidence_interval"]
    return m["point_estimate"], ci["lower_bound"], ci["upper_bound"]

def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"

native_detect = mean("native", "detect")[0]
native_lookup = mean("native", "context-lookup")[0]
rows = [
    # (what, group, name, goal in ns or None, native baseline in ns or None)
    ("warm detect (fresh instance)", "warm", "detect", 100e3, native_detect),
    ("warm build-status (+1 k8s.get)", "warm", "build-status", 100e3, native_lookup),
    ("load, compile cache hit", "load", "cached", 5e6, None),
    ("load, first compile", "load", "compile", None, None),
    ("native dyn detect()", "native", "detect", None, None),
    ("native context clone + lookup", "native", "context-lookup", None, None),
]
header = f"{'measurement':<32} {'time':>10} {'95% interval':>21} {'goal':>10} {'met':>4} {'x native':>10}"
print()
print(header)
print("-" * len(header))
failed = False
for what, group, name, goal, base in rows:
    m, lo, hi = mean(group, name)
    met = ""
    if goal is not None:
        met = "yes" if m <= goal else "NO"
        failed |= m > goal
    ratio = f"{m / base:,.0f}x" if base else ""
    print(f"{what:<32} {fmt(m):>10} {fmt(lo) + ' .. ' + fmt(hi):>21} "
          f"{fmt(goal) if goal else '':>10} {met:>4} {ratio:>10}")
print()
print("wasm/native ratios compare each warm call with its native equivalent;")
print("a warm call includes instantiating the component in a fresh store.")
sys.exit(1 if failed else 0)
PY
