# Checks of the tensorflow shim and wasm/tf_api.cpp beyond the article (CTest playground_shim):
# contexts closed twice or out of order, the error mapping (kind -> Python exception), unsupported
# TF calls naming themselves, scope options (initializer, dtype, default_name, auxiliary_name_scope,
# reopening a scope object), name_scope, the Python line in VariableOrigin, sess.run structures,
# LSTM / MultiRNN cells with nested states (LSTMStateTuple, tuples) through dynamic_rnn, tile_batch, decoders.
# Each check prints "ok <name>"; the first failure raises (traceback, exit 1).
# Run: node tools/tf1-python.mjs tests/playground/shim_checks.py
import _varscope as vs

import numpy as np
import tensorflow as tf

checks = []


def check(fn):
    checks.append(fn)
    return fn


def raises(exc, fn, starts=None, contains=None):
    try:
        fn()
    except exc as e:
        text = str(e)
        assert starts is None or text.startswith(starts), f"{text!r} does not start with {starts!r}"
        assert contains is None or contains in text, f"{text!r} does not contain {contains!r}"
        return e
    raise AssertionError(f"{fn} raised no {exc.__name__}")


@check
def context_closed_twice_throws_and_keeps_the_stack():
    depth = vs.openContexts()
    ctx = vs.ScopeContext.open("twice", None)
    ctx.close()
    e = raises(ValueError, lambda: tf._bridge.call(ctx.close), contains="closed twice")
    assert e.kind == "InvalidArgumentError", e.kind
    assert vs.openContexts() == depth
    assert tf.get_variable_scope().name == ""


@check
def context_closed_out_of_order_throws_and_keeps_the_stack():
    depth = vs.openContexts()
    outer = vs.ScopeContext.open("outer", None)
    inner = vs.ScopeContext.open("inner", None)
    raises(ValueError, lambda: tf._bridge.call(outer.close), contains="closed out of order")
    assert vs.openContexts() == depth + 2
    assert tf.get_variable_scope().name == "outer/inner"
    inner.close()
    outer.close()
    assert vs.openContexts() == depth and tf.get_variable_scope().name == ""


@check
def unsupported_calls_name_themselves():
    raises(NotImplementedError, lambda: tf.placeholder, starts="tf.placeholder is not supported")
    raises(NotImplementedError, lambda: tf.nn.conv2d, starts="tf.nn.conv2d is not supported")
    raises(NotImplementedError, lambda: tf.contrib.seq2seq.SampleEmbeddingHelper,
           starts="tf.contrib.seq2seq.SampleEmbeddingHelper is not supported")
    raises(NotImplementedError, lambda: tf.variable_scope("x", regularizer=abs),
           starts="tf.variable_scope(regularizer=...) is not supported")
    raises(NotImplementedError, lambda: tf.Session().run([], feed_dict={1: 2}),
           starts="tf.Session.run(feed_dict=...)")


@check
def shape_and_dtype_mismatch_are_value_errors():
    with tf.Graph().as_default():
        with tf.variable_scope("s", reuse=tf.AUTO_REUSE):
            tf.get_variable("v", shape=[2, 3])
            e = raises(ValueError, lambda: tf.get_variable("v", shape=[3, 2]), starts="Trying to share variable s/v")
            assert e.kind == "ShapeMismatchError"
            e = raises(ValueError, lambda: tf.get_variable("v", shape=[2, 3], dtype=tf.int32),
                       starts="Trying to share variable s/v")
            assert e.kind == "DTypeMismatchError"


@check
def variable_origin_names_the_python_line():
    import sys
    with tf.Graph().as_default():
        v = tf.get_variable("w", shape=[1]); line = sys._getframe().f_lineno
        assert v.origin["call_site"] == f"shim_checks.py:{line}", v.origin
        u = tf.Variable(tf.zeros([1]), name="u"); line = sys._getframe().f_lineno
        assert u.origin["call_site"] == f"shim_checks.py:{line}" and u.origin["creator"] == "Variable", u.origin


@check
def scope_initializer_dtype_and_names():
    with tf.Session(graph=tf.Graph()) as sess:
        with tf.variable_scope("init", initializer=tf.constant_initializer(0.5)) as scope:
            v = tf.get_variable("v", shape=[2])
            assert sess.run(v).tolist() == [0.5, 0.5]
            assert scope.original_name_scope == "init/", scope.original_name_scope
        with tf.variable_scope("ints", dtype=tf.int32, initializer=tf.zeros_initializer()):
            assert tf.get_variable("i", shape=[2]).dtype == tf.int32
        with tf.variable_scope(None, default_name="layer") as a:
            pass
        with tf.variable_scope(None, default_name="layer") as b:
            pass
        assert (a.name, b.name) == ("layer", "layer_1"), (a.name, b.name)
        with tf.variable_scope(scope, reuse=True) as again:
            assert again.name == "init" and again.reuse is True
            assert tf.get_variable("v", shape=[2]) == v
        with tf.variable_scope("noaux", auxiliary_name_scope=False) as s:
            assert s.original_name_scope == "", s.original_name_scope
        with tf.name_scope("ns"):
            assert tf.get_variable("plain", shape=[1]).name == "plain:0"
        r = sess.run({"a": v, "b": (tf.ones([1]), [tf.zeros([2], tf.int32)])})
        assert r["a"].tolist() == [0.5, 0.5] and r["b"][0].tolist() == [1.0]
        assert r["b"][1][0].dtype == np.int32 and r["b"][1][0].tolist() == [0, 0]


@check
def dense_and_matmul_values():
    with tf.Session(graph=tf.Graph()) as sess:
        x = tf.constant([[1.0, 2.0]])
        y = tf.layers.dense(x, 1, use_bias=False, kernel_initializer=tf.ones_initializer(), name="d")
        assert sess.run(y).tolist() == [[3.0]]
        assert [v.name for v in tf.trainable_variables()] == ["d/kernel:0"]
        assert sess.run(tf.matmul(x, tf.constant([[1.0], [1.0]]))).tolist() == [[3.0]]


@check
def lstm_and_multi_cells_with_nested_states():
    with tf.Session(graph=tf.Graph()) as sess:
        x = tf.random_uniform([2, 3, 5])
        cell = tf.nn.rnn_cell.LSTMCell(4, name="lstm")
        out, st = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        assert isinstance(st, tf.nn.rnn_cell.LSTMStateTuple), type(st)
        assert st.c.shape == [2, 4] and st.h.shape == [2, 4] and out.shape == [2, 3, 4]
        o, h = sess.run([out, st.h])
        assert o[:, 2, :].tolist() == h.tolist()  # the last output is h
        z = cell.zero_state(2)
        assert isinstance(z, tf.nn.rnn_cell.LSTMStateTuple) and sess.run(z.c).tolist() == [[0.0] * 4] * 2
        multi = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(3), tf.contrib.rnn.BasicLSTMCell(3)])
        _, st2 = tf.nn.dynamic_rnn(multi, x, dtype=tf.float32, scope="multi")
        assert isinstance(st2, tuple) and isinstance(st2[1], tf.nn.rnn_cell.LSTMStateTuple), st2
        tiled = tf.contrib.seq2seq.tile_batch(st, multiplier=3)
        assert tiled.c.shape == [6, 4] and sess.run(tiled.h)[1].tolist() == h[0].tolist()
        # the state goes back in: dynamic_rnn from st continues the sequence
        _, st3 = tf.nn.dynamic_rnn(cell, x, initial_state=st)
        assert sess.run(st3.h).tolist() != h.tolist()
        assert [v.name for v in tf.global_variables()] == [
            "rnn/lstm/kernel:0", "rnn/lstm/bias:0",
            "multi/multi_rnn_cell/cell_0/gru_cell/gates/kernel:0", "multi/multi_rnn_cell/cell_0/gru_cell/gates/bias:0",
            "multi/multi_rnn_cell/cell_0/gru_cell/candidate/kernel:0",
            "multi/multi_rnn_cell/cell_0/gru_cell/candidate/bias:0",
            "multi/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
            "multi/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0"], [v.name for v in tf.global_variables()]
        emb = tf.random_uniform([10, 5])
        helper = tf.contrib.seq2seq.GreedyEmbeddingHelper(emb, tf.ones([2], tf.int32), 2)
        dec = tf.contrib.seq2seq.BasicDecoder(cell, helper, st, output_layer=tf.layers.Dense(10, name="proj"))
        outs, final, lengths = tf.contrib.seq2seq.dynamic_decode(dec, maximum_iterations=4, scope="dec")
        assert isinstance(final, tf.nn.rnn_cell.LSTMStateTuple) and outs.rnn_output.shape[2] == 10
        assert outs.sample_id.shape[0] == 2 and max(sess.run(lengths).tolist()) <= 4


@check
def reset_default_graph_refuses_nested():
    with tf.Graph().as_default():
        raises(AssertionError, tf.reset_default_graph, starts="Do not use tf.reset_default_graph()")
    tf.get_variable("g", shape=[1])
    tf.reset_default_graph()
    assert tf.global_variables() == []


for fn in checks:
    fn()
    print("ok", fn.__name__)
print(f"{len(checks)} checks passed")
