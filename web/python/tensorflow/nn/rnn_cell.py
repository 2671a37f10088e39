"""tf.nn.rnn_cell for the varscope playground: GRUCell (varscope's GRUCell: variables
<scope>/<name>/gates/{kernel,bias} and candidate/{kernel,bias}, as TF 1.x names them)."""
from .. import _bridge
from .._bridge import Tensor, call, options, own, unsupported, vs
from ..initializers import as_initializer


class RNNCell:
    """Base of the playground's cells (a handle on a varscope cell)."""

    @property
    def state_size(self):
        return self._handle.stateSize()

    @property
    def output_size(self):
        return self._handle.outputSize()

    def zero_state(self, batch_size, dtype=None):
        if _bridge.dtype_name(dtype) != "float32":
            raise unsupported("RNNCell.zero_state(dtype != tf.float32)")
        return Tensor(call(self._handle.zeroState, int(batch_size)))

    def __call__(self, inputs, state, scope=None):
        raise unsupported(f"calling tf.nn.rnn_cell.{type(self).__name__} directly (use tf.nn.dynamic_rnn or a decoder)")

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.nn.rnn_cell.{type(self).__name__}.{name}")


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


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.nn.rnn_cell.{name}")
