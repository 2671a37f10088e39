"""tf.contrib.rnn for the varscope playground: the cells of tf.nn.rnn_cell under their contrib names."""
from .._bridge import unsupported
from ..nn.rnn_cell import BasicLSTMCell, GRUCell, LSTMCell, LSTMStateTuple, MultiRNNCell, RNNCell


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.contrib.rnn.{name}")
