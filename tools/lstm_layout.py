#!/usr/bin/env python3
"""Converts LSTM weights in a varscope JSON checkpoint between TF 1.x's BasicLSTMCell /
LSTMCell layout and the Keras LSTM layout (../shared/SPEC-cells-state.md §1c, §1d, §1g).
Pure Python, no dependencies.

  TF (rnn_cell_impl)                            Keras (tf.keras.layers.LSTM / tf.layers.lstm in TF.js)
  CELL/kernel [D+H, 4H], rows x then h,         CELL/kernel           [D, 4H]  = TF kernel rows [:D]
              column blocks i, j, f, o          CELL/recurrent_kernel [H, 4H]  = TF kernel rows [D:]
                                                (both with column blocks i, f, c, o; c == j)
  CELL/bias [4H] i, j, f, o; forget_bias F      CELL/bias [4H] i, f + F, c, o  (Keras adds nothing at run time;
  added to f at run time (not stored)           unit_forget_bias only changes the initial value)

CELL is the cell's scope, e.g. rnn/basic_lstm_cell or rnn/multi_rnn_cell/cell_1/lstm_cell; the names
stay the same (the TF kernel is replaced by the two Keras kernels). F is --forget-bias (default 1.0:
the forget_bias the TF cell runs with). Refused: LSTMCell peepholes (w_f_diag / w_i_diag / w_o_diag)
and projection (projection/kernel): the Keras LSTM has neither.

  lstm_layout.py to-keras IN.json OUT.json [--forget-bias F]   every TF LSTM scope (.../basic_lstm_cell,
                                                                .../lstm_cell) is converted
  lstm_layout.py to-tf    IN.json OUT.json [--forget-bias F]   every scope with recurrent_kernel is converted
  lstm_layout.py selftest [IN.json]          to-keras then to-tf gives IN's values back, and every Keras
                                             value is the TF value the layout says (default IN: a synthetic
                                             1-layer + 2-layer checkpoint with distinct values)
  lstm_layout.py tfjs-check RUNNER [--seed N]  random TF-layout LSTMs (1 and 2 layers, ragged lengths, random
                                             initial states, forget_bias 1.0 and 0.5) run by varscope
                                             (tools/torch-lstm-runner) and, converted to Keras layout, by
                                             TensorFlow.js's tf.layers.lstm (tools/tfjs-golden/lstm-tfjs-run.mjs):
                                             outputs and final (c, h) must agree to 1e-5; node is
                                             $VARSCOPE_NODE, else `node` on PATH
"""
import json
import math
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TF_CELLS = ("basic_lstm_cell", "lstm_cell")
REFUSED = {"w_f_diag": "peephole", "w_i_diag": "peephole", "w_o_diag": "peephole", "projection/kernel": "projection"}


def fail(msg):
    raise SystemExit(f"lstm_layout.py: {msg}")


from ckpt_json import entry, flat, matrix, values  # noqa: E402  (shared with gru_layout.py)


def blocks(row, order):
    """Reorders a row of 4 gate blocks; order lists the source block of each target block."""
    H = len(row) // 4
    return [x for k in order for x in row[k * H:(k + 1) * H]]


TF_TO_KERAS = (0, 2, 1, 3)  # Keras i, f, c, o from TF i, j, f, o (its own inverse)


def to_keras(by_name, scope, forget_bias):
    for part, what in REFUSED.items():
        if f"{scope}/{part}" in by_name:
            fail(f"{scope}/{part}: LSTMCell {what} has no Keras LSTM equivalent; refusing to convert")
    k, b = by_name[f"{scope}/kernel"], by_name.get(f"{scope}/bias")
    if b is None:
        fail(f"checkpoint has {scope}/kernel but no {scope}/bias")
    if len(k["shape"]) != 2 or k["shape"][1] % 4 or b["shape"] != [k["shape"][1]]:
        fail(f"{scope}/kernel {k['shape']} / {scope}/bias {b['shape']}: want [D + H, 4H] / [4H]")
    H = k["shape"][1] // 4
    D = k["shape"][0] - H
    if D <= 0:
        fail(f"{scope}/kernel: shape {k['shape']}, want [D + {H}, {4 * H}] with D > 0")
    rows = [blocks(r, TF_TO_KERAS) for r in matrix(k)]
    bias = blocks(values(b), TF_TO_KERAS)
    bias[H:2 * H] = [v + forget_bias for v in bias[H:2 * H]]
    return [entry(f"{scope}/kernel", [D, 4 * H], flat(rows[:D])),
            entry(f"{scope}/recurrent_kernel", [H, 4 * H], flat(rows[D:])),
            entry(f"{scope}/bias", [4 * H], bias)]


def to_tf(by_name, scope, forget_bias):
    need = [f"{scope}/{p}" for p in ("kernel", "recurrent_kernel", "bias")]
    for n in need:
        if n not in by_name:
            fail(f"checkpoint has {scope}/recurrent_kernel but no {n}")
    k, rk, b = (by_name[n] for n in need)
    H = rk["shape"][0]
    if rk["shape"] != [H, 4 * H] or len(k["shape"]) != 2 or k["shape"][1] != 4 * H or b["shape"] != [4 * H]:
        fail(f"{scope}: kernel {k['shape']}, recurrent_kernel {rk['shape']}, bias {b['shape']}; "
             f"want [D, {4 * H}], [{H}, {4 * H}], [{4 * H}] (H = {H} from recurrent_kernel)")
    rows = [blocks(r, TF_TO_KERAS) for r in matrix(k) + matrix(rk)]
    bias = blocks(values(b), TF_TO_KERAS)
    bias[2 * H:3 * H] = [v - forget_bias for v in bias[2 * H:3 * H]]
    return [entry(f"{scope}/kernel", [len(rows), 4 * H], flat(rows)),
            entry(f"{scope}/bias", [4 * H], bias)]


def tf_scopes(by_name):
    return [n[:-len("/kernel")] for n in by_name
            if n.endswith("/kernel") and n.split("/")[-2] in TF_CELLS
            and f"{n[:-len('/kernel')]}/recurrent_kernel" not in by_name]


def convert(root, direction, forget_bias=1.0):
    by_name = {e["name"]: e for e in root["variables"]}
    if direction == "to-keras":
        scopes = tf_scopes(by_name)
        parts = ["kernel", "bias"]
    else:
        scopes = [n[:-len("/recurrent_kernel")] for n in by_name if n.endswith("/recurrent_kernel")]
        parts = ["kernel", "recurrent_kernel", "bias"]
    if not scopes:
        fail("no LSTM weights found to convert (" + (".../basic_lstm_cell/kernel or .../lstm_cell/kernel"
             if direction == "to-keras" else ".../recurrent_kernel") + ")")
    out = []
    for e in root["variables"]:
        scope = next((s for s in scopes if e["name"] in [f"{s}/{p}" for p in parts]), None)
        if scope is None:
            out.append(e)
        elif e["name"] == f"{scope}/kernel":
            out.extend(to_keras(by_name, scope, forget_bias) if direction == "to-keras"
                       else to_tf(by_name, scope, forget_bias))
    return dict(root, variables=out)


def synthetic(rng=None):
    """A 1-layer BasicLSTMCell (D=5, H=7) and a 2-layer MultiRNNCell of LSTMCells (D=3, H=4) checkpoint, every
    value distinct (variable index * 1000 + position) unless rng is given (then uniform in [-0.6, 0.6])."""
    shapes = [("a/rnn/basic_lstm_cell/kernel", [12, 28]), ("a/rnn/basic_lstm_cell/bias", [28]),
              ("b/rnn/multi_rnn_cell/cell_0/lstm_cell/kernel", [7, 16]), ("b/rnn/multi_rnn_cell/cell_0/lstm_cell/bias", [16]),
              ("b/rnn/multi_rnn_cell/cell_1/lstm_cell/kernel", [8, 16]), ("b/rnn/multi_rnn_cell/cell_1/lstm_cell/bias", [16]),
              ("b/other/dense/kernel", [4, 2])]
    variables = []
    for n, (name, shape) in enumerate(shapes):
        count = shape[0] * (shape[1] if len(shape) == 2 else 1)
        variables.append(entry(name, shape, [float(n * 1000 + i) for i in range(count)]))
    return {"format": "varscope-checkpoint", "version": 1, "variables": variables}


def selftest(root, forget_bias=0.25):
    """to-keras then to-tf gives the values back, and every Keras value is the TF value the layout says
    (kernel rows [:D] / [D:], column blocks i, f(+F on the bias), j, o), element by element."""
    keras_root = convert(root, "to-keras", forget_bias)
    back = convert(keras_root, "to-tf", forget_bias)
    original = {e["name"]: values(e) for e in root["variables"]}
    restored = {e["name"]: values(e) for e in back["variables"]}
    keras = {e["name"]: e for e in keras_root["variables"]}
    problems = []
    if list(original) != list(restored) or any(
            any(abs(a - b) > 1e-9 * max(1.0, abs(a)) for a, b in zip(original[n], restored[n])) for n in original):
        problems.append("to-keras then to-tf does not give the values back")
    by_name = {e["name"]: e for e in root["variables"]}
    scopes = tf_scopes(by_name)
    for scope in scopes:
        tk, tb = matrix(by_name[f"{scope}/kernel"]), original[f"{scope}/bias"]
        H = len(tb) // 4
        D = len(tk) - H
        k, rk, b = matrix(keras[f"{scope}/kernel"]), matrix(keras[f"{scope}/recurrent_kernel"]), values(keras[f"{scope}/bias"])
        i, j, f, o = (slice(g * H, (g + 1) * H) for g in range(4))
        want_bias = tb[i] + [v + forget_bias for v in tb[f]] + tb[j] + tb[o]
        if any(abs(x - y) > 1e-6 * max(1.0, abs(y)) for x, y in zip(b, want_bias)):
            problems.append(f"{scope}/bias is not [i | f + forget_bias | j | o] of the TF bias")
        for r in range(D + H):
            row = k[r] if r < D else rk[r - D]
            want = tk[r][i] + tk[r][f] + tk[r][j] + tk[r][o]
            if row != want:
                problems.append(f"{scope}: Keras row {r} ({'kernel' if r < D else 'recurrent_kernel'}) is {row[:6]}..., "
                                f"want {want[:6]}...")
    if not scopes:
        problems.append("no LSTM scope found")
    # the refusals
    for part in ("w_f_diag", "projection/kernel"):
        bad = dict(root, variables=root["variables"] + [entry(f"{scopes[0]}/{part}", [1], [0.0])]) if scopes else None
        try:
            if bad:
                convert(bad, "to-keras")
            problems.append(f"{part} was not refused")
        except SystemExit as e:
            if part not in str(e):
                problems.append(f"the {part} refusal does not name it: {e}")
    for p in problems:
        print("lstm_layout selftest:", p)
    print("lstm_layout selftest:", "ok" if not problems else "MISMATCH",
          f"({len(original)} variables, {len(scopes)} LSTM scopes, forget_bias {forget_bias})")
    return 0 if not problems else 1


# ---------------------------------------------------------------------------------------------
# tfjs-check: varscope (TF layout, tools/torch-lstm-runner) vs TensorFlow.js tf.layers.lstm (Keras layout)

TFJS_CONFIGS = [  # name, layers, forget_bias
    ("1layer_fb1", 1, 1.0),
    ("2layers_fb0.5", 2, 0.5),
]
TFJS_TOL = 1e-5


def nan_max(*xs):
    return math.nan if any(math.isnan(x) for x in xs) else max(xs)


def tfjs_case(cfg, rng, D=5, H=7, T=6, B=3):
    name, layers, fb = cfg
    u = lambda n, scale=0.6: [rng.uniform(-scale, scale) for _ in range(n)]
    variables = []
    for k in range(layers):
        cs = "rnn/basic_lstm_cell" if layers == 1 else f"rnn/multi_rnn_cell/cell_{k}/basic_lstm_cell"
        d = D if k == 0 else H
        variables.append(entry(f"{cs}/kernel", [d + H, 4 * H], u((d + H) * 4 * H)))
        variables.append(entry(f"{cs}/bias", [4 * H], u(4 * H)))
    lengths = [T, 4, 1]
    rng.shuffle(lengths)
    t = lambda shape: {"shape": shape, "data": [rng.gauss(0, 1) * (0.5 if len(shape) == 2 else 1) for _ in
                                                range(math.prod(shape))]}
    return {"cell": "basic", "units": H, "num_layers": layers, "forget_bias": fb, "inputs": t([B, T, D]),
            "sequence_length": {"shape": [B], "data": lengths},
            "initial_state": [{"c": t([B, H]), "h": t([B, H])} for _ in range(layers)],
            "checkpoint": {"format": "varscope-checkpoint", "version": 1, "variables": variables}}


def run(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:  # fail loudly: no node (or no runner) is a failure, never a skip
        fail(f"cannot run {cmd[0]} ({e}); tfjs-check needs node (set VARSCOPE_NODE) and the built runner")
    if r.returncode != 0:
        fail(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def tfjs_check(runner, seed):
    rng = random.Random(seed)
    worst = 0.0
    failures = []
    with tempfile.TemporaryDirectory() as d:
        for cfg in TFJS_CONFIGS:
            name, layers, fb = cfg
            case = tfjs_case(cfg, rng)
            case_path, vs_path = os.path.join(d, "case.json"), os.path.join(d, "varscope.json")
            json.dump(case, open(case_path, "w"))
            run([runner, case_path, vs_path])
            ours = json.load(open(vs_path))
            keras = {e["name"]: e for e in convert(case["checkpoint"], "to-keras", fb)["variables"]}
            scopes = ["rnn/basic_lstm_cell"] if layers == 1 else \
                [f"rnn/multi_rnn_cell/cell_{k}/basic_lstm_cell" for k in range(layers)]
            tj = {"inputs": case["inputs"], "sequence_length": case["sequence_length"]["data"],
                  "initial_state": case["initial_state"],
                  "layers": [{p: {"shape": keras[f"{s}/{p}"]["shape"], "data": values(keras[f"{s}/{p}"])}
                              for p in ("kernel", "recurrent_kernel", "bias")} for s in scopes]}
            tj_path, tj_out = os.path.join(d, "tfjs_case.json"), os.path.join(d, "tfjs_out.json")
            json.dump(tj, open(tj_path, "w"))
            run([os.environ.get("VARSCOPE_NODE") or "node", os.path.join(HERE, "tfjs-golden", "lstm-tfjs-run.mjs"),
                 tj_path, tj_out])
            theirs = json.load(open(tj_out))
            num = lambda v: math.nan if v is None else v  # JSON has no NaN: the runner writes null
            diff = lambda a, b: nan_max(0.0, *(abs(num(x) - num(y)) for x, y in zip(a["data"], b["data"]))) \
                if a["shape"] == b["shape"] else fail(f"shape {a['shape']} vs {b['shape']}")
            dd = diff(ours["outputs"], theirs["outputs"])
            for s_ours, s_theirs in zip(ours["final_state"], theirs["final_state"]):
                dd = nan_max(dd, diff(s_ours["c"], s_theirs["c"]), diff(s_ours["h"], s_theirs["h"]))
            print(f"  {name:16s} varscope (TF layout) vs TF.js tf.layers.lstm (Keras layout): max abs diff {dd:.3g}")
            worst = nan_max(worst, dd)
            if not dd < TFJS_TOL:
                failures.append(name)
    ok = not failures
    print(f"lstm_layout tfjs-check: {'ok' if ok else 'MISMATCH ' + ', '.join(failures)} "
          f"(max abs diff {worst:.3g}, tolerance {TFJS_TOL}, seed {seed})")
    return 0 if ok else 1


def option(argv, flag, default, kind=float):
    if flag in argv:
        i = argv.index(flag)
        value = kind(argv[i + 1])
        del argv[i:i + 2]
        return value
    return default


def main(argv):
    argv = list(argv)
    forget_bias = option(argv, "--forget-bias", 1.0)
    if argv[:1] == ["tfjs-check"]:
        seed = option(argv, "--seed", None, int)
        if len(argv) != 2:
            print(__doc__)
            return 2
        if seed is None and os.environ.get("VARSCOPE_TORCH_SEED"):
            seed = int(os.environ["VARSCOPE_TORCH_SEED"])
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "little")
        print(f"lstm_layout tfjs-check: seed {seed} (reproduce: --seed {seed})", flush=True)
        return tfjs_check(argv[1], seed)
    if argv[:1] == ["selftest"] and len(argv) <= 2:
        return selftest(json.load(open(argv[1])) if len(argv) == 2 else synthetic())
    if len(argv) != 3 or argv[0] not in ("to-keras", "to-tf"):
        print(__doc__)
        return 2
    json.dump(convert(json.load(open(argv[1])), argv[0], forget_bias), open(argv[2], "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
