#!/usr/bin/env python3
"""A PyTorch 1.13 peer of tensorflow/nmt's date model (examples/nmt, `varscope train --cell lstm
--layers 2 --bidirectional [--residual]`) on the same weights: beam search must give the same
hypotheses (token ids, best first) as `varscope decode`, with scores within 1e-4.

The peer is written from nmt's model, not from varscope's code:
  * weights: the checkpoint's TF-layout BasicLSTMCell kernels converted by tools/torch_interop.py
    (`lstm_to_torch`: gate order i, f, g, o; forget_bias 1.0 folded into bias_ih);
  * encoder: torch.nn.LSTM(bidirectional=True) over the source (one input at a time, so no
    padding), its (h_n, c_n) = (fw, bw) is the decoder's initial state (nmt, num_bi_layers 1);
  * decoder: two torch.nn.LSTMCell layers (layer 1 residual when the metadata says so: output =
    input + cell output), `output_projection` without bias;
  * beam search: bench/peer_torch.py's (TF 1.6+ BeamSearchDecoder semantics, length penalty 0,
    finished beams extend with EOS at no cost), maximum_iterations = target length + 2.

Usage: /usr/bin/python3 tools/nmt_peer_torch.py VARSCOPE_BINARY CHECKPOINT [--beam K] [TEXT...]
(default texts: the inputs of tests/data/dates_decode_native.json). Exit 0 when every input
agrees; prints the worst score difference. CTest `nmt_torch_peer_beams` runs it on
tests/data/dates_nmt_lstm_small.json (see tests/README.md for how that file is made).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import torch  # noqa: E402

from peer_torch import beam_search  # noqa: E402  (TF 1.6+ beam search semantics)
from torch_interop import entry_tensor, lstm_to_torch  # noqa: E402  (the TF <-> torch LSTM layout)

torch.set_grad_enabled(False)
PAD, BOS, EOS, UNK, RESERVED = 0, 1, 2, 3, 4


def encode(text, code_points):
    index = {cp: RESERVED + i for i, cp in enumerate(code_points)}
    return [index.get(ord(ch), UNK) for ch in text]


class NmtPeer:
    def __init__(self, ckpt):
        meta = ckpt["metadata"]
        if meta.get("model") != "varscope.nmt" or meta.get("cell") != "lstm" or not meta.get("bidirectional") \
                or meta.get("layers") != 2:
            sys.exit("nmt_peer_torch.py: the peer covers nmt's bi LSTM model with 2 layers "
                     f"(`varscope train --cell lstm --layers 2 --bidirectional`); got metadata {meta}")
        by_name = {e["name"]: e for e in ckpt["variables"]}
        self.code_points = meta["vocabulary"]["code_points"]
        self.residual = bool(meta["residual"])
        self.max_len = int(meta["target_length"]) + 2
        self.emb = entry_tensor(by_name["embeddings/embedding_share"])
        sd, cfg = lstm_to_torch(by_name, "", "dynamic_seq2seq/encoder/bidirectional_rnn", "basic_lstm_cell", 1.0)
        cfg.pop("proj_size", None)
        self.encoder = torch.nn.LSTM(**cfg)
        self.encoder.load_state_dict(sd)
        sd, cfg = lstm_to_torch(by_name, "", "dynamic_seq2seq/decoder", "basic_lstm_cell", 1.0)
        self.cells = []
        for k in range(2):
            d = cfg["input_size"] if k == 0 else cfg["hidden_size"]
            cell = torch.nn.LSTMCell(d, cfg["hidden_size"])
            cell.load_state_dict({p: sd[f"{p}_l{k}"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
            self.cells.append(cell)
        self.out_kernel = entry_tensor(by_name["dynamic_seq2seq/decoder/output_projection/kernel"])

    def step(self, x, state):
        (h0, c0), (h1, c1) = state
        h0, c0 = self.cells[0](x, (h0, c0))
        h1n, c1 = self.cells[1](h0, (h1, c1))
        out = h0 + h1n if self.residual else h1n  # ResidualWrapper on the top layer: input + output
        return out, ((h0, c0), (h1n, c1))

    @staticmethod
    def reorder(state, rows):
        return tuple((h[rows], c[rows]) for h, c in state)

    def decode(self, text, K):
        ids = torch.tensor([encode(text, self.code_points)])
        _, (h_n, c_n) = self.encoder(self.emb[ids])  # [2, 1, H]: fw then bw
        state = tuple((h_n[k].repeat_interleave(K, 0), c_n[k].repeat_interleave(K, 0)) for k in range(2))
        out, steps, log_probs = beam_search(self.emb, state, self.step, self.reorder, self.out_kernel, 1, K,
                                            self.max_len, bos=BOS, eos=EOS)
        hyps = []
        for k in range(K):
            seq = [int(t) for t in out[0, :, k]] if out is not None else []
            if EOS in seq:
                seq = seq[:seq.index(EOS)]
            hyps.append((float(log_probs[0, k]), seq))
        hyps.sort(key=lambda h: -h[0])
        return hyps


def varscope_decode(binary, ckpt_path, text, K):
    r = subprocess.run([binary, "decode", "--checkpoint", ckpt_path, "--beam", str(K), "--n-best", str(K), "--json",
                        text], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"varscope decode failed ({r.returncode}): {r.stderr}")
    return [(h["score"], h["ids"]) for h in json.loads(r.stdout)[0]["hypotheses"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("checkpoint")
    ap.add_argument("--beam", type=int, default=4)
    ap.add_argument("texts", nargs="*")
    a = ap.parse_intermixed_args()
    texts = a.texts or json.load(open(os.path.join(HERE, "..", "tests", "data", "dates_decode_native.json")))["inputs"]
    peer = NmtPeer(json.load(open(a.checkpoint, encoding="utf-8")))
    worst, failures = 0.0, 0
    for text in texts:
        ours = varscope_decode(a.binary, a.checkpoint, text, a.beam)
        theirs = peer.decode(text, a.beam)
        same_ids = [ids for _, ids in ours] == [ids for _, ids in theirs]
        diff = max(abs(s - t) for (s, _), (t, _) in zip(ours, theirs))
        worst = max(worst, diff)
        if not same_ids or not diff <= 1e-4:
            failures += 1
            print(f"MISMATCH {text!r}:\n  varscope {ours}\n  pytorch  {theirs}")
    print(f"{len(texts) - failures}/{len(texts)} inputs: the same {a.beam} beams (ids, best first); "
          f"worst |score difference| {worst:.2e}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
