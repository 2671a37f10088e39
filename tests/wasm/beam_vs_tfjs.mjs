// varscope's beam search in wasm against an independent TF.js implementation of TF 1.x's
// BeamSearchDecoder (bench/tfjs_beam.mjs, TF.js's wasm backend) on the same weights: the seed
// benchmark model (vocab 3000, hidden 256, batch 2, width 2, max_len 8) from wasm_bench's
// seed_beam_problem(). Passes when the ids after gather_tree are equal and the beams' final
// log-probabilities agree to 1e-3; prints both otherwise.
//   node tests/wasm/beam_vs_tfjs.mjs --module <build>/wasm_bench.mjs
import { pathToFileURL } from 'node:url';
import { tfjsNode, setupWasm } from '../../bench/tfjs_gru.mjs';
import { makeTfjsBeam, compareBeams } from '../../bench/tfjs_beam.mjs';

const args = process.argv.slice(2);
const modulePath = args[args.indexOf('--module') + 1];
if (!args.includes('--module') || !modulePath) {
  console.error('usage: node tests/wasm/beam_vs_tfjs.mjs --module <build>/wasm_bench.mjs');
  process.exit(2);
}
const { default: createWasmBench } = await import(pathToFileURL(modulePath).href);
const problem = (await createWasmBench()).seed_beam_problem();
const t = await tfjsNode();
const { simd } = await setupWasm(t);
const beam = makeTfjsBeam(t.tf, problem);
const r = beam.search();
beam.dispose();

const c = compareBeams(problem, r);
console.log(`TF.js ${t.tf.version?.tfjs ?? t.tf.version_core} (wasm, simd=${simd}): ${r.steps} steps (varscope ` +
  `${problem.steps}), ids ${c.ids_equal ? 'equal' : 'DIFFER'}, ` +
  `max |final log-prob diff| ${c.max_final_log_prob_diff.toExponential(2)}`);
if (!c.agrees) {
  console.error(`varscope ids ${Array.from(problem.ids).join(' ')}\nTF.js    ids ${Array.from(r.ids).join(' ')}`);
  console.error(`varscope log-probs ${Array.from(problem.final_log_probs).join(' ')}`);
  console.error(`TF.js    log-probs ${Array.from(r.finalLogProbs).join(' ')}`);
  process.exit(1);
}
