// The peer of varscope's wasm beam search (bench/wasm_bench.cpp beam()): the same search in
// TF.js ops (wasm backend), on varscope's own weights, from the same tiled encoder state.
//
// `problem` is wasm_bench's seed_beam_problem(): the seed model's variables by name, the
// embedding, the tiled encoder state [B*K, H], varscope's ids [B, T, K] after gather_tree and
// final log-probs [B, K]. The search is TF 1.x's BeamSearchDecoder with length_penalty 0 (as
// bench/peer_torch.py's beam_search): only beam 0 live at the start, finished beams extend with
// the end token at zero cost, top-K over K*V per batch row, the state gathered by parent, stop
// when every beam has finished or after max_len steps, then gather_tree (tokens after a
// beam's first end token become the end token). The decoder step is TF's GRUCell:
// r, u = sigmoid([x, h] Wg + bg); c = tanh([x, r*h] Wc + bc); h' = u*h + (1-u)*c; logits = h' Wout.
//
// Browser: web/bench.js (dist/tfjs/tfjs_beam.mjs); node: bench/run_wasm.mjs.
import { timeIt } from './tfjs_gru.mjs';

// The variable whose name (without ":0") is `name`; a clear error listing the names otherwise.
function variable(problem, name) {
  for (const [k, v] of Object.entries(problem.variables)) if (k.replace(/:0$/, '') === name) return v;
  throw new Error(`tfjs_beam: no variable '${name}' in the problem (has: ${Object.keys(problem.variables).join(', ')})`);
}

// Builds the weights once; returns { search, dispose }. search() -> { ids: Int32Array [B, T, K],
// steps, finalLogProbs: Float32Array [B, K] }.
export function makeTfjsBeam(tf, problem) {
  const K = problem.beam_width, T = problem.max_len, eos = problem.eos;
  const wg = variable(problem, 'decoder/cell/gates/kernel');
  const H = variable(problem, 'decoder/cell/candidate/bias').length;
  const E = wg.length / (2 * H) - H;
  const V = variable(problem, 'decoder/out_layer/kernel').length / H;
  const B = problem.tiled_state.length / H / K;
  if (!Number.isInteger(E) || !Number.isInteger(V) || !Number.isInteger(B) || problem.embedding.length !== V * E)
    throw new Error(`tfjs_beam: inconsistent shapes (H ${H}, E ${E}, V ${V}, B ${B})`);
  const w = {
    emb: tf.tensor2d(problem.embedding, [V, E]),
    wg: tf.tensor2d(wg, [E + H, 2 * H]),
    bg: tf.tensor1d(variable(problem, 'decoder/cell/gates/bias')),
    wc: tf.tensor2d(variable(problem, 'decoder/cell/candidate/kernel'), [E + H, H]),
    bc: tf.tensor1d(variable(problem, 'decoder/cell/candidate/bias')),
    wout: tf.tensor2d(variable(problem, 'decoder/out_layer/kernel'), [H, V]),
    state0: tf.tensor2d(problem.tiled_state, [B * K, H]),
  };
  const eosOnly = new Float32Array(V).fill(-Infinity);
  eosOnly[eos] = 0;
  w.eosOnly = tf.broadcastTo(tf.tensor1d(eosOnly), [B, K, V]);
  w.base = tf.tensor2d(Array.from({ length: B }, (_, b) => b * K), [B, 1], 'int32');
  const lp0 = new Float32Array(B * K).fill(-Infinity);
  const fin0 = new Int32Array(B * K).fill(1);  // finished as 0/1 int32 (gather on bool is not in every backend)
  for (let b = 0; b < B; ++b) { lp0[b * K] = 0; fin0[b * K] = 0; }

  function search() {
    let logProbs = tf.tensor2d(lp0, [B, K]);
    let finished = tf.tensor2d(fin0, [B, K], 'int32');
    let ids = tf.fill([B * K], problem.bos, 'int32');
    let state = w.state0.clone();
    const words = [], parents = [];
    for (let t = 0; t < T; ++t) {
      if (tf.tidy(() => finished.min().dataSync()[0]) === 1) break;
      const next = tf.tidy(() => {
        const x = tf.gather(w.emb, ids);
        // bias-add and sigmoid fused into the products (tf.fused.matMul), as a tuned TF.js user writes it
        const g = tf.fused.matMul({ a: tf.concat([x, state], 1), b: w.wg, bias: w.bg, activation: 'sigmoid' });
        const [r, u] = tf.split(g, 2, 1);
        const c = tf.tanh(tf.fused.matMul({ a: tf.concat([x, tf.mul(r, state)], 1), b: w.wc, bias: w.bc }));
        const h = tf.add(c, tf.mul(u, tf.sub(state, c)));  // u*h + (1-u)*c
        let lp = tf.logSoftmax(tf.matMul(h, w.wout)).reshape([B, K, V]);
        lp = tf.where(tf.broadcastTo(tf.cast(finished, 'bool').expandDims(2), [B, K, V]), w.eosOnly, lp);
        const total = tf.add(logProbs.expandDims(2), lp).reshape([B, K * V]);
        const { values, indices } = tf.topk(total, K);
        const vocab = tf.scalar(V, 'int32');  // an int32 divisor keeps the ids int32
        const parent = tf.floorDiv(indices, vocab);
        const word = tf.sub(indices, tf.mul(parent, vocab));
        const prev = tf.gather(finished, parent, 1, 1);
        return {
          logProbs: values, finished: tf.maximum(prev, tf.cast(tf.equal(word, eos), 'int32')), ids: word.reshape([-1]),
          state: tf.gather(h, tf.add(w.base, parent).reshape([-1])), word, parent,
        };
      });
      tf.dispose([logProbs, finished, ids, state]);
      ({ logProbs, finished, ids, state } = next);
      words.push(next.word.dataSync().slice());
      parents.push(next.parent.dataSync().slice());
      tf.dispose([next.word, next.parent]);
    }
    const finalLogProbs = logProbs.dataSync().slice();
    tf.dispose([logProbs, finished, ids, state]);
    return { ids: gatherTree(words, parents, B, K, eos), steps: words.length, finalLogProbs };
  }
  return { search, dispose: () => tf.dispose(Object.values(w)) };
}

// TF's gather_tree: follow each final beam back through its parents; after a beam's first end
// token every later token is the end token. words/parents: per step Int32Array [B, K].
export function gatherTree(words, parents, B, K, eos) {
  const steps = words.length;
  const out = new Int32Array(B * steps * K);
  for (let b = 0; b < B; ++b)
    for (let k = 0; k < K; ++k) {
      let beam = k;
      for (let t = steps - 1; t >= 0; --t) {
        out[(b * steps + t) * K + k] = words[t][b * K + beam];
        beam = parents[t][b * K + beam];
      }
      let ended = false;
      for (let t = 0; t < steps; ++t) {
        const i = (b * steps + t) * K + k;
        if (ended) out[i] = eos;
        else if (out[i] === eos) ended = true;
      }
    }
  return out;
}

// TF.js's search result `r` (makeTfjsBeam's search()) against varscope's in `problem`: the ids after
// gather_tree equal (and as many steps), the final log-probs within 1e-3 (NaN fails).
export function compareBeams(problem, r) {
  let ids_equal = r.steps === problem.steps && r.ids.length === problem.ids.length;
  for (let i = 0; ids_equal && i < r.ids.length; ++i) ids_equal = r.ids[i] === problem.ids[i];
  let max_final_log_prob_diff = 0;
  for (let i = 0; i < r.finalLogProbs.length; ++i)
    max_final_log_prob_diff = Math.max(max_final_log_prob_diff, Math.abs(r.finalLogProbs[i] - problem.final_log_probs[i]));
  return { ids_equal, max_final_log_prob_diff, agrees: ids_equal && max_final_log_prob_diff <= 1e-3 };
}

// Times the TF.js search and checks it against varscope's beams. The backend must be set up
// (setupWasm). Returns a JSON-able object: median_us per search, and `agrees` (ids equal,
// same number of steps, final log-probs within 1e-3).
export function benchTfjsBeam({ tf, problem, reps = 50, warmup = 3 }) {
  const beam = makeTfjsBeam(tf, problem);
  try {
    const before = tf.memory().numTensors;
    const r = beam.search();
    const leaked = tf.memory().numTensors - before;
    const timing = timeIt(() => beam.search(), reps, warmup);
    return {
      name: 'tfjs_beam', backend: tf.getBackend(), reps, steps: r.steps, ...compareBeams(problem, r),
      leaked_tensors: leaked, ...timing,
    };
  } finally {
    beam.dispose();
  }
}

