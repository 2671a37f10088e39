"""tf.contrib for the varscope playground: rnn (cell aliases) and seq2seq."""
from .._bridge import unsupported
from . import rnn, seq2seq


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.contrib.{name}")
