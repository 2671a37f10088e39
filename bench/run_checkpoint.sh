#!/usr/bin/env bash
# Checkpoint throughput, varscope vs PyTorch, in the same run: for ROUNDS rounds
# (default 3), varscope save / restore / ls of the large benchmark model's JSON
# checkpoint, then torch.save / torch.load of the same tensors; each in its own
# process (peak RSS per mode). Prints every round's JSON lines and the medians.
# SCALE (default 1) multiplies the vocabulary (3.6 gives a ~1 GB JSON file).
# Needs: npx cmake --build --preset native --target checkpoint_bench; apt python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/native/bench/checkpoint_bench
[ -x "$bin" ] || { echo "build first: npx cmake --build --preset native --target checkpoint_bench" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
scale=${SCALE:-1}
log="$dir/log.jsonl"
taskset -c 0 "$bin" membw
for round in $(seq "${ROUNDS:-3}"); do
  taskset -c 0 "$bin" write "$dir/model.json" "$scale" | tee -a "$log"
  sync; taskset -c 0 "$bin" restore "$dir/model.json" "$scale" | tee -a "$log"
  taskset -c 0 "$bin" ls "$dir/model.json" | tee -a "$log"
  taskset -c 0 /usr/bin/python3 bench/peer_torch_checkpoint.py save "$dir/model.pt" "$scale" | tee -a "$log"
  sync; taskset -c 0 /usr/bin/python3 bench/peer_torch_checkpoint.py load "$dir/model.pt" | tee -a "$log"
  rm -f "$dir/model.json" "$dir/model.pt"
done
/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows: by.setdefault(r["mode"], []).append(r)
med = lambda m, k: statistics.median(r[k] for r in by[m])
print("\nmedians over %d rounds" % len(by["restore"]))
for m in ("save", "restore", "ls"):
    print("  varscope %-8s %7.3f s  %7.1f MB/s of JSON  (%.1f MB of values/s)  peak RSS %.0f MB" % (
        m, med(m, "seconds"), med(m, "file_mb") / med(m, "seconds"),
        (med(m, "values_mb") if "values_mb" in by[m][0] else 0) / med(m, "seconds"), med(m, "peak_rss_mb")))
for m in ("torch.save", "torch.load"):
    print("  pytorch  %-10s %7.3f s  %7.1f MB of values/s  peak RSS %.0f MB" % (
        m, med(m, "seconds"), med(m, "values_mb") / med(m, "seconds"), med(m, "peak_rss_mb")))
print("  restore peak over its baseline: %.1f MB for %.1f MB of values" % (
    med("restore", "peak_over_before_mb"), med("restore", "values_mb")))
print("  values restored per second: varscope %.1f MB/s, torch.load %.1f MB/s (ratio %.2f)" % (
    med("restore", "values_mb") / med("restore", "seconds"), med("torch.load", "values_mb") / med("torch.load", "seconds"),
    (med("restore", "values_mb") / med("restore", "seconds")) / (med("torch.load", "values_mb") / med("torch.load", "seconds"))))
PY
