"""tf.nn.rnn_cell for the varscope playground: GRUCell (variables <scope>/<name>/gates/{kernel,bias} and
candidate/{kernel,bias}, as TF 1.x names them), LSTMCell, BasicLSTMCell (<scope>/<name>/kernel, bias),
MultiRNNCell (<scope>/multi_rnn_cell/cell_<i>/...), LSTMStateTuple, and ResidualWrapper / DropoutWrapper
(no scope level of their own: the wrapped cell's names), over varscope's cells."""
import collections

from .. import _bridge
from .._bridge import Tensor, as_tensor, call, options, own, unsupported, vs
from ..initializers import as_initializer


class RNNCell:
    """Base of the playground's cells (a handle on a varscope cell)."""

    _tf_module = "tf.nn.rnn_cell"  # where TF has the class (for NotImplementedError's text)

    @property
    def state_size(self):
        return self._handle.stateSize()

    @property
    def output_size(self):
        return self._handle.outputSize()

    def zero_state(self, batch_size, dtype=None):
        if _bridge.dtype_name(dtype) != "float32":
            raise unsupported("RNNCell.zero_state(dtype != tf.float32)")
        return _bridge.state_from_js(call(self._handle.zeroState, int(batch_size)))

    def __call__(self, inputs, state, scope=None):
        raise unsupported(f"calling {self._tf_module}.{type(self).__name__} directly (use tf.nn.dynamic_rnn or a decoder)")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"{self._tf_module}.{type(self).__name__}.{name}")


class GRUCell(RNNCell):
    """tf.nn.rnn_cell.GRUCell(num_units, name=..., kernel_initializer=..., bias_initializer=...)."""

    def __init__(self, num_units, activation=None, reuse=None, kernel_initializer=None, bias_initializer=None,
                 name=None, dtype=None, **kwargs):
        if activation is not None:
            raise unsupported("tf.nn.rnn_cell.GRUCell(activation=...) (tanh only)")
        if reuse is not None:
            raise unsupported("tf.nn.rnn_cell.GRUCell(reuse=...) (open the variable scope with reuse instead)")
        if kwargs:
            raise unsupported(f"tf.nn.rnn_cell.GRUCell({next(iter(kwargs))}=...)")
        if dtype is not None and _bridge.dtype_name(dtype) != "float32":
            raise unsupported("tf.nn.rnn_cell.GRUCell(dtype != tf.float32)")
        self._keep = []
        inits = {}
        for key, init in (("kernelInitializer", kernel_initializer), ("biasInitializer", bias_initializer)):
            if init is not None:
                obj = as_initializer(init)
                self._keep.append(obj)
                inits[key] = obj._handle
        self._handle = own(self, call(vs.RNNCell.gru, int(num_units), options(name=name, **inits)))
        self._num_units = int(num_units)


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """tf.nn.rnn_cell.LSTMStateTuple(c, h): an LSTM cell's state (c first)."""
    __slots__ = ()

    @property
    def dtype(self):
        return self.c.dtype


def _positive_int(value, what):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{what} must be a positive integer, not {value!r}")
    return int(value)


class LSTMCell(RNNCell):
    """tf.nn.rnn_cell.LSTMCell(num_units, use_peepholes, cell_clip, initializer, num_proj, proj_clip,
    forget_bias, state_is_tuple, name)."""

    def __init__(self, num_units, use_peepholes=False, cell_clip=None, initializer=None, num_proj=None,
                 proj_clip=None, num_unit_shards=None, num_proj_shards=None, forget_bias=1.0,
                 state_is_tuple=True, activation=None, reuse=None, name=None, dtype=None, **kwargs):
        for arg, value in (("num_unit_shards", num_unit_shards), ("num_proj_shards", num_proj_shards),
                           ("activation", activation), ("reuse", reuse)):
            if value is not None:
                raise unsupported(f"tf.nn.rnn_cell.LSTMCell({arg}=...)")
        if kwargs:
            raise unsupported(f"tf.nn.rnn_cell.LSTMCell({next(iter(kwargs))}=...)")
        if dtype is not None and _bridge.dtype_name(dtype) != "float32":
            raise unsupported("tf.nn.rnn_cell.LSTMCell(dtype != tf.float32)")
        self._keep = []
        init = None
        if initializer is not None:
            obj = as_initializer(initializer)
            self._keep.append(obj)
            init = obj._handle
        self._handle = own(self, call(vs.RNNCell.lstm, _positive_int(num_units, "num_units"), options(
            name=name, forgetBias=float(forget_bias), stateIsTuple=bool(state_is_tuple),
            usePeepholes=bool(use_peepholes), cellClip=None if cell_clip is None else float(cell_clip),
            numProj=None if num_proj is None else _positive_int(num_proj, "num_proj"),
            projClip=None if proj_clip is None else float(proj_clip), initializer=init)))


class BasicLSTMCell(RNNCell):
    """tf.nn.rnn_cell.BasicLSTMCell(num_units, forget_bias=1.0, state_is_tuple=True, name=None)."""

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None, reuse=None, name=None,
                 dtype=None, **kwargs):
        if activation is not None or reuse is not None:
            raise unsupported("tf.nn.rnn_cell.BasicLSTMCell(activation/reuse=...)")
        if kwargs:
            raise unsupported(f"tf.nn.rnn_cell.BasicLSTMCell({next(iter(kwargs))}=...)")
        if dtype is not None and _bridge.dtype_name(dtype) != "float32":
            raise unsupported("tf.nn.rnn_cell.BasicLSTMCell(dtype != tf.float32)")
        self._handle = own(self, call(vs.RNNCell.basicLstm, _positive_int(num_units, "num_units"), options(
            name=name, forgetBias=float(forget_bias), stateIsTuple=bool(state_is_tuple))))


class MultiRNNCell(RNNCell):
    """tf.nn.rnn_cell.MultiRNNCell(cells, state_is_tuple=True): the layers stacked; the state is a tuple
    of the layers' states."""

    def __init__(self, cells, state_is_tuple=True):
        cells = list(cells)
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        for c in cells:
            if not isinstance(c, RNNCell):
                raise TypeError(f"cells must be RNNCells, saw: {type(c)}")
        self._cells = cells
        self._handle = own(self, call(vs.RNNCell.multi, _bridge.js_list(c._handle for c in cells),
                                      options(stateIsTuple=bool(state_is_tuple))))


def _wrapped(cell, who):
    if not isinstance(cell, RNNCell):
        raise TypeError(f"The parameter cell is not a RNNCell: {type(cell).__name__} ({who})")
    return cell


class ResidualWrapper(RNNCell):
    """tf.nn.rnn_cell.ResidualWrapper(cell): output = inputs + cell output (same depth), the state unchanged."""

    def __init__(self, cell, residual_fn=None):
        if residual_fn is not None:
            raise unsupported("tf.nn.rnn_cell.ResidualWrapper(residual_fn=...)")
        self._cell = _wrapped(cell, "ResidualWrapper")
        self._handle = own(self, call(vs.RNNCell.residual, cell._handle))


def _keep_prob(value):
    """A keep probability as a float (a Python number or a scalar tensor's value)."""
    if isinstance(value, Tensor):
        value = as_tensor(value).numpy_value().tolist()
    return float(value)


class DropoutWrapper(RNNCell):
    """tf.nn.rnn_cell.DropoutWrapper(cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
    variational_recurrent=False, input_size=None, dtype=None, seed=None): dropout on the inputs, the new
    state (never an LSTMStateTuple's c) and the output, seeded by the graph seed and `seed`."""

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None,
                 dropout_state_filter_visitor=None):
        if dropout_state_filter_visitor is not None:
            raise unsupported("tf.nn.rnn_cell.DropoutWrapper(dropout_state_filter_visitor=...)")
        self._cell = _wrapped(cell, "DropoutWrapper")
        probs = [_keep_prob(p) for p in (input_keep_prob, output_keep_prob, state_keep_prob)]
        if variational_recurrent:  # TF's checks (varscope itself knows the sizes at build)
            if dtype is None:
                raise ValueError("When variational_recurrent=True, dtype must be provided")
            if probs[0] < 1.0 and input_size is None:
                raise ValueError("When variational_recurrent=True and input_keep_prob < 1.0 or is unknown, "
                                 "input_size must be provided")
        self._handle = own(self, call(vs.RNNCell.dropout, cell._handle, options(
            inputKeepProb=probs[0], outputKeepProb=probs[1], stateKeepProb=probs[2],
            variationalRecurrent=bool(variational_recurrent), seed=None if seed is None else int(seed))))


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.nn.rnn_cell.{name}")
