#!/usr/bin/env node
// native == wasm decode of the committed date model (beam search and sampling), under node:
//   node tests/wasm/dates_decode_wasm.mjs --module build/wasm/varscope_web.mjs \
//        --checkpoint models/dates.json --golden tests/data/dates_decode_native.json
// The golden is the NATIVE CLI's `varscope decode --json` output for the same inputs
// (tools/gen-dates-decode-golden.py; ctest `dates_decode_golden` keeps it current).
// Here the wasm build (the browser's bindings, datesLoad + datesDecode) decodes each
// input: the hypotheses' ids, texts and lengths must be equal, scores and log-probs within
// 1e-5 * max(1, |native value|). Scores are float32 sums of ~11 log-softmax terms computed
// with other kernels (native: AVX2 FMA / OpenBLAS; wasm: SIMD128 without FMA); for
// unlikely hypotheses (score ~ -11, ulp 9.5e-7) the measured difference reached 1.14e-5
// absolute = 1.05e-6 relative (12 ulp), so the bound is 1e-5 absolute up to |score| 1 and
// 1e-5 relative beyond. Prints the measured max absolute and relative differences.
// Then the golden's sampling cases (a seed's draws): the same ids and text as native.
// With an attention model's golden (tools/gen-dates-decode-golden.py --attention, whose
// hypotheses carry `alignments`): each hypothesis' alignments must have native's shape
// ([length, source characters]) and values within 1e-5 (softmaxes of float32 scores, the
// same kernels' differences as the scores); a golden with alignments and a wasm decode
// without them (or the reverse) is a mismatch.
// Exits 1 on any mismatch.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) {
    console.error(`missing ${name} PATH`);
    process.exit(2);
  }
  return path.resolve(args[i + 1]);
};
const modulePath = opt('--module');
const checkpoint = opt('--checkpoint');
const golden = JSON.parse(fs.readFileSync(opt('--golden'), 'utf8'));
const TOL = 1e-5;
const bound = (native) => TOL * Math.max(1, Math.abs(native));

const { default: createVarscope } = await import(pathToFileURL(modulePath).href);
const mod = await createVarscope();
const loaded = JSON.parse(mod.datesLoad(fs.readFileSync(checkpoint, 'utf8'), `models/${path.basename(checkpoint)}`));
const ALIGN_TOL = 1e-5;
let worstAlign = 0;
let alignRows = 0;
/** '' when the alignments agree, else what differs. */
function alignmentsDiffer(w, n) {
  if (!n.alignments && !w.alignments) return '';
  if (!n.alignments || !w.alignments) return `alignments: wasm ${w.alignments ? 'has' : 'has none'}, native ${n.alignments ? 'has' : 'has none'}`;
  if (w.alignments.length !== n.alignments.length) return `alignments: ${w.alignments.length} rows vs native ${n.alignments.length}`;
  for (let t = 0; t < n.alignments.length; ++t) {
    if (w.alignments[t].length !== n.alignments[t].length) return `alignments row ${t}: ${w.alignments[t].length} columns vs native ${n.alignments[t].length}`;
    alignRows += 1;
    for (let j = 0; j < n.alignments[t].length; ++j) {
      const d = Math.abs(w.alignments[t][j] - n.alignments[t][j]);
      worstAlign = Math.max(worstAlign, d);
      if (!(d <= ALIGN_TOL)) return `alignments[${t}][${j}]: wasm ${w.alignments[t][j]} vs native ${n.alignments[t][j]}`;
    }
  }
  return '';
}
if (!loaded.ok) {
  console.error(`FAIL datesLoad: ${JSON.stringify(loaded)}`);
  process.exit(1);
}
const failures = [];
let worst = 0;
let worstRel = 0;
let worstTop = 0;
let compared = 0;
golden.results.forEach((expected, i) => {
  const input = golden.inputs[i];
  const failedBefore = failures.length;
  const r = JSON.parse(mod.datesDecode(JSON.stringify({ text: input, beam: golden.beam, nBest: golden.n_best })));
  if (!r.ok) {
    failures.push(`${JSON.stringify(input)}: ${r.kind}: ${r.message}`);
    return;
  }
  if (r.hypotheses.length !== expected.hypotheses.length) {
    failures.push(`${JSON.stringify(input)}: ${r.hypotheses.length} hypotheses vs native ${expected.hypotheses.length}`);
    return;
  }
  expected.hypotheses.forEach((n, k) => {
    const w = r.hypotheses[k];
    const same = JSON.stringify(w.ids) === JSON.stringify(n.ids) && w.length === n.length && w.text === n.text;
    const dScore = Math.abs(w.score - n.score);
    const dLogProb = Math.abs(w.logProb - n.log_prob);
    const diff = Math.max(dScore, dLogProb);
    worst = Math.max(worst, diff);
    worstRel = Math.max(worstRel, dScore / Math.max(1, Math.abs(n.score)), dLogProb / Math.max(1, Math.abs(n.log_prob)));
    if (k === 0) worstTop = Math.max(worstTop, diff);
    compared += 1;
    if (!same || !(dScore <= bound(n.score)) || !(dLogProb <= bound(n.log_prob)))
      failures.push(`${JSON.stringify(input)} hypothesis ${k}: wasm ${w.text} [${w.ids}] score ${w.score} ` +
        `vs native ${n.text} [${n.ids}] score ${n.score} (|diff| ${diff})`);
    const alignError = alignmentsDiffer(w, n);
    if (alignError) failures.push(`${JSON.stringify(input)} hypothesis ${k}: ${alignError}`);
  });
  console.log(`${failures.length > failedBefore ? 'FAIL' : 'ok  '} ${input.padEnd(28)} -> ${r.hypotheses[0].text} ` +
    `(score ${r.hypotheses[0].score.toFixed(6)}, native ${expected.hypotheses[0].score.toFixed(6)})`);
});
// Sampling (golden.sampling: `varscope decode --sample --temperature T --top-k K --seed S`):
// the same (input, T, K, seed) through datesDecode {sample: true} must draw the same ids.
// The draws are exact (varscope's Rng, IEEE-only arithmetic); the logits agree to float
// rounding, so a draw could only differ on a CDF boundary within ~1e-6: none of these does.
const sampling = golden.sampling ?? [];
// The default model's golden must carry sampling cases; the attention golden has none (its
// generator samples the default model only).
const attentionGolden = String(golden.generated_by ?? '').includes('--attention');
if (sampling.length === 0 && !attentionGolden)
  failures.push('the golden has no sampling cases (regenerate: tools/gen-dates-decode-golden.py)');
let sampled = 0;
for (const c of sampling) {
  const label = `${JSON.stringify(c.input)} T=${c.temperature} k=${c.top_k} seed=${c.seed}`;
  const r = JSON.parse(mod.datesDecode(JSON.stringify({
    text: c.input, sample: true, temperature: c.temperature, topK: c.top_k, seed: c.seed })));
  if (!r.ok) {
    failures.push(`sampling ${label}: ${r.kind}: ${r.message}`);
    continue;
  }
  const got = JSON.stringify(r.hypotheses.map((h) => [h.ids, h.text]));
  const want = JSON.stringify(c.hypotheses.map((h) => [h.ids, h.text]));
  const same = got === want;
  if (!same) failures.push(`sampling ${label}: wasm ${got} vs native ${want}`);
  sampled += 1;
  console.log(`${same ? 'ok  ' : 'FAIL'} sample ${label} -> ${r.hypotheses[0]?.text} (native ${c.hypotheses[0].text})`);
}
console.log(`sampled ${sampled} cases: ids ${failures.some((f) => f.startsWith('sampling')) ? 'DIFFER from' : 'equal to'} native`);
console.log(`compared ${compared} hypotheses of ${golden.inputs.length} inputs (beam ${golden.beam}); ` +
  `max |score or log-prob diff| wasm vs native = ${worst.toExponential(3)} (top hypotheses: ${worstTop.toExponential(3)}); ` +
  `max relative (to max(1, |native|)) = ${worstRel.toExponential(3)} (tolerance ${TOL})`);
if (alignRows) console.log(`alignments: ${alignRows} rows compared, max |wasm - native| = ${worstAlign.toExponential(3)} (tolerance ${ALIGN_TOL})`);
if (compared === 0) failures.push('nothing compared');
if (failures.length) {
  console.log(`FAIL ${failures.length} mismatch(es):\n - ${failures.join('\n - ')}`);
  process.exit(1);
}
console.log('native == wasm: ids equal, scores within tolerance');
