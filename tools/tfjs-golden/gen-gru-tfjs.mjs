// Independent TensorFlow.js oracle for the TF 1.x GRUCell ("gru_tf" cases).
//
// Reads the gru_tf cases (inputs, weights in TF layout) from
// tests/data/numerics_golden.json, converts the weights to Keras layout, runs
// them through tf.layers.gru (reset_after = false, sigmoid recurrent
// activation) on the pure-JS cpu backend and writes tests/data/gru_tfjs_golden.json
// with TF.js's "outputs" and "final_state" per case.  Fails (exit 1) if TF.js
// and the float64 reference in numerics_golden.json differ by more than 1e-5.
//
//   cd tools/tfjs-golden && npm ci && node gen-gru-tfjs.mjs
//
// Layout conversion (TF GRUCell -> Keras GRU), D = input dim, H = units:
//   TF gates/kernel [D+H, 2H] columns [r | u]  (u is Keras z), candidate/kernel [D+H, H]
//   Keras kernel [D, 3H] and recurrent_kernel [H, 3H], column blocks in gate order z, r, h:
//     kernel           = concat([gates_kernel[:D, H:], gates_kernel[:D, :H], candidate_kernel[:D]], 1)
//     recurrent_kernel = concat([gates_kernel[D:, H:], gates_kernel[D:, :H], candidate_kernel[D:]], 1)
//     bias             = concat([gates_bias[H:], gates_bias[:H], candidate_bias])
//   With reset_after = false Keras computes hh = tanh(x Wh + b_h + (r*h) Uh), which is exactly
//   TF's c = tanh([x, r*h] @ candidate_kernel + candidate_bias).
//
// TF.js GRU has no sequence_length: each batch row runs alone as a batch of one
// truncated to its length (length 0: not run, outputs zero, final = initial);
// the rows are then assembled with zero outputs past each length.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

import * as tf from '@tensorflow/tfjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const srcPath = resolve(root, 'tests', 'data', 'numerics_golden.json');
const outPath = resolve(root, 'tests', 'data', 'gru_tfjs_golden.json');
const TOL = 1e-5;

const tfjsVersion = createRequire(import.meta.url)('@tensorflow/tfjs/package.json').version;

const toTensor = (t) => tf.tensor(t.data, t.shape, 'float32');

function convertWeights(c) {
  const D = c.input_dim;
  const H = c.units;
  return tf.tidy(() => {
    const gk = toTensor(c.gates_kernel);      // [D+H, 2H]
    const gb = toTensor(c.gates_bias);        // [2H]
    const ck = toTensor(c.candidate_kernel);  // [D+H, H]
    const cb = toTensor(c.candidate_bias);    // [H]
    const rows = (t, start, size) => t.slice([start, 0], [size, -1]);
    const cols = (t, start, size) => t.slice([0, start], [-1, size]);
    const keras = (start, size) => {
      const g = rows(gk, start, size);
      return tf.concat([cols(g, H, H), cols(g, 0, H), rows(ck, start, size)], 1);
    };
    const kernel = keras(0, D);              // [D, 3H]
    const recurrentKernel = keras(D, H);     // [H, 3H]
    const bias = tf.concat([gb.slice([H], [H]), gb.slice([0], [H]), cb], 0);  // [3H]
    return [kernel, recurrentKernel, bias];
  });
}

async function runCase(c) {
  const { batch: B, time: T, input_dim: D, units: H } = c;
  const lengths = c.sequence_length.data;
  const layer = tf.layers.gru({
    units: H,
    resetAfter: false,
    returnSequences: true,
    returnState: true,
    recurrentActivation: 'sigmoid',  // TF.js default is 'hardSigmoid'
    activation: 'tanh',
    useBias: true,
  });
  tf.tidy(() => { layer.apply(tf.zeros([1, 1, D])); });  // builds the layer (Keras-layout variables)
  const weights = convertWeights(c);
  layer.setWeights(weights);
  const check = layer.getWeights();
  if (check.length !== 3) throw new Error(`${c.name}: expected 3 GRU weights, got ${check.length}`);
  check.forEach((w, i) => {
    if (maxAbs(w.dataSync(), weights[i].dataSync()) !== 0) throw new Error(`${c.name}: setWeights mismatch`);
  });
  tf.dispose(weights);

  const inputs = toTensor(c.inputs);
  const h0 = toTensor(c.initial_state);
  const outputs = new Float32Array(B * T * H);  // zero past each length
  const finalState = new Float32Array(B * H);
  for (let b = 0; b < B; ++b) {
    const L = lengths[b];
    if (L === 0) {
      finalState.set(h0.slice([b, 0], [1, H]).dataSync(), b * H);
      continue;
    }
    const [seq, state] = tf.tidy(() => {
      const x = inputs.slice([b, 0, 0], [1, L, D]);
      const h = h0.slice([b, 0], [1, H]);
      const [o, s] = layer.apply(x, { initialState: [h] });
      return [o.dataSync(), s.dataSync()];
    });
    if (seq.length !== L * H || state.length !== H) throw new Error(`${c.name}: bad output shape`);
    outputs.set(seq, b * T * H);
    finalState.set(state, b * H);
  }
  tf.dispose([inputs, h0]);
  layer.dispose();
  return {
    name: c.name,
    sequence_length: { shape: [B], data: Array.from(lengths) },
    outputs: { shape: [B, T, H], data: Array.from(outputs) },
    final_state: { shape: [B, H], data: Array.from(finalState) },
  };
}

const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// Indented JSON with every list of numbers on one line (same style as the Python generator).
function dumps(v, indent = 0) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.every((e) => e === null || typeof e !== 'object')) return JSON.stringify(v).replaceAll(',', ', ');
    return '[\n' + v.map((e) => `${pad} ${dumps(e, indent + 1)}`).join(',\n') + '\n' + pad + ']';
  }
  if (v !== null && typeof v === 'object') {
    return '{\n' + Object.entries(v).map(([k, e]) => `${pad} ${JSON.stringify(k)}: ${dumps(e, indent + 1)}`).join(',\n') + '\n' + pad + '}';
  }
  return JSON.stringify(v);
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  const srcText = readFileSync(srcPath, 'utf8');
  const src = JSON.parse(srcText);
  const cases = [];
  let worst = 0;
  for (const c of src.gru_tf) {
    const r = await runCase(c);
    const d = Math.max(maxAbs(r.outputs.data, c.outputs.data), maxAbs(r.final_state.data, c.final_state.data));
    console.log(`gru_tf/${c.name}: TF.js vs float64 reference max abs diff ${d.toExponential(3)}`);
    worst = Math.max(worst, d);
    cases.push(r);
  }
  const doc = {
    about: 'TF.js (tf.layers.gru, resetAfter false, recurrentActivation sigmoid, cpu backend) outputs '
      + 'for the gru_tf cases of tests/data/numerics_golden.json (same inputs, weights and initial '
      + 'states, looked up there by case name; TF-layout weights converted to Keras layout). '
      + 'Rows run one at a time truncated to their sequence_length; outputs are zero past the '
      + 'length and final_state is the state at length-1 (the initial state for length 0). '
      + 'source_sha256 is the SHA-256 of numerics_golden.json these were computed from. '
      + 'See tools/README-golden.md.',
    generator: `tools/tfjs-golden/gen-gru-tfjs.mjs (@tensorflow/tfjs ${tfjsVersion}, backend ${tf.getBackend()})`,
    source_sha256: createHash('sha256').update(srcText).digest('hex'),
    cases,
  };
  const text = dumps(doc) + '\n';
  writeFileSync(outPath, text);
  console.log(`wrote ${relative(root, outPath)} (${text.length} bytes)`);
  if (!(worst < TOL)) {
    console.error(`FAIL: TF.js and the float64 reference differ by ${worst} (> ${TOL})`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
