#!/usr/bin/env bash
# A/B of two builds' benchmarks on this machine (docs/benchmarks.md, "one change at a time"):
#   bash bench/ab.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR
# e.g. a worktree of the old commit built with `cmake --build --preset native --target gru_bench
# train_bench`, against build/native. For ROUNDS rounds (default 5) every gru_bench benchmark
# (FILTER, a regex) runs once per binary, the order alternating per round, then train_bench's
# medium step; single thread on core 0. Prints, per benchmark, the median of each side's
# per-round medians and the median after/before ratio with the per-round range (< 1: after is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: bash bench/ab.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR" >&2; exit 2; }
before=$1 after=$2
for d in "$before" "$after"; do
  for b in gru_bench train_bench; do
    [ -x "$d/bench/$b" ] || { echo "$d/bench/$b missing: cmake --build <that build> --target gru_bench train_bench" >&2; exit 2; }
  done
done
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
names=$("$after/bench/gru_bench" --benchmark_list_tests | grep -E "${FILTER:-.}")
rounds=${ROUNDS:-5}
for round in $(seq "$rounds"); do
  if [ $((round % 2)) = 1 ]; then order="before after"; else order="after before"; fi
  for name in $names; do
    for side in $order; do
      dir=$before; [ "$side" = after ] && dir=$after
      taskset -c 0 "$dir/bench/gru_bench" --benchmark_filter="^$name\$" --benchmark_repetitions="${REPS:-5}" \
        --benchmark_report_aggregates_only=true --benchmark_format=json >"$out/$(echo "$name" | tr / _).$round.$side.json"
    done
  done
  for side in $order; do
    dir=$before; [ "$side" = after ] && dir=$after
    taskset -c 0 "$dir/bench/train_bench" medium >"$out/train_medium.$round.$side.json"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$out" "$rounds" $names <<'PY'
import json, statistics, sys
out, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def bench(name, r, side):
    o = json.load(open(f"{out}/{name.replace('/', '_')}.{r}.{side}.json"))
    return next(b["real_time"] for b in o["benchmarks"] if b.get("aggregate_name") == "median")
def train(r, side):
    return json.loads(open(f"{out}/train_medium.{r}.{side}.json").read())["medium_ms"] * 1e3
print("| benchmark | before µs | after µs | after / before | per round |")
print("|---|---:|---:|---:|---|")
rows = [(n, lambda r, s, n=n: bench(n, r, s)) for n in names] + [("train step/medium", train)]
for name, get in rows:
    b = [get(r, "before") for r in range(1, rounds + 1)]
    a = [get(r, "after") for r in range(1, rounds + 1)]
    ratios = [x / y for x, y in zip(a, b)]
    print(f"| {name} | {statistics.median(b):,.1f} | {statistics.median(a):,.1f} | {statistics.median(ratios):.3f} "
          f"| {min(ratios):.3f}-{max(ratios):.3f} |")
PY
