#!/usr/bin/env bash
# Runs the varscope benchmarks and the PyTorch peer in the same run, single
# thread, and prints medians and ratios (peer / varscope; > 1 means varscope is faster).
# The machine is noisy, so each benchmark runs ours then the peer back to back,
# for ROUNDS rounds (default 3); each side's number is the median of its
# per-round medians, the ratio is the median of the per-round ratios (range in brackets).
# FILTER (a regex) picks benchmarks. BENCH=lstm runs bench/lstm_bench.cpp against
# bench/peer_torch_lstm.py (torch.nn.LSTM) instead of the GRU pair; BENCH=attention runs
# bench/attention_bench.cpp (attention beam search, issue 21) against bench/peer_torch_attention.py,
# on varscope's own weights (attention_bench --export, read by the peer, which also compares its
# beams with varscope's). Benchmarks that report a `flops` counter also get GFLOP/s and their share
# of sgemm_peak's (varscope's side). THREADS=n (default 1) pins both sides to cores 0..n-1 and sets
# OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / VARSCOPE_NUM_THREADS and the attention peer's
# and the GRU and attention peers' torch.set_num_threads to n (the LSTM peer always uses 1 torch thread).
# Needs the native build (npx cmake --preset native && npx cmake --build --preset native)
# and, for the peer, apt python3-torch + libopenblas0-pthread.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${BENCH:-gru}" in
  gru) bin=build/native/bench/gru_bench peer=bench/peer_torch.py ;;
  lstm) bin=build/native/bench/lstm_bench peer=bench/peer_torch_lstm.py ;;
  attention) bin=build/native/bench/attention_bench peer=bench/peer_torch_attention.py ;;
  *) echo "BENCH must be gru, lstm or attention, got '$BENCH'" >&2; exit 2 ;;
esac
[ -x "$bin" ] || { echo "build first: npx cmake --build --preset native --target $(basename "$bin")" >&2; exit 2; }
out=$(mktemp -d)
. bench/threads.sh  # $threads, $cpus, $ours_wait, $peer_wait and the thread variables
if [ "${BENCH:-gru}" = attention ]; then
  export ATTN_EXPORT_DIR="$out/export"
  mkdir -p "$ATTN_EXPORT_DIR" && "$bin" --export "$ATTN_EXPORT_DIR"
fi
echo "threads: $threads (cores $cpus); OMP_WAIT_POLICY varscope ${ours_wait:-default}, peer ${peer_wait:-default}; peer malloc ${peer_malloc:-glibc default}; raw results in $out" >&2
have_torch=0
/usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
[ $have_torch = 1 ] || echo "(PyTorch not installed: apt-get install python3-torch libopenblas0-pthread)"
names=$("$bin" --benchmark_list_tests | grep -E "${FILTER:-.}")
for round in $(seq "${ROUNDS:-3}"); do
  for name in $names; do
    f="$out/$(echo "$name" | tr / _).$round"
    env ${ours_wait:+OMP_WAIT_POLICY=$ours_wait} taskset -c "$cpus" "$bin" --benchmark_filter="^$name\$" --benchmark_repetitions="${REPS:-5}" \
      --benchmark_report_aggregates_only=true --benchmark_format=json >"$f.ours.json"
    if [ $have_torch = 1 ]; then env $peer_malloc ${peer_wait:+OMP_WAIT_POLICY=$peer_wait} taskset -c "$cpus" /usr/bin/python3 "$peer" "^$name\$" >"$f.peer.json"
    else echo "{}" >"$f.peer.json"; fi
  done
done
/usr/bin/python3 - "$out" "${ROUNDS:-3}" $names <<'PY'
import glob, json, statistics, sys
out, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def load(name, r, side):
    return json.load(open(f"{out}/{name.replace('/', '_')}.{r}.{side}.json"))
first = load(names[0], 1, "ours")
peer0 = load(names[0], 1, "peer")
ctx = first["context"]
print(f"machine: {ctx.get('host_name','?')}, {ctx['num_cpus']} cpus @ {ctx['mhz_per_cpu']} MHz; "
      f"peer BLAS: {peer0.get('blas','-')} (torch {peer0.get('torch','-')}); {rounds} rounds")
def median_of(o, key):  # REPS=1 gives no aggregates: the one run is the median
    return next((b[key] for b in o["benchmarks"] if b.get("aggregate_name") == "median"), o["benchmarks"][0][key])
rows = []
for name in names:
    t, p, flops = [], [], None
    for r in range(1, rounds + 1):
        o = load(name, r, "ours")
        t.append(median_of(o, "real_time"))
        flops = next((b.get("flops") for b in o["benchmarks"] if b.get("aggregate_name") == "median"), None) \
            or o["benchmarks"][0].get("flops")
        p.append(load(name, r, "peer").get(name))
    gflops = flops / statistics.median(t) / 1e3 if flops else None  # real_time is in microseconds
    rows.append((name, t, p, gflops))
peak = next((g for n, _, _, g in rows if n.startswith("sgemm_peak") and g), None)
w = max(20, max(len(n) for n in names) + 2)
print(f"{'benchmark':<{w}}{'varscope us':>14}{'pytorch us':>14}{'ratio':>9}  per-round ratios"
      + ("      GFLOP/s  % of sgemm peak" if peak else "") + "  per-round us: varscope | pytorch")
for name, t, p, gflops in rows:
    extra = f"   {gflops:8.1f}  {100 * gflops / peak:5.1f}%" if peak and gflops else ""
    extra += f"  [{min(t):.0f}-{max(t):.0f}]" + (f" | [{min(p):.0f}-{max(p):.0f}]" if all(p) else "")
    if all(p):
        ratios = [pi / ti for pi, ti in zip(p, t)]
        print(f"{name:<{w}}{statistics.median(t):14.1f}{statistics.median(p):14.1f}{statistics.median(ratios):8.2f}x"
              f"  [{min(ratios):.2f}-{max(ratios):.2f}]{extra}")
    else:
        print(f"{name:<{w}}{statistics.median(t):14.1f}{'-':>14}{'-':>9}{extra}")
if "beam_steps" in peer0:
    print(f"peer beam steps: {peer0['beam_steps']}")
import os
if os.environ.get("PEER_THREADS", "1") == "1" and all("cpu" in load(n, 1, "peer") for n in names):
    # CPU time of the process (ours: Google Benchmark's cpu_time, the timing thread; peer: process_time):
    # less moved by other processes than wall time. THREADS=1 only (with more, Google Benchmark's cpu_time
    # leaves out OpenBLAS's helper threads while process_time counts torch's).
    print("CPU time (one thread: what the machine's other load does not steal); GFLOP/s and % of sgemm peak on CPU time:")
    cpu_rows = []
    for name in names:
        t = [median_of(load(name, r, "ours"), "cpu_time") for r in range(1, rounds + 1)]
        p = [load(name, r, "peer")["cpu"].get(name) for r in range(1, rounds + 1)]
        flops = median_of(load(name, 1, "ours"), "flops") if "flops" in load(name, 1, "ours")["benchmarks"][0] else None
        cpu_rows.append((name, t, p, flops / statistics.median(t) / 1e3 if flops else None))
    cpu_peak = next((g for n, _, _, g in cpu_rows if n.startswith("sgemm_peak") and g), None)
    for name, t, p, g in cpu_rows:
        if all(p):
            ratios = [pi / ti for pi, ti in zip(p, t)]
            share = f"   {g:8.1f}  {100 * g / cpu_peak:5.1f}%" if g and cpu_peak else ""
            print(f"{name:<{w}}{statistics.median(t):14.1f}{statistics.median(p):14.1f}{statistics.median(ratios):8.2f}x"
                  f"  [{min(ratios):.2f}-{max(ratios):.2f}]{share}  [{min(t):.0f}-{max(t):.0f}] | [{min(p):.0f}-{max(p):.0f}]")
for name in names:  # varscope's output checksums (counter `checksum`): one value over every round, or a broken decode
    sums = {next((x.get("checksum") for x in load(name, r, "ours")["benchmarks"] if x.get("aggregate_name") == "median"), None)
            for r in range(1, rounds + 1)} - {None}
    if sums:
        print(f"varscope checksum, {name}: {', '.join(f'{c:.6g}' for c in sorted(sums))}")
for name in names:  # the attention peer's beams against varscope's, per benchmark
    beams = load(name, 1, "peer").get("beams", {}).get(name)
    if beams:
        print(f"peer beams vs varscope, {name}: {beams}")
PY
