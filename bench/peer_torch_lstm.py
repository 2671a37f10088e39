#!/usr/bin/env python3
"""PyTorch 1.13 peer for bench/lstm_bench.cpp: PyTorch's own torch.nn.LSTM for the
encoder and the teacher-forced decoder, torch.nn.LSTMCell for beam search, and
torch.mm for the sgemm peak, at the same shapes, one thread, no autograd.
Prints one JSON object: {name: median_microseconds, ..., "blas": ..., "torch": ...}.
Run with Debian's python3 (/usr/bin/python3, apt python3-torch) and OpenBLAS
(apt libopenblas0-pthread), OPENBLAS_NUM_THREADS=1; BENCH=lstm bash bench/run.sh does that."""
import json
import re
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from peer_torch import beam_search, blas_name, timeit  # noqa: E402  (the GRU peer's beam search, timing, BLAS report)

torch.set_num_threads(1)
torch.set_grad_enabled(False)

V, E, H, B, T = 8000, 256, 512, 16, 30  # bench_model::kMedium
K = 4


def main():
    """argv[1] (optional): a regex; only benchmarks whose name matches run."""
    wanted = re.compile(sys.argv[1] if len(sys.argv) > 1 else ".")
    torch.manual_seed(0)
    emb = torch.rand(V, E) * 2 - 1
    enc = torch.nn.LSTM(E, H, batch_first=True)
    dec = torch.nn.LSTM(E, H, batch_first=True)
    cell = torch.nn.LSTMCell(E, H)  # the decoder's weights, stepped one token at a time
    cell.weight_ih.copy_(dec.weight_ih_l0)
    cell.weight_hh.copy_(dec.weight_hh_l0)
    cell.bias_ih.copy_(dec.bias_ih_l0)
    cell.bias_hh.copy_(dec.bias_hh_l0)
    out_kernel = torch.rand(H, V) - 0.5
    src = torch.randint(0, V, (B, T))
    tgt = torch.randint(0, V, (B, T))

    def encode():
        return enc(emb[src])[1]  # (h_n, c_n), each [1, B, H]

    state = encode()

    def decode():
        outputs, _ = dec(emb[tgt], state)
        return (outputs.reshape(B * T, H) @ out_kernel).view(B, T, V)

    def decoder_rnn():
        return dec(emb[tgt], state)

    tiled = (state[0][0].repeat_interleave(K, 0), state[1][0].repeat_interleave(K, 0))

    def lstm(x, hc):
        h, c = cell(x, hc)
        return h, (h, c)

    def beam():  # both halves of the LSTM state reordered by parent every step
        return beam_search(emb, tiled, lstm, lambda hc, rows: (hc[0][rows], hc[1][rows]), out_kernel, B, K, T)

    steps = beam()[1]

    a = torch.rand(B * T, E + H) * 2 - 1
    b = torch.rand(E + H, 4 * H) * 2 - 1

    def sgemm():
        return torch.mm(a, b)

    results = {}
    for name, fn, n in [("sgemm_peak/medium", sgemm, 50), ("lstm_encoder/medium", encode, 20),
                        ("lstm_decoder/medium", decode, 20), ("lstm_decoder_rnn/medium", decoder_rnn, 20),
                        ("lstm_beam_search/medium", beam, 10)]:
        if wanted.search(name):
            results[name] = timeit(fn, n)
    results["beam_steps"] = steps
    results["blas"] = blas_name()
    results["torch"] = torch.__version__
    print(json.dumps(results))


if __name__ == "__main__":
    sys.exit(main())
