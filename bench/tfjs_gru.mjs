// TF.js (wasm backend) timing of the seed-shape GRU encoder forward, the peer
// of varscope's wasm_bench encoder(): embedding lookup [3000, 256] for int32
// ids [2, 8], then a GRU with 256 units over the 8 steps (final state).
// Same math as TF 1.x GRUCell: r,u = sigmoid([x,h] Wg + bg);
// c = tanh([x, r*h] Wc + bc); h' = u*h + (1-u)*c. Weights random.
//
// Three variants are timed (the fastest is the peer):
//   ops    — hand-written tf ops in TF GRUCell layout (concat + matMul), one tf.tidy;
//   tuned  — the input products of all steps in one matMul before the loop, per step only the
//            recurrent products (no concat); checked equal to ops;
//   layers — tf.layers.gru({resetAfter: false, recurrentActivation: 'sigmoid'}),
//            Keras layout, the same math.
//
// Usable in the browser (web/bench.js passes the UMD globals `tf`, `tf.wasm`)
// and under node:  node bench/tfjs_gru.mjs [reps]
// TF.js runs single-threaded (WASM_HAS_MULTITHREAD_SUPPORT=false) like varscope.
export const SEED = { vocab: 3000, emb: 256, hidden: 256, batch: 2, len: 8 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
};

// Warm-up, then `reps` samples of `batch` calls each (per-call times): `batch` makes a
// sample last about 10 ms, since Chromium's performance.now() has 0.1 ms steps.
export function timeIt(fn, reps, warmup) {
  // At least `warmup` calls and 1 s (V8 tiers hot wasm and JS up in the background).
  for (let i = 0, w0 = performance.now(); i < warmup || performance.now() - w0 < 1000; ++i) fn();
  let fastest = Infinity;  // calibrate on the fastest of 5 calls (one slow call must not set it)
  for (let i = 0; i < 5; ++i) {
    const t0 = performance.now();
    fn();
    fastest = Math.min(fastest, performance.now() - t0);
  }
  const batch = Math.min(65536, Math.max(1, Math.floor(10 / Math.max(fastest, 0.001))));
  const us = [];
  for (let i = 0; i < reps; ++i) {
    const t0 = performance.now();
    for (let b = 0; b < batch; ++b) fn();
    us.push(((performance.now() - t0) * 1000) / batch);
  }
  const s = [...us].sort((a, b) => a - b);
  return { median_us: median(us), min_us: s[0], max_us: s[s.length - 1], batch };
}

// The wasm backend, single-threaded unless `threads`, with files from `wasmPath`.
export async function setupWasm({ tf, setWasmPaths, wasmPath, threads = false }) {
  if (setWasmPaths) setWasmPaths(wasmPath);
  if (!threads) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  return {
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
}

// Sets up the wasm backend (files from `wasmPath`, a URL prefix or a directory
// ending in '/') and times the three variants. Returns a plain JSON-able object.
export async function benchTfjsGru({ tf, setWasmPaths, wasmPath, reps = 50, warmup = 3, threads = false }) {
  const { simd, multithread } = await setupWasm({ tf, setWasmPaths, wasmPath, threads });

  const { vocab, emb, hidden, batch, len } = SEED;
  const idsData = new Int32Array(batch * len);
  for (let i = 0; i < idsData.length; ++i) idsData[i] = (i * 7919 + 1) % vocab;
  const ids = tf.tensor2d(idsData, [batch, len], 'int32');
  const embedding = tf.randomUniform([vocab, emb], -1, 1);
  // TF GRUCell layout: gates kernel [E+H, 2H] (r | u), candidate kernel [E+H, H].
  const lim = Math.sqrt(6 / (emb + hidden + 2 * hidden));
  const wg = tf.randomUniform([emb + hidden, 2 * hidden], -lim, lim);
  const bg = tf.fill([2 * hidden], 1.0);
  const wc = tf.randomUniform([emb + hidden, hidden], -lim, lim);
  const bc = tf.zeros([hidden]);

  // The final state, as one tidy; `timed` syncs and frees it (what a caller would do).
  const plainState = () => tf.tidy(() => {
    const xs = tf.unstack(tf.gather(embedding, ids), 1);  // T x [B, E]
    let state = tf.zeros([batch, hidden]);
    for (const x of xs) {
      const g = tf.sigmoid(tf.add(tf.matMul(tf.concat([x, state], 1), wg), bg));
      const [r, u] = tf.split(g, 2, 1);
      const c = tf.tanh(tf.add(tf.matMul(tf.concat([x, tf.mul(r, state)], 1), wc), bc));
      state = tf.add(tf.mul(u, state), tf.mul(tf.sub(1, u), c));
    }
    return state;
  });
  // Tuned the way a TF.js user who profiles would write it: the input halves of both kernels
  // and the biases applied to all T steps in one product each before the loop, and per step
  // only the recurrent products (no concat).
  const wgx = tf.slice(wg, [0, 0], [emb, 2 * hidden]), wgh = tf.slice(wg, [emb, 0], [hidden, 2 * hidden]);
  const wcx = tf.slice(wc, [0, 0], [emb, hidden]), wch = tf.slice(wc, [emb, 0], [hidden, hidden]);
  const tunedState = () => tf.tidy(() => {
    const x = tf.gather(embedding, ids).reshape([batch * len, emb]);
    const xg = tf.unstack(tf.add(tf.matMul(x, wgx), bg).reshape([batch, len, 2 * hidden]), 1);
    const xc = tf.unstack(tf.add(tf.matMul(x, wcx), bc).reshape([batch, len, hidden]), 1);
    let state = tf.zeros([batch, hidden]);
    for (let t = 0; t < len; ++t) {
      // (the wasm backend's fused product takes only a rank-1 bias, so the step's add is separate)
      const g = tf.sigmoid(tf.add(tf.matMul(state, wgh), xg[t]));
      const [r, u] = tf.split(g, 2, 1);
      const c = tf.tanh(tf.add(tf.matMul(tf.mul(r, state), wch), xc[t]));
      state = tf.add(c, tf.mul(u, tf.sub(state, c)));  // u*h + (1-u)*c
    }
    return state;
  });
  const timed = (f) => () => {
    const h = f();
    h.dataSync();
    h.dispose();
  };
  const encodeOps = timed(plainState), encodeTuned = timed(tunedState);
  {  // both forms compute the same state
    const [p, q] = [plainState(), tunedState()];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0]);
    tf.dispose([p, q]);
    if (!(diff < 1e-4)) throw new Error(`tfjs_gru: the tuned encoder differs from the plain one by ${diff}`);
  }

  const layer = tf.layers.gru({
    units: hidden, resetAfter: false, recurrentActivation: 'sigmoid', activation: 'tanh',
    returnSequences: false, kernelInitializer: 'glorotUniform', recurrentInitializer: 'glorotUniform',
  });
  const encodeLayers = () => {
    const h = tf.tidy(() => layer.apply(tf.gather(embedding, ids)));
    h.dataSync();
    h.dispose();
  };

  const ops = timeIt(encodeOps, reps, warmup);
  const tuned = timeIt(encodeTuned, reps, warmup);
  const layers = timeIt(encodeLayers, reps, warmup);
  const out = {
    name: 'tfjs_encoder', tfjs_version: tf.version?.tfjs ?? tf.version_core, backend: tf.getBackend(),
    simd, multithread, reps, warmup, shape: SEED, ops, tuned, layers,
    median_us: Math.min(ops.median_us, tuned.median_us, layers.median_us),
    leaked_tensors: 0,
  };
  const before = tf.memory().numTensors;
  encodeOps();
  encodeTuned();
  encodeLayers();
  out.leaked_tensors = tf.memory().numTensors - before;
  tf.dispose([ids, embedding, wg, bg, wc, bc, wgx, wgh, wcx, wch]);
  layer.dispose();
  return out;
}

// Node: TF.js from node_modules, wasm binaries from the package's dist/ folder.
export async function tfjsNode() {
  const [{ createRequire }, path] = await Promise.all([import('node:module'), import('node:path')]);
  const require = createRequire(import.meta.url);
  const tfm = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const tf = tfm.default ?? tfm;
  const wasmPath = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/';
  return { tf, setWasmPaths: wasm.setWasmPaths ?? wasm.default?.setWasmPaths, wasmPath };
}
export async function benchTfjsGruNode(opts = {}) {
  return benchTfjsGru({ ...(await tfjsNode()), ...opts });
}

const isMain = typeof process !== 'undefined' && process.argv?.[1] &&
  (await import('node:url')).pathToFileURL(process.argv[1]).href === import.meta.url;
if (isMain) {
  const reps = Number(process.argv[2] ?? 50);
  console.log(JSON.stringify(await benchTfjsGruNode({ reps })));
}
