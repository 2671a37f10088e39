"""tf.compat for the varscope playground: tf.compat.v1 is the shim itself."""
import sys

from .._bridge import unsupported

v1 = sys.modules[__name__.rsplit(".", 1)[0]]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.compat.{name}")
