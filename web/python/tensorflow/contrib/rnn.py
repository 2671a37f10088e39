"""tf.contrib.rnn for the varscope playground: the cells of tf.nn.rnn_cell under their contrib names."""
from .._bridge import unsupported
from ..nn.rnn_cell import (BasicLSTMCell, DropoutWrapper, GRUCell, LSTMCell, LSTMStateTuple, MultiRNNCell, RNNCell,
                           ResidualWrapper)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.contrib.rnn.{name}")
