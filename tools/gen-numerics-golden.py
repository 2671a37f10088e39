#!/usr/bin/python3
"""Generate tests/data/numerics_golden.json: golden data for Dense, softmax /
log_softmax, the TF 1.x GRUCell under dynamic_rnn ("gru_tf") and PyTorch's
nn.GRU ("gru_torch", the reset-after variant).

Run with the system Python (the pyenv `python3` on PATH has no torch):

    /usr/bin/python3 tools/gen-numerics-golden.py

Needs Debian's python3-torch (1.13) and python3-numpy.  Deterministic: fixed
seeds, numpy's PCG64 generator for every input and weight, float64 references
rounded to float32.  Every tensor is {"shape": [...], "data": [flat row-major]};
floats are written as the exact double value of a float32, so parsing to double
and casting to float recovers the float32 bit pattern exactly.
"""

import hashlib
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "numerics_golden.json")
TFJS = os.path.join(ROOT, "tests", "data", "gru_tfjs_golden.json")

torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


# --------------------------------------------------------------------------
# helpers

def f32(a):
    return np.asarray(a, dtype=np.float32)


def tensor(a):
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        data = [int(v) for v in a.reshape(-1)]
    else:
        data = [float(v) for v in f32(a).reshape(-1)]  # exact float32 value as double
    return {"shape": list(a.shape), "data": data}


def uniform(rng, shape, lo=-0.5, hi=0.5):
    return f32(rng.uniform(lo, hi, size=shape))


def sigmoid64(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # stable for any |x|


def nan_max(*xs):
    """max() that keeps a NaN (Python's max(0.0, nan) is 0.0), so the asserts below fail on one."""
    return float("nan") if any(np.isnan(x) for x in xs) else max(xs)


def max_abs(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


# --------------------------------------------------------------------------
# Dense: y = act(x @ kernel + bias)

ACTS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": sigmoid64,
}


def dense_case(name, seed, batch, in_dim, units, activation, use_bias):
    rng = np.random.default_rng(seed)
    x = uniform(rng, (batch, in_dim), -2.0, 2.0)
    kernel = uniform(rng, (in_dim, units), -1.0, 1.0)
    bias = uniform(rng, (units,), -1.0, 1.0) if use_bias else None
    z = x.astype(np.float64) @ kernel.astype(np.float64)
    if use_bias:
        z = z + bias.astype(np.float64)
    y = ACTS[activation](z)
    # cross-check against torch float32
    yt = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(kernel.T.copy()),
                                    None if bias is None else torch.from_numpy(bias))
    yt = {"linear": lambda t: t, "relu": torch.relu, "tanh": torch.tanh,
          "sigmoid": torch.sigmoid}[activation](yt).numpy()
    d = max_abs(y, yt)
    assert d < 1e-5, (name, d)
    print(f"dense/{name}: torch vs float64 max abs diff {d:.3g}")
    return {
        "name": name,
        "activation": activation,
        "use_bias": use_bias,
        "units": units,
        "x": tensor(x),
        "kernel": tensor(kernel),
        "bias": None if bias is None else tensor(bias),
        "y": tensor(y),
    }


def dense_cases():
    return [
        dense_case("relu_bias_3x5_to_4", 101, 3, 5, 4, "relu", True),
        dense_case("linear_nobias_2x7_to_6", 102, 2, 7, 6, "linear", False),
        dense_case("tanh_bias_4x3_to_2", 103, 4, 3, 2, "tanh", True),
        dense_case("sigmoid_nobias_3x6_to_5", 104, 3, 6, 5, "sigmoid", False),
    ]


# --------------------------------------------------------------------------
# softmax / log_softmax over the last axis (stable: subtract the row max)

def softmax_case(name, logits):
    logits = f32(logits)
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=-1, keepdims=True))
    log_sm = z - lse
    sm = np.exp(log_sm)
    t = torch.from_numpy(logits)
    d1 = max_abs(sm, torch.softmax(t, -1).numpy())
    d2 = max_abs(log_sm, torch.log_softmax(t, -1).numpy())
    assert d1 < 1e-6 and d2 < 1e-4, (name, d1, d2)
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(log_sm))
    print(f"softmax/{name}: torch vs float64 max abs diff softmax {d1:.3g}, log_softmax {d2:.3g}")
    return {"name": name, "logits": tensor(logits), "softmax": tensor(sm),
            "log_softmax": tensor(log_sm)}


def softmax_cases():
    rng = np.random.default_rng(201)
    return [
        softmax_case("random_4x6", uniform(rng, (4, 6), -3.0, 3.0)),
        softmax_case("stability_4x4", [
            [1000.0, -1000.0, 0.0, 1.0],       # huge spread: exp overflow / underflow
            [-1000.0, -1000.0, -999.0, -1001.0],  # all hugely negative
            [1000.0, 1000.0, 1000.0, 1000.0],  # all equal, huge: uniform
            [0.5, 0.5, 0.5, 0.5],              # all equal: uniform
        ]),
        softmax_case("rank3_2x3x5", uniform(np.random.default_rng(203), (2, 3, 5), -5.0, 5.0)),
    ]


# --------------------------------------------------------------------------
# TF 1.x GRUCell under dynamic_rnn (reset before; concat order [input, state])

def tf_gru_reference(x, lengths, h0, gk, gb, ck, cb):
    """float64 reference of tf.nn.dynamic_rnn(GRUCell) with sequence_length."""
    x = x.astype(np.float64)
    gk, gb, ck, cb = (a.astype(np.float64) for a in (gk, gb, ck, cb))
    B, T, _ = x.shape
    H = h0.shape[1]
    h = h0.astype(np.float64).copy()
    out = np.zeros((B, T, H))
    for t in range(T):
        xt = x[:, t, :]
        value = sigmoid64(np.concatenate([xt, h], axis=1) @ gk + gb)
        r, u = value[:, :H], value[:, H:]
        c = np.tanh(np.concatenate([xt, r * h], axis=1) @ ck + cb)
        new_h = u * h + (1.0 - u) * c
        alive = (t < np.asarray(lengths))[:, None]
        h = np.where(alive, new_h, h)          # state copied through past the length
        out[:, t, :] = np.where(alive, new_h, 0.0)  # zero output past the length
    return out, h


def gru_tf_case(name, seed, B, T, D, H, lengths, *, tf_default_bias, random_h0):
    rng = np.random.default_rng(seed)
    x = uniform(rng, (B, T, D), -1.0, 1.0)
    gk = uniform(rng, (D + H, 2 * H))
    ck = uniform(rng, (D + H, H))
    if tf_default_bias:
        gb = np.ones(2 * H, np.float32)   # TF GRUCell default gates bias: 1.0
        cb = np.zeros(H, np.float32)      # TF GRUCell default candidate bias: 0.0
    else:
        gb = uniform(rng, (2 * H,))
        cb = uniform(rng, (H,))
    h0 = uniform(rng, (B, H), -1.0, 1.0) if random_h0 else np.zeros((B, H), np.float32)
    out, hT = tf_gru_reference(x, lengths, h0, gk, gb, ck, cb)
    # sanity checks of the sequence_length semantics
    for b, L in enumerate(lengths):
        assert np.all(out[b, L:] == 0.0)
        assert np.array_equal(hT[b], out[b, L - 1]) if L > 0 else np.array_equal(hT[b], h0[b])
    print(f"gru_tf/{name}: B={B} T={T} D={D} H={H} lengths={lengths}")
    return {
        "name": name,
        "batch": B, "time": T, "input_dim": D, "units": H,
        "inputs": tensor(x),
        "sequence_length": tensor(np.asarray(lengths, dtype=np.int32)),
        "initial_state": tensor(h0),
        "gates_kernel": tensor(gk),
        "gates_bias": tensor(gb),
        "candidate_kernel": tensor(ck),
        "candidate_bias": tensor(cb),
        "outputs": tensor(out),
        "final_state": tensor(hT),
    }


def gru_tf_cases():
    return [
        gru_tf_case("small_ragged_default_bias", 301, 3, 5, 4, 6, [5, 2, 0],
                    tf_default_bias=True, random_h0=False),
        gru_tf_case("initial_state_ragged", 302, 3, 5, 4, 6, [3, 0, 5],
                    tf_default_bias=False, random_h0=True),
        gru_tf_case("d3_h5_b2_t4", 303, 2, 4, 3, 5, [4, 3],
                    tf_default_bias=False, random_h0=False),
    ]


# --------------------------------------------------------------------------
# PyTorch nn.GRU (reset after), gate order r, z, n

def torch_gru_reference(x, lengths, h0, w_ih, w_hh, b_ih, b_hh):
    x = x.astype(np.float64)
    w_ih, w_hh, b_ih, b_hh = (a.astype(np.float64) for a in (w_ih, w_hh, b_ih, b_hh))
    B, T, _ = x.shape
    H = h0.shape[1]
    h = h0.astype(np.float64).copy()
    out = np.zeros((B, T, H))
    for t in range(T):
        gi = x[:, t, :] @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        r = sigmoid64(gi[:, :H] + gh[:, :H])
        z = sigmoid64(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        new_h = (1.0 - z) * n + z * h
        alive = (t < np.asarray(lengths))[:, None]
        h = np.where(alive, new_h, h)
        out[:, t, :] = np.where(alive, new_h, 0.0)
    return out, h


def gru_torch_case(name, seed, B, T, D, H, lengths, *, random_h0):
    assert min(lengths) >= 1  # pack_padded_sequence rejects zero lengths
    rng = np.random.default_rng(seed)
    x = uniform(rng, (B, T, D), -1.0, 1.0)
    w_ih = uniform(rng, (3 * H, D))
    w_hh = uniform(rng, (3 * H, H))
    b_ih = uniform(rng, (3 * H,))
    b_hh = uniform(rng, (3 * H,))
    h0 = uniform(rng, (B, H), -1.0, 1.0) if random_h0 else np.zeros((B, H), np.float32)

    gru = torch.nn.GRU(D, H, batch_first=True)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(w_ih))
        gru.weight_hh_l0.copy_(torch.from_numpy(w_hh))
        gru.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        gru.bias_hh_l0.copy_(torch.from_numpy(b_hh))
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            torch.from_numpy(x), torch.tensor(lengths, dtype=torch.int64),
            batch_first=True, enforce_sorted=False)
        out_p, h_n = gru(packed, torch.from_numpy(h0).unsqueeze(0))
        out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=T)
    out_t = out_t.numpy()
    h_n = h_n[0].numpy()
    assert out_t.dtype == np.float32 and out_t.shape == (B, T, H)

    ref_out, ref_h = torch_gru_reference(x, lengths, h0, w_ih, w_hh, b_ih, b_hh)
    d = nan_max(max_abs(ref_out, out_t), max_abs(ref_h, h_n))
    assert d < 1e-5, (name, d)
    for b, L in enumerate(lengths):
        assert np.all(out_t[b, L:] == 0.0)
    print(f"gru_torch/{name}: B={B} T={T} D={D} H={H} lengths={lengths}; "
          f"nn.GRU vs float64 re-implementation max abs diff {d:.3g}")
    return {
        "name": name,
        "batch": B, "time": T, "input_dim": D, "units": H,
        "inputs": tensor(x),
        "sequence_length": tensor(np.asarray(lengths, dtype=np.int32)),
        "initial_state": tensor(h0),
        "weight_ih": tensor(w_ih),
        "weight_hh": tensor(w_hh),
        "bias_ih": tensor(b_ih),
        "bias_hh": tensor(b_hh),
        "outputs": tensor(out_t),   # real nn.GRU float32 output
        "final_state": tensor(h_n),
    }


def gru_torch_cases():
    return [
        gru_torch_case("ragged_initial_state", 401, 3, 5, 4, 6, [5, 2, 4], random_h0=True),
        gru_torch_case("d3_h5_b2_t4", 402, 2, 4, 3, 5, [4, 1], random_h0=False),
    ]


# --------------------------------------------------------------------------
# output: indented JSON, but every list of numbers on one line

def dumps(obj, indent=0):
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(k)}: {dumps(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return json.dumps(obj)
        items = [f"{pad} {dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def check_against_tfjs(doc, sha):
    if not os.path.exists(TFJS):
        print("note: tests/data/gru_tfjs_golden.json not found; TF.js cross-check skipped")
        return
    with open(TFJS) as f:
        tfjs = json.load(f)
    if tfjs.get("source_sha256") != sha:
        print("note: gru_tfjs_golden.json was made from a different numerics_golden.json; "
              "regenerate it (see tools/README-golden.md). TF.js cross-check skipped")
        return
    by_name = {c["name"]: c for c in tfjs["cases"]}
    worst = 0.0
    for case in doc["gru_tf"]:
        other = by_name[case["name"]]
        d = nan_max(*(max_abs(case[k]["data"], other[k]["data"]) for k in ("outputs", "final_state")))
        print(f"gru_tf/{case['name']}: float64 reference vs TF.js max abs diff {d:.3g}")
        worst = nan_max(worst, d)
    assert worst < 1e-5, worst


def main():
    doc = {
        "about": ("Golden data for varscope numerics: dense (y = act(x @ kernel + bias)), "
                  "softmax/log_softmax over the last axis, TF 1.x GRUCell under dynamic_rnn "
                  "with sequence_length (gru_tf: float64 numpy reference rounded to float32; "
                  "outputs zero and state copied through past each length), and PyTorch "
                  "nn.GRU reset-after math (gru_torch: real torch.nn.GRU float32 outputs via "
                  "pack_padded_sequence). Tensors are {shape, data} with flat row-major data. "
                  "See tools/README-golden.md."),
        "generator": (f"tools/gen-numerics-golden.py (torch {torch.__version__}, "
                      f"numpy {np.__version__})"),
        "dense": dense_cases(),
        "softmax": softmax_cases(),
        "gru_tf": gru_tf_cases(),
        "gru_torch": gru_torch_cases(),
    }
    text = dumps(doc) + "\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    sha = hashlib.sha256(text.encode()).hexdigest()
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({len(text)} bytes, sha256 {sha})")
    check_against_tfjs(doc, sha)


if __name__ == "__main__":
    sys.exit(main())
