#!/usr/bin/python3
"""Golden gradients from PyTorch autograd for tests/grad_test.cpp (tests/data/grad_golden.json).

Model (PyTorch layout = varscope's ResetAfterGRUCell): Embedding(V, E) -> nn.GRU(E, H) over
ragged sequences (pack_padded_sequence: h_n is each row's state at its last valid step) ->
Linear(H, V) -> cross-entropy averaged over the valid tokens, plus sum(h_n * r) so the final
state's gradient path is exercised too. Gradients of the loss with respect to every parameter.

varscope's side: embedding_lookup -> dynamic_rnn(ResetAfterGRUCell, sequence_length) -> Dense(V)
(kernel = Linear.weight^T) -> sequence_loss (weights 1 on valid steps) + sum(final_state * r).

Deterministic: `/usr/bin/python3 tools/gen-grad-golden.py > tests/data/grad_golden.json`.
"""
import json
import struct
import sys

import torch

torch.manual_seed(1234)
V, E, H, B, T = 7, 4, 5, 3, 4
LENGTHS = [4, 2, 1]


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def tensor(t, ints=False):
    t = t.detach()
    data = [int(v) for v in t.reshape(-1).tolist()] if ints else [f32(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


emb = torch.nn.Embedding(V, E)
gru = torch.nn.GRU(E, H, batch_first=True)
lin = torch.nn.Linear(H, V)
with torch.no_grad():
    for p in [emb.weight, gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0, lin.weight, lin.bias]:
        p.uniform_(-0.8, 0.8)

ids = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
r = torch.empty(B, H).uniform_(-1.0, 1.0)
lengths = torch.tensor(LENGTHS)

x = emb(ids)
packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
out_packed, h_n = gru(packed)
out, _ = torch.nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=True, total_length=T)
logits = lin(out)  # padded outputs are 0 -> logits = bias there; masked out of the loss below
mask = (torch.arange(T)[None, :] < lengths[:, None]).float()
ce = torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="none").reshape(B, T)
loss = (ce * mask).sum() / mask.sum() + (h_n[0] * r).sum()
params = {
    "embedding": emb.weight,
    "weight_ih": gru.weight_ih_l0,
    "weight_hh": gru.weight_hh_l0,
    "bias_ih": gru.bias_ih_l0,
    "bias_hh": gru.bias_hh_l0,
    "linear_weight": lin.weight,
    "linear_bias": lin.bias,
}
grads = torch.autograd.grad(loss, list(params.values()))

json.dump(
    {
        "about": "Embedding + nn.GRU (reset after) + Linear + cross-entropy over ragged lengths, plus sum(h_n * r): "
        "loss and d loss / d parameter from PyTorch autograd (float32)",
        "generator": "tools/gen-grad-golden.py, torch " + torch.__version__,
        "sizes": {"V": V, "E": E, "H": H, "B": B, "T": T},
        "ids": tensor(ids, ints=True),
        "targets": tensor(targets, ints=True),
        "lengths": tensor(lengths, ints=True),
        "r": tensor(r),
        "params": {k: tensor(v) for k, v in params.items()},
        "loss": f32(loss.item()),
        "grads": {k: tensor(g) for k, g in zip(params.keys(), grads)},
    },
    sys.stdout,
    indent=1,
)
sys.stdout.write("\n")
