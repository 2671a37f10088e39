"""The playground shim's cell wrappers and bidirectional RNN (issue 24 for the cells issue), under node:
  node tools/tf1-python.mjs --wasm build/wasm/varscope_web.mjs --data tests/data \
      tests/playground/cells_checks.py               # CTest playground_cells
1. tf.nn.bidirectional_dynamic_rnn(BasicLSTMCell(4), BasicLSTMCell(4)) with ragged lengths [5, 3, 0, 1]
   and initial states, against tests/data/tf_lstm_golden.json's bidirectional_lstm (float64 code written
   from TF's equations, tools/gen-tf-lstm-golden.py): TF's names, then the golden weights loaded;
2. MultiRNNCell([BasicLSTMCell(4), ResidualWrapper(BasicLSTMCell(4))]) against its residual_multi group;
3. DropoutWrapper against the unwrapped cell's own numbers: keep 1.0 changes nothing; output dropout
   leaves the state alone and makes every output 0 or output / keep; the same seed repeats its masks in
   a fresh graph, another seed does not; the wrapper adds no scope level; TF's argument errors."""
import tensorflow as tf
from checks import check, close, finish, flat, golden, load_golden_params, load_json, raises

GOLDEN = load_json("/varscope/data/data/tf_lstm_golden.json")
TOL = 1e-5
rnn_cell = tf.nn.rnn_cell


def lstm_state(init, prefix):
    return rnn_cell.LSTMStateTuple(golden(init[prefix + "c"]), golden(init[prefix + "h"]))


# ---------------------------------------------------------------- 1. bidirectional_dynamic_rnn
c = GOLDEN["bidirectional_lstm"]
H, forget_bias = c["config"]["H"], c["config"]["forget_bias"]
with tf.Session(graph=tf.Graph()) as sess:
    inputs = golden(c["inputs"])
    lengths = golden(c["sequence_length"], tf.int32)
    fw, bw = rnn_cell.BasicLSTMCell(H, forget_bias=forget_bias), rnn_cell.BasicLSTMCell(H, forget_bias=forget_bias)

    def run():
        return tf.nn.bidirectional_dynamic_rnn(fw, bw, inputs, sequence_length=lengths,
                                               initial_state_fw=lstm_state(c["initial_state"], "fw/"),
                                               initial_state_bw=lstm_state(c["initial_state"], "bw/"))
    run()
    load_golden_params(c["params"], sess, "")
    (out_fw, out_bw), (state_fw, state_bw) = sess.run(run())
    close(out_fw, c["outputs_fw"]["data"], TOL, "bidirectional: outputs_fw")
    close(out_bw, c["outputs_bw"]["data"], TOL, "bidirectional: outputs_bw (input time order)")
    for label, state in (("fw", state_fw), ("bw", state_bw)):
        close(state.c, c["final_state"][label + "/c"]["data"], TOL, f"bidirectional: final {label}.c")
        close(state.h, c["final_state"][label + "/h"]["data"], TOL, f"bidirectional: final {label}.h")
    raises(ValueError, lambda: tf.nn.bidirectional_dynamic_rnn(fw, bw, inputs),
           starts="If there is no initial_state, you must give a dtype.", what="bidirectional without dtype")
    raises(NotImplementedError, lambda: tf.nn.bidirectional_dynamic_rnn(fw, bw, inputs, dtype=tf.float32,
                                                                        time_major=True),
           contains="bidirectional_dynamic_rnn(time_major=True)", what="bidirectional time_major")

# ---------------------------------------------------------------- 2. ResidualWrapper in a MultiRNNCell
c = GOLDEN["residual_multi"]
with tf.Session(graph=tf.Graph()) as sess:
    H = c["config"]["H"]
    cell = rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(H), rnn_cell.ResidualWrapper(rnn_cell.BasicLSTMCell(H))])
    inputs = golden(c["inputs"])
    lengths = golden(c["sequence_length"], tf.int32)
    initial = (lstm_state(c["initial_state"], "0/"), lstm_state(c["initial_state"], "1/"))

    def run():
        return tf.nn.dynamic_rnn(cell, inputs, sequence_length=lengths, initial_state=initial)
    run()
    load_golden_params(c["params"], sess, "")
    outputs, state = sess.run(run())
    close(outputs, c["outputs"]["data"], TOL, "residual multi: outputs")
    for i in (0, 1):
        close(state[i].c, c["final_state"][f"{i}/c"]["data"], TOL, f"residual multi: final layer {i} c")
        close(state[i].h, c["final_state"][f"{i}/h"]["data"], TOL, f"residual multi: final layer {i} h")
    raises(NotImplementedError, lambda: rnn_cell.ResidualWrapper(rnn_cell.GRUCell(4), residual_fn=lambda i, o: o),
           contains="ResidualWrapper(residual_fn=...)", what="ResidualWrapper(residual_fn=...)")


# ---------------------------------------------------------------- 3. DropoutWrapper
def dropout_run(seed, **keep):
    """(plain outputs, plain state, dropout outputs, dropout state, variable names) in a fresh graph: the
    same GRUCell object runs unwrapped, then wrapped (so both read the same variables)."""
    with tf.Session(graph=tf.Graph()) as sess:
        x = tf.constant([[[0.5 * ((b + t + d) % 5) - 1.0 for d in range(3)] for t in range(6)] for b in range(4)])
        lengths = tf.constant([6, 4, 2, 1], dtype=tf.int32)
        gru = rnn_cell.GRUCell(8)
        plain = tf.nn.dynamic_rnn(gru, x, sequence_length=lengths, dtype=tf.float32)
        wrapped = tf.nn.dynamic_rnn(rnn_cell.DropoutWrapper(gru, seed=seed, **keep), x, sequence_length=lengths,
                                    dtype=tf.float32)
        (p_out, p_state), (d_out, d_state) = sess.run([plain, wrapped])
        return flat(p_out), flat(p_state), flat(d_out), flat(d_state), [v.name for v in tf.global_variables()]


p_out, p_state, d_out, d_state, names = dropout_run(3)
check(d_out == p_out and d_state == p_state, "DropoutWrapper with every keep 1.0 gives the unwrapped numbers")
check(names == ["rnn/gru_cell/gates/kernel:0", "rnn/gru_cell/gates/bias:0", "rnn/gru_cell/candidate/kernel:0",
                "rnn/gru_cell/candidate/bias:0"], f"DropoutWrapper adds no scope level: {names}")
keep = 0.5
p_out, p_state, d_out, d_state, _ = dropout_run(3, output_keep_prob=keep)
dropped = [d == 0.0 and p != 0.0 for p, d in zip(p_out, d_out)]
scaled = [abs(d - p / keep) <= 1e-6 * max(1.0, abs(p / keep)) for p, d in zip(p_out, d_out)]
check(all(a or b for a, b in zip(dropped, scaled)) and 0 < sum(dropped) < len(p_out),
      f"output dropout: every output is 0 or output / keep ({sum(dropped)} of {len(p_out)} dropped)")
check(d_state == p_state, "output dropout leaves the state alone")
again = dropout_run(3, output_keep_prob=keep)
other = dropout_run(4, output_keep_prob=keep)
check(again[2] == d_out and other[2] != d_out, "the same seed repeats the masks in a fresh graph, another does not")
_, _, _, s_state, _ = dropout_run(3, state_keep_prob=keep)
check(s_state != p_state, "state dropout changes the final state")

gru = rnn_cell.GRUCell(4)
raises(ValueError, lambda: rnn_cell.DropoutWrapper(gru, input_keep_prob=1.5), contains="input_keep_prob",
       what="DropoutWrapper(input_keep_prob=1.5)")
raises(ValueError, lambda: rnn_cell.DropoutWrapper(gru, variational_recurrent=True),
       starts="When variational_recurrent=True, dtype must be provided", what="variational without dtype")
raises(NotImplementedError, lambda: rnn_cell.DropoutWrapper(gru, dropout_state_filter_visitor=lambda s: True),
       contains="dropout_state_filter_visitor", what="DropoutWrapper(dropout_state_filter_visitor=...)")
check(tf.contrib.rnn.DropoutWrapper is rnn_cell.DropoutWrapper and
      tf.contrib.rnn.ResidualWrapper is rnn_cell.ResidualWrapper, "tf.contrib.rnn's wrapper names")

finish()
