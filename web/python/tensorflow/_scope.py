"""Variable scopes for the varscope playground: tf.variable_scope (name or scope object, default_name,
reuse None/True/AUTO_REUSE, initializer, dtype, auxiliary_name_scope), the VariableScope object
(name, original_name_scope, reuse, reuse_variables), tf.name_scope, tf.get_variable_scope,
tf.get_variable, and AUTO_REUSE printed as TF prints it."""
import enum

from . import _bridge
from ._bridge import Tensor, as_tensor, call, caller, options, own, unsupported, vs
from .variables import Variable


class _ReuseMode(enum.Enum):
    """TF's reuse mode enum: str(tf.AUTO_REUSE) is '_ReuseMode.AUTO_REUSE', as the article prints."""
    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


def _reuse_option(reuse):
    # TF: None and False inherit the enclosing scope's reuse; True; AUTO_REUSE.
    if reuse is None or reuse is False:
        return "None"
    if reuse is True:
        return "True"
    if reuse is AUTO_REUSE:
        return "AUTO_REUSE"
    raise ValueError(f"reuse must be True, False, None or tf.AUTO_REUSE, not {reuse!r}")


def _initializer_handle(initializer):
    from .initializers import Initializer, as_initializer
    if initializer is None:
        return None, None
    init = as_initializer(initializer)
    return init, init._handle


class VariableScope:
    """The scope object `with tf.variable_scope(...) as scope` gives (a handle on varscope's scope)."""

    def __init__(self, handle):
        self._handle = own(self, handle)

    @property
    def name(self):
        return self._handle.name()

    @property
    def original_name_scope(self):
        return self._handle.originalNameScope()

    @property
    def reuse(self):
        return {"False": False, "True": True, "AUTO_REUSE": AUTO_REUSE}[self._handle.reuse()]

    def reuse_variables(self):
        call(self._handle.reuseVariables)

    @property
    def initializer(self):
        from .initializers import Initializer
        h = self._handle.initializer()
        return None if _bridge.absent(h) else Initializer(h)

    def set_initializer(self, initializer):
        init, handle = _initializer_handle(initializer)
        call(self._handle.setInitializer, handle)

    @property
    def dtype(self):
        from . import dtypes
        return dtypes.as_dtype(self._handle.dtype())

    def set_dtype(self, dtype):
        call(self._handle.setDtype, _bridge.dtype_name(dtype))

    def global_variables(self):
        from .variables import wrap_list
        return wrap_list(call(self._handle.globalVariables))

    def trainable_variables(self):
        from .variables import wrap_list
        return wrap_list(call(self._handle.trainableVariables))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.VariableScope.{name}")


class variable_scope:
    """tf.variable_scope: a context manager opening a varscope scope; `as scope` gives the VariableScope."""

    def __init__(self, name_or_scope, default_name=None, values=None, initializer=None, regularizer=None,
                 caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                 use_resource=None, constraint=None, auxiliary_name_scope=True):
        for arg, value in (("regularizer", regularizer), ("caching_device", caching_device),
                           ("partitioner", partitioner), ("custom_getter", custom_getter),
                           ("constraint", constraint)):
            if value is not None:
                raise unsupported(f"tf.variable_scope({arg}=...)")
        if name_or_scope is None and default_name is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if not (name_or_scope is None or isinstance(name_or_scope, (str, VariableScope))):
            raise TypeError("VariableScope: name_or_scope must be a string or VariableScope.")
        if not isinstance(auxiliary_name_scope, bool):
            raise TypeError(f"The auxiliary_name_scope must be `True` or `False`, while get {auxiliary_name_scope}")
        self._name_or_scope = name_or_scope
        self._init, init_handle = _initializer_handle(initializer)
        self._options = dict(defaultName=default_name, reuse=_reuse_option(reuse), initializer=init_handle,
                             dtype=None if dtype is None else _bridge.dtype_name(dtype),
                             auxiliaryNameScope=auxiliary_name_scope)
        self._context = None

    def __enter__(self):
        if self._context is not None:
            raise RuntimeError("tf.variable_scope: this context manager is already open (enter it once)")
        target = self._name_or_scope
        if isinstance(target, VariableScope):
            target = target._handle
        self._context = own(self, call(vs.ScopeContext.open, target, options(**self._options)))
        return VariableScope(self._context.scope())

    def __exit__(self, *exc):
        call(self._context.close)
        return False


class name_scope:
    """tf.name_scope(name): opens a name scope (op names only; variable names follow variable scopes)."""

    def __init__(self, name, default_name=None, values=None):
        if name is None and default_name is None:
            raise unsupported("tf.name_scope(None) (resetting to the root name scope)")
        self._name = name if name is not None else default_name
        self._context = None

    def __enter__(self):
        self._context = own(self, call(vs.NameScopeContext.open, self._name))
        return self._context.name()

    def __exit__(self, *exc):
        call(self._context.close)
        return False


def get_variable_scope():
    """tf.get_variable_scope(): the current VariableScope."""
    return VariableScope(call(vs.getVariableScope))


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True,
                 use_resource=None, custom_getter=None, constraint=None, synchronization=None,
                 aggregation=None):
    """tf.get_variable: create or reuse `name` in the current variable scope (its reuse mode decides)."""
    for arg, value in (("regularizer", regularizer), ("collections", collections),
                       ("caching_device", caching_device), ("partitioner", partitioner),
                       ("custom_getter", custom_getter), ("constraint", constraint),
                       ("synchronization", synchronization), ("aggregation", aggregation)):
        if value is not None:
            raise unsupported(f"tf.get_variable({arg}=...)")
    if validate_shape is not True:
        raise unsupported("tf.get_variable(validate_shape=False)")
    keep = None
    init_handle = None
    if initializer is not None:
        from .initializers import Initializer, as_initializer
        keep = as_initializer(initializer)
        init_handle = keep._handle
    if shape is not None:
        shape = [int(d) if d is not None else -1 for d in (shape.as_list() if hasattr(shape, "as_list") else shape)]
    file, line = caller()
    handle = call(vs.getVariable, name,
                  options(shape=None if shape is None else _bridge.js_list(shape),
                          dtype=None if dtype is None else _bridge.dtype_name(dtype),
                          initializer=init_handle, trainable=trainable),
                  file, line)
    return Variable(_handle=handle)
