#!/usr/bin/python3
"""Golden data for TF 1.15's tf.contrib.seq2seq AttentionWrapper with LuongAttention /
BahdanauAttention (tests/data/attention_golden.json), from float64 code written straight from
TensorFlow 1.15's Python sources (contrib/seq2seq/python/ops/attention_wrapper.py: _prepare_memory,
_maybe_mask_score, _luong_score, _bahdanau_score, _compute_attention, AttentionWrapper.call /
zero_state; rnn_cell_impl.py GRUCell.call and BasicLSTMCell.call; rnn.py dynamic_rnn), with float64
PyTorch autograd for the gradients. Nothing here reads varscope's code or output. The contract is
../shared/SPEC-training-attention.md (§A2 math, §A3 names and shapes, §A5 wrapper API).

How to regenerate:

    /usr/bin/python3 tools/gen-attention-golden.py    # writes tests/data/attention_golden.json

Needs Debian's python3-torch (1.13) and python3-numpy; use /usr/bin/python3 (the pyenv
`python3` on PATH has no torch). Single-threaded, seeded (numpy PCG64), float64 CPU autograd:
the script builds the whole document twice in-process and fails unless both serialise to the
same bytes, and running it again rewrites the same file (checked with `git diff --exit-code`).
It exits non-zero (AssertionError) if any self-check below fails, before writing anything.

All inputs, weights and R's are float32-representable (what the float32 code under test sees);
everything is computed in float64 and written rounded to float32 (shortest repr that
round-trips).

The graph of every case (TF 1.15, batch major, no decoder sequence_length: all rows run all steps):

    mech = LuongAttention(4, memory, memory_sequence_length, scale=...)            # at the root scope
      or   BahdanauAttention(4, memory, memory_sequence_length, normalize=...)
    cell = AttentionWrapper(GRUCell(4) or BasicLSTMCell(4), mech, attention_layer_size=3 or None,
                            output_attention=..., alignment_history=True)
    state0 = cell.zero_state(B, tf.float64).clone(cell_state=initial_cell_state)
    outputs, final_state = tf.nn.dynamic_rnn(cell, inputs, initial_state=state0)   # scope "rnn"

B = 3, T_mem = 5, memory_sequence_length = [5, 2, 1], memory depth Dm = 4, num_units A = 4,
decoder input depth E = 2, T_dec = 4, cell units D = 4 (so Luong's query depth equals A).
The memory at the padded positions is non-zero (so the masking matters).

Cases:
  luong              LuongAttention(scale=False), GRUCell(4), attention_layer_size 3, output_attention True
  luong_scaled       LuongAttention(scale=True), attention_g ~ U(1.25, 2.0)
  bahdanau           BahdanauAttention(normalize=False), GRUCell(4), attention_layer_size 3
  bahdanau_normed    BahdanauAttention(normalize=True), attention_g ~ U(1.0, 2.0), attention_b ~ U(-0.5, 0.5)
  bahdanau_no_layer  BahdanauAttention(normalize=False), attention_layer_size None (attention = context,
                     L = Dm = 4), output_attention False (outputs are the cell outputs)
  luong_lstm         LuongAttention(scale=True), BasicLSTMCell(4) (forget_bias 1.0 added at run time),
                     attention_layer_size 3; cell_state is LSTMStateTuple(c, h)

Values (numpy PCG64, one seed for the whole document): memory and inputs U(-1, 1) (no zeros), initial
cell state U(-0.8, 0.8), kernels U(-0.5, 0.5), GRU gates/bias U(0.5, 1.5), other biases and attention_b
U(-0.5, 0.5); scalar attention_g away from TF's initial values (1.0 Luong, sqrt(1/num_units) Bahdanau).
Bahdanau's query_layer/kernel and attention_v are U(-1.5, 1.5): at U(-0.5, 0.5) the score hardly depends
on the query and the previous-query control below moved the outputs by only ~2e-3.

Layout of a case: "name", "config" (mechanism, scale, normalize, num_units, attention_layer_size (int or
null), output_attention, cell ("gru" | "basic_lstm"), cell_units, input_depth, memory_depth), "memory"
[B,T_mem,Dm], "memory_sequence_length" (ints), "inputs" [B,T_dec,E], "params" keyed by the full TF
variable name in TF's creation order (memory_layer/kernel; rnn/attention_wrapper/gru_cell/gates/kernel,
.../gates/bias, .../candidate/kernel, .../candidate/bias or rnn/attention_wrapper/basic_lstm_cell/kernel,
.../bias; rnn/attention_wrapper/luong_attention/attention_g (shape []) or
rnn/attention_wrapper/bahdanau_attention/query_layer/kernel, .../attention_v, .../attention_g (shape []),
.../attention_b; rnn/attention_wrapper/attention_layer/kernel), "initial_cell_state" keyed by leaf path
("cell_state", or "cell_state/c" and "cell_state/h"), "outputs" [B,T_dec,O], "final_state" ("cell_state"
leaves, "attention" [B,L], "time" (int, = T_dec), "alignments" [B,T_mem], "attention_state" [B,T_mem]),
"alignment_history" [T_dec,B,T_mem] (time major: TensorArray.stack() of alignment_history=True; the
other results do not depend on that flag), "r_outputs" and "r_final_state" (cell_state leaves,
"attention", "alignments") for the loss
    L = sum(r_outputs * outputs) + sum over the r_final_state leaves of sum(r * final leaf),
"loss", and "grads" keyed by every variable name plus "memory", "inputs" and
"initial_cell_state/<leaf path>".

Self-checks before writing (the script exits non-zero if one fails):
  * The cell transcriptions reproduce TF's literal test values (rnn_cell_test.py testGRUCell 0.175991 /
    0.156736; testBasicLSTMCell's "other" scope c 0.85993134, h 0.57926975) within 1e-6.
  * torch.autograd.gradcheck (float64 finite differences) agrees with autograd on every case's loss.
  * Padded alignments (every step, every case) are exactly 0; every alignments row sums to 1 (1e-12);
    the gradient of the memory at the padded positions is exactly 0 (and non-zero elsewhere).
  * Discrimination, on every case: not masking (neither the memory nor the score), not masking the score
    only, computing the context from the keys instead of the values, or querying with the previous cell
    output instead of the new one, each changes the outputs by > 1e-2.
  * Building the document twice gives identical bytes.
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "attention_golden.json")

torch.set_default_dtype(torch.float64)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)


# ------------------------------------------------------------------ helpers (as in gen-tf-gru-golden.py)

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


def maxdiff(a, b):
    return float((a - b).abs().max())


# ------------------------------------------------------------------ TF 1.15, transcribed: the cells

def gru_cell_call(inputs, state, p):
    """rnn_cell_impl.py GRUCell.call (TF 1.15), line for line (as in gen-tf-gru-golden.py):

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

    `p` = {"gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"}."""
    gate_inputs = torch.matmul(torch.cat([inputs, state], 1), p["gates/kernel"])
    gate_inputs = gate_inputs + p["gates/bias"]
    value = torch.sigmoid(gate_inputs)
    r, u = torch.split(value, value.shape[1] // 2, dim=1)
    r_state = r * state
    candidate = torch.matmul(torch.cat([inputs, r_state], 1), p["candidate/kernel"])
    candidate = candidate + p["candidate/bias"]
    c = torch.tanh(candidate)
    new_h = u * state + (1 - u) * c
    return new_h, new_h


def basic_lstm_call(inputs, state, p, forget_bias=1.0):
    """rnn_cell_impl.py BasicLSTMCell.call (TF 1.15), line for line (as in gen-tf-lstm-golden.py):

        c, h = state
        gate_inputs = math_ops.matmul(array_ops.concat([inputs, h], 1), self._kernel)
        gate_inputs = nn_ops.bias_add(gate_inputs, self._bias)
        i, j, f, o = array_ops.split(value=gate_inputs, num_or_size_splits=4, axis=one)
        new_c = add(multiply(c, sigmoid(add(f, forget_bias_tensor))), multiply(sigmoid(i), self._activation(j)))
        new_h = multiply(self._activation(new_c), sigmoid(o))
        return new_h, LSTMStateTuple(new_c, new_h)

    `p` = {"kernel", "bias"}."""
    c, h = state
    gate_inputs = torch.matmul(torch.cat([inputs, h], 1), p["kernel"])
    gate_inputs = gate_inputs + p["bias"]
    i, j, f, o = torch.split(gate_inputs, gate_inputs.shape[1] // 4, dim=1)
    new_c = c * torch.sigmoid(f + forget_bias) + torch.sigmoid(i) * torch.tanh(j)
    new_h = torch.tanh(new_c) * torch.sigmoid(o)
    return new_h, (new_c, new_h)


# ------------------------------------------------------------------ TF 1.15, transcribed: attention

def sequence_mask(lengths, maxlen):
    """array_ops.sequence_mask(lengths, maxlen): [B, maxlen] bool, t < lengths[b]."""
    return torch.arange(maxlen)[None, :] < lengths[:, None]


def prepare_memory(memory, memory_sequence_length, control=None):
    """attention_wrapper.py _prepare_memory (TF 1.15), check_inner_dims_defined, memory_mask None:

        seq_len_mask = array_ops.sequence_mask(memory_sequence_length,
                                               maxlen=array_ops.shape(nest.flatten(memory)[0])[1],
                                               dtype=nest.flatten(memory)[0].dtype)
        def _maybe_mask(m, seq_len_mask):
          rank = m.get_shape().ndims ...
          extra_ones = array_ops.ones(rank - 2, dtype=dtypes.int32)
          seq_len_mask = array_ops.reshape(seq_len_mask, array_ops.concat((array_ops.shape(seq_len_mask),
                                                                           extra_ones), 0))
          return m * seq_len_mask
        return nest.map_structure(lambda m: _maybe_mask(m, seq_len_mask), memory)

    control == "no_mask" (negative control only) skips the masking."""
    if control == "no_mask":
        return memory
    mask = sequence_mask(memory_sequence_length, memory.shape[1]).to(memory.dtype)
    return memory * mask[:, :, None]


def maybe_mask_score(score, memory_sequence_length, control=None):
    """attention_wrapper.py _maybe_mask_score (TF 1.15), score_mask_value = -inf (the default None
    becomes dtypes.as_dtype(memory.dtype).as_numpy_dtype(-np.inf)):

        score_mask = array_ops.sequence_mask(memory_sequence_length, maxlen=array_ops.shape(score)[1])
        score_mask_values = score_mask_value * array_ops.ones_like(score)
        return array_ops.where(score_mask, score, score_mask_values)

    (the assert_positive on memory_sequence_length: every length here is >= 1).
    control in ("no_mask", "no_score_mask") (negative controls only) skips it."""
    if control in ("no_mask", "no_score_mask"):
        return score
    score_mask = sequence_mask(memory_sequence_length, score.shape[1])
    return torch.where(score_mask, score, torch.full_like(score, -np.inf))


def luong_score(query, keys, scale_g):
    """attention_wrapper.py _luong_score (TF 1.15):

        depth = query.get_shape()[-1]; key_units = keys.get_shape()[-1]
        if depth != key_units: raise ValueError("Incompatible or unknown inner dimensions ...")
        query = array_ops.expand_dims(query, 1)
        score = math_ops.matmul(query, keys, transpose_b=True)
        score = array_ops.squeeze(score, [1])
        if scale: score = g * score            # g = attention_g, a scalar
        return score"""
    assert query.shape[-1] == keys.shape[-1], "Incompatible or unknown inner dimensions between query and keys."
    score = torch.matmul(query[:, None, :], keys.transpose(1, 2))
    score = score.squeeze(1)
    if scale_g is not None:
        score = scale_g * score
    return score


def bahdanau_score(processed_query, keys, attention_v, attention_g=None, attention_b=None):
    """attention_wrapper.py _bahdanau_score (TF 1.15):

        processed_query = array_ops.expand_dims(processed_query, 1)
        if attention_g is not None and attention_b is not None:
          normed_v = attention_g * attention_v * math_ops.rsqrt(
              math_ops.reduce_sum(math_ops.square(attention_v)))
          return math_ops.reduce_sum(normed_v * math_ops.tanh(keys + processed_query + attention_b), [2])
        else:
          return math_ops.reduce_sum(attention_v * math_ops.tanh(keys + processed_query), [2])"""
    processed_query = processed_query[:, None, :]
    if attention_g is not None and attention_b is not None:
        normed_v = attention_g * attention_v * torch.rsqrt((attention_v * attention_v).sum())
        return (normed_v * torch.tanh(keys + processed_query + attention_b)).sum(2)
    return (attention_v * torch.tanh(keys + processed_query)).sum(2)


class Mechanism:
    """_BaseAttentionMechanism.__init__ (TF 1.15), memory_layer = Dense(num_units, name="memory_layer",
    use_bias=False), probability_fn = lambda score, _: softmax(score):

        self._values = _prepare_memory(memory, memory_sequence_length, ...)
        self._keys = (self.memory_layer(self._values) if self.memory_layer else self._values)

    and LuongAttention.__call__ / BahdanauAttention.__call__ (TF 1.15):

        with variable_scope.variable_scope(None, "luong_attention", [query]):
          attention_g = get_variable("attention_g", initializer=ones_initializer, shape=())  # if scale
          score = _luong_score(query, self._keys, attention_g)
        ---
        with variable_scope.variable_scope(None, "bahdanau_attention", [query]):
          processed_query = self.query_layer(query) if self.query_layer else query
          attention_v = get_variable("attention_v", [self._num_units])
          attention_g, attention_b = get_variable(...) if self._normalize else None, None
          score = _bahdanau_score(processed_query, self._keys, attention_v, attention_g, attention_b)
        alignments = self._probability_fn(score, state)      # _maybe_mask_score, then softmax
        next_state = alignments
        return alignments, next_state

    `w` maps the full variable names to tensors. `control` is a negative control only."""

    def __init__(self, cfg, w, memory, memory_sequence_length, control=None):
        self.cfg, self.w, self.control = cfg, w, control
        self.lengths = memory_sequence_length
        self.values = prepare_memory(memory, memory_sequence_length, control)
        self.keys = torch.matmul(self.values, w["memory_layer/kernel"])   # Dense, no bias

    def __call__(self, query, state):
        cfg, w = self.cfg, self.w
        if cfg["mechanism"] == "luong":
            pre = "rnn/attention_wrapper/luong_attention/"
            score = luong_score(query, self.keys, w[pre + "attention_g"] if cfg["scale"] else None)
        else:
            pre = "rnn/attention_wrapper/bahdanau_attention/"
            processed_query = torch.matmul(query, w[pre + "query_layer/kernel"])   # Dense, no bias
            g, b = (w[pre + "attention_g"], w[pre + "attention_b"]) if cfg["normalize"] else (None, None)
            score = bahdanau_score(processed_query, self.keys, w[pre + "attention_v"], g, b)
        alignments = torch.softmax(maybe_mask_score(score, self.lengths, self.control), dim=1)
        return alignments, alignments


def compute_attention(mech, cell_output, attention_state, attention_layer_kernel, control=None, query=None):
    """attention_wrapper.py _compute_attention (TF 1.15):

        alignments, next_attention_state = attention_mechanism(cell_output, state=attention_state)
        expanded_alignments = array_ops.expand_dims(alignments, 1)
        context_ = math_ops.matmul(expanded_alignments, attention_mechanism.values)
        context_ = array_ops.squeeze(context_, [1])
        if attention_layer is not None:
          attention = attention_layer(array_ops.concat([cell_output, context_], 1))
        else:
          attention = context_
        return attention, alignments, next_attention_state

    Negative controls only: control == "context_from_keys" takes the context from the keys; `query`
    (not None) replaces the cell output as the mechanism's query (the attention layer still reads
    the cell output)."""
    alignments, next_attention_state = mech(cell_output if query is None else query, attention_state)
    expanded_alignments = alignments[:, None, :]
    source = mech.keys if control == "context_from_keys" else mech.values
    context_ = torch.matmul(expanded_alignments, source).squeeze(1)
    if attention_layer_kernel is not None:
        attention = torch.matmul(torch.cat([cell_output, context_], 1), attention_layer_kernel)   # Dense, no bias
    else:
        attention = context_
    return attention, alignments, next_attention_state


def attention_wrapper_call(cfg, w, mech, inputs, state, control=None):
    """attention_wrapper.py AttentionWrapper.call (TF 1.15), one mechanism, cell_input_fn default:

        cell_inputs = self._cell_input_fn(inputs, state.attention)     # concat([inputs, attention], -1)
        cell_state = state.cell_state
        cell_output, next_cell_state = self._cell(cell_inputs, cell_state)
        (batch-size assert)
        attention, alignments, next_attention_state = _compute_attention(
            attention_mechanism, cell_output, previous_attention_state[i],
            self._attention_layers[i] if self._attention_layers else None)
        alignment_history = previous_alignment_history[i].write(state.time, alignments) ...
        next_state = AttentionWrapperState(time=state.time + 1, cell_state=next_cell_state,
                                           attention=attention, attention_state=next_attention_state,
                                           alignments=alignments, alignment_history=alignment_history)
        if self._output_attention: return attention, next_state
        else: return cell_output, next_state

    `state` = dict(cell_state, attention, time, alignments, attention_state). control ==
    "previous_query" (negative control only) queries with the previous cell output."""
    cell_inputs = torch.cat([inputs, state["attention"]], -1)
    cell_state = state["cell_state"]
    if cfg["cell"] == "gru":
        p = {k: w["rnn/attention_wrapper/gru_cell/" + k]
             for k in ("gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias")}
        cell_output, next_cell_state = gru_cell_call(cell_inputs, cell_state, p)
        previous_output = cell_state
    else:
        p = {k: w["rnn/attention_wrapper/basic_lstm_cell/" + k] for k in ("kernel", "bias")}
        cell_output, next_cell_state = basic_lstm_call(cell_inputs, cell_state, p, FORGET_BIAS)
        previous_output = cell_state[1]
    layer = w.get("rnn/attention_wrapper/attention_layer/kernel")
    attention, alignments, next_attention_state = compute_attention(
        mech, cell_output, state["attention_state"], layer, control,
        query=previous_output if control == "previous_query" else None)
    next_state = {"cell_state": next_cell_state, "attention": attention, "time": state["time"] + 1,
                  "alignments": alignments, "attention_state": next_attention_state}
    return (attention if cfg["output_attention"] else cell_output), next_state


def zero_state(cfg, batch, t_mem, initial_cell_state):
    """AttentionWrapper.zero_state (TF 1.15) then .clone(cell_state=initial_cell_state):
    cell_state = initial_cell_state, attention = zeros [B, L] (_zero_state_tensors(attention_layer_size)),
    time = 0, alignments = initial_alignments = zeros [B, T_mem], attention_state = initial_state
    (= the same zeros), alignment_history = () (a TensorArray when alignment_history=True)."""
    L = cfg["attention_layer_size"] or cfg["memory_depth"]
    alignments = torch.zeros(batch, t_mem)
    return {"cell_state": initial_cell_state, "attention": torch.zeros(batch, L), "time": 0,
            "alignments": alignments, "attention_state": alignments}


def run(cfg, w, memory, memory_sequence_length, inputs, initial_cell_state, control=None):
    """rnn.py dynamic_rnn (TF 1.15), batch major, no sequence_length: _dynamic_rnn_loop calls the cell
    at every time step (no copy-through) and stacks the outputs along axis 1. Returns (outputs
    [B, T_dec, O], final state dict, alignment history [T_dec, B, T_mem])."""
    mech = Mechanism(cfg, w, memory, memory_sequence_length, control)
    state = zero_state(cfg, memory.shape[0], memory.shape[1], initial_cell_state)
    outputs, history = [], []
    for time in range(inputs.shape[1]):
        output, state = attention_wrapper_call(cfg, w, mech, inputs[:, time], state, control)
        outputs.append(output)
        history.append(state["alignments"])
    return torch.stack(outputs, 1), state, torch.stack(history, 0)


# ------------------------------------------------------------------ self-checks against TF's own tests

def check_against_tf():
    worst = 0.0
    # rnn_cell_test.py testGRUCell: kernels 0.5, gates bias 1.0, candidate bias 0.0, x ones, state 0.1.
    for depth, want in ((2, 0.175991), (3, 0.156736)):
        p = {"gates/kernel": torch.full((depth + 2, 4), 0.5), "gates/bias": torch.ones(4),
             "candidate/kernel": torch.full((depth + 2, 2), 0.5), "candidate/bias": torch.zeros(2)}
        got, _ = gru_cell_call(torch.ones(1, depth), torch.full((1, 2), 0.1), p)
        d = maxdiff(got, torch.full((1, 2), want))
        assert d < 1e-6, (depth, got)
        worst = max(worst, d)
    # testBasicLSTMCell's "other" scope: BasicLSTMCell(2), kernel 0.5, bias 0, x ones(1, 3), c = h = 0.1.
    _, (c, h) = basic_lstm_call(torch.ones(1, 3), (torch.full((1, 2), 0.1), torch.full((1, 2), 0.1)),
                                {"kernel": torch.full((5, 8), 0.5), "bias": torch.zeros(8)})
    for got, want in ((c, 0.85993134), (h, 0.57926975)):
        d = maxdiff(got, torch.full((1, 2), want))
        assert d < 1e-6, (got, want)
        worst = max(worst, d)
    return worst


# ------------------------------------------------------------------ the cases

B, T_MEM, DM, A, E, T_DEC, D = 3, 5, 4, 4, 2, 4, 4
LENGTHS = np.array([5, 2, 1], dtype=np.int32)
FORGET_BIAS = 1.0
BAHDANAU_WIDTH = 1.5   # query_layer/kernel and attention_v ~ U(-1.5, 1.5)

CASES = [
    ("luong", dict(mechanism="luong", scale=False, normalize=False, attention_layer_size=3, output_attention=True,
                   cell="gru")),
    ("luong_scaled", dict(mechanism="luong", scale=True, normalize=False, attention_layer_size=3,
                          output_attention=True, cell="gru")),
    ("bahdanau", dict(mechanism="bahdanau", scale=False, normalize=False, attention_layer_size=3,
                      output_attention=True, cell="gru")),
    ("bahdanau_normed", dict(mechanism="bahdanau", scale=False, normalize=True, attention_layer_size=3,
                             output_attention=True, cell="gru")),
    ("bahdanau_no_layer", dict(mechanism="bahdanau", scale=False, normalize=False, attention_layer_size=None,
                               output_attention=False, cell="gru")),
    ("luong_lstm", dict(mechanism="luong", scale=True, normalize=False, attention_layer_size=3,
                        output_attention=True, cell="basic_lstm")),
]

DISC_MIN = 1e-2   # every negative control must move the outputs by more than this (1000x a float32 tolerance)
CONTROLS = ("no_mask", "no_score_mask", "context_from_keys", "previous_query")


def make_config(c):
    return {"mechanism": c["mechanism"], "scale": c["scale"], "normalize": c["normalize"], "num_units": A,
            "attention_layer_size": c["attention_layer_size"], "output_attention": c["output_attention"],
            "cell": c["cell"], "cell_units": D, "input_depth": E, "memory_depth": DM}


def make_params(rng, cfg):
    """The variables in TF's creation order (SPEC-ta §A3): the memory layer at mechanism construction
    (root scope), then inside rnn/attention_wrapper: the inner cell (called first in
    AttentionWrapper.call), the mechanism's variables (first __call__), the attention layer."""
    L = cfg["attention_layer_size"] or DM
    cell_in = E + L + D
    p = {"memory_layer/kernel": uniform(rng, (DM, A), -0.5, 0.5)}
    if cfg["cell"] == "gru":
        pre = "rnn/attention_wrapper/gru_cell/"
        p[pre + "gates/kernel"] = uniform(rng, (cell_in, 2 * D), -0.5, 0.5)
        p[pre + "gates/bias"] = uniform(rng, (2 * D,), 0.5, 1.5)
        p[pre + "candidate/kernel"] = uniform(rng, (cell_in, D), -0.5, 0.5)
        p[pre + "candidate/bias"] = uniform(rng, (D,), -0.5, 0.5)
    else:
        pre = "rnn/attention_wrapper/basic_lstm_cell/"
        p[pre + "kernel"] = uniform(rng, (cell_in, 4 * D), -0.5, 0.5)
        p[pre + "bias"] = uniform(rng, (4 * D,), -0.5, 0.5)
    if cfg["mechanism"] == "luong":
        if cfg["scale"]:
            g = uniform(rng, (), 1.25, 2.0)
            assert abs(float(g) - 1.0) > 0.05, g                 # not TF's initial value 1.0
            p["rnn/attention_wrapper/luong_attention/attention_g"] = g
    else:
        pre = "rnn/attention_wrapper/bahdanau_attention/"
        # wider than U(-0.5, 0.5): with v and the query layer that small the score hardly depends on the
        # query, and querying with the previous cell output would move the outputs by only ~2e-3
        p[pre + "query_layer/kernel"] = uniform(rng, (D, A), -BAHDANAU_WIDTH, BAHDANAU_WIDTH)
        p[pre + "attention_v"] = uniform(rng, (A,), -BAHDANAU_WIDTH, BAHDANAU_WIDTH)
        if cfg["normalize"]:
            g = uniform(rng, (), 1.0, 2.0)
            assert abs(float(g) - np.sqrt(1.0 / A)) > 0.05, g   # not TF's initial value sqrt(1 / num_units)
            p[pre + "attention_g"] = g
            p[pre + "attention_b"] = uniform(rng, (A,), -0.5, 0.5)
            assert float(np.abs(p[pre + "attention_b"]).min()) > 0
    if cfg["attention_layer_size"] is not None:
        p["rnn/attention_wrapper/attention_layer/kernel"] = uniform(rng, (D + DM, L), -0.5, 0.5)
    return p


def build_case(rng, name, c):
    cfg = make_config(c)
    lstm = cfg["cell"] == "basic_lstm"
    L = cfg["attention_layer_size"] or DM
    memory = uniform(rng, (B, T_MEM, DM), -1.0, 1.0)
    assert float(np.abs(memory).min()) > 0   # padded positions non-zero: the masking matters
    inputs = uniform(rng, (B, T_DEC, E), -1.0, 1.0)
    params = make_params(rng, cfg)
    leaf_paths = ["cell_state/c", "cell_state/h"] if lstm else ["cell_state"]
    init = [uniform(rng, (B, D), -0.8, 0.8) for _ in leaf_paths]
    names = list(params)
    seq = torch.tensor(LENGTHS)
    leaves = [t64(params[n]).requires_grad_(True) for n in names] + \
             [t64(memory).requires_grad_(True), t64(inputs).requires_grad_(True)] + \
             [t64(a).requires_grad_(True) for a in init]

    def forward(args, control=None):
        w = dict(zip(names, args[:len(names)]))
        mem, x = args[len(names)], args[len(names) + 1]
        s = args[len(names) + 2:]
        cell_state = (s[0], s[1]) if lstm else s[0]
        return run(cfg, w, mem, seq, x, cell_state, control)

    def final_leaves(final):
        cs = list(final["cell_state"]) if lstm else [final["cell_state"]]
        return cs + [final["attention"], final["alignments"]]

    outputs0, final0, _ = forward(leaves)
    O = L if cfg["output_attention"] else D
    assert tuple(outputs0.shape) == (B, T_DEC, O), outputs0.shape
    r_outputs = uniform(rng, (B, T_DEC, O), -1.0, 1.0)
    r_final_paths = leaf_paths + ["attention", "alignments"]
    r_final = [uniform(rng, tuple(v.shape), -1.0, 1.0) for v in final_leaves(final0)]

    def loss_of(*args):
        outputs, final, history = forward(args)
        loss = (outputs * t64(r_outputs)).sum() + sum((v * t64(r)).sum() for v, r in zip(final_leaves(final), r_final))
        return loss, outputs, final, history

    loss, outputs, final, history = loss_of(*leaves)
    grads = torch.autograd.grad(loss, leaves)
    assert torch.autograd.gradcheck(lambda *a: loss_of(*a)[0], tuple(leaves), eps=1e-6, atol=1e-7), name

    # masking: padded alignments exactly 0 at every step, rows sum to 1, padded memory gradients exactly 0
    valid = sequence_mask(seq, T_MEM)                        # [B, T_mem]
    for t in range(T_DEC):
        a = history[t]
        assert bool((a[~valid] == 0).all()), (name, t)
        assert bool((a[valid] > 0).all()), (name, t)
        assert maxdiff(a.sum(1), torch.ones(B)) < 1e-12, (name, t)
    assert torch.equal(history[-1], final["alignments"]) and torch.equal(final["attention_state"], final["alignments"])
    g_mem = grads[len(names)]
    assert bool((g_mem[~valid] == 0).all()), name
    assert bool((g_mem[valid].abs() > 0).all()), name

    # discrimination
    info = {}
    with torch.no_grad():
        for control in CONTROLS:
            info[control] = maxdiff(forward(leaves, control)[0], outputs)
            assert info[control] > DISC_MIN, (name, control, info[control])

    grad_names = names + ["memory", "inputs"] + ["initial_cell_state/" + q for q in leaf_paths]
    final_state = {q: tensor(v) for q, v in zip(leaf_paths, final_leaves(final)[:len(leaf_paths)])}
    final_state["attention"] = tensor(final["attention"])
    final_state["time"] = final["time"]
    final_state["alignments"] = tensor(final["alignments"])
    final_state["attention_state"] = tensor(final["attention_state"])
    assert final["time"] == T_DEC
    case = {
        "name": name,
        "config": cfg,
        "memory": tensor(memory),
        "memory_sequence_length": tensor(LENGTHS),
        "inputs": tensor(inputs),
        "params": {n: tensor(params[n]) for n in names},
        "initial_cell_state": {q: tensor(a) for q, a in zip(leaf_paths, init)},
        "outputs": tensor(outputs),
        "final_state": final_state,
        "alignment_history": tensor(history),
        "r_outputs": tensor(r_outputs),
        "r_final_state": {q: tensor(r) for q, r in zip(r_final_paths, r_final)},
        "loss": scalar(loss),
        "grads": {n: tensor(g) for n, g in zip(grad_names, grads)},
    }
    return case, info


def build():
    rng = np.random.default_rng(20260604)
    cases, info = [], {}
    for name, c in CASES:
        case, info[name] = build_case(rng, name, c)
        cases.append(case)
    doc = {
        "about": "TF 1.15 tf.contrib.seq2seq AttentionWrapper golden data (LuongAttention with/without scale, "
                 "BahdanauAttention with/without normalize, GRUCell / BasicLSTMCell inner cell, with and without "
                 "attention layer) under tf.nn.dynamic_rnn (batch major, scope rnn, no sequence_length), from "
                 "float64 code transcribed from TF 1.15 (attention_wrapper.py, rnn_cell_impl.py, rnn.py) with "
                 "float64 PyTorch autograd gradients of L = sum(r_outputs * outputs) + sum(r * final leaf) over "
                 "r_final_state's leaves; values rounded to float32. params and grads are keyed by TF variable "
                 "names; alignment_history is time major [T_dec, B, T_mem] (what alignment_history=True stacks). "
                 "See tools/gen-attention-golden.py.",
        "generator": "tools/gen-attention-golden.py, torch " + torch.__version__ + ", numpy " + np.__version__,
        "cases": cases,
    }
    return dumps(doc) + "\n", info


def main():
    tf_worst = check_against_tf()
    text, info = build()
    text2, _ = build()
    assert text == text2, "two builds differ"
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}: TF literals within {tf_worst:.2e}; gradcheck ok on {len(CASES)} cases; "
          f"masking exact; builds byte-identical", file=sys.stderr)
    for name, d in info.items():
        print("  %s: outputs move by %s" % (name, ", ".join("%s %.4g" % (k, v) for k, v in d.items())),
              file=sys.stderr)


if __name__ == "__main__":
    main()
