"""tf.nn for the varscope playground: dynamic_rnn, bidirectional_dynamic_rnn, embedding_lookup, relu, tanh,
sigmoid, softmax, and rnn_cell (GRUCell, LSTMCell, BasicLSTMCell, MultiRNNCell, LSTMStateTuple,
ResidualWrapper, DropoutWrapper)."""
from .. import _bridge
from .._bridge import Tensor, as_tensor, call, options, unsupported, vs
from .._ops import relu, sigmoid, softmax, tanh
from . import rnn_cell


def _rnn_arguments(who, cells, time_major, scope, has_initial_state, dtype):
    """The checks tf.nn.dynamic_rnn and bidirectional_dynamic_rnn share."""
    for cell in cells:
        if not isinstance(cell, rnn_cell.RNNCell):
            raise TypeError(f"cell must be an instance of RNNCell, saw: {type(cell)}")
    if time_major:
        raise unsupported(f"tf.nn.{who}(time_major=True)")
    if not has_initial_state and dtype is None:
        raise ValueError("If there is no initial_state, you must give a dtype.")
    if scope is not None and not isinstance(scope, str):
        raise unsupported(f"tf.nn.{who}(scope=<VariableScope>) (pass the scope's name)")


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None, parallel_iterations=None,
                swap_memory=False, time_major=False, scope=None):
    """tf.nn.dynamic_rnn (batch-major): (outputs [B, T, units], final_state); variables under `scope`
    (default 'rnn') / the cell's name."""
    from ..contrib._attention_wrapper import with_alignment_history
    _rnn_arguments("dynamic_rnn", (cell,), time_major, scope, initial_state is not None, dtype)
    x = as_tensor(inputs)
    length = None if sequence_length is None else as_tensor(sequence_length, "int32")
    keep = []
    init = None if initial_state is None else _bridge.state_to_js(initial_state, keep)
    r = call(vs.dynamicRnn, cell._handle, x._handle,
             options(sequenceLength=None if length is None else length._handle, initialState=init, scope=scope))
    state = with_alignment_history(cell, _bridge.state_from_js(r.finalState), None, "tf.nn.dynamic_rnn")
    return Tensor(r.outputs), state


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None, initial_state_fw=None,
                              initial_state_bw=None, dtype=None, parallel_iterations=None, swap_memory=False,
                              time_major=False, scope=None):
    """tf.nn.bidirectional_dynamic_rnn (batch-major): ((output_fw, output_bw), (state_fw, state_bw)); the
    variables under <scope or 'bidirectional_rnn'>/fw/... and .../bw/..., output_bw in input time order."""
    has_initial = initial_state_fw is not None and initial_state_bw is not None
    _rnn_arguments("bidirectional_dynamic_rnn", (cell_fw, cell_bw), time_major, scope, has_initial, dtype)
    x = as_tensor(inputs)
    length = None if sequence_length is None else as_tensor(sequence_length, "int32")
    keep = []
    init_fw = None if initial_state_fw is None else _bridge.state_to_js(initial_state_fw, keep)
    init_bw = None if initial_state_bw is None else _bridge.state_to_js(initial_state_bw, keep)
    r = call(vs.bidirectionalDynamicRnn, cell_fw._handle, cell_bw._handle, x._handle,
             options(sequenceLength=None if length is None else length._handle, initialStateFw=init_fw,
                     initialStateBw=init_bw, scope=scope))
    return ((Tensor(r.outputsFw), Tensor(r.outputsBw)),
            (_bridge.state_from_js(r.stateFw), _bridge.state_from_js(r.stateBw)))


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
