"""tf.layers for the varscope playground: dense and Dense (varscope's Dense: variables
<scope>/<name>/kernel and bias, made by get_variable under the layer's own variable scope)."""
from .. import _bridge
from .._bridge import Tensor, as_tensor, call, options, own, unsupported, vs
from .._ops import activation_name
from ..initializers import as_initializer
from ..variables import Variable


def _dense_options(activation, use_bias, kernel_initializer, bias_initializer, name, trainable, keep, **rest):
    for arg, value in rest.items():
        if value is not None:
            raise unsupported(f"tf.layers.Dense({arg}=...)")
    inits = {}
    for key, init in (("kernelInitializer", kernel_initializer), ("biasInitializer", bias_initializer)):
        if init is not None:
            obj = as_initializer(init)
            keep.append(obj)
            inits[key] = obj._handle
    return options(activation=activation_name(activation), useBias=bool(use_bias), name=name,
                   trainable=bool(trainable), **inits)


class Dense:
    """tf.layers.Dense(units, ...): builds its kernel (and bias) on the first call, inside the
    variable scope current at that call (so a decoder's output layer lands in decoder/...)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer=None,
                 bias_initializer=None, kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True,
                 name=None, **kwargs):
        dtype = kwargs.pop("dtype", None)
        if dtype is not None and _bridge.dtype_name(dtype) != "float32":
            raise unsupported("tf.layers.Dense(dtype != tf.float32)")
        if kwargs:
            raise unsupported(f"tf.layers.Dense({next(iter(kwargs))}=...)")
        keep = []
        self._handle = own(self, call(vs.Dense.create, int(units), _dense_options(
            activation, use_bias, kernel_initializer, bias_initializer, name, trainable, keep,
            kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint)))
        self._keep = keep
        self.units = int(units)
        self.name = name

    def __call__(self, inputs):
        x = as_tensor(inputs)
        return Tensor(call(self._handle.apply, x._handle))

    apply = __call__

    @property
    def kernel(self):
        return Variable(_handle=call(self._handle.kernel))

    @property
    def bias(self):
        h = call(self._handle.bias)
        return None if _bridge.absent(h) else Variable(_handle=h)

    @property
    def built(self):
        return self._handle.built()

    @property
    def variables(self):
        return [v for v in (self.kernel, self.bias) if v is not None]

    trainable_variables = trainable_weights = weights = variables

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.layers.Dense.{name}")


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None, bias_initializer=None,
          kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
          bias_constraint=None, trainable=True, name=None, reuse=None):
    """tf.layers.dense: Dense(units, ...)(inputs)."""
    if reuse is not None:
        raise unsupported("tf.layers.dense(reuse=...) (open the variable scope with reuse instead)")
    return Dense(units, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                 bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, trainable, name)(inputs)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.layers.{name}")
