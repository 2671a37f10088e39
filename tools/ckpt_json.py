"""Reading and writing float32 entries of varscope JSON checkpoints
(docs/checkpoint-format.md) in pure Python: shared by tools/gru_layout.py and
tools/lstm_layout.py."""
import base64
import struct


def values(e):
    """The entry's values as a flat list (base64 `data`, or a plain `values` list)."""
    n = 1
    for d in e["shape"]:
        n *= d
    if "values" in e:
        return list(e["values"])
    return list(struct.unpack("<%df" % n, base64.b64decode(e["data"])))


def entry(name, shape, flat_values):
    """A float32 entry named `name` of `shape` holding `flat_values` (row-major)."""
    data = base64.b64encode(struct.pack("<%df" % len(flat_values), *flat_values)).decode()
    return {"name": name, "dtype": "float32", "shape": list(shape), "data": data}


def matrix(e):
    """A 2-D entry as a list of rows."""
    r, c = e["shape"]
    v = values(e)
    return [v[i * c:(i + 1) * c] for i in range(r)]


def flat(m):
    """Rows back to a flat list."""
    return [x for row in m for x in row]
