"""Tensor ops for the varscope playground (computed eagerly by varscope): constant, zeros, ones,
random_uniform, random_normal, matmul, add, multiply, concat, tanh, sigmoid, argmax, reshape, and the
activation functions tf.layers.dense accepts."""
import numpy as _np

from . import _bridge
from ._bridge import Tensor, as_tensor, call, js_list, unsupported, vs


def _shape(shape):
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    if isinstance(shape, int):
        shape = [shape]
    if isinstance(shape, (Tensor,)):
        shape = shape.numpy_value().tolist()
    return js_list(int(d) for d in shape)


def constant(value, dtype=None, shape=None, name=None, verify_shape=False):
    """tf.constant: a value (number, nested list, numpy-mini array); with shape, a scalar is filled."""
    arr = _np.asarray(value)
    if shape is not None:
        dims = [int(d) for d in (shape.as_list() if hasattr(shape, "as_list") else shape)]
        size = 1
        for d in dims:
            size *= d
        if arr.size == 1:
            arr = _np._from_buffer(arr._data * size, dims, arr.dtype.name)
        elif arr.size == size:
            arr = _np._from_buffer(arr._data, dims, arr.dtype.name)
        else:
            raise TypeError(f"Expected Tensor's shape: {tuple(dims)}, got {arr.shape}.")
    return _bridge.tensor_from_value(arr, dtype)


def zeros(shape, dtype=None, name=None):
    return Tensor(call(vs.zeros, _shape(shape), _bridge.dtype_name(dtype)))


def ones(shape, dtype=None, name=None):
    return Tensor(call(vs.ones, _shape(shape), _bridge.dtype_name(dtype)))


def random_uniform(shape, minval=0, maxval=None, dtype=None, seed=None, name=None):
    if _bridge.dtype_name(dtype) != "float32":
        raise unsupported("tf.random_uniform(dtype=tf.int32)")
    return Tensor(call(vs.randomUniform, _shape(shape), float(minval), 1.0 if maxval is None else float(maxval), seed))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
    if _bridge.dtype_name(dtype) != "float32":
        raise unsupported("tf.random_normal(dtype=tf.int32)")
    return Tensor(call(vs.randomNormal, _shape(shape), float(mean), float(stddev), seed))


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, a_is_sparse=False,
           b_is_sparse=False, name=None):
    if adjoint_a or adjoint_b or a_is_sparse or b_is_sparse:
        raise unsupported("tf.matmul(adjoint_*/ *_is_sparse=True)")
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(call(vs.matmul, a._handle, b._handle, bool(transpose_a), bool(transpose_b)))


def add(x, y, name=None):
    x = as_tensor(x)
    y = as_tensor(y, x._handle.dtype())
    return Tensor(call(vs.add, x._handle, y._handle))


def multiply(x, y, name=None):
    x = as_tensor(x)
    y = as_tensor(y, x._handle.dtype())
    return Tensor(call(vs.multiply, x._handle, y._handle))


def concat(values, axis, name="concat"):
    """tf.concat(values, axis): the tensors joined along axis (negative counts from the end)."""
    parts = [as_tensor(v) for v in values]
    if not parts:
        raise ValueError("List argument 'values' to 'ConcatV2' Op with length 0 shorter than minimum length 1.")
    if axis < 0:
        axis += len(parts[0].shape.as_list())
    return Tensor(call(vs.concat, js_list(p._handle for p in parts), int(axis)))


def _unary(fn):
    def op(x, name=None):
        x = as_tensor(x)
        return Tensor(call(fn, x._handle))
    return op


tanh = _unary(vs.tanh)
sigmoid = _unary(vs.sigmoid)
relu = _unary(vs.relu)
tanh.__name__, sigmoid.__name__, relu.__name__ = "tanh", "sigmoid", "relu"


def softmax(logits, axis=None, name=None, dim=None):
    if axis not in (None, -1) or dim not in (None, -1):
        raise unsupported("tf.nn.softmax(axis != -1)")
    logits = as_tensor(logits)
    return Tensor(call(vs.softmax, logits._handle))


def argmax(input, axis=None, name=None, dimension=None, output_type=None):
    if axis is None:
        axis = 0 if dimension is None else dimension
    x = as_tensor(input)
    return Tensor(call(vs.argmax, x._handle, int(axis)))


def reshape(tensor, shape, name=None):
    x = as_tensor(tensor)
    return Tensor(call(vs.reshape, x._handle, _shape(shape)))


def activation_name(activation):
    """The varscope name of a tf activation function (None -> linear)."""
    if activation is None:
        return "linear"
    for fn, name in ((relu, "relu"), (tanh, "tanh"), (sigmoid, "sigmoid")):
        if activation is fn:
            return name
    raise unsupported(f"activation {getattr(activation, '__name__', activation)!r} (supported: None, tf.nn.relu, "
                      "tf.tanh, tf.sigmoid)")
