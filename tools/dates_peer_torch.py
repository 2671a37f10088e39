#!/usr/bin/python3
"""PyTorch 1.13 peer of `varscope train --task dates` (issue 12, "Peer comparison").

The same model: one embedding [V, E] shared by encoder and decoder, a TF-layout GRU
encoder over the padded source (dynamic_rnn with sequence_length: the state stops at
each row's last character), a TF-layout GRU decoder started from the encoder's final
state and fed BOS + target (teacher forcing), a Dense output layer [H, V] without bias;
loss sequence_loss (TF default: sum(weights * crossent) / (sum(weights) + 1e-12));
clip_by_global_norm(5) and TF 1.x's Adam update (lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t),
var -= lr_t * m / (sqrt(v) + eps)), written out here rather than torch.optim.Adam,
whose epsilon sits inside the bias correction. The GRU code is bench/train_peer_torch.py's.

The same data: the training batches and the fixed test set are read from
`varscope dev dump-batches` (JSON lines of the exact id tensors `varscope train` feeds),
never re-generated here. Initial values are drawn like TF's (embedding U(-1, 1) as the
CLI does, glorot-uniform kernels, gate bias 1, candidate bias 0) but from torch's RNG:
the two runs share the distribution, not the numbers.

Decoding for accuracy: greedy (argmax, up to target_length + 2 steps, stop at EOS),
exact match of the tokens before EOS; varscope's `train --eval-split test` reports the
same (beam width 1). Prints JSON lines: progress, then a summary with the median time
per step and the training time (accuracy measurements excluded) to the first
evaluation at or above --target.

Usage: OPENBLAS_NUM_THREADS=1 taskset -c 0 /usr/bin/python3 tools/dates_peer_torch.py DUMP.jsonl
       [--hidden 128] [--embedding 64] [--eval-every 250] [--log-every 50] [--target 0.99] [--seed 0]
(bench/run_dates_peer.sh makes the dump and runs both sides.)"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from train_peer_torch import gru_tf  # noqa: E402  (the shared TF-layout GRU)


def read_dump(path):
    header, train, test = None, [], []
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            if row["kind"] == "header":
                header = row
            elif row["kind"] == "train":
                train.append({
                    "enc": torch.tensor(row["enc"], dtype=torch.long),
                    "enc_len": torch.tensor(row["enc_len"], dtype=torch.long),
                    "dec": torch.tensor(row["dec"], dtype=torch.long),
                    "targets": torch.tensor(row["targets"], dtype=torch.long),
                    "weights": torch.tensor(row["weights"], dtype=torch.float32),
                })
            elif row["kind"] == "test":
                test.append((row["source_ids"], row["target_ids"]))
    if header is None or not train or not test:
        sys.exit(f"{path}: needs a header, training batches and test samples "
                 "(varscope dev dump-batches --task dates --steps N --test-size M)")
    return header, train, test


def glorot(fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(fan_in, fan_out).uniform_(-limit, limit)


class DatesSeq2Seq:
    """The article's Seq2Seq at the dates task's sizes (parameters as plain tensors)."""

    def __init__(self, vocab, emb, hidden, seed):
        torch.manual_seed(seed)
        E, H = emb, hidden
        self.embedding = torch.empty(vocab, E).uniform_(-1.0, 1.0)

        def gru():
            return [glorot(E + H, 2 * H), torch.ones(2 * H), glorot(E + H, H), torch.zeros(H)]

        self.encoder, self.decoder = gru(), gru()
        self.out = glorot(H, vocab)
        self.params = [self.embedding, *self.encoder, *self.decoder, self.out]
        for p in self.params:
            p.requires_grad_(True)
        self.hidden = H

    def encode(self, enc, enc_len):
        h0 = torch.zeros(enc.shape[0], self.hidden)
        _, h = gru_tf(self.embedding[enc], h0, *self.encoder, lengths=enc_len)
        return h

    def loss(self, b):
        h = self.encode(b["enc"], b["enc_len"])
        outs, _ = gru_tf(self.embedding[b["dec"]], h, *self.decoder)
        B, T, H = outs.shape
        logits = outs.reshape(B * T, H) @ self.out
        ce = torch.nn.functional.cross_entropy(logits, b["targets"].reshape(-1), reduction="none")
        w = b["weights"].reshape(-1)
        return (w * ce).sum() / (w.sum() + 1e-12)

    @torch.no_grad()
    def greedy(self, sources, bos, eos, pad, max_len):
        L = max(len(s) for s in sources)
        enc = torch.full((len(sources), L), pad, dtype=torch.long)
        for i, s in enumerate(sources):
            enc[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        h = self.encode(enc, torch.tensor([len(s) for s in sources]))
        tok = torch.full((len(sources),), bos, dtype=torch.long)
        steps = []
        for _ in range(max_len):
            _, h = gru_tf(self.embedding[tok].unsqueeze(1), h, *self.decoder)
            tok = (h @ self.out).argmax(-1)
            steps.append(tok)
        ids = torch.stack(steps, 1).tolist()
        return [row[:row.index(eos)] if eos in row else row for row in ids]


class TfAdam:
    """tf.train.AdamOptimizer's dense update (TF 1.x kernel), in place."""

    def __init__(self, params, lr, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, beta1, beta2, epsilon
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    @torch.no_grad()
    def step(self, grads):
        self.t += 1
        lr_t = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.addcdiv_(m, v.sqrt().add_(self.eps), value=-lr_t)


@torch.no_grad()
def clip_by_global_norm(grads, clip_norm):
    norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
    scale = clip_norm / max(norm, clip_norm)
    if scale < 1.0:
        for g in grads:
            g.mul_(scale)
    return norm


def accuracy(model, test, header, batch=250):
    right = 0
    for i in range(0, len(test), batch):
        part = test[i:i + batch]
        preds = model.greedy([s for s, _ in part], header["bos"], header["eos"], header["pad"],
                             header["max_decode_length"])
        right += sum(p == t[:-1] for p, (_, t) in zip(preds, part))
    return right / len(test)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump", help="JSON lines from `varscope dev dump-batches --task dates`")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--embedding", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--target", type=float, default=0.99)
    ap.add_argument("--seed", type=int, default=0, help="torch seed of the initial values")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    header, batches, test = read_dump(args.dump)
    model = DatesSeq2Seq(header["vocab_size"], args.embedding, args.hidden, args.seed)
    opt = TfAdam(model.params, args.lr)
    step_ms, train_s, reached = [], 0.0, None
    evals = []
    window = []
    for s, b in enumerate(batches):
        t0 = time.perf_counter()
        for p in model.params:
            p.grad = None
        loss = model.loss(b)
        loss.backward()
        grads = [p.grad for p in model.params]
        clip_by_global_norm(grads, args.clip)
        opt.step(grads)
        dt = time.perf_counter() - t0
        step_ms.append(dt * 1e3)
        train_s += dt
        window.append(float(loss))
        done = s + 1
        if done % args.log_every == 0 or done == len(batches):
            print(json.dumps({"step": done, "loss": round(statistics.fmean(window), 5), "train_s": round(train_s, 2)}),
                  flush=True)
            window = []
        if args.eval_every and (done % args.eval_every == 0 or done == len(batches)):
            acc = accuracy(model, test, header)
            evals.append({"step": done, "train_s": round(train_s, 2), "test_greedy_exact": acc})
            print(json.dumps(evals[-1]), flush=True)
            if reached is None and acc >= args.target:
                reached = evals[-1]
    blas = "unknown"
    try:
        with open("/proc/self/maps") as f:
            blas = ", ".join(sorted({l.split()[-1] for l in f if "blas" in l.lower()})) or "unknown"
    except OSError:
        pass
    print(json.dumps({"summary": True, "steps": len(batches), "median_step_ms": round(statistics.median(step_ms), 3),
                      "train_s": round(train_s, 2), "reached": reached, "target": args.target,
                      "test_size": len(test), "decoding": "greedy", "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "blas": blas}), flush=True)


if __name__ == "__main__":
    main()
