# tests/playground/unsupported.py — numpy-mini refuses what it does not implement by name.
import numpy as np

a = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)
print(a.shape)
print(a + a)
