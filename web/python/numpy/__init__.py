"""numpy-mini: the playground's pure-Python stand-in for numpy (issue 24).

Pyodide's real numpy is a separate wheel that a page would fetch from a CDN; the playground runs
offline, so `import numpy as np` there is this module. It covers what TF 1.x code does with the
values `sess.run` returns, and prints them exactly as numpy 1.x does (tests/playground/ runs the
same scripts under real numpy and under this, and compares the output byte for byte):

  ndarray      C-order, a flat Python list plus a shape; dtypes float32, float64, int32, int64, bool
               .shape .ndim .size .dtype .tolist() .reshape() .astype() .item() len() iteration
               indexing with ints (negative too), slices (with steps) and `...`, e.g. a[:, :, 0]
               str()/repr()/print(): numpy 1.x's formatting (precision 8, maxprec floats,
               scientific notation when numpy would use it, 75-column wrapping, '...' summaries
               past 1000 elements)
  functions    array asarray zeros ones argmax (axis=None or an axis) random.rand
  scalar types float32 float64 int32 int64 bool_ (indexing to one element gives these, so a
               float32 prints as numpy prints it: 0.1, not 0.10000000149011612); their arithmetic
               gives numpy 1.x's result types (float32 / float32 is float32, float32 * 2 float64)

Anything else (arithmetic on arrays, fancy or boolean indexing, item assignment, other
functions) raises NotImplementedError naming it, never a silent wrong answer.
"""

import math as _math
import operator as _operator
import random as _random
import struct as _struct
from decimal import Decimal as _Decimal

__version__ = "1.24.2-varscope-mini"


def _unsupported(what):
    return NotImplementedError(f"{what} is not supported by varscope's numpy-mini (web/python/numpy)")


# ---------------------------------------------------------------------------------------- scalars

def _to_f32(x):
    return _struct.unpack("f", _struct.pack("f", x))[0]


class _Scalar:
    """What numpy's scalars share with 0-d arrays: .item(), .tolist(), .shape, .ndim, .size, .dtype."""

    __slots__ = ()

    def item(self):
        return self._python(self)

    tolist = item

    @property
    def shape(self):
        return ()

    ndim = 0
    size = 1

    @property
    def dtype(self):
        return dtype(type(self))


class float32(_Scalar, float):
    """numpy.float32: a float rounded to single precision, printed with float32's shortest digits."""

    _python = float

    def __new__(cls, x=0.0):
        return super().__new__(cls, _to_f32(float(x)))

    def __repr__(self):
        return _scalar_float_str(float(self), "float32")

    __str__ = __repr__


class float64(_Scalar, float):
    _python = float

    def __new__(cls, x=0.0):
        return super().__new__(cls, float(x))


class int32(_Scalar, int):
    _python = int

    def __new__(cls, x=0):
        v = int(x)
        v = (v + 2**31) % 2**32 - 2**31
        return super().__new__(cls, v)


class int64(_Scalar, int):
    _python = int

    def __new__(cls, x=0):
        v = int(x)
        v = (v + 2**63) % 2**64 - 2**63
        return super().__new__(cls, v)


def _scalar_result(a, b, op):
    """The type numpy 1.x gives `a op b` for a numpy scalar a and another operand b (None: not ours)."""
    ta = type(a)
    if isinstance(b, _Scalar):
        tb = type(b)
        if ta is tb:
            return float64 if op == "truediv" and ta in (int32, int64) else ta
        names = {_dtype_name(ta), _dtype_name(tb)}
        return int64 if names == {"int32", "int64"} else float64
    if isinstance(b, int):  # a Python int (or bool): 64-bit result
        if ta in (int32, int64):
            return float64 if op == "truediv" else int64
        return float64
    if isinstance(b, float):
        return float64
    return None


def _scalar_binary(op, reflected):
    def method(self, other):
        kind = _scalar_result(self, other, op)
        if kind is None:
            return NotImplemented
        a, b = self._python(self), other._python(other) if isinstance(other, _Scalar) else other
        if reflected:
            a, b = b, a
        return kind(getattr(_operator, op)(a, b))
    return method


def _scalar_unary(op):
    def method(self):
        return type(self)(getattr(_operator, op)(self._python(self)))
    return method


for _cls in (float32, float64, int32, int64):
    for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow"):
        setattr(_cls, f"__{_op}__", _scalar_binary(_op, False))
        setattr(_cls, f"__r{_op}__", _scalar_binary(_op, True))
    for _op in ("neg", "pos", "abs"):
        setattr(_cls, f"__{_op}__", _scalar_unary(_op))

bool_ = bool
float_ = float64
int_ = int64

_SCALAR = {"float32": float32, "float64": float64, "int32": int32, "int64": int64, "bool": bool}


class dtype:
    """numpy.dtype for the five types numpy-mini holds; equal to its name and to its scalar type."""

    def __init__(self, spec):
        self.name = _dtype_name(spec)

    def __eq__(self, other):
        try:
            return self.name == _dtype_name(other)
        except (NotImplementedError, TypeError):
            return False

    def __hash__(self):
        return hash(self.name)

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"dtype('{self.name}')"

    @property
    def type(self):
        return _SCALAR[self.name]


def _dtype_name(spec):
    if isinstance(spec, dtype):
        return spec.name
    names = {float32: "float32", float64: "float64", float: "float64", int32: "int32", int64: "int64",
             int: "int64", bool: "bool"}
    if isinstance(spec, type) and spec in names:
        return names[spec]
    if isinstance(spec, str) and spec in ("float32", "float64", "int32", "int64", "bool"):
        return spec
    if isinstance(spec, str) and spec in ("float", "int"):
        return {"float": "float64", "int": "int64"}[spec]
    raise _unsupported(f"dtype {spec!r}")


def _convert(value, name):
    if name == "float32":
        return _to_f32(float(value))
    if name == "float64":
        return float(value)
    if name in ("int32", "int64"):
        if isinstance(value, float) and not _math.isfinite(value):
            raise _unsupported(f"converting {value} to {name}")
        return int(_SCALAR[name](int(value)))
    return bool(value)


# ------------------------------------------------------------------------------------- formatting

def _shortest(x, name):
    """The shortest decimal (a Decimal) that reads back as x in dtype `name` (float32 or float64)."""
    if x == 0:
        return _Decimal("-0") if _math.copysign(1.0, x) < 0 else _Decimal(0)
    if name == "float64":
        return _Decimal(repr(x))
    for digits in range(9):
        s = "%.*e" % (digits, x)
        if _to_f32(float(s)) == x:
            return _Decimal(s)
    return _Decimal("%.8e" % x)


def _scalar_float_str(x, name):
    if not _math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    return repr(float(_shortest(x, name)))


def _positional(x, name):
    """dragon4_positional(x, precision=8, unique=True, fractional=True, trim='.'): 'int.frac'."""
    d = _shortest(x, name)
    if d.as_tuple().exponent < -8:
        d = _Decimal("%.8f" % x)
    s = format(d, "f")
    if "." not in s:
        s += "."
    whole, frac = s.split(".")
    return whole, frac.rstrip("0")


def _scientific(x, name):
    """dragon4_scientific(x, precision=8, unique=True, trim='.'): (mantissa digits, exponent)."""
    d = _shortest(x, name)
    if x != 0 and len(d.normalize().as_tuple().digits) > 9:
        d = _Decimal("%.8e" % x)
    if x == 0:
        return ("-" if d.is_signed() else "") + "0", "", 0
    t = d.normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    return ("-" if t.sign else "") + digits[0], digits[1:], d.adjusted()


class _FloatFormat:
    """numpy's FloatingFormat with the default options (precision 8, floatmode 'maxprec')."""

    def __init__(self, values, name):
        self.name = name
        finite = [v for v in values if _math.isfinite(v)]
        nonzero = [abs(v) for v in finite if v != 0]
        self.exp = False
        if nonzero:
            hi, lo = max(nonzero), min(nonzero)
            self.exp = hi >= 1e8 or lo < 0.0001 or hi / lo > 1000.0
        if not finite:
            self.pad_left = self.pad_right = 0
        elif self.exp:
            parts = [_scientific(v, name) for v in finite]
            self.precision = max(len(p[1]) for p in parts)
            self.exp_size = max(len(str(abs(p[2]))) for p in parts)
            self.exp_size = max(self.exp_size, 2)
            self.pad_left = max(len(p[0]) for p in parts)
            self.pad_right = self.exp_size + 2 + self.precision
        else:
            parts = [_positional(v, name) for v in finite]
            self.pad_left = max(len(p[0]) for p in parts)
            self.pad_right = max(len(p[1]) for p in parts)
        if len(finite) != len(values):
            neginf = any(v == -_math.inf for v in values)
            offset = self.pad_right + 1
            self.pad_left = max(self.pad_left, 3 - offset, 3 + neginf - offset)

    def __call__(self, x):
        if not _math.isfinite(x):
            ret = "nan" if x != x else ("-inf" if x < 0 else "inf")
            return " " * (self.pad_left + self.pad_right + 1 - len(ret)) + ret
        if self.exp:
            # numpy's dragon4 with min_digits=precision carries on with the exact value's digits
            # past the shortest ones (it does not pad zeros): the exact value rounded to precision.
            mantissa, e = ("%.*e" % (self.precision, x)).split("e")
            whole, _, frac = mantissa.partition(".")
            e = int(e)
            sign = "-" if e < 0 else "+"
            return f"{whole.rjust(self.pad_left)}.{frac}e{sign}{str(abs(e)).zfill(self.exp_size)}"
        whole, frac = _positional(x, self.name)
        return whole.rjust(self.pad_left) + "." + frac.ljust(self.pad_right)


def _format_function(values, name):
    if name in ("float32", "float64"):
        return _FloatFormat(values, name)
    if name == "bool":
        return lambda x: " True" if x else "False"
    width = max(len(str(max(values))), len(str(min(values)))) if values else 0
    return lambda x: "%*d" % (width, x)


def _extend_line(s, line, word, line_width, next_line_prefix):
    needs_wrap = len(line) + len(word) > line_width
    if len(line) <= len(next_line_prefix):
        needs_wrap = False
    if needs_wrap:
        s += line.rstrip() + "\n"
        line = next_line_prefix
    line += word
    return s, line


def _extend_line_pretty(s, line, word, line_width, next_line_prefix):
    words = word.splitlines()
    if len(words) == 1:
        return _extend_line(s, line, word, line_width, next_line_prefix)
    max_word_length = max(len(w) for w in words)
    if len(line) + max_word_length > line_width and len(line) > len(next_line_prefix):
        s += line.rstrip() + "\n"
        line = next_line_prefix + words[0]
        indent = next_line_prefix
    else:
        indent = len(line) * " "
        line += words[0]
    for w in words[1:]:
        s += line.rstrip() + "\n"
        line = indent + w
    line += (max_word_length - len(words[-1])) * " "
    return s, line


_LINEWIDTH, _THRESHOLD, _EDGEITEMS = 75, 1000, 3


def _array2string(a, separator, prefix, suffix=""):
    """numpy 1.x's array2string with the default print options (legacy=False)."""
    summary = "..." if a.size > _THRESHOLD else ""
    if summary:
        values = [a._data[i] for i in _leading_trailing_indices(a.shape)]
    else:
        values = a._data
    fmt = _format_function(values, a._dtype)
    line_width = _LINEWIDTH - len(suffix)

    def recurse(index, hanging_indent, curr_width):
        axis = len(index)
        axes_left = a.ndim - axis
        if axes_left == 0:
            return fmt(a._data[_flat_index(a.shape, index)])
        next_hanging_indent = hanging_indent + " "
        next_width = curr_width - 1
        n = a.shape[axis]
        show_summary = bool(summary) and 2 * _EDGEITEMS < n
        leading, trailing = (_EDGEITEMS, _EDGEITEMS) if show_summary else (0, n)
        s = ""
        if axes_left == 1:
            elem_width = curr_width - max(len(separator.rstrip()), 1)
            line = hanging_indent
            for i in range(leading):
                word = recurse(index + (i,), next_hanging_indent, next_width)
                s, line = _extend_line_pretty(s, line, word, elem_width, hanging_indent)
                line += separator
            if show_summary:
                s, line = _extend_line(s, line, summary, elem_width, hanging_indent)
                line += separator
            for i in range(trailing, 1, -1):
                word = recurse(index + (n - i,), next_hanging_indent, next_width)
                s, line = _extend_line_pretty(s, line, word, elem_width, hanging_indent)
                line += separator
            word = recurse(index + (n - 1,), next_hanging_indent, next_width)
            s, line = _extend_line_pretty(s, line, word, elem_width, hanging_indent)
            s += line
        else:
            line_sep = separator.rstrip() + "\n" * (axes_left - 1)
            for i in range(leading):
                s += hanging_indent + recurse(index + (i,), next_hanging_indent, next_width) + line_sep
            if show_summary:
                s += hanging_indent + summary + line_sep
            for i in range(trailing, 1, -1):
                s += hanging_indent + recurse(index + (n - i,), next_hanging_indent, next_width) + line_sep
            s += hanging_indent + recurse(index + (n - 1,), next_hanging_indent, next_width)
        return "[" + s[len(hanging_indent):] + "]"

    return recurse((), " " + " " * len(prefix), line_width)


def _leading_trailing_indices(shape):
    """Flat indices of the elements numpy keeps when it summarizes (the edges of every axis)."""
    per_axis = []
    for n in shape:
        if n > 2 * _EDGEITEMS:
            per_axis.append(list(range(_EDGEITEMS)) + list(range(n - _EDGEITEMS, n)))
        else:
            per_axis.append(list(range(n)))
    return [_flat_index(shape, idx) for idx in _product(per_axis)]


def _product(lists):
    out = [()]
    for lst in lists:
        out = [o + (i,) for o in out for i in lst]
    return out


def _flat_index(shape, index):
    flat = 0
    for n, i in zip(shape, index):
        flat = flat * n + i
    return flat


# --------------------------------------------------------------------------------------- ndarray

def _infer(obj):
    """(flat values, shape, dtype name) of a nested list/tuple of numbers or ndarrays."""
    if isinstance(obj, ndarray):
        return list(obj._data), obj.shape, obj._dtype
    if isinstance(obj, (list, tuple)):
        if not obj:
            return [], (0,), "float64"
        parts = [_infer(o) for o in obj]
        shapes = {p[1] for p in parts}
        if len(shapes) != 1:
            raise _unsupported("ragged nested sequences")
        names = {p[2] for p in parts}
        data = [v for p in parts for v in p[0]]
        return data, (len(obj),) + parts[0][1], _promote(names)
    if isinstance(obj, bool):
        return [obj], (), "bool"
    if isinstance(obj, (float32, int32, int64)):
        return [obj], (), _dtype_name(type(obj))
    if isinstance(obj, int):
        return [obj], (), "int64"
    if isinstance(obj, float):
        return [obj], (), "float64"
    raise _unsupported(f"an array of {type(obj).__name__}")


def _promote(names):
    for name in ("float64", "float32", "int64", "int32", "bool"):
        if name in names:
            if name == "float32" and names & {"int64", "int32"}:
                return "float64"
            return name
    return "float64"


class ndarray:
    """An n-dimensional array: a flat C-order list of Python numbers, a shape and a dtype name."""

    def __init__(self, shape, dtype=float, _data=None):
        self._shape = tuple(int(n) for n in shape)
        self._dtype = _dtype_name(dtype)
        size = 1
        for n in self._shape:
            size *= n
        self._data = [_convert(0, self._dtype)] * size if _data is None else _data
        assert len(self._data) == size

    # -- attributes
    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def size(self):
        return len(self._data)

    @property
    def dtype(self):
        return dtype(self._dtype)

    def __len__(self):
        if not self._shape:
            raise TypeError("len() of unsized object")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._shape[0]))

    def tolist(self):
        def build(offset, dims):
            if not dims:
                return self._data[offset]
            stride = 1
            for n in dims[1:]:
                stride *= n
            return [build(offset + i * stride, dims[1:]) for i in range(dims[0])]
        return build(0, self._shape)

    def item(self):
        if len(self._data) != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self._data[0]

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = [int(n) for n in shape]
        # numpy's wording: "(4,newaxis)", "(7,)"
        asked = "(" + ",".join("newaxis" if n == -1 else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"
        if shape.count(-1) > 1:
            raise ValueError("can only specify one unknown dimension")
        known = 1
        for n in shape:
            if n != -1:
                known *= n
        if -1 in shape:
            if known == 0 or self.size % known:
                raise ValueError(f"cannot reshape array of size {self.size} into shape {asked}")
            shape[shape.index(-1)] = self.size // known
        elif known != self.size:
            raise ValueError(f"cannot reshape array of size {self.size} into shape {asked}")
        return ndarray(shape, self._dtype, list(self._data))

    def astype(self, dtype):
        name = _dtype_name(dtype)
        return ndarray(self._shape, name, [_convert(v, name) for v in self._data])

    def argmax(self, axis=None):
        return argmax(self, axis)

    # -- indexing
    def __getitem__(self, key):
        if not isinstance(key, tuple):
            key = (key,)
        if sum(k is Ellipsis for k in key) > 1:
            raise IndexError("an index can only have a single ellipsis ('...')")
        if Ellipsis in key:
            at = key.index(Ellipsis)
            fill = self.ndim - (len(key) - 1)
            key = key[:at] + (slice(None),) * fill + key[at + 1:]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices for array: array is {self.ndim}-dimensional, "
                             f"but {len(key)} were indexed")
        key = key + (slice(None),) * (self.ndim - len(key))
        per_axis, shape = [], []
        for axis, (k, n) in enumerate(zip(key, self._shape)):
            if isinstance(k, slice):
                r = range(*k.indices(n))
                per_axis.append(list(r))
                shape.append(len(r))
            elif isinstance(k, int) and not isinstance(k, bool):
                i = k + n if k < 0 else k
                if not 0 <= i < n:
                    raise IndexError(f"index {k} is out of bounds for axis {axis} with size {n}")
                per_axis.append([i])
            elif k is None:
                raise _unsupported("indexing with None (numpy.newaxis)")
            else:
                raise _unsupported(f"indexing with {type(k).__name__} (fancy or boolean indexing)")
        data = [self._data[_flat_index(self._shape, idx)] for idx in _product(per_axis)]
        if not shape:
            return _SCALAR[self._dtype](data[0])
        return ndarray(shape, self._dtype, data)

    def __setitem__(self, key, value):
        raise _unsupported("ndarray item assignment")

    # -- printing
    def __str__(self):
        if not self._shape:
            return str(_SCALAR[self._dtype](self._data[0]))
        if self.size == 0:
            return "[]"
        return _array2string(self, " ", "")

    def __repr__(self):
        skip_dtype = self._dtype in ("float64", "int64", "bool") and self.size > 0
        suffix = ")" if skip_dtype else ","
        if self.size > 0 or self._shape == (0,):
            body = "[]" if self.size == 0 else _array2string(self, ", ", "array(", suffix)
        else:
            body = f"[], shape={self._shape!r}"
        text = "array(" + body + suffix
        if skip_dtype:
            return text
        last = len(text) - (text.rfind("\n") + 1)
        spacer = "\n" + " " * len("array(") if last + len(f"dtype={self._dtype})") + 1 > _LINEWIDTH else " "
        return text + spacer + f"dtype={self._dtype})"

    # -- everything else says so
    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise _unsupported(f"ndarray.{name}")

    def __bool__(self):
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. "
                             "Use a.any() or a.all()")
        return bool(self._data[0])


def _refuse(op):
    def method(self, *args, **kwargs):
        raise _unsupported(f"ndarray {op}")
    return method


for _op, _dunder in [("+", "add"), ("-", "sub"), ("*", "mul"), ("/", "truediv"), ("//", "floordiv"),
                     ("%", "mod"), ("**", "pow"), ("@", "matmul")]:
    setattr(ndarray, f"__{_dunder}__", _refuse(_op))
    setattr(ndarray, f"__r{_dunder}__", _refuse(_op))
for _op, _dunder in [("==", "eq"), ("!=", "ne"), ("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge")]:
    setattr(ndarray, f"__{_dunder}__", _refuse(_op))
for _op, _dunder in [("unary -", "neg"), ("unary +", "pos"), ("abs()", "abs")]:
    setattr(ndarray, f"__{_dunder}__", _refuse(_op))
ndarray.__hash__ = None


# ------------------------------------------------------------------------------------- functions

def array(obj, dtype=None):
    data, shape, name = _infer(obj)
    if dtype is not None:
        name = _dtype_name(dtype)
    return ndarray(shape, name, [_convert(v, name) for v in data])


def _from_buffer(flat, shape, dtype):
    """An ndarray over flat C-order values (e.g. a typed array's tolist()) converted to dtype.

    Internal: the tensorflow shim builds sess.run results with it from one typed-array copy."""
    name = _dtype_name(dtype)
    return ndarray(shape, name, [_convert(v, name) for v in flat])


def asarray(obj, dtype=None):
    if isinstance(obj, ndarray) and (dtype is None or _dtype_name(dtype) == obj._dtype):
        return obj
    return array(obj, dtype)


def _filled(shape, value, dtype):
    if isinstance(shape, int):
        shape = (shape,)
    name = _dtype_name(dtype)
    result = ndarray(shape, name)
    result._data = [_convert(value, name)] * result.size
    return result


def zeros(shape, dtype=float):
    return _filled(shape, 0, dtype)


def ones(shape, dtype=float):
    return _filled(shape, 1, dtype)


def argmax(a, axis=None):
    """Index of the first maximum (NaN counts as the maximum, as in numpy); int64."""
    a = asarray(a)
    if a.size == 0:
        raise ValueError("attempt to get argmax of an empty sequence")

    def first_max(values):
        best = 0
        for i, v in enumerate(values):
            if v != v:
                return i
            if v > values[best]:
                best = i
        return best

    if axis is None:
        return int64(first_max(a._data))
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise _unsupported(f"argmax with axis={axis!r}")
    if not -a.ndim <= axis < a.ndim:
        raise _AxisError(f"axis {axis} is out of bounds for array of dimension {a.ndim}")
    axis %= a.ndim
    outer_shape = a.shape[:axis] + a.shape[axis + 1:]
    n = a.shape[axis]
    result = []
    for idx in _product([list(range(m)) for m in outer_shape]):
        values = [a._data[_flat_index(a.shape, idx[:axis] + (i,) + idx[axis:])] for i in range(n)]
        result.append(first_max(values))
    if not outer_shape:
        return int64(result[0])
    return ndarray(outer_shape, "int64", result)


class _AxisError(ValueError, IndexError):
    """numpy.AxisError: both a ValueError and an IndexError."""


AxisError = _AxisError
_AxisError.__name__ = "AxisError"
_AxisError.__qualname__ = "AxisError"
_AxisError.__module__ = "numpy"


class _Random:
    """numpy.random with rand only (uniform [0, 1) float64; not numpy's stream of numbers)."""

    @staticmethod
    def rand(*shape):
        if not shape:
            return _random.random()
        result = ndarray(shape, "float64")
        result._data = [_random.random() for _ in range(result.size)]
        return result

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise _unsupported(f"numpy.random.{name}")


random = _Random()
newaxis = None


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    raise _unsupported(f"numpy.{name}")
