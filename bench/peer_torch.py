#!/usr/bin/env python3
"""PyTorch 1.13 peer for bench/gru_bench.cpp: the same TF-layout GRU math
(input half projected for all steps at once, like varscope), the same shapes,
PEER_THREADS torch threads (bench/run.sh sets it to THREADS; default 1). Prints one JSON object: {name: median_microseconds, "blas": ...}.
Run with Debian's python3 (/usr/bin/python3, apt python3-torch) and OpenBLAS
(apt libopenblas0-pthread), OPENBLAS_NUM_THREADS=1; bench/run.sh does that."""
import json
import os
import re
import statistics
import sys
import time

import torch

torch.set_num_threads(int(os.environ.get("PEER_THREADS", "1")))
torch.set_grad_enabled(False)

CONFIGS = {"seed": (3000, 256, 256, 2, 8), "medium": (8000, 256, 512, 16, 30), "large": (32000, 512, 1024, 32, 50)}
BEAM = {"seed": (2, 8), "medium": (4, 30), "large": (5, 50)}


def gru_tf_layout(x, h, gk, gb, ck, cb):
    """x [B,T,D]; TF GRUCell: [r,u] = sigmoid([x,h] Wg + bg); c = tanh([x, r*h] Wc + bc)."""
    B, T, D = x.shape
    H = h.shape[1]
    xg = torch.addmm(gb, x.reshape(B * T, D), gk[:D]).view(B, T, 2 * H)
    xc = torch.addmm(cb, x.reshape(B * T, D), ck[:D]).view(B, T, H)
    gh, ch = gk[D:], ck[D:]
    outputs = []
    for t in range(T):
        g = torch.sigmoid(torch.addmm(xg[:, t], h, gh))
        r, u = g[:, :H], g[:, H:]
        c = torch.tanh(torch.addmm(xc[:, t], r * h, ch))
        h = u * h + (1 - u) * c
        outputs.append(h)
    return torch.stack(outputs, 1), h


def gru_step(x, h, gk, gb, ck, cb):
    D = x.shape[1]
    H = h.shape[1]
    g = torch.sigmoid(torch.addmm(gb, x, gk[:D]) + h @ gk[D:])
    r, u = g[:, :H], g[:, H:]
    c = torch.tanh(torch.addmm(cb, x, ck[:D]) + (r * h) @ ck[D:])
    return u * h + (1 - u) * c


def beam_search(emb, state, step, reorder, out_kernel, B, K, T, bos=1, eos=2):
    """A correct batched beam search with TF 1.6+ semantics (alpha 0): only beam 0
    live at the start, finished beams extend with EOS at zero cost, top-K over K*V,
    parents gathered, stops when every beam is finished; then gather_tree.
    `state` is tiled to B*K rows; step(inputs, state) -> (cell output [B*K, H], new state);
    reorder(state, rows) picks the rows of every state tensor. Returns (ids [B, steps, K] after
    gather_tree, steps, the beams' final log-probabilities [B, K])."""
    V = out_kernel.shape[1]
    log_probs = torch.full((B, K), float("-inf"))
    log_probs[:, 0] = 0
    finished = torch.ones(B, K, dtype=torch.bool)
    finished[:, 0] = False
    lengths = torch.zeros(B, K, dtype=torch.long)
    ids = torch.full((B * K,), bos, dtype=torch.long)
    eos_only = torch.full((V,), float("-inf"))
    eos_only[eos] = 0
    base = (torch.arange(B) * K).unsqueeze(1)
    words, parents = [], []
    for _ in range(T):
        if bool(finished.all()):
            break
        out, state = step(emb[ids], state)
        lp = torch.log_softmax(out @ out_kernel, -1).view(B, K, V)
        lp = torch.where(finished.unsqueeze(-1), eos_only, lp)
        total = (log_probs.unsqueeze(-1) + lp).view(B, K * V)
        _, idx = total.topk(K, dim=1)
        parent, word = idx // V, idx % V
        log_probs = total.gather(1, idx)
        prev = finished.gather(1, parent)
        finished = prev | (word == eos)
        lengths = lengths.gather(1, parent) + (~prev).long()
        state = reorder(state, (base + parent).reshape(-1))
        ids = word.reshape(-1)
        words.append(word)
        parents.append(parent)
    # gather_tree
    out = [None] * len(words)
    beam = torch.arange(K).expand(B, K)
    for t in range(len(words) - 1, -1, -1):
        out[t] = words[t].gather(1, beam)
        beam = parents[t].gather(1, beam)
    return (torch.stack(out, 1) if out else None), len(words), log_probs


def timeit(fn, reps):
    fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    return statistics.median(samples)


def main():
    """argv[1] (optional): a regex; only benchmarks whose name matches run."""
    wanted = re.compile(sys.argv[1] if len(sys.argv) > 1 else ".")
    torch.manual_seed(0)
    results = {}
    if wanted.search("sgemm_peak/medium"):  # the same product as gru_bench's sgemm_peak
        a, b = torch.rand(480, 768) * 2 - 1, torch.rand(768, 2048) * 2 - 1
        results["sgemm_peak/medium"] = timeit(lambda: torch.mm(a, b), 50)
        torch.manual_seed(0)  # the shapes' weights as without it
    for name, (V, E, H, B, T) in CONFIGS.items():
        if name == "large" and not any(wanted.search(f"{k}/large") for k in ("encoder", "decoder", "beam_search")):
            continue  # the last shape: skipping it changes no other shape's random weights
        emb = torch.rand(V, E) * 2 - 1
        def weights(D):
            return (torch.rand(D + H, 2 * H) - 0.5, torch.ones(2 * H), torch.rand(D + H, H) - 0.5, torch.zeros(H))
        enc, dec = weights(E), weights(E)
        out_kernel = torch.rand(H, V) - 0.5
        src = torch.randint(0, V, (B, T))
        tgt = torch.randint(0, V, (B, T))
        h0 = torch.zeros(B, H)

        def encode():
            return gru_tf_layout(emb[src], h0, *enc)[1]

        state = encode()

        def decode():
            outputs, _ = gru_tf_layout(emb[tgt], state, *dec)
            return (outputs.reshape(B * T, H) @ out_kernel).view(B, T, V)

        outputs = gru_tf_layout(emb[tgt], state, *dec)[0].reshape(B * T, H)

        def decoder_rnn():
            return gru_tf_layout(emb[tgt], state, *dec)

        def projection():
            return (outputs @ out_kernel).view(B, T, V)

        K, max_len = BEAM[name]

        def gru(x, h):
            h = gru_step(x, h, *dec)
            return h, h

        tiled = state.repeat_interleave(K, 0)

        def beam():
            return beam_search(emb, tiled, gru, lambda h, rows: h[rows], out_kernel, B, K, max_len)

        reps = {"seed": 200, "medium": 20, "large": 3}[name]
        cases = [("encoder", encode, reps), ("decoder", decode, reps),
                 ("beam_search", beam, {"seed": 200, "medium": 10, "large": 3}[name])]
        if name == "medium":
            cases += [("decoder_rnn", decoder_rnn, reps), ("projection", projection, reps)]
        for kind, fn, n in cases:
            if wanted.search(f"{kind}/{name}"):
                results[f"{kind}/{name}"] = timeit(fn, n)
    results["blas"] = blas_name()
    results["torch"] = torch.__version__
    print(json.dumps(results))


def blas_name():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower()}
        return ", ".join(sorted(libs)) or "unknown"
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
