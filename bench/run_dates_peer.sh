#!/usr/bin/env bash
# Date model, varscope vs PyTorch (issue 12 "Peer comparison"): the same model, the same
# batches (`varscope dev dump-batches`), the same hyper-parameters (hidden 128, embedding 64,
# batch 64, Adam lr 0.003, clip 5), one thread each (OPENBLAS_NUM_THREADS=1 taskset -c 0),
# back to back in one run. Reports the median time per step and the training time
# (accuracy measurements left out) to the first greedy exact match >= 0.99 on 2,000
# test-split samples, evaluated every EVAL_EVERY steps. Performance is measured, never asserted.
# Needs: build/native/varscope (npx cmake --build --preset native --target varscope_cli),
# apt python3-torch + libopenblas0-pthread.
# Usage: bash bench/run_dates_peer.sh [STEPS]   (env: EVAL_EVERY=250 TEST_SIZE=2000 SEED=1 OUT=dir)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-3000}
eval_every=${EVAL_EVERY:-250}
test_size=${TEST_SIZE:-2000}
seed=${SEED:-1}
out=${OUT:-$(mktemp -d)}
bin=./build/native/varscope
[ -x "$bin" ] || { echo "missing $bin: build the varscope_cli target of the native preset first" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "PyTorch missing: apt-get install python3-torch libopenblas0-pthread" >&2; exit 1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" dev dump-batches --task dates --steps "$steps" --seed "$seed" --batch 64 --test-size "$test_size" \
  --out "$out/batches.jsonl"
one_thread=(env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 taskset -c 0)
"${one_thread[@]}" "$bin" train --task dates --steps "$steps" --out "$out/varscope.json" --hidden 128 --embedding 64 \
  --batch 64 --seed "$seed" --log-every 50 --eval-every "$eval_every" --eval-split test --eval-size "$test_size" \
  --save-every 0 | tee "$out/varscope.log"
echo "load average between: $(cut -d' ' -f1-3 /proc/loadavg)"
"${one_thread[@]}" /usr/bin/python3 tools/dates_peer_torch.py "$out/batches.jsonl" --hidden 128 --embedding 64 \
  --log-every 50 --eval-every "$eval_every" | tee "$out/torch.log"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$out/varscope.log" "$out/torch.log" <<'EOF'
import json, re, statistics, sys
# varscope: "step N/T ... train Xs [test greedy exact A]": per-step time = delta train / delta step.
rows = [(int(m[0]), float(m[1]), m[2]) for m in
        re.findall(r"step (\d+)/\d+ .*?train (\d+\.\d+)s(?:  test greedy exact (\d\.\d+))?", open(sys.argv[1]).read())]
per_step = [(t1 - t0) / (s1 - s0) * 1e3 for (s0, t0, _), (s1, t1, _) in zip(rows, rows[1:]) if s1 > s0]
v_reached = next(((s, t, float(a)) for s, t, a in rows if a and float(a) >= 0.99), None)
peer = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
summary = peer[-1]
p_reached = summary["reached"]
print("\n| | varscope | PyTorch 1.13 | ratio (PyTorch / varscope) |\n|---|---:|---:|---:|")
print(f"| time per step, median (ms) | {statistics.median(per_step):.1f} | {summary['median_step_ms']:.1f} | "
      f"{summary['median_step_ms'] / statistics.median(per_step):.2f}x |")
def fmt(r, key_step, key_t):
    return f"{r[key_t]:.0f} s (step {r[key_step]})" if r else "not reached"
v = {"step": v_reached[0], "t": v_reached[1]} if v_reached else None
p = {"step": p_reached["step"], "t": p_reached["train_s"]} if p_reached else None
ratio = f"{p['t'] / v['t']:.2f}x" if v and p else "-"
print(f"| training time to >= 0.99 greedy exact match, {summary['test_size']} test samples | {fmt(v, 'step', 't')} | "
      f"{fmt(p, 'step', 't')} | {ratio} |")
print(f"\npeer BLAS: {summary['blas']}; torch {summary['torch']}, {summary['threads']} thread(s)")
EOF
