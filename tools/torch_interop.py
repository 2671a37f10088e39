#!/usr/bin/env python3
"""PyTorch <-> varscope JSON checkpoints (docs/checkpoint-format.md).

Maps PyTorch modules to varscope variable names and layouts:
  nn.Embedding  NAME.weight [V, D]              -> VS            [V, D]
  nn.GRU (1 layer) NAME.weight_ih_l0 [3H, D]    -> SCOPE/weight_ih  (ResetAfterGRUCell: same layout,
               NAME.weight_hh_l0 / bias_ih_l0 / bias_hh_l0 -> SCOPE/weight_hh, bias_ih, bias_hh   gate order r, z, n)
  nn.Linear    NAME.weight [out, in]            -> SCOPE/kernel  [in, out] (transposed)
               NAME.bias   [out]                -> SCOPE/bias    [out]
  nn.LSTM      --lstm NAME=SCOPE, SCOPE = the scope dynamic_rnn / bidirectional_dynamic_rnn ran in
               (e.g. "rnn", "model/rnn", "bidirectional_rnn"; NAME empty, --lstm =rnn, for a bare nn.LSTM's
               own state_dict: keys weight_ih_l0 ...); CELL = basic_lstm_cell (--lstm-cell basic,
               the default) or lstm_cell (--lstm-cell lstm); gate blocks: torch i, f, g, o <-> TF i, j, f, o
               (g == j); F = --forget-bias (default 1.0), the forget_bias the TF cell runs with:
    num_layers=1   NAME.weight_ih_l0 [4H, D], weight_hh_l0 [4H, H]  -> SCOPE/CELL/kernel [D+H, 4H]
                                                                       = [weight_ih; weight_hh]^T, blocks reordered
                   NAME.bias_ih_l0 + bias_hh_l0 [4H]                -> SCOPE/CELL/bias [4H], reordered, F subtracted
                                                                       from the f block (TF adds F at run time)
                   to-torch: bias_ih = TF bias reordered + F on the f block, bias_hh = 0
    num_layers=L   layer k -> SCOPE/multi_rnn_cell/cell_k/CELL/...    (tf.nn.rnn_cell.MultiRNNCell)
    proj_size=P    NAME.weight_hr_l{k} [P, H] -> .../lstm_cell/projection/kernel [H, P] (transposed; LSTMCell
                   num_proj, --lstm-cell lstm only); weight_hh is then [4H, P] and the kernel [D+P, 4H]
    bidirectional  NAME.*_l0 -> SCOPE/fw/CELL/..., NAME.*_l0_reverse -> SCOPE/bw/CELL/... (num_layers=1 only)
    Refused (no nn.LSTM equivalent): LSTMCell peepholes (w_f_diag / w_i_diag / w_o_diag), cell_clip and
    proj_clip (not stored in a checkpoint: pass --cell-clip / --proj-clip to be told), bidirectional with
    num_layers > 1 (TF names those stack_bidirectional_dynamic_rnn/cell_k/...).

Usage (run with Debian's python3: /usr/bin/python3, apt python3-torch):
  torch_interop.py to-json  STATE_DICT.pt OUT.json  --embedding emb=embedding --gru gru=model/gru --linear out=model/out
  torch_interop.py to-torch IN.json OUT.pt          (same mapping flags)
  torch_interop.py to-json  LSTM.pt OUT.json --lstm lstm=rnn [--lstm-cell basic|lstm] [--forget-bias 1.0]
  torch_interop.py to-torch IN.json LSTM.pt  --lstm lstm=rnn [...]   (prints the nn.LSTM(...) to build)
  torch_interop.py golden   OUT.json                (the committed round-trip golden data)
  torch_interop.py live     RUNNER [--seed N]       (fresh random model -> JSON -> varscope RUNNER -> compare);
                                                    prints the seed; --seed or VARSCOPE_TORCH_SEED reproduces a run
  torch_interop.py lstm-live RUNNER [--seed N]      (nn.LSTM -> JSON -> tools/torch-lstm-runner, and random
                                                    TF-layout JSON -> runner vs -> nn.LSTM: both directions)
  torch_interop.py lstm-golden OUT.json             (the committed LSTM golden, tests/data/torch_lstm_roundtrip.json)
"""
import argparse
import base64
import json
import math
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


# ---------------------------------------------------------------------------------------------
# nn.LSTM <-> TF 1.x BasicLSTMCell / LSTMCell (+ MultiRNNCell, bidirectional_dynamic_rnn)

LSTM_CELLS = {"basic": "basic_lstm_cell", "lstm": "lstm_cell"}
PEEPHOLES = ("w_f_diag", "w_i_diag", "w_o_diag")


def swap_gate_blocks(t, dim):
    """torch i, f, g, o <-> TF i, j, f, o: blocks 1 and 2 change places (its own inverse)."""
    i, a, b, o = t.chunk(4, dim=dim)
    return torch.cat([i, b, a, o], dim=dim)


def forget_block(n_units, tf_order):
    """The slice of a [4H] bias holding the forget gate: TF block 2, torch block 1."""
    k = 2 if tf_order else 1
    return slice(k * n_units, (k + 1) * n_units)


def lstm_error(msg):
    raise SystemExit(f"torch_interop.py (LSTM): {msg}")


def check_shape(key, t, want, why):
    if list(t.shape) != list(want):
        lstm_error(f"{key}: shape {list(t.shape)}, want {list(want)} ({why})")


def key_prefix(name):
    """NAME's state_dict keys are NAME.weight_ih_l0 ...; an empty NAME (--lstm =SCOPE) means a bare
    nn.LSTM's own state_dict (weight_ih_l0 ...)."""
    return f"{name}." if name else ""


def torch_lstm_layout(sd, name):
    """(num_layers, bidirectional, proj) of the nn.LSTM whose keys start with NAME."""
    pre = key_prefix(name)
    layers = 0
    while f"{pre}weight_ih_l{layers}" in sd:
        layers += 1
    if layers == 0:
        near = sorted(k for k in sd if k.startswith(f"{pre}"))
        lstm_error(f"state_dict has no {pre}weight_ih_l0 (--lstm {name}=...); "
                   f"keys under {pre}: {near or 'none'}; all keys: {sorted(sd)}")
    bidirectional = f"{pre}weight_ih_l0_reverse" in sd
    proj = f"{pre}weight_hr_l0" in sd
    return layers, bidirectional, proj


def lstm_cell_scopes(scope, cell, layers, bidirectional):
    """[(torch key suffix, TF cell scope)] in nn.LSTM's h_n order (layer, then direction)."""
    if bidirectional:
        if layers != 1:
            lstm_error(f"bidirectional nn.LSTM with num_layers={layers}: only num_layers=1 maps to "
                       "bidirectional_dynamic_rnn (TF stacks more layers with stack_bidirectional_dynamic_rnn, "
                       "not supported)")
        return [("_l0", f"{scope}/fw/{cell}"), ("_l0_reverse", f"{scope}/bw/{cell}")]
    if layers == 1:
        return [("_l0", f"{scope}/{cell}")]
    return [(f"_l{k}", f"{scope}/multi_rnn_cell/cell_{k}/{cell}") for k in range(layers)]


def lstm_to_tf(sd, name, scope, cell, forget_bias):
    """nn.LSTM state_dict entries NAME.* -> [(varscope name, tensor)]."""
    pre = key_prefix(name)
    layers, bidirectional, proj = torch_lstm_layout(sd, name)
    if proj and cell != "lstm_cell":
        lstm_error(f"{pre}weight_hr_l0: nn.LSTM(proj_size=...) needs --lstm-cell lstm (LSTMCell num_proj, "
                   "lstm_cell/projection/kernel); BasicLSTMCell has no projection")
    out = []
    input_size = None
    for k, (suffix, cs) in enumerate(lstm_cell_scopes(scope, cell, layers, bidirectional)):
        w_ih = sd[f"{pre}weight_ih{suffix}"]
        if w_ih.dim() != 2 or w_ih.shape[0] % 4:
            lstm_error(f"{pre}weight_ih{suffix}: shape {list(w_ih.shape)}, want [4*hidden_size, input_size]")
        H = w_ih.shape[0] // 4
        hr_key = f"{pre}weight_hr{suffix}"
        if proj:
            if hr_key not in sd:
                lstm_error(f"state_dict has no {hr_key} (the other layers have a projection)")
            w_hr = sd[hr_key]
            if w_hr.dim() != 2 or w_hr.shape[1] != H:
                lstm_error(f"{hr_key}: shape {list(w_hr.shape)}, want [proj_size, {H}] "
                           f"(hidden_size {H} from {pre}weight_ih{suffix} {list(w_ih.shape)})")
        h_depth = sd[hr_key].shape[0] if proj else H
        hh_key = f"{pre}weight_hh{suffix}"
        if hh_key not in sd:
            lstm_error(f"state_dict has no {hh_key}")
        w_hh = sd[hh_key]
        check_shape(hh_key, w_hh, [4 * H, h_depth],
                    f"[4*hidden_size, {'proj_size' if proj else 'hidden_size'}], hidden_size {H} from "
                    f"{pre}weight_ih{suffix} {list(w_ih.shape)}")
        if bidirectional or k == 0:
            if input_size is not None and w_ih.shape[1] != input_size:
                lstm_error(f"{pre}weight_ih{suffix}: shape {list(w_ih.shape)}, want [{4 * H}, {input_size}] "
                           f"(the forward direction's input size)")
            input_size = w_ih.shape[1]
        b_keys = (f"{pre}bias_ih{suffix}", f"{pre}bias_hh{suffix}")
        present = [b in sd for b in b_keys]
        if any(present) and not all(present):
            lstm_error(f"state_dict has {b_keys[present.index(True)]} but no {b_keys[present.index(False)]}")
        bias = torch.zeros(4 * H) if not any(present) else None  # nn.LSTM(bias=False)
        if bias is None:
            for b in b_keys:
                check_shape(b, sd[b], [4 * H], f"[4*hidden_size], hidden_size {H} from {pre}weight_ih{suffix}")
            bias = sd[b_keys[0]] + sd[b_keys[1]]
        kernel = swap_gate_blocks(torch.cat([w_ih, w_hh], dim=1).t(), 1).contiguous()
        bias = swap_gate_blocks(bias.detach().clone(), 0)
        bias[forget_block(H, True)] -= forget_bias
        out.append((f"{cs}/kernel", kernel))
        out.append((f"{cs}/bias", bias))
        if proj:
            out.append((f"{cs}/projection/kernel", sd[hr_key].t().contiguous()))
    return out


def tf_lstm_layout(by_name, scope, cell):
    """(layers, bidirectional) of the TF-layout LSTM under SCOPE, from the names present."""
    if f"{scope}/{cell}/kernel" in by_name:
        return 1, False
    if f"{scope}/fw/{cell}/kernel" in by_name:
        return 1, True
    layers = 0
    while f"{scope}/multi_rnn_cell/cell_{layers}/{cell}/kernel" in by_name:
        layers += 1
    if layers:
        return layers, False
    near = sorted(n for n in by_name if n.startswith(f"{scope}/"))
    other = "lstm_cell" if cell == "basic_lstm_cell" else "basic_lstm_cell"
    hint = f" (they look like {other}: pass --lstm-cell {'lstm' if other == 'lstm_cell' else 'basic'})" \
        if any(f"/{other}/" in n for n in near) else ""
    lstm_error(f"checkpoint has none of {scope}/{cell}/kernel, {scope}/multi_rnn_cell/cell_0/{cell}/kernel, "
               f"{scope}/fw/{cell}/kernel; names under {scope}/: {near or 'none'}{hint}")


def lstm_to_torch(by_name, name, scope, cell, forget_bias):
    """TF-layout variables -> (nn.LSTM state_dict entries NAME.*, nn.LSTM keyword arguments)."""
    pre = key_prefix(name)
    layers, bidirectional = tf_lstm_layout(by_name, scope, cell)
    out = {}
    config = None
    prev_out = None
    for k, (suffix, cs) in enumerate(lstm_cell_scopes(scope, cell, layers, bidirectional)):
        for p in PEEPHOLES:
            if f"{cs}/{p}" in by_name:
                lstm_error(f"{cs}/{p}: LSTMCell peephole connections (use_peepholes=True) have no nn.LSTM "
                           "equivalent; refusing to convert")
        for part in ("kernel", "bias"):
            if f"{cs}/{part}" not in by_name:
                lstm_error(f"checkpoint has no {cs}/{part}")
        kernel = entry_tensor(by_name[f"{cs}/kernel"])
        bias = entry_tensor(by_name[f"{cs}/bias"])
        if kernel.dim() != 2 or kernel.shape[1] % 4:
            lstm_error(f"{cs}/kernel: shape {list(kernel.shape)}, want [input_depth + h_depth, 4*num_units]")
        H = kernel.shape[1] // 4
        check_shape(f"{cs}/bias", bias, [4 * H], f"[4*num_units], num_units {H} from {cs}/kernel {list(kernel.shape)}")
        proj_name = f"{cs}/projection/kernel"
        P = 0
        if proj_name in by_name:
            if cell != "lstm_cell":
                lstm_error(f"{proj_name}: a projection under basic_lstm_cell is not a BasicLSTMCell variable")
            w_proj = entry_tensor(by_name[proj_name])
            if w_proj.dim() != 2 or w_proj.shape[0] != H:
                lstm_error(f"{proj_name}: shape {list(w_proj.shape)}, want [{H}, num_proj] "
                           f"(num_units {H} from {cs}/kernel {list(kernel.shape)})")
            P = w_proj.shape[1]
            out[f"{pre}weight_hr{suffix}"] = w_proj.t().contiguous()
        h_depth = P or H
        D = kernel.shape[0] - h_depth
        if D <= 0:
            lstm_error(f"{cs}/kernel: shape {list(kernel.shape)}, want [input_depth + {h_depth}, {4 * H}] "
                       f"with input_depth > 0")
        want_d = config["input_size"] if (config and bidirectional) else prev_out
        if want_d is not None and D != want_d:
            lstm_error(f"{cs}/kernel: shape {list(kernel.shape)}, want [{want_d} + {h_depth}, {4 * H}] "
                       f"({'the fw cell' if bidirectional else 'the previous layer'}'s input/output depth {want_d})")
        if config is None:
            config = {"input_size": D, "hidden_size": H, "num_layers": layers, "bias": True,
                      "batch_first": True, "bidirectional": bidirectional, "proj_size": P}
        elif (H, P) != (config["hidden_size"], config["proj_size"]):
            lstm_error(f"{cs}/kernel: num_units {H}, num_proj {P}; nn.LSTM needs every layer the same as the first "
                       f"(num_units {config['hidden_size']}, num_proj {config['proj_size']})")
        prev_out = h_depth
        w = swap_gate_blocks(kernel, 1).t()  # [4H, D + h_depth], torch gate order
        out[f"{pre}weight_ih{suffix}"] = w[:, :D].contiguous()
        out[f"{pre}weight_hh{suffix}"] = w[:, D:].contiguous()
        b = swap_gate_blocks(bias, 0).clone()
        b[forget_block(H, False)] += forget_bias
        out[f"{pre}bias_ih{suffix}"] = b
        out[f"{pre}bias_hh{suffix}"] = torch.zeros(4 * H)
    return out, config


def lstm_specs(args):
    """[(torch name, varscope scope)] of --lstm, with the shared --lstm-cell / --forget-bias."""
    for flag in ("cell_clip", "proj_clip"):
        if getattr(args, flag, None) is not None:
            lstm_error(f"LSTMCell {flag}={getattr(args, flag)}: nn.LSTM cannot clip "
                       f"{'the cell state c' if flag == 'cell_clip' else 'the projected output'}, so its outputs "
                       "would differ from the TF cell's once a value reaches the clip; refusing to convert")
    out = []
    for spec in args.lstm or []:
        if spec.count("=") != 1:
            lstm_error(f"--lstm {spec}: want NAME=SCOPE (torch module name = varscope scope; NAME empty for a "
                       "bare nn.LSTM's state_dict)")
        out.append(tuple(spec.split("=")))
    return out


def lstm_to_json_vars(sd, args):
    cell = LSTM_CELLS[args.lstm_cell]
    return [tensor_entry(n, t) for name, scope in lstm_specs(args)
            for n, t in lstm_to_tf(sd, name, scope, cell, args.forget_bias)]


def lstm_to_state_dict(root, args):
    by_name = {e["name"]: e for e in root["variables"]}
    out, configs = {}, {}
    for name, scope in lstm_specs(args):
        sd, config = lstm_to_torch(by_name, name, scope, LSTM_CELLS[args.lstm_cell], args.forget_bias)
        out.update(sd)
        configs[name] = config
    return out, configs


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


# ---------------------------------------------------------------------------------------------
# lstm-live: both directions through tools/torch-lstm-runner.cpp

LSTM_TOL = 1e-5  # max abs difference, float32 on both sides
LSTM_CONFIGS = [
    # name, --lstm-cell, num_layers, proj_size, bidirectional, forget_bias
    ("basic_1layer", "basic", 1, 0, False, 1.0),
    ("basic_2layers_fb0.5", "basic", 2, 0, False, 0.5),
    ("lstmcell_2layers_proj4", "lstm", 2, 4, False, 1.0),
    ("lstmcell_1layer_fb0", "lstm", 1, 0, False, 0.0),
    ("basic_bidirectional", "basic", 1, 0, True, 1.0),
]
D_IN, HIDDEN, TIME, BATCH = 5, 7, 6, 3


def plain(t):
    return {"shape": list(t.shape), "data": t.detach().flatten().tolist()}


def torch_lstm_run(model, x, lengths, h0, c0):
    """nn.LSTM over ragged rows (packed): outputs zero past each length, h_n / c_n at length-1."""
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        out, (h_n, c_n) = model(packed, (h0, c0))
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, h_n, c_n


def run_lstm_runner(runner, case):
    with tempfile.TemporaryDirectory() as d:
        path, out_path = os.path.join(d, "case.json"), os.path.join(d, "out.json")
        json.dump(case, open(path, "w"))
        r = subprocess.run([runner, path, out_path], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"torch-lstm-runner failed ({r.returncode}): {r.stdout}{r.stderr}")
        return json.load(open(out_path))


def max_diff(got, want):
    """Largest |got - want|, NaN if either holds one (so `< tol` fails)."""
    # the runner's JSON writes a NaN as null
    got = torch.tensor([math.nan if v is None else v for v in got["data"]]).reshape(got["shape"])
    if list(got.shape) != list(want.shape):
        raise SystemExit(f"shape {list(got.shape)} vs {list(want.shape)}")
    d = (got - want).abs()
    return float("nan") if torch.isnan(d).any() else float(d.max())


def compare_lstm(ran, out, h_n, c_n):
    worst = max_diff(ran["outputs"], out)
    if len(ran["final_state"]) != h_n.shape[0]:
        raise SystemExit(f"varscope gave {len(ran['final_state'])} (c, h) states, nn.LSTM {h_n.shape[0]}")
    for i, s in enumerate(ran["final_state"]):
        worst = nan_max(worst, max_diff(s["c"], c_n[i]), max_diff(s["h"], h_n[i]))
    return worst


def nan_max(*xs):
    return float("nan") if any(x != x for x in xs) else max(xs)


def lstm_case_base(cfg, rng):
    name, cell, layers, proj, bidir, fb = cfg
    x = torch.randn(BATCH, TIME, D_IN, generator=rng)
    lengths = torch.tensor([TIME, 4, 1])[torch.randperm(BATCH, generator=rng)]
    n_states = layers * (2 if bidir else 1)
    h0 = torch.randn(n_states, BATCH, proj or HIDDEN, generator=rng) * 0.5
    c0 = torch.randn(n_states, BATCH, HIDDEN, generator=rng) * 0.5
    case = {"cell": cell, "units": HIDDEN, "num_proj": proj, "num_layers": layers, "bidirectional": bidir,
            "forget_bias": fb, "inputs": plain(x),
            "sequence_length": {"shape": [BATCH], "data": lengths.tolist()},
            "initial_state": [{"c": plain(c0[i]), "h": plain(h0[i])} for i in range(n_states)]}
    return case, x, lengths, h0, c0


def random_tf_checkpoint(cfg, rng):
    """A TF-layout checkpoint drawn directly in TF's names and shapes (non-zero biases), not via lstm_to_tf."""
    name, cell, layers, proj, bidir, fb = cfg
    cell_name = LSTM_CELLS[cell]
    variables = []
    for k, (_, cs) in enumerate(lstm_cell_scopes("rnn" if not bidir else "bidirectional_rnn", cell_name, layers, bidir)):
        d = D_IN if (k == 0 or bidir) else (proj or HIDDEN)
        u = lambda *shape: (torch.rand(*shape, generator=rng) * 2 - 1) * 0.6
        variables.append(tensor_entry(f"{cs}/kernel", u(d + (proj or HIDDEN), 4 * HIDDEN)))
        variables.append(tensor_entry(f"{cs}/bias", u(4 * HIDDEN)))
        if proj:
            variables.append(tensor_entry(f"{cs}/projection/kernel", u(HIDDEN, proj)))
    return {"format": "varscope-checkpoint", "version": 1, "variables": variables}


def torch_from_tf(root, cfg):
    name, cell, layers, proj, bidir, fb = cfg
    sd, config = lstm_to_torch({e["name"]: e for e in root["variables"]}, "",  # a bare nn.LSTM's keys
                               "bidirectional_rnn" if bidir else "rnn", LSTM_CELLS[cell], fb)
    model = torch.nn.LSTM(**config)
    model.load_state_dict(sd, strict=True)
    return model


def expect_refusal(what, fn, *needles):
    try:
        fn()
    except SystemExit as e:
        msg = str(e)
        missing = [n for n in needles if n not in msg]
        if missing:
            raise SystemExit(f"{what}: the error does not mention {missing}: {msg}")
        print(f"  refused as expected: {what}: {msg}")
        return
    raise SystemExit(f"{what}: was NOT refused")


def lstm_error_checks():
    torch.manual_seed(0)
    sd = {f"lstm.{k}": v for k, v in torch.nn.LSTM(D_IN, HIDDEN, batch_first=True).state_dict().items()}
    expect_refusal("missing tensor", lambda: lstm_to_tf(sd, "rnn_layer", "rnn", "basic_lstm_cell", 1.0),
                   "rnn_layer.weight_ih_l0")
    bad = dict(sd)
    bad["lstm.weight_hh_l0"] = bad["lstm.weight_hh_l0"][:, :HIDDEN - 1]
    expect_refusal("shape mismatch", lambda: lstm_to_tf(bad, "lstm", "rnn", "basic_lstm_cell", 1.0),
                   "lstm.weight_hh_l0", f"[{4 * HIDDEN}, {HIDDEN - 1}]", f"[{4 * HIDDEN}, {HIDDEN}]")
    psd = {f"lstm.{k}": v for k, v in torch.nn.LSTM(D_IN, HIDDEN, proj_size=3).state_dict().items()}
    expect_refusal("projection into BasicLSTMCell", lambda: lstm_to_tf(psd, "lstm", "rnn", "basic_lstm_cell", 1.0),
                   "weight_hr_l0", "--lstm-cell lstm")
    root = {"variables": [tensor_entry(n, t) for n, t in lstm_to_tf(sd, "lstm", "rnn", "lstm_cell", 1.0)]}
    root["variables"].append(tensor_entry("rnn/lstm_cell/w_f_diag", torch.zeros(HIDDEN)))
    expect_refusal("peepholes", lambda: lstm_to_torch({e["name"]: e for e in root["variables"]}, "lstm", "rnn",
                                                      "lstm_cell", 1.0), "rnn/lstm_cell/w_f_diag", "peephole")
    expect_refusal("cell clipping", lambda: lstm_specs(parser().parse_args(["to-torch", "a", "b", "--cell-clip", "3"])),
                   "cell_clip", "cannot clip")
    two = {f"lstm.{k}": v for k, v in torch.nn.LSTM(D_IN, HIDDEN, num_layers=2, bidirectional=True).state_dict().items()}
    expect_refusal("bidirectional 2 layers", lambda: lstm_to_tf(two, "lstm", "rnn", "basic_lstm_cell", 1.0),
                   "num_layers=2", "stack_bidirectional_dynamic_rnn")
    wrong_cell = {e["name"]: e for e in root["variables"] if "w_f_diag" not in e["name"]}
    expect_refusal("wrong --lstm-cell", lambda: lstm_to_torch(wrong_cell, "lstm", "rnn", "basic_lstm_cell", 1.0),
                   "rnn/basic_lstm_cell/kernel", "--lstm-cell lstm")


def lstm_cli_check():
    """to-json / to-torch from the command line (torch.save / torch.load files, the flags) give what the
    functions the live cases use give; returns the problems found."""
    model = torch.nn.Sequential()
    model.add_module("enc", torch.nn.LSTM(D_IN, HIDDEN, num_layers=2, proj_size=3))
    problems = []
    with tempfile.TemporaryDirectory() as d:
        pt, js, back = (os.path.join(d, n) for n in ("m.pt", "m.json", "back.pt"))
        torch.save(model.state_dict(), pt)
        flags = ["--lstm", "enc=model/rnn", "--lstm-cell", "lstm", "--forget-bias", "0.75"]
        for cmd in (["to-json", pt, js], ["to-torch", js, back]):
            r = subprocess.run([sys.executable, os.path.abspath(__file__)] + cmd + flags, capture_output=True, text=True)
            if r.returncode != 0:
                return [f"torch_interop.py {' '.join(cmd + flags)} failed: {r.stdout}{r.stderr}"]
        want = lstm_to_tf(model.state_dict(), "enc", "model/rnn", "lstm_cell", 0.75)
        got = {e["name"]: entry_tensor(e) for e in json.load(open(js))["variables"]}
        if [n for n, _ in want] != list(got):
            problems.append(f"to-json wrote {list(got)}, want {[n for n, _ in want]}")
        elif any(not torch.equal(got[n], t) for n, t in want):
            problems.append("to-json's values differ from lstm_to_tf's")
        sd, sd_back = model.state_dict(), torch.load(back)
        for k, v in sd.items():
            if "bias" not in k and not torch.equal(sd_back[k], v):
                problems.append(f"to-json then to-torch changes {k}")
        if "enc.bias_hh_l1" not in sd_back or not torch.allclose(sd_back["enc.bias_ih_l1"] + sd_back["enc.bias_hh_l1"],
                                                                 sd["enc.bias_ih_l1"] + sd["enc.bias_hh_l1"], atol=1e-6):
            problems.append("to-json then to-torch changes bias_ih_l1 + bias_hh_l1")
    print(f"  command line to-json / to-torch (2 layers, proj_size 3, forget_bias 0.75): "
          f"{'ok' if not problems else 'MISMATCH'}")
    return problems


LSTM_GOLDEN_CONFIGS = ["basic_2layers_fb0.5", "lstmcell_2layers_proj4", "basic_bidirectional"]


def lstm_golden(seed=1234):
    """nn.LSTM cases converted to TF layout, with PyTorch's outputs and final (c, h) as "want":
    tests/data/torch_lstm_roundtrip.json, run by checkpoint_test through tests/support/lstm_case.hpp."""
    rng = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cases = []
    for cfg in LSTM_CONFIGS:
        name, cell, layers, proj, bidir, fb = cfg
        if name not in LSTM_GOLDEN_CONFIGS:
            continue
        model = torch.nn.LSTM(D_IN, HIDDEN, num_layers=layers, batch_first=True, bidirectional=bidir, proj_size=proj)
        case, x, lengths, h0, c0 = lstm_case_base(cfg, rng)
        variables = lstm_to_tf({f"lstm.{k}": v for k, v in model.state_dict().items()}, "lstm",
                               "bidirectional_rnn" if bidir else "rnn", LSTM_CELLS[cell], fb)
        case["checkpoint"] = {"format": "varscope-checkpoint", "version": 1,
                              "variables": [tensor_entry(n, t) for n, t in variables]}
        out, h_n, c_n = torch_lstm_run(model, x, lengths, h0, c0)
        case["name"] = name
        case["want"] = {"outputs": plain(out),
                        "final_state": [{"c": plain(c_n[i]), "h": plain(h_n[i])} for i in range(h_n.shape[0])]}
        cases.append(case)
    return {"about": ("Seeded nn.LSTMs (seed 1234; 2 layers forget_bias 0.5, LSTMCell 2 layers proj_size 4, "
                      "bidirectional; ragged lengths, random initial states) converted to TF layout by "
                      "tools/torch_interop.py (--lstm); want = PyTorch's outputs and final (c, h). Regenerate: "
                      "/usr/bin/python3 tools/torch_interop.py lstm-golden tests/data/torch_lstm_roundtrip.json"),
            "torch": torch.__version__, "cases": cases}


def lstm_live(runner, seed):
    rng = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    worst = {"torch->varscope": 0.0, "TF-layout->torch": 0.0, "varscope init->torch": 0.0}
    failures = []
    for cfg in LSTM_CONFIGS:
        name, cell, layers, proj, bidir, fb = cfg
        scope = "bidirectional_rnn" if bidir else "rnn"
        # 1. PyTorch -> JSON -> varscope
        model = torch.nn.LSTM(D_IN, HIDDEN, num_layers=layers, batch_first=True, bidirectional=bidir, proj_size=proj)
        case, x, lengths, h0, c0 = lstm_case_base(cfg, rng)
        sd = {f"lstm.{k}": v for k, v in model.state_dict().items()}
        variables = lstm_to_tf(sd, "lstm", scope, LSTM_CELLS[cell], fb)
        case["checkpoint"] = {"format": "varscope-checkpoint", "version": 1,
                              "variables": [tensor_entry(n, t) for n, t in variables]}
        # the way back gives the same weights (bias_ih + bias_hh summed into bias_ih)
        back, _ = lstm_to_torch({e["name"]: e for e in case["checkpoint"]["variables"]}, "lstm", scope,
                                LSTM_CELLS[cell], fb)
        for k, v in sd.items():
            if k.startswith("lstm.bias_hh"):
                continue
            want = v + sd[k.replace("bias_ih", "bias_hh")] if k.startswith("lstm.bias_ih") else v
            if not torch.allclose(back[k], want, rtol=0, atol=1e-6):
                failures.append(f"{name}: to-json then to-torch changes {k}")
        out, h_n, c_n = torch_lstm_run(model, x, lengths, h0, c0)
        d1 = compare_lstm(run_lstm_runner(runner, case), out, h_n, c_n)
        # 2. random TF-layout JSON -> varscope, and -> nn.LSTM
        case, x, lengths, h0, c0 = lstm_case_base(cfg, rng)
        case["checkpoint"] = random_tf_checkpoint(cfg, rng)
        ran = run_lstm_runner(runner, case)
        d2 = compare_lstm(ran, *torch_lstm_run(torch_from_tf(case["checkpoint"], cfg), x, lengths, h0, c0))
        # 3. varscope's own initialisation (glorot kernels, zero biases), saved by the runner -> nn.LSTM
        del case["checkpoint"]
        case["seed"] = seed % 1000003
        ran = run_lstm_runner(runner, case)
        d3 = compare_lstm(ran, *torch_lstm_run(torch_from_tf(ran["checkpoint"], cfg), x, lengths, h0, c0))
        print(f"  {name:24s} max abs diff: torch->varscope {d1:.3g}, TF-layout->torch {d2:.3g}, "
              f"varscope init->torch {d3:.3g}", flush=True)
        for key, d in zip(worst, (d1, d2, d3)):
            worst[key] = nan_max(worst[key], d)
            if not d < LSTM_TOL:
                failures.append(f"{name}: {key} max abs diff {d:.3g} >= {LSTM_TOL}")
    failures += lstm_cli_check()
    lstm_error_checks()
    print("torch_interop lstm-live: worst " + ", ".join(f"{k} {v:.3g}" for k, v in worst.items())
          + f" (tolerance {LSTM_TOL})")
    for f in failures:
        print("torch_interop lstm-live: FAIL", f)
    return 1 if failures else 0


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["to-json", "to-torch", "golden", "live", "lstm-live", "lstm-golden"])
    p.add_argument("paths", nargs="+")
    p.add_argument("--embedding", action="append")
    p.add_argument("--gru", action="append")
    p.add_argument("--linear", action="append")
    p.add_argument("--lstm", action="append", metavar="NAME=SCOPE",
                   help="nn.LSTM NAME <-> TF LSTM under SCOPE (see the mapping table above)")
    p.add_argument("--lstm-cell", choices=sorted(LSTM_CELLS), default="basic",
                   help="basic: SCOPE/.../basic_lstm_cell/... (BasicLSTMCell, default); lstm: .../lstm_cell/... (LSTMCell)")
    p.add_argument("--forget-bias", type=float, default=1.0,
                   help="the forget_bias the TF cell runs with (default 1.0): subtracted from / added to the f bias")
    p.add_argument("--cell-clip", type=float, help="the TF LSTMCell's cell_clip: refused (nn.LSTM cannot clip)")
    p.add_argument("--proj-clip", type=float, help="the TF LSTMCell's proj_clip: refused (nn.LSTM cannot clip)")
    p.add_argument("--seed", type=int, help="live: the model seed (default: VARSCOPE_TORCH_SEED, else random)")
    return p


def main():
    args = parser().parse_args()
    if args.command == "to-json":
        sd = torch.load(args.paths[0])
        root = to_json(sd, mapping(args))
        root["variables"] += lstm_to_json_vars(sd, args)
        json.dump(root, open(args.paths[1], "w"))
    elif args.command == "to-torch":
        root = json.load(open(args.paths[0]))
        sd = to_state_dict(root, mapping(args))
        lstm_sd, configs = lstm_to_state_dict(root, args)
        sd.update(lstm_sd)
        for name, config in configs.items():
            kw = ", ".join(f"{k}={v}" for k, v in config.items() if not (k == "proj_size" and v == 0))
            print(f"{name or '(bare nn.LSTM)'}: torch.nn.LSTM({kw})  # batch_first is yours to choose")
        torch.save(sd, args.paths[1])
    elif args.command == "golden":
        case = model_case(1234)
        case["about"] = ("PyTorch Embedding+GRU+Linear (seed 1234) converted by tools/torch_interop.py; "
                         "logits/final_state are PyTorch's outputs for ids. Regenerate: "
                         "/usr/bin/python3 tools/torch_interop.py golden tests/data/torch_roundtrip.json")
        json.dump(case, open(args.paths[0], "w"))
    elif args.command == "lstm-golden":
        json.dump(lstm_golden(), open(args.paths[0], "w"))
    elif args.command in ("live", "lstm-live"):
        # A fresh random model each run, through the varscope runner binary.
        seed = args.seed
        if seed is None and os.environ.get("VARSCOPE_TORCH_SEED"):
            seed = int(os.environ["VARSCOPE_TORCH_SEED"])
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little")
        print(f"torch_interop {args.command}: seed {seed} (reproduce: VARSCOPE_TORCH_SEED={seed} or --seed {seed})",
              flush=True)
        if args.command == "lstm-live":
            rc = lstm_live(args.paths[0], seed)
            if rc:
                print(f"torch_interop lstm-live: FAILED with seed {seed}", flush=True)
            sys.exit(rc)
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
