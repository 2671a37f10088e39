#!/usr/bin/python3
"""Golden data for the TF-layout GRUCell (tests/data/tf_gru_golden.json), from float64 code
written straight from TensorFlow 1.15's Python sources, with float64 PyTorch autograd for
the gradients. Nothing here reads varscope's code or output.

    /usr/bin/python3 tools/gen-tf-gru-golden.py        # writes tests/data/tf_gru_golden.json

Deterministic (numpy PCG64 seeds, float64 CPU autograd): running it again gives the same bytes.
Needs Debian's python3-torch (1.13) and python3-numpy; use /usr/bin/python3 (the pyenv
`python3` on PATH has no torch).

Three groups, all on float32-representable inputs (what the float32 code under test sees),
computed in float64 and written rounded to float32 (shortest repr that round-trips):

  asymmetric_cell   GRUCell under dynamic_rnn over ragged lengths with gate biases +4 (r) and
                    -4 (u) and random kernels, so r != u everywhere: a [u | r] swap changes
                    every output (TF's own testGRUCell has r == u and cannot see it). Outputs,
                    final state, and the gradients of L = sum(R_out * outputs) +
                    sum(R_state * final_state) w.r.t. the four variables, the inputs and the
                    initial state. Checked by tests/grad_test.cpp (suite tf_gru_golden).
  seq2seq           The article's Seq2Seq training graph (shared embedding, GRUCell encoder
                    under dynamic_rnn(scope='encoder'), TrainingHelper + BasicDecoder with a
                    bias-free Dense output layer, sequence_loss) at a tiny size: the loss and
                    d loss / d every variable. tests/grad_test.cpp.
  seq2seq_adam      The same loss minimised by TF 1.x AdamOptimizer (ApplyAdam) for 6 steps:
                    after every step every variable, its slots `<var>/Adam` (m) and
                    `<var>/Adam_1` (v), beta1_power, beta2_power (float32 variables in TF, so
                    their products are rounded to float32 here too). tests/train_test.cpp.

Self-checks before writing (the script exits non-zero if one fails):
  * gru_cell_call / dynamic_rnn reproduce TF's own literal test values (rnn_cell_test.py
    testGRUCell: 0.175991, 0.156736) and TensorFlow.js's tf.layers.gru on the gru_tf cases
    of tests/data/numerics_golden.json (tests/data/gru_tfjs_golden.json) within 1e-6.
  * torch.autograd.gradcheck (float64 finite differences) agrees with autograd on the
    asymmetric loss.
  * The asymmetric case discriminates: swapping r and u changes the outputs by > 0.1.
  * Adam's gradients change from step to step (the loss is not linear in the weights), and
    no first-step gradient entry is so close to 0 that float32 rounding could flip its sign
    (Adam's first step moves every weight by ~lr * sign(g)).
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "tf_gru_golden.json")

torch.set_default_dtype(torch.float64)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


# ------------------------------------------------------------------ helpers

def f32(a):
    return np.asarray(a, dtype=np.float32)


def tensor(a):
    """{"shape", "data"}: ints as ints, floats rounded to float32 and written as the shortest
    decimal that round-trips (parse as double, cast to float: the same float32 bits)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().numpy()
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        data = [int(v) for v in a.reshape(-1)]
    else:
        data = [float(repr(v)) for v in f32(a).reshape(-1)]
    return {"shape": list(a.shape), "data": data}


def dumps(obj, indent=""):
    """JSON with one key per line and each list of numbers on one line (diffable, compact)."""
    if isinstance(obj, dict):
        inner = indent + " "
        items = [inner + json.dumps(k) + ": " + dumps(v, inner) for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        inner = indent + " "
        return "[\n" + ",\n".join(inner + dumps(v, inner) for v in obj) + "\n" + indent + "]"
    return json.dumps(obj, separators=(",", ":"))


def scalar(x):
    return float(repr(np.float32(float(x))))


def t64(a):
    """A float64 torch tensor holding exactly the float32 values of `a`."""
    return torch.tensor(np.asarray(f32(a), dtype=np.float64))


def uniform(rng, shape, lo, hi):
    return f32(rng.uniform(lo, hi, size=shape))


# ------------------------------------------------------------------ TF 1.15, transcribed

def gru_cell_call(inputs, state, gate_kernel, gate_bias, candidate_kernel, candidate_bias):
    """tensorflow/python/ops/rnn_cell_impl.py, GRUCell.call (TF 1.15), line for line:

        gate_inputs = math_ops.matmul(array_ops.concat([inputs, state], 1), self._gate_kernel)
        gate_inputs = nn_ops.bias_add(gate_inputs, self._gate_bias)
        value = math_ops.sigmoid(gate_inputs)
        r, u = array_ops.split(value=value, num_or_size_splits=2, axis=1)
        r_state = r * state
        candidate = math_ops.matmul(array_ops.concat([inputs, r_state], 1), self._candidate_kernel)
        candidate = nn_ops.bias_add(candidate, self._candidate_bias)
        c = self._activation(candidate)          # tanh
        new_h = u * state + (1 - u) * c
        return new_h, new_h
    """
    gate_inputs = torch.matmul(torch.cat([inputs, state], 1), gate_kernel)
    gate_inputs = gate_inputs + gate_bias
    value = torch.sigmoid(gate_inputs)
    r, u = torch.split(value, value.shape[1] // 2, dim=1)
    r_state = r * state
    candidate = torch.matmul(torch.cat([inputs, r_state], 1), candidate_kernel)
    candidate = candidate + candidate_bias
    c = torch.tanh(candidate)
    new_h = u * state + (1 - u) * c
    return new_h, new_h


def gru_cell_call_swapped(inputs, state, gate_kernel, gate_bias, candidate_kernel, candidate_bias):
    """Negative control only: the same with the gate columns read as [u | r]."""
    value = torch.sigmoid(torch.matmul(torch.cat([inputs, state], 1), gate_kernel) + gate_bias)
    u, r = torch.split(value, value.shape[1] // 2, dim=1)
    c = torch.tanh(torch.matmul(torch.cat([inputs, r * state], 1), candidate_kernel) + candidate_bias)
    new_h = u * state + (1 - u) * c
    return new_h, new_h


def dynamic_rnn(call, params, inputs, sequence_length, initial_state):
    """tensorflow/python/ops/rnn.py (TF 1.15), dynamic_rnn with sequence_length, batch major:
    _dynamic_rnn_loop runs the time steps of the input; each step is _rnn_step, which with
    copy_cond = time >= sequence_length emits where(copy_cond, zero_output, new_output) and
    keeps where(copy_cond, state, new_state). The final state is the last kept state."""
    batch, steps = inputs.shape[0], inputs.shape[1]
    state = initial_state
    zero_output = torch.zeros(batch, state.shape[1])
    outputs = []
    for time in range(steps):
        new_output, new_state = call(inputs[:, time], state, *params)
        copy_cond = (time >= sequence_length).reshape(-1, 1)
        outputs.append(torch.where(copy_cond, zero_output, new_output))
        state = torch.where(copy_cond, state, new_state)
    return torch.stack(outputs, 1), state


def training_decoder(cell_params, out_kernel, inputs_embedded, sequence_length, initial_state):
    """tf.contrib.seq2seq (TF 1.15): dynamic_decode(BasicDecoder(cell, TrainingHelper(inputs,
    sequence_length), initial_state, output_layer=Dense(use_bias=False))), impute_finished False:

      TrainingHelper.initialize: finished = (0 >= sequence_length); inputs = inputs[:, 0]
      loop while not all(finished):                                   (decoder.py dynamic_decode)
        BasicDecoder.step: cell_outputs, cell_state = cell(inputs, state)
                           cell_outputs = output_layer(cell_outputs)   (Dense: x @ kernel)
        TrainingHelper.next_inputs: next_time = time + 1
                           finished = next_time >= sequence_length
                           next_inputs = zeros if all(finished) else inputs[:, next_time]
        dynamic_decode:    finished |= decoder_finished; emit the outputs as they are
                           (impute_finished False); state = cell_state
    Returns rnn_output [B, steps, V]."""
    finished = 0 >= sequence_length
    inputs = inputs_embedded[:, 0]
    state = initial_state
    outputs = []
    time = 0
    while not bool(finished.all()):
        cell_outputs, cell_state = gru_cell_call(inputs, state, *cell_params)
        cell_outputs = torch.matmul(cell_outputs, out_kernel)
        next_time = time + 1
        next_finished = next_time >= sequence_length
        if bool(next_finished.all()):
            next_inputs = torch.zeros_like(inputs)
        else:
            next_inputs = inputs_embedded[:, next_time]
        outputs.append(cell_outputs)
        finished = finished | next_finished
        state = cell_state
        inputs = next_inputs
        time = next_time
    return torch.stack(outputs, 1)


def sequence_loss(logits, targets, weights):
    """tf.contrib.seq2seq.sequence_loss (TF 1.15 loss.py) with its defaults
    average_across_timesteps = average_across_batch = True:
      crossent = sparse_softmax_cross_entropy_with_logits(labels=targets_flat, logits=logits_flat)
      crossent *= weights_flat;  crossent = reduce_sum(crossent)
      total_size = reduce_sum(weights) + 1e-12;  crossent /= total_size"""
    num_classes = logits.shape[2]
    logits_flat = logits.reshape(-1, num_classes)
    targets_flat = targets.reshape(-1)
    crossent = torch.nn.functional.cross_entropy(logits_flat, targets_flat, reduction="none")
    crossent = crossent * weights.reshape(-1)
    crossent = crossent.sum()
    total_size = weights.sum() + 1e-12
    return crossent / total_size


def apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
    """tensorflow/core/kernels/training_ops.cc (TF 1.15), functor::ApplyAdam (non-Nesterov):
      lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
      m += (grad - m) * (1 - beta1);  v += (grad^2 - v) * (1 - beta2)
      var -= lr_t * m / (sqrt(v) + epsilon)
    (adam.py _finish then multiplies beta1_power by beta1 and beta2_power by beta2)."""
    lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m = m + (grad - m) * (1 - beta1)
    v = v + (grad * grad - v) * (1 - beta2)
    var = var - lr_t * m / (torch.sqrt(v) + epsilon)
    return var, m, v


# ------------------------------------------------------------------ self-checks against TF

def check_against_tf():
    # rnn_cell_test.py testGRUCell: every kernel 0.5 (constant_initializer), GRUCell's default
    # biases (gates 1.0, candidate 0.0), state [[0.1, 0.1]]; TF prints 0.175991 / 0.156736.
    for depth, want in ((2, 0.175991), (3, 0.156736)):
        h = 2
        params = (torch.full((depth + h, 2 * h), 0.5), torch.ones(2 * h), torch.full((depth + h, h), 0.5),
                  torch.zeros(h))
        got, _ = gru_cell_call(torch.ones(1, depth), torch.full((1, h), 0.1), *params)
        assert float((got - want).abs().max()) < 1e-6, (depth, got)
        # ... and r == u there: swapping them changes nothing, which is why this file exists.
        swapped, _ = gru_cell_call_swapped(torch.ones(1, depth), torch.full((1, h), 0.1), *params)
        assert float((got - swapped).abs().max()) < 1e-15
    # TensorFlow.js tf.layers.gru (a TF implementation) on numerics_golden.json's gru_tf cases.
    with open(os.path.join(ROOT, "tests", "data", "numerics_golden.json")) as f:
        numerics = json.load(f)
    with open(os.path.join(ROOT, "tests", "data", "gru_tfjs_golden.json")) as f:
        tfjs = {c["name"]: c for c in json.load(f)["cases"]}

    def load(j):
        return t64(np.array(j["data"]).reshape(j["shape"]))

    worst = 0.0
    for c in numerics["gru_tf"]:
        params = tuple(load(c[k]) for k in ("gates_kernel", "gates_bias", "candidate_kernel", "candidate_bias"))
        lengths = torch.tensor(c["sequence_length"]["data"])
        outputs, final = dynamic_rnn(gru_cell_call, params, load(c["inputs"]), lengths, load(c["initial_state"]))
        ref = tfjs[c["name"]]
        # torch's max() keeps a NaN; Python's max() would drop one, hence the explicit test.
        for d in (float((outputs - load(ref["outputs"])).abs().max()), float((final - load(ref["final_state"])).abs().max())):
            worst = d if (d != d or worst != worst) else max(worst, d)
    assert worst < 1e-6, worst
    return worst


# ------------------------------------------------------------------ asymmetric_cell

def asymmetric_cell():
    rng = np.random.default_rng(20260523)
    B, T, D, H = 4, 5, 3, 4
    lengths = np.array([5, 3, 0, 1], dtype=np.int32)
    inputs = uniform(rng, (B, T, D), -1.0, 1.0)
    initial_state = uniform(rng, (B, H), -0.8, 0.8)
    gates_kernel = uniform(rng, (D + H, 2 * H), -0.8, 0.8)
    gates_bias = f32(np.concatenate([np.full(H, 4.0), np.full(H, -4.0)]))  # r: +4, u: -4
    candidate_kernel = uniform(rng, (D + H, H), -0.8, 0.8)
    candidate_bias = uniform(rng, (H,), -0.5, 0.5)
    r_outputs = uniform(rng, (B, T, H), -1.0, 1.0)
    r_state = uniform(rng, (B, H), -1.0, 1.0)

    leaves = [t64(a).requires_grad_(True) for a in (gates_kernel, gates_bias, candidate_kernel, candidate_bias,
                                                      inputs, initial_state)]
    seq = torch.tensor(lengths)

    def loss_of(gk, gb, ck, cb, x, h0):
        outputs, final = dynamic_rnn(gru_cell_call, (gk, gb, ck, cb), x, seq, h0)
        return (outputs * t64(r_outputs)).sum() + (final * t64(r_state)).sum(), outputs, final

    loss, outputs, final = loss_of(*leaves)
    grads = torch.autograd.grad(loss, leaves)
    assert torch.autograd.gradcheck(lambda *a: loss_of(*a)[0], tuple(leaves), eps=1e-6, atol=1e-7)
    swapped, _ = dynamic_rnn(gru_cell_call_swapped, tuple(leaves[:4]), leaves[4], seq, leaves[5])
    discrimination = float((swapped - outputs).abs().max())
    assert discrimination > 0.1, discrimination
    names = ["gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias", "inputs", "initial_state"]
    case = {
        "sizes": {"B": B, "T": T, "D": D, "H": H},
        "sequence_length": tensor(lengths),
        "inputs": tensor(inputs),
        "initial_state": tensor(initial_state),
        "params": {"gates/kernel": tensor(gates_kernel), "gates/bias": tensor(gates_bias),
                   "candidate/kernel": tensor(candidate_kernel), "candidate/bias": tensor(candidate_bias)},
        "r_outputs": tensor(r_outputs),
        "r_state": tensor(r_state),
        "outputs": tensor(outputs),
        "final_state": tensor(final),
        "loss": scalar(loss),
        "grads": {n: tensor(g) for n, g in zip(names, grads)},
    }
    return case, discrimination


# ------------------------------------------------------------------ seq2seq (the article's graph)

V, E, H2 = 9, 4, 5
ENC_IDS = [[4, 7, 3, 8, 5], [6, 6, 3, 0, 0], [5, 0, 0, 0, 0]]
ENC_LEN = [5, 3, 1]
DEC_IDS = [[1, 3, 8, 4], [1, 7, 5, 0], [1, 6, 0, 0]]   # BOS = 1, then the target tokens
DEC_LEN = [4, 3, 2]
TARGETS = [[3, 8, 4, 2], [7, 5, 2, 0], [6, 2, 0, 0]]   # EOS = 2
NAMES = ["embedding",
         "encoder/cell/gates/kernel", "encoder/cell/gates/bias",
         "encoder/cell/candidate/kernel", "encoder/cell/candidate/bias",
         "decoder/decoder/cell/gates/kernel", "decoder/decoder/cell/gates/bias",
         "decoder/decoder/cell/candidate/kernel", "decoder/decoder/cell/candidate/bias",
         "decoder/decoder/out_layer/kernel"]


def seq2seq_params():
    rng = np.random.default_rng(20260524)
    p = {"embedding": uniform(rng, (V, E), -1.0, 1.0)}
    for scope in ("encoder/cell", "decoder/decoder/cell"):
        p[scope + "/gates/kernel"] = uniform(rng, (E + H2, 2 * H2), -0.7, 0.7)
        p[scope + "/gates/bias"] = uniform(rng, (2 * H2,), 0.0, 2.0)  # around GRUCell's default 1.0
        p[scope + "/candidate/kernel"] = uniform(rng, (E + H2, H2), -0.7, 0.7)
        p[scope + "/candidate/bias"] = uniform(rng, (H2,), -0.5, 0.5)
    p["decoder/decoder/out_layer/kernel"] = uniform(rng, (H2, V), -0.9, 0.9)
    return p


def seq2seq_loss(w):
    """The article's create_encoder + create_trainer_decoder + sequence_loss (weights 1 on
    the valid decoder steps). `w` maps the variable names to float64 tensors."""
    enc_ids, dec_ids = torch.tensor(ENC_IDS), torch.tensor(DEC_IDS)
    enc_len, dec_len = torch.tensor(ENC_LEN), torch.tensor(DEC_LEN)
    cell = lambda s: tuple(w[s + k] for k in ("/gates/kernel", "/gates/bias", "/candidate/kernel", "/candidate/bias"))
    embedded = w["embedding"][enc_ids]                                      # tf.nn.embedding_lookup
    h0 = torch.zeros(len(ENC_LEN), H2)                                       # dtype=tf.float32: zero state
    _, thought_vector = dynamic_rnn(gru_cell_call, cell("encoder/cell"), embedded, enc_len, h0)
    logits = training_decoder(cell("decoder/decoder/cell"), w["decoder/decoder/out_layer/kernel"],
                              w["embedding"][dec_ids], dec_len, thought_vector)
    steps = logits.shape[1]
    weights = (torch.arange(steps)[None, :] < dec_len[:, None]).double()
    return sequence_loss(logits, torch.tensor(TARGETS)[:, :steps], weights)


def seq2seq():
    p = seq2seq_params()
    w = {n: t64(p[n]).requires_grad_(True) for n in NAMES}
    loss = seq2seq_loss(w)
    grads = torch.autograd.grad(loss, [w[n] for n in NAMES])
    return {
        "sizes": {"V": V, "E": E, "H": H2},
        "encoder_inputs": tensor(np.array(ENC_IDS, dtype=np.int32)),
        "encoder_inputs_length": tensor(np.array(ENC_LEN, dtype=np.int32)),
        "decoder_inputs": tensor(np.array(DEC_IDS, dtype=np.int32)),
        "decoder_inputs_length": tensor(np.array(DEC_LEN, dtype=np.int32)),
        "targets": tensor(np.array(TARGETS, dtype=np.int32)),
        "names": NAMES,
        "params": {n: tensor(p[n]) for n in NAMES},
        "loss": scalar(loss),
        "grads": {n: tensor(g) for n, g in zip(NAMES, grads)},
    }, p


ADAM_STEPS = 6
# The hyper-parameters as the float32 kernel receives them (0.9f = 0.89999997615814..., etc.).
LR, BETA1, BETA2, EPSILON = (float(np.float32(x)) for x in (0.01, 0.9, 0.999, 1e-8))


def seq2seq_adam(p):
    var = {n: t64(p[n]) for n in NAMES}
    m = {n: torch.zeros_like(var[n]) for n in NAMES}
    v = {n: torch.zeros_like(var[n]) for n in NAMES}
    # adam.py _create_slots: non-slot variables with initial_value beta1 / beta2, float32 like the
    # variables; _finish: beta1_power.assign(beta1_power * beta1_t), a float32 product. Kept as float32
    # here, because 1 - beta2_power cancels: one float32 ulp of beta2_power is 3e-5 of 1 - beta2^1.
    beta1_power, beta2_power = np.float32(BETA1), np.float32(BETA2)
    steps, first_grads, grad_change, min_ratio = [], None, 0.0, np.inf
    for step in range(1, ADAM_STEPS + 1):
        w = {n: var[n].clone().requires_grad_(True) for n in NAMES}
        loss = seq2seq_loss(w)
        grads = dict(zip(NAMES, torch.autograd.grad(loss, [w[n] for n in NAMES])))
        if step == 1:
            # Step 1 moves each weight by lr * sign(g) (m / sqrt(v) = sign(g) / sqrt(1 - beta2) * (1 - beta1)):
            # no entry may be so close to 0 that float32 rounding could flip its sign. (Later steps
            # divide by the root of the accumulated squares, so an entry crossing 0 is harmless.)
            for n in NAMES:
                g = grads[n].abs()
                nonzero = g[g > 0]  # exact zeros: embedding rows never read, zero in float32 as well
                if nonzero.numel():
                    min_ratio = min(min_ratio, float(nonzero.min() / g.max()))
        if first_grads is None:
            first_grads = grads
        else:
            grad_change = max(grad_change, max(float((grads[n] - first_grads[n]).abs().max() /
                                                     first_grads[n].abs().max()) for n in NAMES
                                               if float(first_grads[n].abs().max()) > 0))
        for n in NAMES:
            var[n], m[n], v[n] = apply_adam(var[n], m[n], v[n], float(beta1_power), float(beta2_power), LR, BETA1,
                                            BETA2, EPSILON, grads[n])
        beta1_power = np.float32(beta1_power * np.float32(BETA1))  # float32 * float32 -> float32
        beta2_power = np.float32(beta2_power * np.float32(BETA2))
        steps.append({
            "step": step,
            "loss": scalar(loss),  # the loss minimize() returns: before this step's update
            "var": {n: tensor(var[n]) for n in NAMES},
            "m": {n: tensor(m[n]) for n in NAMES},
            "v": {n: tensor(v[n]) for n in NAMES},
            "beta1_power": scalar(beta1_power),
            "beta2_power": scalar(beta2_power),
        })
    assert grad_change > 0.05, grad_change   # the gradient really changes between steps
    assert min_ratio > 1e-4, min_ratio        # no sign-ambiguous entries at step 1
    return {"learning_rate": scalar(LR), "beta1": scalar(BETA1), "beta2": scalar(BETA2), "epsilon": scalar(EPSILON),
            "steps": steps}, grad_change, min_ratio


def main():
    tfjs_worst = check_against_tf()
    asym, discrimination = asymmetric_cell()
    s2s, params = seq2seq()
    adam, grad_change, min_ratio = seq2seq_adam(params)
    doc = {
        "about": "TF-layout GRUCell golden data from float64 code transcribed from TF 1.15 (rnn_cell_impl.py "
                 "GRUCell.call, rnn.py dynamic_rnn, contrib.seq2seq TrainingHelper/BasicDecoder/dynamic_decode/"
                 "sequence_loss, training_ops.cc ApplyAdam) with float64 PyTorch autograd gradients; values "
                 "rounded to float32. See tools/gen-tf-gru-golden.py.",
        "generator": "tools/gen-tf-gru-golden.py, torch " + torch.__version__ + ", numpy " + np.__version__,
        "asymmetric_cell": asym,
        "seq2seq": s2s,
        "seq2seq_adam": adam,
    }
    with open(OUT, "w") as f:
        f.write(dumps(doc) + "\n")
    print(f"wrote {OUT}: gru vs TF.js {tfjs_worst:.2e}; [r|u] swap moves outputs by {discrimination:.3f}; "
          f"Adam gradients change by {grad_change:.3f} (relative); smallest non-zero |g| / max|g| {min_ratio:.2e}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
