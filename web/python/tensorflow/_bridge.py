"""The tensorflow shim's bridge to varscope's wasm build: the JS module `_varscope` (wasm/tf_api.cpp,
registered by tools/tf1-python.mjs or the page's worker), calls with TF's Python exceptions, JS option
objects, the Python caller's frame, Tensor <-> numpy-mini conversion, and the Tensor wrapper."""
import os
import sys
import weakref

try:
    import _varscope as vs
except ImportError:
    raise ImportError(os.environ.get(
        "VARSCOPE_WASM_MISSING",
        "the JS module _varscope (varscope's wasm build) is not registered: run this file with "
        "`node tools/tf1-python.mjs FILE.py`")) from None

import js
from pyodide.ffi import JsException, to_js

try:  # Pyodide >= 0.26 gives JS null as pyodide.ffi.jsnull, not None
    from pyodide.ffi import jsnull as _jsnull
except ImportError:
    _jsnull = None

import numpy as _np

_SHIM_DIR = os.path.dirname(os.path.abspath(__file__))

# varscope's typed errors -> the Python exception TF raises for the same mistake.
_PYTHON_ERROR = {
    "AlreadyExistsError": ValueError,   # get_variable: "Variable x already exists, disallowed."
    "NotFoundError": ValueError,        # get_variable: "Variable x does not exist, or was not created ..."
    "ShapeMismatchError": ValueError,   # "Trying to share variable x, but specified shape ..."
    "DTypeMismatchError": ValueError,   # "Trying to share variable x, but specified dtype ..."
    "InvalidArgumentError": ValueError,
    "FrozenStoreError": ValueError,
    "VariableInUseError": RuntimeError,
}


def absent(value):
    """True for a JS null/undefined (or None) returned by _varscope."""
    return value is None or value is _jsnull


def unsupported(name):
    """The error for a TF API the shim does not cover: never a silent wrong answer."""
    return NotImplementedError(f"{name} is not supported by the varscope playground")


def python_error(exc):
    """The Python exception for a JS Error thrown by _varscope (kind and message kept)."""
    err = getattr(exc, "js_error", exc)
    kind = getattr(err, "kind", None)
    message = str(getattr(err, "message", exc))
    cls = _PYTHON_ERROR.get(kind, RuntimeError)
    out = cls(message)
    out.kind = kind or "JsError"
    return out


# The playground driver's observer (web/python/_playground.py) or None: before() is called ahead of every
# call() and after(token) once it returns or raises, so the driver can tell which Python line made each
# get_variable happen (including those the layers, cells and decoders make inside varscope).
_call_observer = None


def call(fn, *args):
    """fn(*args) on the JS side, its JS Error raised as TF's Python exception."""
    observer = _call_observer
    token = observer.before() if observer is not None else None
    try:
        return fn(*args)
    except JsException as e:
        raise python_error(e) from None
    finally:
        if observer is not None:
            observer.after(token)


def options(**kw):
    """A JS object of the given options; None values are left out (varscope then uses TF's default)."""
    return to_js({k: v for k, v in kw.items() if v is not None}, dict_converter=js.Object.fromEntries)


def js_list(values):
    return to_js(list(values))


def caller():
    """(file, line) of the first frame outside the shim: the Python line that made the call."""
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_SHIM_DIR):
        f = f.f_back
    if f is None:
        return "<unknown>", 0
    return f.f_code.co_filename, f.f_lineno


def own(obj, handle):
    """Deletes the embind handle when its Python owner is collected (the wasm heap must not grow)."""
    weakref.finalize(obj, handle.delete)
    return handle


def dtype_name(dtype, default="float32"):
    from . import dtypes
    if dtype is None:
        return default
    return dtypes.as_dtype(dtype).name


class Tensor:
    """A value computed eagerly by varscope (what a TF 1.x graph tensor would evaluate to)."""

    def __init__(self, handle):
        self._handle = own(self, handle)

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

    def numpy_value(self):
        flat = self._handle.data().to_py().tolist()
        return _np._from_buffer(flat, tuple(self._handle.shape()), self._handle.dtype())

    def __mul__(self, other):
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return Tensor(call(vs.scale, self._handle, other))
        other = as_tensor(other, self._handle.dtype())
        return Tensor(call(vs.multiply, self._handle, other._handle))

    __rmul__ = __mul__

    def __add__(self, other):
        other = as_tensor(other, self._handle.dtype())
        return Tensor(call(vs.add, self._handle, other._handle))

    __radd__ = __add__

    def __matmul__(self, other):
        other = as_tensor(other)
        return Tensor(call(vs.matmul, self._handle, other._handle, False, False))

    def __repr__(self):
        return f"<tf.Tensor shape={self.shape} dtype={self.dtype.name}>"

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.Tensor.{name}")


def tensor_from_value(value, dtype=None):
    """A Tensor from a Python number, nested list or numpy-mini array (float -> float32, int -> int32)."""
    arr = _np.asarray(value)
    name = dtype_name(dtype, None)
    if name is None:
        name = {"float64": "float32", "float32": "float32", "int64": "int32", "int32": "int32"}.get(arr.dtype.name)
        if name is None:
            raise unsupported(f"a tensor of dtype {arr.dtype.name}")
    return Tensor(call(vs.Tensor.fromArray, js_list(float(v) for v in arr._data), js_list(arr.shape), name))


def as_tensor(value, dtype=None):
    """A Tensor for a Tensor, a Variable (its current value) or a Python/numpy value.

    Hold the result in a variable while its _handle is used: the handle is deleted with it."""
    from .variables import Variable
    if isinstance(value, Tensor):
        return value
    if isinstance(value, Variable):
        return value.value()
    return tensor_from_value(value, dtype)


def _state_kinds():
    """The namedtuple state kinds that cross to _varscope by name (class -> kind), besides plain tuples."""
    from .nn.rnn_cell import LSTMStateTuple
    from .contrib._attention_wrapper import AttentionWrapperState
    return {LSTMStateTuple: "LSTMStateTuple", AttentionWrapperState: "AttentionWrapperState"}


def state_to_js(state, keep):
    """An RNN state (a tensor, an LSTMStateTuple, an AttentionWrapperState, a tuple of states) as _varscope
    takes it; the temporary Tensors made on the way are appended to `keep` (hold it while the JS value is
    used)."""
    kind = _state_kinds().get(type(state))
    if kind == "AttentionWrapperState":
        state = state._for_js()
    if kind is not None:
        return options(kind=kind, items=js_list(state_to_js(x, keep) for x in state))
    if isinstance(state, (tuple, list)):
        return options(kind="tuple", items=js_list(state_to_js(x, keep) for x in state))
    t = as_tensor(state)
    keep.append(t)
    return t._handle


def state_from_js(value):
    """The inverse of state_to_js: Tensors, LSTMStateTuples, AttentionWrapperStates and tuples."""
    kind = getattr(value, "kind", None)
    if kind is None or absent(kind):
        return Tensor(value)
    items = [state_from_js(x) for x in value.items]
    for cls, name in _state_kinds().items():
        if kind == name:
            return cls(*items)
    return tuple(items)
