#!/usr/bin/env bash
# One training step of the article's seq2seq (forward, backward, Adam), varscope
# vs PyTorch 1.13 in the same run: ROUNDS rounds (default 5), each running
# varscope's bench/train_bench and then bench/train_peer_torch.py, every shape in
# its own process (peak RSS per shape). THREADS=n (default 1) pins both to cores 0..n-1 and
# sets VARSCOPE_NUM_THREADS and the peer's torch threads (PEER_THREADS) to n. Prints every
# round's JSON and the medians of wall time, thread CPU time and peak RSS, with
# the ratio PyTorch / varscope (> 1: varscope is faster / smaller).
# Needs: npx cmake --build --preset native --target train_bench; apt python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/native/bench/train_bench
[ -x "$bin" ] || { echo "build first: npx cmake --build --preset native --target train_bench" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
. bench/threads.sh  # $threads, $cpus, $ours_wait, $peer_wait and the thread variables
echo "threads: $threads (cores $cpus); OMP_WAIT_POLICY varscope ${ours_wait:-default}, peer ${peer_wait:-default}; peer malloc ${peer_malloc:-glibc default}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "${ROUNDS:-5}"); do
  for shape in seed medium; do
    env ${ours_wait:+OMP_WAIT_POLICY=$ours_wait} taskset -c "$cpus" "$bin" "$shape" | sed "s/^{/{\"peer\": \"varscope\", \"shape\": \"$shape\", /" | tee -a "$log"
    env $peer_malloc ${peer_wait:+OMP_WAIT_POLICY=$peer_wait} taskset -c "$cpus" /usr/bin/python3 bench/train_peer_torch.py "$shape" | sed "s/^{/{\"peer\": \"pytorch\", \"shape\": \"$shape\", /" \
      | sed 's/, "blas": .*/}/' | tee -a "$log"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(peer, shape, key):
    return statistics.median(r[key] for r in rows if r["peer"] == peer and r["shape"] == shape)
print("| shape | metric | varscope | PyTorch | PyTorch / varscope |")
print("|---|---|---:|---:|---:|")
for shape in ("seed", "medium"):
    for key, label in ((f"{shape}_ms", "ms/step (wall)"), (f"{shape}_cpu_ms", "ms/step (thread CPU)"),
                       ("peak_over_start_mib", "peak RSS over start, MiB")):
        v, p = med("varscope", shape, key), med("pytorch", shape, key)
        print(f"| {shape} | {label} | {v:.1f} | {p:.1f} | {p / v:.2f}x |")
for shape in ("seed", "medium"):
    loop, multi = med("pytorch", shape, f"{shape}_ms_loop"), med("pytorch", shape, f"{shape}_ms_foreach")
    print(f"PyTorch {shape}: Adam(foreach=False) {loop:.2f} ms, Adam(foreach=True) {multi:.2f} ms "
          f"(the peer's number is the faster, per round)")
PY
