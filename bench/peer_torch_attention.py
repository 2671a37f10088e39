#!/usr/bin/env python3
"""PyTorch 1.13 peer for bench/attention_bench.cpp: beam search with tf.contrib.seq2seq's
LuongAttention(scale) / BahdanauAttention(normalize) under an AttentionWrapper (attention layer
512) around a TF-layout GRU(512), the plain GRU beam search, and torch.mm for the sgemm peak,
on varscope's OWN weights: `attention_bench --export DIR` writes DIR/{gru,luong,bahdanau}.json
(varscope JSON checkpoints holding every variable, the encoder's outputs (the memory), its
final state, the lengths, and varscope's beams); this script reads them (ATTN_EXPORT_DIR), runs
the same math, and compares its beams with varscope's (`beams`: top hypotheses equal / rows, and
all K beams' ids equal / rows*K).

Written as a PyTorch user tuning for speed would: no autograd, torch.set_num_threads(PEER_THREADS),
the x/attention half of both GRU products in one GEMM ([N, 768] x [768, 1536]), the recurrent halves
as addmm into it; the K beams of one source row share its memory, so scores and context are batched
bmm over [B, K, A] x [B, A, T] (not a per-row loop), and the keys (memory_layer) are computed once
per decode over the UNTILED memory [B*T, 512] x [512, 512] (varscope/TF compute it over the tiled
memory: 4x that, ~1.0 GFLOP, ~4% of a decode); Bahdanau's tanh(keys + query + b) as one broadcast
[B, K, T, A] tensor, reduced against v' by a matmul. The beam search itself is bench/peer_torch.py's
(TF 1.6+ semantics, batched, top-K over K*V, gather_tree); 30 steps unless every beam finishes.
Prints one JSON object: {name: median wall microseconds, ..., "cpu": {name: median process CPU
microseconds}, "blas": ..., "beams": ...}."""
import base64
import json
import os
import re
import statistics
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from peer_torch import beam_search, blas_name  # noqa: E402

THREADS = int(os.environ.get("PEER_THREADS", "1"))
torch.set_num_threads(THREADS)  # after peer_torch's import, which sets 1
torch.set_grad_enabled(False)

B, K, T_MAX = 16, 4, 30
BOS, EOS = 1, 2


def timeit(fn, reps):
    """Medians over `reps` calls after one warm-up: (wall us, process CPU us)."""
    fn()
    wall, cpu = [], []
    for _ in range(reps):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - w) * 1e6)
        cpu.append((time.process_time() - c) * 1e6)
    return statistics.median(wall), statistics.median(cpu)


def load(path):
    d = json.load(open(path))
    out = {}
    for v in d["variables"]:
        dtype = torch.float32 if v["dtype"] == "float32" else torch.int32
        raw = bytearray(base64.b64decode(v["data"]))
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.zeros(0, dtype=dtype)
        out[v["name"]] = t.reshape(v["shape"]).clone()
    return out


def find(w, suffix):
    hits = [k for k in w if k.endswith(suffix)]
    assert len(hits) == 1, (suffix, hits)
    return w[hits[0]]


class Gru:
    """TF GRUCell: [r, u] = sigmoid([x, h] Wg + bg); c = tanh([x, r*h] Wc + bc); h' = u*h + (1-u)*c.
    The input rows of both kernels fused into one [D, 3H] product per step."""

    def __init__(self, w, prefix):
        gk, gb = find(w, prefix + "gates/kernel"), find(w, prefix + "gates/bias")
        ck, cb = find(w, prefix + "candidate/kernel"), find(w, prefix + "candidate/bias")
        self.H = H = ck.shape[1]
        D = gk.shape[0] - H
        self.wx = torch.cat([gk[:D], ck[:D]], 1).contiguous()  # [D, 3H]
        self.bx = torch.cat([gb, cb])
        self.gh, self.ch = gk[D:].contiguous(), ck[D:].contiguous()

    def __call__(self, x, h):
        H = self.H
        p = torch.addmm(self.bx, x, self.wx)
        g = torch.sigmoid(torch.addmm(p[:, :2 * H], h, self.gh))
        r, u = g[:, :H], g[:, H:]
        c = torch.tanh(torch.addmm(p[:, 2 * H:], r * h, self.ch))
        return u * h + (1 - u) * c


def build(kind, w):
    emb = w["bench/embedding"]
    memory, enc_state = w["bench/memory"], w["bench/encoder_state"]
    lengths = w["bench/lengths"]
    Bm, T, Dm = memory.shape
    assert Bm == B and bool((lengths == T).all()), "the peer handles full-length memories only"
    out_kernel = find(w, "out_layer/kernel").contiguous()
    tiled = enc_state.repeat_interleave(K, 0)
    if kind == "gru":
        gru = Gru(w, "decoder/cell/")

        def step(x, h):
            h = gru(x, h)
            return h, h

        return emb, out_kernel, lambda: tiled, step, lambda h, rows: h[rows], lambda: None

    gru = Gru(w, "attention_wrapper/cell/")
    w_mem = find(w, "memory_layer/kernel")
    w_att = find(w, "attention_layer/kernel").contiguous()  # [H + Dm, L]
    H, L = gru.H, w_att.shape[1]
    A = w_mem.shape[1]
    ctx = {}
    if kind == "luong":
        g = float(find(w, "luong_attention/attention_g"))

        def scores(h, keys_t):  # [B, K, T] = g * h . keys
            return torch.bmm(h.view(B, K, A), keys_t).mul_(g)
    else:
        wq = find(w, "query_layer/kernel").contiguous()
        v, g, b = find(w, "attention_v"), float(find(w, "attention_g")), find(w, "attention_b")
        v_eff = (g * v / v.norm()).unsqueeze(1)  # [A, 1], once (v' = g v / ||v||)

        def scores(h, keys):  # [B, K, T] = v' . tanh(keys + h Wq + b)
            pq = torch.addmm(b, h, wq).view(B, K, 1, A)
            e = torch.tanh(keys.unsqueeze(1) + pq)  # [B, K, T, A]
            return torch.matmul(e, v_eff).view(B, K, T)

    def setup():  # per decode, like TF: keys = memory_layer(memory) (untiled here)
        keys = torch.mm(memory.view(B * T, Dm), w_mem).view(B, T, A)
        ctx["keys"] = keys.transpose(1, 2) if kind == "luong" else keys

    def step(x, state):
        h, att = state
        h = gru(torch.cat([x, att], 1), h)
        a = torch.softmax(scores(h, ctx["keys"]), -1)  # [B, K, T]
        context = torch.bmm(a, memory).view(B * K, Dm)
        att = torch.mm(torch.cat([h, context], 1), w_att)
        return att, (h, att)

    def init():
        return (tiled, torch.zeros(B * K, L))

    return emb, out_kernel, init, step, lambda s, rows: (s[0][rows], s[1][rows]), setup


def compare(ids, want):
    """ids [B, steps, K] (no EOS padding) vs varscope's predicted_ids [B, T, K] (EOS after the first EOS)."""
    def seq(x, b, k):
        out = []
        for t in range(x.shape[1]):
            out.append(int(x[b, t, k]))
            if out[-1] == EOS:
                break
        return out
    top = sum(seq(ids, b, 0) == seq(want, b, 0) for b in range(B))
    every = sum(seq(ids, b, k) == seq(want, b, k) for b in range(B) for k in range(K))
    return f"top {top}/{B}, all {every}/{B * K}"


def main():
    wanted = re.compile(sys.argv[1] if len(sys.argv) > 1 else ".")
    folder = os.environ.get("ATTN_EXPORT_DIR", "/tmp/attn-export")
    results, beams, cpu = {}, {}, {}
    a = torch.rand(480, 768) * 2 - 1
    b = torch.rand(768, 2048) * 2 - 1
    if wanted.search("sgemm_peak/medium"):
        results["sgemm_peak/medium"], cpu["sgemm_peak/medium"] = timeit(lambda: torch.mm(a, b), 50)
    for kind, name in [("gru", "gru_beam_search/medium"), ("luong", "attention_beam_search/luong_scaled/medium"),
                       ("bahdanau", "attention_beam_search/bahdanau_normed/medium")]:
        if not wanted.search(name):
            continue
        w = load(f"{folder}/{kind}.json")
        emb, out_kernel, init, step, reorder, setup = build(kind, w)

        def decode():
            setup()
            return beam_search(emb, init(), step, reorder, out_kernel, B, K, T_MAX)

        ids, steps, log_probs = decode()
        beams[name] = compare(ids, w["bench/predicted_ids"]) + (
            f", steps {steps}, max |log_prob diff| {float((log_probs - w['bench/final_log_probs']).abs().max()):.2e}")
        results[name], cpu[name] = timeit(decode, 5)
    results["beams"] = beams
    results["cpu"] = cpu
    results["threads"] = torch.get_num_threads()
    results["blas"] = blas_name()
    results["torch"] = torch.__version__
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
