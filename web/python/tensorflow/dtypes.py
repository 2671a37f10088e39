"""tf.dtypes for the varscope playground: DType objects (float32, int32: what varscope computes in)
with TF's names and reprs, as_dtype, and a small TensorShape."""
from ._bridge import unsupported


class DType:
    """A TF data type; varscope holds float32 and int32."""

    def __init__(self, name):
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def base_dtype(self):
        return self

    @property
    def is_floating(self):
        return self._name == "float32"

    @property
    def is_integer(self):
        return self._name == "int32"

    def __eq__(self, other):
        try:
            return self._name == as_dtype(other)._name
        except (TypeError, NotImplementedError):
            return False

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f"tf.{self._name}"

    __str__ = __repr__


float32 = DType("float32")
int32 = DType("int32")
_BY_NAME = {"float32": float32, "int32": int32}


def as_dtype(type_value):
    """tf.as_dtype: a DType from a DType, its name, or numpy-mini's float32/int32."""
    if isinstance(type_value, DType):
        return type_value
    name = getattr(type_value, "name", None) if not isinstance(type_value, str) else type_value
    if name is None and isinstance(type_value, type):
        name = type_value.__name__
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name in ("float64", "float16", "int64", "int16", "int8", "uint8", "bool", "string", "complex64"):
        raise unsupported(f"tf.{name} (varscope computes in float32 and int32)")
    raise TypeError(f"Cannot convert value {type_value!r} to a TensorFlow DType.")


class Dimension:
    def __init__(self, value):
        self.value = None if value is None or value < 0 else int(value)

    def __eq__(self, other):
        other = other.value if isinstance(other, Dimension) else other
        return self.value == other

    def __int__(self):
        return self.value

    def __index__(self):
        return self.value

    def __repr__(self):
        return f"Dimension({self.value})"

    def __str__(self):
        return "?" if self.value is None else str(self.value)


class TensorShape:
    """tf.TensorShape: dims (None = unknown), as_list(), len, indexing, equality with lists."""

    def __init__(self, dims):
        self._dims = None if dims is None else [None if d is None or d < 0 else int(d) for d in dims]

    @property
    def ndims(self):
        return None if self._dims is None else len(self._dims)

    @property
    def dims(self):
        return None if self._dims is None else [Dimension(d) for d in self._dims]

    def as_list(self):
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)

    def is_fully_defined(self):
        return self._dims is not None and all(d is not None for d in self._dims)

    def __len__(self):
        return len(self.as_list())

    def __iter__(self):
        return iter(self.dims)

    def __getitem__(self, i):
        return Dimension(self._dims[i]) if isinstance(i, int) else TensorShape(self._dims[i])

    def __eq__(self, other):
        if isinstance(other, TensorShape):
            return self._dims == other._dims
        if isinstance(other, (list, tuple)):
            return self._dims == [None if d is None else int(d) for d in other]
        return NotImplemented

    def __repr__(self):
        if self._dims is None:
            return "TensorShape(None)"
        return "TensorShape([" + ", ".join(f"Dimension({d})" for d in self._dims) + "])"

    def __str__(self):
        if self._dims is None:
            return "<unknown>"
        inner = ", ".join("?" if d is None else str(d) for d in self._dims)
        return f"({inner},)" if len(self._dims) == 1 else f"({inner})"
