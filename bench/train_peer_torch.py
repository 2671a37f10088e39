#!/usr/bin/python3
"""PyTorch 1.13 peer for bench/train_bench.cpp: one training step of the same seq2seq
(embedding, TF-layout GRU encoder and decoder with the input half projected for all
steps at once, Dense output layer without bias, token-mean cross-entropy, Adam), on
PEER_THREADS torch threads (default 1), written as a PyTorch user tuning for speed would: the
input halves of the gates projected for all steps in one addmm, `unbind` over time, and Adam run
both ways PyTorch 1.13 offers, the per-parameter loop (`foreach=False`, the CPU default) and the
multi-tensor one (`foreach=True`); the faster is the peer's number, both are printed.
Prints {"seed_ms", "medium_ms" (wall, the faster Adam), "seed_cpu_ms", "medium_cpu_ms" (thread CPU
time), "<shape>_ms_foreach", "<shape>_ms_loop", "blas"}. Run with OpenBLAS as the BLAS (see
bench/peer_torch.py); bench/run_train.sh does."""
import json
import os
import statistics
import sys
import time

import torch


def gru_tf(x, h, gk, gb, ck, cb, lengths=None):
    """TF 1.x GRUCell (gates [x, h] @ kernel -> r, u; candidate [x, r * h] @ kernel) over x [B, T, D]
    from state h [B, H], as dynamic_rnn runs it. With `lengths` [B], a row's state stops at its
    last valid step and its outputs past that are zero (dynamic_rnn's sequence_length)."""
    B, T, D = x.shape
    H = h.shape[1]
    xg = torch.addmm(gb, x.reshape(B * T, D), gk[:D]).view(B, T, 2 * H)
    xc = torch.addmm(cb, x.reshape(B * T, D), ck[:D]).view(B, T, H)
    gh, ch = gk[D:], ck[D:]
    # unbind, not xg[:, t]: indexing per step makes autograd build a zero [B, T, .] gradient per
    # step (O(T^2) fill + add in backward); unbind's backward is one stack.
    xgs, xcs = xg.unbind(1), xc.unbind(1)
    outs = []
    for t in range(T):
        g = torch.sigmoid(xgs[t] + h @ gh)
        r, u = g.split(H, dim=1)
        c = torch.tanh(xcs[t] + (r * h) @ ch)
        h_new = u * h + (1 - u) * c
        if lengths is None:
            h = h_new
            outs.append(h)
        else:
            live = (lengths > t).unsqueeze(1)
            h = torch.where(live, h_new, h)
            outs.append(torch.where(live, h_new, torch.zeros_like(h_new)))
    return torch.stack(outs, 1), h


THREADS = int(os.environ.get("PEER_THREADS", "1"))


def step_ms(V, E, H, B, T, repeats, foreach):
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    p = lambda *s: torch.nn.Parameter(torch.empty(*s).uniform_(-0.1, 0.1))
    emb = p(V, E)
    enc = [p(E + H, 2 * H), p(2 * H), p(E + H, H), p(H)]
    dec = [p(E + H, 2 * H), p(2 * H), p(E + H, H), p(H)]
    out = p(H, V)
    params = [emb, *enc, *dec, out]
    opt = torch.optim.Adam(params, lr=0.001, eps=1e-8, foreach=foreach)
    ids = (torch.arange(B * T) * 7919 % V).view(B, T)
    tgt = (torch.arange(B * T) * 104729 % V).view(B, T)
    times, cpu = [], []
    for i in range(repeats + 2):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        opt.zero_grad()
        _, h = gru_tf(emb[ids], torch.zeros(B, H), *enc)
        outs, _ = gru_tf(emb[ids], h, *dec)
        loss = torch.nn.functional.cross_entropy((outs.reshape(B * T, H) @ out), tgt.reshape(-1))
        loss.backward()
        opt.step()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.thread_time() - c0) * 1e3)
    return statistics.median(times), statistics.median(cpu)


def status_mib(key):
    """Resident set size now (VmRSS) or its high-water mark (VmHWM), MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0
    return -1.0


if __name__ == "__main__":  # tools/dates_peer_torch.py imports gru_tf from here
    blas = [l for l in torch.__config__.show().splitlines() if "BLAS" in l]
    # `train_peer_torch.py medium` runs one shape (peak memory is per process), as train_bench.
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    start_rss = status_mib("VmRSS:")  # after importing torch
    shapes = {"seed": ((3000, 256, 256, 2, 8), 30), "medium": ((8000, 256, 512, 16, 30), 7)}
    result = {}
    for name, (shape, repeats) in shapes.items():
        if only and only != name:
            result.update({f"{name}_ms": 0.0, f"{name}_cpu_ms": 0.0})
            continue
        loop = step_ms(*shape, repeats, foreach=False)
        multi = step_ms(*shape, repeats, foreach=True)
        best = min(loop, multi)
        result.update({f"{name}_ms": round(best[0], 3), f"{name}_cpu_ms": round(best[1], 3),
                       f"{name}_ms_loop": round(loop[0], 3), f"{name}_ms_foreach": round(multi[0], 3)})
    result.update({"threads": THREADS, "start_rss_mib": round(start_rss, 1),
                   "peak_rss_mib": round(status_mib("VmHWM:"), 1),
                   "peak_over_start_mib": round(status_mib("VmHWM:") - start_rss, 1), "blas": blas})
    print(json.dumps(result))
