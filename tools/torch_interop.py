#!/usr/bin/env python3
"""PyTorch <-> varscope JSON checkpoints (docs/checkpoint-format.md).

Maps PyTorch modules to varscope variable names and layouts:
  nn.Embedding  NAME.weight [V, D]              -> VS            [V, D]
  nn.GRU (1 layer) NAME.weight_ih_l0 [3H, D]    -> SCOPE/weight_ih  (ResetAfterGRUCell: same layout,
               NAME.weight_hh_l0 / bias_ih_l0 / bias_hh_l0 -> SCOPE/weight_hh, bias_ih, bias_hh   gate order r, z, n)
  nn.Linear    NAME.weight [out, in]            -> SCOPE/kernel  [in, out] (transposed)
               NAME.bias   [out]                -> SCOPE/bias    [out]

Usage (run with Debian's python3: /usr/bin/python3, apt python3-torch):
  torch_interop.py to-json  STATE_DICT.pt OUT.json  --embedding emb=embedding --gru gru=model/gru --linear out=model/out
  torch_interop.py to-torch IN.json OUT.pt          (same mapping flags)
  torch_interop.py golden   OUT.json                (the committed round-trip golden data)
  torch_interop.py live     RUNNER [--seed N]       (fresh random model -> JSON -> varscope RUNNER -> compare);
                                                    prints the seed; --seed or VARSCOPE_TORCH_SEED reproduces a run
"""
import argparse
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import torch
except ImportError as e:  # fail loudly: the live round trip must never be skipped silently
    sys.exit(f"torch_interop.py: cannot import torch ({e}). Install python3-torch (tools/install-deps.sh) "
             "and run with Debian's /usr/bin/python3.")


def tensor_entry(name, t):
    t = t.detach().contiguous()
    if t.dtype == torch.float32:
        data = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        dtype = "float32"
    elif t.dtype in (torch.int32, torch.int64):
        data = struct.pack("<%di" % t.numel(), *t.flatten().tolist())
        dtype = "int32"
    else:
        raise SystemExit(f"{name}: unsupported dtype {t.dtype}")
    return {"name": name, "dtype": dtype, "shape": list(t.shape), "data": base64.b64encode(data).decode()}


def entry_tensor(e):
    n = 1
    for d in e["shape"]:
        n *= d
    if "values" in e:
        values = e["values"]
    else:
        raw = base64.b64decode(e["data"])
        values = struct.unpack("<%d%s" % (n, "f" if e["dtype"] == "float32" else "i"), raw)
    dtype = torch.float32 if e["dtype"] == "float32" else torch.int32
    return torch.tensor(values, dtype=dtype).reshape(e["shape"])


def mapping(args):
    """[(torch key, varscope name, transpose)]"""
    out = []
    for spec in args.embedding or []:
        src, dst = spec.split("=")
        out.append((f"{src}.weight", dst, False))
    for spec in args.gru or []:
        src, dst = spec.split("=")
        for part in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            out.append((f"{src}.{part}_l0", f"{dst}/{part}", False))
    for spec in args.linear or []:
        src, dst = spec.split("=")
        out.append((f"{src}.weight", f"{dst}/kernel", True))
        out.append((f"{src}.bias", f"{dst}/bias", False))
    return out


def to_json(state_dict, rules, metadata=None):
    variables = []
    for key, name, transpose in rules:
        if key not in state_dict:
            raise SystemExit(f"state_dict has no {key}; keys: {sorted(state_dict)}")
        t = state_dict[key]
        variables.append(tensor_entry(name, t.t() if transpose else t))
    root = {"format": "varscope-checkpoint", "version": 1, "variables": variables}
    if metadata:
        root["metadata"] = metadata
    return root


def to_state_dict(root, rules):
    by_name = {e["name"]: e for e in root["variables"]}
    out = {}
    for key, name, transpose in rules:
        t = entry_tensor(by_name[name])
        out[key] = t.t().contiguous() if transpose else t
    return out


class Model(torch.nn.Module):
    """Embedding -> 1-layer GRU (batch first) -> Linear: the interop test model."""

    def __init__(self, vocab=11, emb=4, hidden=6):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, emb)
        self.gru = torch.nn.GRU(emb, hidden, batch_first=True)
        self.out = torch.nn.Linear(hidden, vocab)

    def forward(self, ids):
        outputs, h_n = self.gru(self.emb(ids))
        return self.out(outputs), h_n[0]


MODEL_FLAGS = ["--embedding", "emb=embedding", "--gru", "gru=model/gru", "--linear", "out=model/out"]


def model_case(seed):
    torch.manual_seed(seed)
    model = Model()
    ids = torch.randint(0, 11, (3, 5))
    with torch.no_grad():
        logits, h_n = model(ids)
    rules = mapping(parser().parse_args(["golden", "x"] + MODEL_FLAGS))
    ckpt = to_json(model.state_dict(), rules, {"source": "torch_interop.py", "torch": torch.__version__})
    # Round trip back to PyTorch must reproduce the state_dict exactly.
    back = to_state_dict(ckpt, rules)
    for key, value in model.state_dict().items():
        assert torch.equal(back[key], value), key
    def t(x):
        return {"shape": list(x.shape), "data": x.flatten().tolist()}
    return {"checkpoint": ckpt, "ids": t(ids.to(torch.int32)), "logits": t(logits), "final_state": t(h_n)}


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["to-json", "to-torch", "golden", "live"])
    p.add_argument("paths", nargs="+")
    p.add_argument("--embedding", action="append")
    p.add_argument("--gru", action="append")
    p.add_argument("--linear", action="append")
    p.add_argument("--seed", type=int, help="live: the model seed (default: VARSCOPE_TORCH_SEED, else random)")
    return p


def main():
    args = parser().parse_args()
    if args.command == "to-json":
        sd = torch.load(args.paths[0])
        json.dump(to_json(sd, mapping(args)), open(args.paths[1], "w"))
    elif args.command == "to-torch":
        torch.save(to_state_dict(json.load(open(args.paths[0])), mapping(args)), args.paths[1])
    elif args.command == "golden":
        case = model_case(1234)
        case["about"] = ("PyTorch Embedding+GRU+Linear (seed 1234) converted by tools/torch_interop.py; "
                         "logits/final_state are PyTorch's outputs for ids. Regenerate: "
                         "/usr/bin/python3 tools/torch_interop.py golden tests/data/torch_roundtrip.json")
        json.dump(case, open(args.paths[0], "w"))
    elif args.command == "live":
        # A fresh random model each run, through the varscope runner binary.
        seed = args.seed
        if seed is None and os.environ.get("VARSCOPE_TORCH_SEED"):
            seed = int(os.environ["VARSCOPE_TORCH_SEED"])
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little")
        print(f"torch_interop live: seed {seed} (reproduce: VARSCOPE_TORCH_SEED={seed} or --seed {seed})", flush=True)
        case = model_case(seed)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "case.json")
            json.dump(case, open(path, "w"))
            r = subprocess.run([args.paths[0], path], capture_output=True, text=True)
            print(r.stdout, r.stderr)
            if r.returncode != 0:
                print(f"torch_interop live: FAILED with seed {seed}", flush=True)
            sys.exit(r.returncode)


if __name__ == "__main__":
    main()
