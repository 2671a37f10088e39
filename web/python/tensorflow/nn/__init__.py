"""tf.nn for the varscope playground: dynamic_rnn, embedding_lookup, relu, tanh, sigmoid, softmax,
and rnn_cell (GRUCell, LSTMCell, BasicLSTMCell, MultiRNNCell, LSTMStateTuple)."""
from .. import _bridge
from .._bridge import Tensor, as_tensor, call, options, unsupported, vs
from .._ops import relu, sigmoid, softmax, tanh
from . import rnn_cell


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None, parallel_iterations=None,
                swap_memory=False, time_major=False, scope=None):
    """tf.nn.dynamic_rnn (batch-major): (outputs [B, T, units], final_state); variables under `scope`
    (default 'rnn') / the cell's name."""
    if not isinstance(cell, rnn_cell.RNNCell):
        raise TypeError(f"cell must be an instance of RNNCell, saw: {type(cell)}")
    if time_major:
        raise unsupported("tf.nn.dynamic_rnn(time_major=True)")
    if initial_state is None and dtype is None:
        raise ValueError("If there is no initial_state, you must give a dtype.")
    if scope is not None and not isinstance(scope, str):
        raise unsupported("tf.nn.dynamic_rnn(scope=<VariableScope>) (pass the scope's name)")
    x = as_tensor(inputs)
    length = None if sequence_length is None else as_tensor(sequence_length, "int32")
    keep = []
    init = None if initial_state is None else _bridge.state_to_js(initial_state, keep)
    r = call(vs.dynamicRnn, cell._handle, x._handle,
             options(sequenceLength=None if length is None else length._handle, initialState=init, scope=scope))
    return Tensor(r.outputs), _bridge.state_from_js(r.finalState)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True, max_norm=None):
    """tf.nn.embedding_lookup(params, ids): rows of params (a variable or tensor) at int32 ids."""
    if isinstance(params, (list, tuple)):
        raise unsupported("tf.nn.embedding_lookup over a list of sharded params")
    if max_norm is not None:
        raise unsupported("tf.nn.embedding_lookup(max_norm=...)")
    p = as_tensor(params)
    i = as_tensor(ids, "int32")
    return Tensor(call(vs.embeddingLookup, p._handle, i._handle))


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.nn.{name}")
