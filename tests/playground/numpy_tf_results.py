# tests/playground/numpy_tf_results.py — what the article's TF 1.x code does with sess.run results
# (decoder ids [batch, time, beam], logits, lists of arrays), under real numpy and numpy-mini.
import numpy as np

batch, time, beam, vocab = 2, 5, 3, 7
ids = np.array([[[(b * 31 + t * 2 + k * 3) % vocab for k in range(beam)] for t in range(time)]
                for b in range(batch)], dtype=np.int32)
print(ids.shape)
print(ids[:, :, 0])
print(ids[0, :, 0].tolist(), ids[-1, -1, -1])
logits = np.array([[[((b + 1) * (t + 2) * (v + 3) % 11) / 11.0 - 0.5 for v in range(vocab)]
                    for t in range(time)] for b in range(batch)], dtype=np.float32)
print(logits[0, :2])
pred = np.argmax(logits, axis=-1)
print(pred, pred.shape, pred.dtype)
print([np.argmax(row) for row in logits[1]])
outputs = [ids[:, 0, 0], logits[0, 0, :3]]
print(outputs)
print((ids.shape, ids[1, 2]))
print({"ids": ids[0, 0]})
state = np.zeros((batch, 4), dtype=np.float32)
print("state", state.shape, state)
for step, row in enumerate(ids[0]):
    print(step, row, row.tolist())
