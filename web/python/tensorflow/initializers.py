"""tf's initializers for the varscope playground (tf.zeros_initializer(), tf.ones_initializer(),
tf.constant_initializer(v), tf.random_uniform_initializer, tf.random_normal_initializer,
tf.truncated_normal_initializer, tf.glorot_uniform_initializer), each a handle on varscope's Initializer."""
from ._bridge import Tensor, as_tensor, call, own, unsupported, vs


class Initializer:
    """An initializer object: pass it as initializer= to get_variable / variable_scope / layers."""

    def __init__(self, handle):
        self._handle = own(self, handle)

    def __repr__(self):
        return f"<tf initializer {self._handle.description()}>"

    def __call__(self, shape, dtype=None, partition_info=None):
        raise NotImplementedError("calling an initializer directly is not supported by the varscope playground; "
                                  "pass it as initializer= to tf.get_variable")


def _dtype_check(dtype):
    if dtype is not None:
        from . import dtypes
        dtypes.as_dtype(dtype)  # float32/int32 only; others raise


def zeros_initializer(dtype=None):
    _dtype_check(dtype)
    return Initializer(vs.Initializer.zeros())


def ones_initializer(dtype=None):
    _dtype_check(dtype)
    return Initializer(vs.Initializer.ones())


def constant_initializer(value=0, dtype=None, verify_shape=False):
    _dtype_check(dtype)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Initializer(vs.Initializer.constant(float(value)))
    t = as_tensor(value, dtype)
    return Initializer(call(vs.Initializer.value, t._handle))


def random_uniform_initializer(minval=0, maxval=None, seed=None, dtype=None):
    _dtype_check(dtype)
    return Initializer(call(vs.Initializer.randomUniform, float(minval), 1.0 if maxval is None else float(maxval), seed))


def random_normal_initializer(mean=0.0, stddev=1.0, seed=None, dtype=None):
    _dtype_check(dtype)
    return Initializer(call(vs.Initializer.randomNormal, float(mean), float(stddev), seed))


def truncated_normal_initializer(mean=0.0, stddev=1.0, seed=None, dtype=None):
    _dtype_check(dtype)
    return Initializer(call(vs.Initializer.truncatedNormal, float(mean), float(stddev), seed))


def glorot_uniform_initializer(seed=None, dtype=None):
    _dtype_check(dtype)
    return Initializer(call(vs.Initializer.glorotUniform, seed))


def as_initializer(value):
    """An Initializer for an initializer object, a tensor/variable value, or a Python/numpy value."""
    if isinstance(value, Initializer):
        return value
    if isinstance(value, type) and value.__module__ == __name__:
        raise TypeError(f"{value.__name__} must be called: write {value.__name__}()")
    if callable(value) and not isinstance(value, Tensor):
        # tf.zeros_initializer (the class, not an instance) and other callables
        raise unsupported(f"initializer {value!r} (use tf.zeros_initializer() and the other tf initializers)")
    t = as_tensor(value)  # a value: the variable takes its shape and dtype (TF's get_variable(initializer=tensor))
    return Initializer(call(vs.Initializer.fromValue, t._handle))
