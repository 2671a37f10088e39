# tests/playground/numpy_edges.py — numpy-mini's edges against real numpy: 0-d and empty arrays,
# dtype= on its own line, wide values, and the error messages of bad indices and axes.
import numpy as np

print(repr(np.array(3.5)), np.array(3.5), np.array(7).shape, np.array(7).ndim)
print(repr(np.array(0.1, dtype=np.float32)), repr(np.array(2, dtype=np.int32)))
print(repr(np.zeros((0, 3))), repr(np.zeros((0,), dtype=np.int32)), np.zeros((2, 0)).shape)
print(repr(np.array(list(range(1000, 1030)), dtype=np.int32)))
print(repr(np.array([i / 3.0 for i in range(14)], dtype=np.float32)))
print(np.array([1e8, 1.0], dtype=np.float32), np.array([123456.789, -0.5]), np.array([99999999.0]))
print(np.array([[0.5, -1e-7], [3.25, 1e3]]))
print(np.array([True, False]).dtype, np.array([[True], [False]]), repr(np.array([False])))
print(np.ones((2, 1, 3), dtype=np.int32))
print(np.array([[1, 2, 3]]).reshape(3, -1), np.zeros(6).reshape((2, 3)).shape)
a = np.array([[1, 2], [3, 4]], dtype=np.int32)
for bad in (5, -3, (0, 2), (0, 0, 0)):
    try:
        a[bad]
    except IndexError as e:
        print(type(e).__name__, e)
try:
    np.argmax(a, axis=2)
except ValueError as e:
    print(type(e).__name__, e)
try:
    np.argmax(np.array([]))
except ValueError as e:
    print(type(e).__name__, e)
try:
    np.zeros(6).reshape(4, -1)
except ValueError as e:
    print(type(e).__name__, e)
print(a[-1], a[-1, -2], a[::-1, ::-1], a[5:], a[:, 1:].tolist(), a[1:, 1:].shape)
print(len(a), list(a[0]), [x for x in a[:, 0]], a.item(0) if False else a[0, 1].item())
print(np.argmax(np.array([float("nan"), 3.0, float("nan")])), np.argmax([[1, 5], [7, 2]], axis=0))
# Scalar arithmetic keeps numpy 1.x's types: same-type scalars stay 32-bit, Python numbers make 64-bit.
f, i, big = np.float32(1), np.int32(3), np.int64(3)
for name, v in [("f/3", f / 3), ("f/f", f / np.float32(3)), ("f+0.5", f + 0.5), ("f*2", f * 2),
                ("0.5*f", 0.5 * f), ("f+i", f + i), ("f+big", f + big), ("i+1", i + 1), ("i/2", i / 2),
                ("i+i", i + i), ("-f", -f), ("abs", abs(-f)), ("f**2", f ** 2), ("f//2", f // 2),
                ("i*big", i * big), ("f-f", f - np.float32(0.1)), ("i+0.5", i + 0.5), ("3-i", 3 - i)]:
    print(name, type(v).__name__, v)
