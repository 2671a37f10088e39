# tests/playground/numpy_print.py — numpy printing as TF 1.x scripts print sess.run results.
# Run by real numpy (python3) and by numpy-mini (node tools/tf1-python.mjs); outputs must match
# byte for byte (tests/playground/check_playground.py).
import numpy as np


def show(label, a):
    print("--", label)
    print(a)
    print(repr(a))


def varied(n, scale=1.0, shift=0.0):
    # Deterministic values with varied digits (no random stream: both numpys must see the same).
    return [((i * 7919) % 1009) / 997.0 * scale + shift for i in range(n)]


show("ints 2x2", np.array([[1, 2], [3, 4]]))
show("ints negative, widths", np.array([[-1, 20, 300], [4000, -50000, 6]]))
show("int32", np.array([[1, 2], [3, 4]], dtype=np.int32))
show("floats 1-D", np.array([0.1, 0.25]))
show("floats with integers", np.array([1.0, 2.5, -3.0]))
show("all integral floats", np.array([1.0, 2.0, 3.0]))
show("float32 0.1", np.array([0.1, 0.2, 0.3], dtype=np.float32))
show("float32 varied", np.array(varied(12), dtype=np.float32).reshape(3, 4))
show("float64 varied", np.array(varied(6, 10.0, -5.0)).reshape(2, 3))
show("float32 3-D", np.array(varied(24, 2.0, -1.0), dtype=np.float32).reshape(2, 3, 4))
show("scientific small", np.array([1e-5, 0.5, 2.0]))
show("scientific large", np.array([1e9, 1.5, -2.25]))
show("scientific ratio", np.array([0.001, 2.0], dtype=np.float32))
show("scientific float32 varied", np.array(varied(5, 1e-6), dtype=np.float32))
show("negative zero", np.array([-0.0, 1.5]))
show("nan and inf", np.array([float("nan"), 1.5, float("-inf")]))
show("zeros float32", np.zeros((2, 3), dtype=np.float32))
show("ones", np.ones(4))
show("ones int32", np.ones((2, 2), dtype=np.int32))
show("bool", np.array([True, False, True]))
show("empty", np.array([]))
show("wraps at 75 columns", np.array(varied(30), dtype=np.float32))
show("wraps, int", np.array(list(range(0, 4000, 97))))
show("summarized ints", np.array(list(range(2000))))
show("summarized floats", np.array(varied(2400), dtype=np.float32).reshape(40, 60))
show("single element", np.array([[7]]))

a = np.array(varied(24, 4.0, -2.0), dtype=np.float32).reshape(2, 3, 4)
print(a.shape, a.ndim, a.size, a.dtype, repr(a.dtype), a.dtype == np.float32, a.dtype == "float32")
print(a[:, :, 0])
print(a[0])
print(a[-1, -1])
print(a[..., 1])
print(a[1, ::2, ::-1])
print(a[:, 1:, 2:3].shape)
print(a[0, 0, 0], repr(a[1, 2, 3]), type(a[0, 0, 0]).__name__)
print(a[:, 0].tolist())
print(np.argmax(a), np.argmax(a, axis=0), np.argmax(a, axis=1), np.argmax(a, axis=-1), sep="\n")
print(np.argmax(a[0, 0]), np.argmax([3, 9, 9, 1]), np.argmax(a, axis=2).dtype)
ids = np.array([[3, 1, 4], [1, 5, 9]], dtype=np.int32)
print(ids.dtype, ids[:, -1], ids[1, 1], ids.tolist(), len(ids), [row.tolist() for row in ids])
print(np.array([[1, 2], [3, 4]]).astype(np.float32))
print(np.zeros(3, dtype=np.int32).dtype, np.array([1, 2.5]).dtype, np.array([1, 2]).dtype)
print(np.float32(0.1), np.float32(1) / 3, np.int32(7), np.array(0.1, dtype=np.float32))
