// Runs Keras-layout LSTM weights through TensorFlow.js's tf.layers.lstm (an implementation
// independent of varscope and of PyTorch) for `tools/lstm_layout.py tfjs-check`.
//
//   node lstm-tfjs-run.mjs CASE.json OUT.json
//
// CASE: {"inputs": {"shape": [B, T, D], "data"}, "sequence_length": [B],
//        "initial_state": [{"c", "h"} per layer] (each {"shape": [B, H], "data"}),
//        "layers": [{"kernel" [D, 4H], "recurrent_kernel" [H, 4H], "bias" [4H]} per layer]}
//        (Keras layout: gate blocks i, f, c, o; the bias already holds TF's forget_bias).
// OUT:  {"outputs": [B, T, H] of the last layer (zero past each length),
//        "final_state": [{"c", "h"} per layer] at step length-1}.
// tf.layers.lstm has no sequence_length: each row runs alone, truncated to its length, through
// the stacked layers (returnSequences, returnState, initialState [h, c]); recurrentActivation
// is 'sigmoid' (TF.js' default is 'hardSigmoid'), activation 'tanh', pure-JS cpu backend.
import { readFileSync, writeFileSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs';

const toTensor = (t) => tf.tensor(t.data, t.shape, 'float32');

async function main() {
  const [casePath, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node lstm-tfjs-run.mjs CASE.json OUT.json');
  await tf.setBackend('cpu');
  await tf.ready();
  const c = JSON.parse(readFileSync(casePath, 'utf8'));
  const [B, T, D] = c.inputs.shape;
  const layers = c.layers.map((w, k) => {
    const H = w.recurrent_kernel.shape[0];
    const layer = tf.layers.lstm({
      units: H, returnSequences: true, returnState: true, recurrentActivation: 'sigmoid',
      activation: 'tanh', useBias: true, unitForgetBias: false,
    });
    tf.tidy(() => { layer.apply(tf.zeros([1, 1, k === 0 ? D : c.layers[k - 1].recurrent_kernel.shape[0]])); });
    const weights = [toTensor(w.kernel), toTensor(w.recurrent_kernel), toTensor(w.bias)];
    layer.setWeights(weights);
    const got = layer.getWeights();
    if (got.length !== 3) throw new Error(`layer ${k}: expected 3 LSTM weights, got ${got.length}`);
    got.forEach((g, i) => {
      const a = g.dataSync(), b = weights[i].dataSync();
      if (a.length !== b.length || a.some((v, j) => v !== b[j])) throw new Error(`layer ${k}: setWeights mismatch ${i}`);
    });
    return { layer, H };
  });
  const H = layers[layers.length - 1].H;
  const x = toTensor(c.inputs);
  const outputs = new Float32Array(B * T * H);
  const finals = layers.map(({ H: h }) => ({ c: new Float32Array(B * h), h: new Float32Array(B * h) }));
  for (let b = 0; b < B; ++b) {
    const L = c.sequence_length[b];
    let seq = x.slice([b, 0, 0], [1, L, D]);
    layers.forEach(({ layer, H: h }, k) => {
      const s = c.initial_state[k];
      const h0 = tf.tensor(s.h.data.slice(b * h, (b + 1) * h), [1, h]);
      const c0 = tf.tensor(s.c.data.slice(b * h, (b + 1) * h), [1, h]);
      if (L === 0) {
        finals[k].h.set(h0.dataSync(), b * h);
        finals[k].c.set(c0.dataSync(), b * h);
        return;
      }
      const [o, hN, cN] = layer.apply(seq, { initialState: [h0, c0] });  // Keras order: [h, c]
      finals[k].h.set(hN.dataSync(), b * h);
      finals[k].c.set(cN.dataSync(), b * h);
      seq = o;
    });
    if (L > 0) outputs.set(seq.dataSync(), b * T * H);
  }
  const plain = (a, shape) => ({ shape, data: Array.from(a) });
  writeFileSync(outPath, JSON.stringify({
    outputs: plain(outputs, [B, T, H]),
    final_state: finals.map((f, k) => ({ c: plain(f.c, [B, layers[k].H]), h: plain(f.h, [B, layers[k].H]) })),
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
