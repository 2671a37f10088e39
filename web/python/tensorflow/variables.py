"""tf.Variable for the varscope playground: the wrapper over varscope's Variable handle (name, shape,
dtype, value, the Python line that created it) and the tf.Variable constructor."""
from . import _bridge
from ._bridge import Tensor, as_tensor, call, caller, own, unsupported, vs


class Variable:
    """A variable in a varscope graph. tf.Variable(initial_value, name=...) creates one (a unique name,
    `_1` suffixes as TF); tf.get_variable returns them too."""

    def __init__(self, initial_value=None, trainable=True, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None,
                 aggregation=None, _handle=None):
        if _handle is not None:
            self._handle = own(self, _handle)
            return
        for arg, value in (("collections", collections), ("caching_device", caching_device),
                           ("variable_def", variable_def), ("expected_shape", expected_shape),
                           ("import_scope", import_scope), ("constraint", constraint),
                           ("synchronization", synchronization), ("aggregation", aggregation)):
            if value is not None:
                raise unsupported(f"tf.Variable({arg}=...)")
        if validate_shape is not True:
            raise unsupported("tf.Variable(validate_shape=False)")
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        if callable(initial_value) and not isinstance(initial_value, (Tensor, Variable)):
            initial_value = initial_value()
        value = as_tensor(initial_value, dtype)
        if dtype is not None and _bridge.dtype_name(dtype) != value._handle.dtype():
            raise unsupported(f"tf.Variable(dtype={dtype}) converting a {value._handle.dtype()} initial value")
        file, line = caller()
        self._handle = own(self, call(vs.createVariable, value._handle, "Variable" if name is None else name,
                                      bool(trainable), file, line))

    @property
    def name(self):
        return self._handle.name()

    @property
    def op(self):
        return _Op(self._handle.opName())

    @property
    def shape(self):
        from .dtypes import TensorShape
        return TensorShape(list(self._handle.shape()))

    def get_shape(self):
        return self.shape

    @property
    def dtype(self):
        from . import dtypes
        return dtypes.as_dtype(self._handle.dtype())

    @property
    def trainable(self):
        return self._handle.trainable()

    @property
    def origin(self):
        """Where varscope recorded the variable's creation: {scope, creator, callSite} (the Python line)."""
        o = self._handle.origin()
        return {"scope": o.scope, "creator": o.creator, "call_site": o.callSite}

    def value(self):
        return Tensor(self._handle.value())

    read_value = value

    def load(self, value, session=None):
        """tf.Variable.load(value, session): the variable holds `value` from now on (same shape and dtype).
        An attention mechanism whose memory_layer/kernel this is recomputes its keys, as TF's graph would."""
        from .contrib._attention_wrapper import variable_loaded
        v = as_tensor(value, self._handle.dtype())
        call(self._handle.assign, v._handle)
        variable_loaded(self)

    def _value_handle(self):
        return self._handle.value()

    def __eq__(self, other):
        return isinstance(other, Variable) and self._handle.isSame(other._handle)

    def __hash__(self):
        return hash(self.name)

    def __mul__(self, other):
        return self.value() * other

    __rmul__ = __mul__

    def __add__(self, other):
        return self.value() + other

    __radd__ = __add__

    def __matmul__(self, other):
        return self.value() @ other

    def __repr__(self):
        return f"<tf.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}_ref>"

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.Variable.{name}")


class _Op:
    def __init__(self, name):
        self.name = name


def wrap_list(js_array):
    return [Variable(_handle=h) for h in js_array]
