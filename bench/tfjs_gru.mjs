// TF.js (wasm backend) timing of the seed-shape GRU encoder forward, the peer
// of varscope's wasm_bench encoder(): embedding lookup [3000, 256] for int32
// ids [2, 8], then a GRU with 256 units over the 8 steps (final state).
// Same math as TF 1.x GRUCell: r,u = sigmoid([x,h] Wg + bg);
// c = tanh([x, r*h] Wc + bc); h' = u*h + (1-u)*c. Weights random.
//
// Two variants are timed:
//   ops    — hand-written tf ops in TF GRUCell layout (concat + matMul), one tf.tidy;
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

function timeIt(fn, reps, warmup) {
  for (let i = 0; i < warmup; ++i) fn();
  const us = [];
  for (let i = 0; i < reps; ++i) {
    const t0 = performance.now();
    fn();
    us.push((performance.now() - t0) * 1000);
  }
  const s = [...us].sort((a, b) => a - b);
  return { median_us: median(us), min_us: s[0], max_us: s[s.length - 1] };
}

// Sets up the wasm backend (files from `wasmPath`, a URL prefix or a directory
// ending in '/') and times both variants. Returns a plain JSON-able object.
export async function benchTfjsGru({ tf, setWasmPaths, wasmPath, reps = 50, warmup = 3, threads = false }) {
  if (setWasmPaths) setWasmPaths(wasmPath);
  if (!threads) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") failed');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');

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

  const encodeOps = () => {
    const h = tf.tidy(() => {
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
    h.dataSync();
    h.dispose();
  };

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
  const layers = timeIt(encodeLayers, reps, warmup);
  const out = {
    name: 'tfjs_encoder', tfjs_version: tf.version?.tfjs ?? tf.version_core, backend: tf.getBackend(),
    simd, multithread, reps, warmup, shape: SEED, ops, layers,
    median_us: Math.min(ops.median_us, layers.median_us),
    leaked_tensors: 0,
  };
  const before = tf.memory().numTensors;
  encodeOps();
  encodeLayers();
  out.leaked_tensors = tf.memory().numTensors - before;
  tf.dispose([ids, embedding, wg, bg, wc, bc]);
  layer.dispose();
  return out;
}

// Node: TF.js from node_modules, wasm binaries from the package's dist/ folder.
export async function benchTfjsGruNode(opts = {}) {
  const [{ createRequire }, path] = await Promise.all([import('node:module'), import('node:path')]);
  const require = createRequire(import.meta.url);
  const tfm = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const tf = tfm.default ?? tfm;
  const wasmPath = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/';
  return benchTfjsGru({ tf, setWasmPaths: wasm.setWasmPaths ?? wasm.default?.setWasmPaths, wasmPath, ...opts });
}

const isMain = typeof process !== 'undefined' && process.argv?.[1] &&
  (await import('node:url')).pathToFileURL(process.argv[1]).href === import.meta.url;
if (isMain) {
  const reps = Number(process.argv[2] ?? 50);
  console.log(JSON.stringify(await benchTfjsGruNode({ reps })));
}
