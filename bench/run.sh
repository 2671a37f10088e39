#!/usr/bin/env bash
# Runs the varscope benchmarks and the PyTorch peer in the same run, single
# thread, and prints medians and ratios (peer / varscope; > 1 means varscope is faster).
# Needs the native build (npx cmake --preset native && npx cmake --build --preset native)
# and, for the peer, apt packages python3-torch and libopenblas0-pthread.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/native/bench/gru_bench
[ -x "$bin" ] || { echo "build first: npx cmake --build --preset native --target gru_bench" >&2; exit 2; }
out=$(mktemp -d)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
taskset -c 0 "$bin" --benchmark_repetitions="${REPS:-15}" --benchmark_report_aggregates_only=true \
  --benchmark_format=json --benchmark_out="$out/ours.json" --benchmark_out_format=json >/dev/null
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  taskset -c 0 /usr/bin/python3 bench/peer_torch.py > "$out/peer.json"
else
  echo "{}" > "$out/peer.json"; echo "(PyTorch not installed: apt-get install python3-torch libopenblas0-pthread)"
fi
/usr/bin/python3 - "$out/ours.json" "$out/peer.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
peer = json.load(open(sys.argv[2]))
medians = {b["run_name"]: b["real_time"] for b in ours["benchmarks"] if b.get("aggregate_name") == "median"}
print(f"machine: {ours['context'].get('host_name','?')}, {ours['context']['num_cpus']} cpus @ {ours['context']['mhz_per_cpu']} MHz; peer BLAS: {peer.get('blas','-')} (torch {peer.get('torch','-')})")
print(f"{'benchmark':<18}{'varscope us':>14}{'pytorch us':>14}{'ratio':>9}")
for name, t in medians.items():
    p = peer.get(name)
    ratio = f"{p / t:8.2f}x" if p else "     -"
    print(f"{name:<18}{t:14.1f}{(p or float('nan')):14.1f}{ratio}")
PY
