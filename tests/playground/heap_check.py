# The wasm heap does not grow when the article runs again and again (CTest playground_heap): every
# embind object the tensorflow shim holds is deleted when its Python owner goes (_bridge.own), and
# closed contexts drop their graphs. Runs tests/playground/article.py in-process (output discarded)
# WARMUP times, notes varscope's heap size, runs it RUNS more times and fails if the heap grew by
# more than LIMIT_MB. One run allocates ~10 MB in varscope (the 3000x256 embedding, the decoders'
# [2, 8, 3000] logits), so a leak of one run's tensors shows within a few runs.
# Run: node tools/tf1-python.mjs tests/playground/heap_check.py [RUNS] [FILE]
# FILE (default article.py, beside this script) is the code run; CTest playground_heap_attention runs
# beyond_attention.py (mechanisms, attention wrappers and their states, beam search over a tiled memory).
import contextlib
import gc
import io
import os
import sys
import time

import _varscope as vs

WARMUP, LIMIT_MB = 3, 8
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
here = "/varscope/script" if os.path.isdir("/varscope/script") else os.path.dirname(__file__)
name = sys.argv[2] if len(sys.argv) > 2 else "article.py"
code = compile(open(os.path.join(here, name), encoding="utf-8").read(), name, "exec")


def run():
    with contextlib.redirect_stdout(io.StringIO()):
        exec(code, {"__name__": "__article__"})
    gc.collect()


for _ in range(WARMUP):
    run()
before = vs.HEAP8.length
t0 = time.perf_counter()
for _ in range(RUNS):
    run()
seconds = (time.perf_counter() - t0) / RUNS
after = vs.HEAP8.length
grew = (after - before) / 2**20
print(f"wasm heap {before / 2**20:.1f} MB after {WARMUP} runs, {after / 2**20:.1f} MB after {RUNS} more "
      f"(+{grew:.1f} MB); {seconds * 1000:.0f} ms per {name} run; open contexts {vs.openContexts()}")
if grew > LIMIT_MB:
    print(f"FAIL: the heap grew by {grew:.1f} MB over {RUNS} runs (limit {LIMIT_MB} MB)")
    sys.exit(1)
if vs.openContexts() != 1:
    print(f"FAIL: {vs.openContexts()} contexts open after the runs (1 expected: the default graph)")
    sys.exit(1)
print("ok")
