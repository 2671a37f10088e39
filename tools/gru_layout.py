#!/usr/bin/env python3
"""Converts GRU weights in a varscope JSON checkpoint between the TF-layout
GRUCell (SCOPE/gates/kernel [D+H, 2H] with columns [r | u], gates/bias [2H],
candidate/kernel [D+H, H], candidate/bias [H]) and the Keras layout with
reset_after=False (SCOPE/kernel [D, 3H], SCOPE/recurrent_kernel [H, 3H],
SCOPE/bias [3H], gate order z, r, h). The math is identical (z == u): this is
the mapping tools/tfjs-golden/gen-gru-tfjs.mjs uses to run our weights in
TensorFlow.js. Pure Python, no dependencies.

  gru_layout.py to-keras IN.json OUT.json   every SCOPE with gates/kernel is converted
  gru_layout.py to-tf    IN.json OUT.json   every SCOPE with recurrent_kernel is converted
  gru_layout.py selftest IN.json            to-keras then to-tf must give IN's values back
  gru_layout.py keras-check GOLDEN.json     convert each TF-layout case of tests/data/numerics_golden.json
                                            to Keras layout and run the Keras (reset_after=False) GRU
                                            equations on it: must reproduce the golden outputs
"""
import math
import json
import sys


from ckpt_json import flat, matrix, values  # noqa: E402
import ckpt_json  # noqa: E402


def entry(name, rows, cols, flat_values):
    return ckpt_json.entry(name, [rows, cols] if cols is not None else [rows], flat_values)


def to_keras(by_name, scope):
    gk, gb = matrix(by_name[f"{scope}/gates/kernel"]), values(by_name[f"{scope}/gates/bias"])
    ck, cb = matrix(by_name[f"{scope}/candidate/kernel"]), values(by_name[f"{scope}/candidate/bias"])
    H = len(cb)
    D = len(gk) - H
    rows = [gk[i][H:] + gk[i][:H] + ck[i] for i in range(D + H)]  # z(=u), r, h
    return [entry(f"{scope}/kernel", D, 3 * H, flat(rows[:D])),
            entry(f"{scope}/recurrent_kernel", H, 3 * H, flat(rows[D:])),
            entry(f"{scope}/bias", 3 * H, None, gb[H:] + gb[:H] + cb)]


def to_tf(by_name, scope):
    k, rk, b = matrix(by_name[f"{scope}/kernel"]), matrix(by_name[f"{scope}/recurrent_kernel"]), values(by_name[f"{scope}/bias"])
    H = len(b) // 3
    rows = k + rk
    gates = [row[H:2 * H] + row[:H] for row in rows]  # [r | u]
    cand = [row[2 * H:] for row in rows]
    return [entry(f"{scope}/gates/kernel", len(rows), 2 * H, flat(gates)),
            entry(f"{scope}/gates/bias", 2 * H, None, b[H:2 * H] + b[:H]),
            entry(f"{scope}/candidate/kernel", len(rows), H, flat(cand)),
            entry(f"{scope}/candidate/bias", H, None, b[2 * H:])]


def convert(root, direction):
    by_name = {e["name"]: e for e in root["variables"]}
    marker = "/gates/kernel" if direction == "to-keras" else "/recurrent_kernel"
    scopes = [n[: -len(marker)] for n in by_name if n.endswith(marker)]
    if not scopes:
        raise SystemExit(f"no GRU weights ({marker}) found to convert")
    parts = ["gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"] if direction == "to-keras" \
        else ["kernel", "recurrent_kernel", "bias"]
    out = []
    for e in root["variables"]:
        scope = next((s for s in scopes if e["name"] in [f"{s}/{p}" for p in parts]), None)
        if scope is None:
            out.append(e)
        elif e["name"] == f"{scope}/{parts[0]}":
            out.extend(to_keras(by_name, scope) if direction == "to-keras" else to_tf(by_name, scope))
    return dict(root, variables=out)


def keras_gru(keras, x_seq, h, length):
    """Keras GRU, reset_after=False: z = s(xWz + hUz + bz), r = s(xWr + hUr + br),
    hh = tanh(xWh + (r*h)Uh + bh), h' = z*h + (1-z)*hh; steps past `length` keep h, emit 0."""
    W, U, b = keras["kernel"], keras["recurrent_kernel"], keras["bias"]
    H = len(b) // 3
    sig = lambda v: 1.0 / (1.0 + math.exp(-v))
    outputs = []
    for t, x in enumerate(x_seq):
        if t >= length:
            outputs.append([0.0] * H)
            continue
        def lin(vec, M, col):
            return sum(vec[i] * M[i][col] for i in range(len(vec)))
        z = [sig(lin(x, W, j) + lin(h, U, j) + b[j]) for j in range(H)]
        r = [sig(lin(x, W, H + j) + lin(h, U, H + j) + b[H + j]) for j in range(H)]
        rh = [r[j] * h[j] for j in range(H)]
        hh = [math.tanh(lin(x, W, 2 * H + j) + lin(rh, U, 2 * H + j) + b[2 * H + j]) for j in range(H)]
        h = [z[j] * h[j] + (1 - z[j]) * hh[j] for j in range(H)]
        outputs.append(h)
    return outputs, h


def nan_max(*xs):
    """max() that keeps a NaN (Python's max(0.0, nan) is 0.0), so `worst < tol` fails on one."""
    return math.nan if any(math.isnan(x) for x in xs) else max(xs)


def keras_check(golden):
    worst = 0.0
    for case in golden["gru_tf"]:
        def ent(name, key):
            t = case[key]
            return {"name": name, "dtype": "float32", "shape": t["shape"], "values": t["data"]}
        root = {"variables": [ent("cell/gates/kernel", "gates_kernel"), ent("cell/gates/bias", "gates_bias"),
                              ent("cell/candidate/kernel", "candidate_kernel"), ent("cell/candidate/bias", "candidate_bias")]}
        conv = {e["name"].split("/")[-1]: e for e in convert(root, "to-keras")["variables"]}
        keras = {"kernel": matrix(conv["kernel"]), "recurrent_kernel": matrix(conv["recurrent_kernel"]),
                 "bias": values(conv["bias"])}
        B, T, D = case["inputs"]["shape"]
        H = case["initial_state"]["shape"][1]
        xs, h0 = case["inputs"]["data"], case["initial_state"]["data"]
        lengths = case["sequence_length"]["data"]
        out, fin = case["outputs"]["data"], case["final_state"]["data"]
        for b in range(B):
            seq = [xs[(b * T + t) * D:(b * T + t + 1) * D] for t in range(T)]
            o, hN = keras_gru(keras, seq, h0[b * H:(b + 1) * H], lengths[b])
            for t in range(T):
                for j in range(H):
                    worst = nan_max(worst, abs(o[t][j] - out[(b * T + t) * H + j]))
            for j in range(H):
                worst = nan_max(worst, abs(hN[j] - fin[b * H + j]))
    ok = worst < 1e-5
    print(f"gru_layout keras-check: {'ok' if ok else 'MISMATCH'} (max abs diff {worst:.3g} over {len(golden['gru_tf'])} cases)")
    return 0 if ok else 1


def tagged(root):
    """A copy of the checkpoint whose every float value is distinct (variable index * 1000 + position),
    so a gate-order or row/column mix-up cannot go unnoticed (a real checkpoint's gates bias is all 1.0)."""
    out = []
    for n, e in enumerate(root["variables"]):
        if e["dtype"] != "float32":
            out.append(e)
            continue
        count = len(values(e))
        shape = e["shape"]
        out.append(entry(e["name"], shape[0], shape[1] if len(shape) == 2 else None,
                         [float(n * 1000 + i) for i in range(count)]))
    return dict(root, variables=out)


def selftest(root):
    """to-keras then to-tf gives the values back, and every Keras value is the TF value the layout
    says (z = u = second half of [r | u], then r, then the candidate), element by element."""
    root = tagged(root)
    keras_root = convert(root, "to-keras")
    back = convert(keras_root, "to-tf")
    original = {e["name"]: values(e) for e in root["variables"]}
    restored = {e["name"]: values(e) for e in back["variables"]}
    keras = {e["name"]: e for e in keras_root["variables"]}
    problems = [] if original == restored else ["to-keras then to-tf does not give the values back"]
    scopes = [n[: -len("/gates/kernel")] for n in original if n.endswith("/gates/kernel")]
    for scope in scopes:
        gk, gb = matrix(root_entry(root, f"{scope}/gates/kernel")), original[f"{scope}/gates/bias"]
        ck, cb = matrix(root_entry(root, f"{scope}/candidate/kernel")), original[f"{scope}/candidate/bias"]
        H = len(cb)
        D = len(gk) - H
        k, rk, b = matrix(keras[f"{scope}/kernel"]), matrix(keras[f"{scope}/recurrent_kernel"]), values(keras[f"{scope}/bias"])
        want_bias = [gb[H + j] for j in range(H)] + [gb[j] for j in range(H)] + cb  # z(=u), r, h
        if b != want_bias:
            problems.append(f"{scope}/bias is not [u | r | candidate] of the TF biases")
        for i in range(D + H):
            row = k[i] if i < D else rk[i - D]
            want = [gk[i][H + j] for j in range(H)] + [gk[i][j] for j in range(H)] + ck[i]
            if row != want:
                problems.append(f"{scope}: Keras row {i} ({'kernel' if i < D else 'recurrent_kernel'}) is {row[:6]}..., "
                                f"want {want[:6]}...")
    if not scopes:
        problems.append("no GRU scope found")
    for p in problems:
        print("gru_layout selftest:", p)
    print("gru_layout selftest:", "ok" if not problems else "MISMATCH",
          f"({len(original)} variables, {len(scopes)} GRU scopes, distinct tagged values)")
    return 0 if not problems else 1


def root_entry(root, name):
    return next(e for e in root["variables"] if e["name"] == name)


def main(argv):
    if len(argv) == 2 and argv[0] == "keras-check":
        return keras_check(json.load(open(argv[1])))
    if len(argv) < 2 or argv[0] not in ("to-keras", "to-tf", "selftest"):
        print(__doc__)
        return 2
    root = json.load(open(argv[1]))
    if argv[0] == "selftest":
        return selftest(root)
    json.dump(convert(root, argv[0]), open(argv[2], "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
