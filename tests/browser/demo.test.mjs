#!/usr/bin/env node
// Browser test of the demo page (web/) in headless Chromium (apt `chromium`,
// driven by npm playwright-core; no browser is ever downloaded).
//   node tests/browser/demo.test.mjs [--web DIR] [--dist DIR] [--artifacts DIR] [--native PATH]
// Starts tools/serve-web.mjs on a random 127.0.0.1 port, loads the page, checks
// each section, saves a screenshot per section into the artifacts folder, and
// compares the page's seq2seq numbers with the same .mjs under node and (when
// --native gives a native build's varscope_web_native; the wasm preset passes
// -DVARSCOPE_NATIVE_WEB_EXE) with the native build. --dist is the wasm build's
// web-dist folder (served as the page's dist/). Exits 1 on any failed check, listing them.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { repo, chromiumPath, commandLine, defaultDist, eq, harness, openDemoPage } from './support.mjs';

const opt = commandLine();
const webDir = path.resolve(opt('--web', path.join(repo, 'web')));
const distDir = path.resolve(opt('--dist', defaultDist));
const artifacts = path.resolve(opt('--artifacts', path.join(repo, 'build', 'test-artifacts')));
const nativeExe = opt('--native', '');
// Native vs wasm (other compiler, SIMD and BLAS kernels): scores are float32 sums of
// log-probabilities of magnitude <= ~64 here, whose ulp is 3.8e-6; measured max diff 3.8e-6
// (one ulp). 1e-5 allows ~2.6 ulp. Browser vs node (the same .mjs) is compared exactly.
const TOL = 1e-5;

const { timings, check, run } = harness();

const expectedUnshared = [
  'feed_forward_x/dense_a/kernel:0', 'feed_forward_x/dense_a/bias:0',
  'feed_forward_x/dense_b/kernel:0', 'feed_forward_x/dense_b/bias:0',
  'feed_forward_y/dense_a/kernel:0', 'feed_forward_y/dense_a/bias:0',
  'feed_forward_y/dense_b/kernel:0', 'feed_forward_y/dense_b/bias:0',
];
const expectedShared = [
  'feed_forward_shared/dense_a/kernel:0', 'feed_forward_shared/dense_a/bias:0',
  'feed_forward_shared/dense_b/kernel:0', 'feed_forward_shared/dense_b/bias:0',
];
const expectedSeq2seqVars = [
  'embedding:0',
  'encoder/cell/gates/kernel:0', 'encoder/cell/gates/bias:0',
  'encoder/cell/candidate/kernel:0', 'encoder/cell/candidate/bias:0',
  'decoder/decoder/cell/gates/kernel:0', 'decoder/decoder/cell/gates/bias:0',
  'decoder/decoder/cell/candidate/kernel:0', 'decoder/decoder/cell/candidate/bias:0',
  'decoder/decoder/out_layer/kernel:0',
];
// What the page decodes on load (app.js readParams with the form's defaults).
const ones8 = [1, 1, 1, 1, 1, 1, 1, 1];
const defaultParams = { sources: [ones8, ones8], beamWidth: 3, maxLen: 8, lengthPenalty: 0, seed: 0 };
// A ragged batch, decoded in the page and natively (the lengths differ per row).
const raggedParams = { sources: [[5, 6, 7], [1, 2999, 42, 7, 7]], beamWidth: 4, maxLen: 6, lengthPenalty: 0.6, seed: 0 };

// Same binary (the page's .mjs under node): every number must be identical, bit for bit.
function compareExact(label, a, b) {
  const parts = {
    'train argmax ids': [a.trainArgmax, b.trainArgmax],
    'hypotheses (ids, lengths, scores, log probs)': [a.hypotheses, b.hypotheses],
    'variable names, shapes and fingerprints': [a.variables, b.variables],
    'per-decoder variables and fingerprints': [a.decoders, b.decoders],
    'training logits fingerprint': [a.trainLogitsFingerprint, b.trainLogitsFingerprint],
  };
  for (const [what, [x, y]] of Object.entries(parts)) {
    check(x !== undefined && eq(x, y), `${label}: ${what} identical`,
      `${JSON.stringify(x).slice(0, 300)}\n     vs ${JSON.stringify(y).slice(0, 300)}`);
  }
}

// Another build (native, other compiler and SIMD): the same ids and lengths, the same
// weights (initial values are bit-exact across builds: tests/init_test.cpp), scores
// within TOL (float32 sums of log-softmax values ~ -10, computed with other kernels).
function compareNative(label, a, b) {
  let worst = 0;
  let same = eq(a.trainArgmax, b.trainArgmax) && a.hypotheses.length === b.hypotheses.length;
  a.hypotheses.forEach((row, r) => {
    const other = b.hypotheses[r] || [];
    same = same && row.length === other.length;
    row.forEach((h, k) => {
      const o = other[k];
      if (!o) { same = false; return; }
      same = same && eq(h.ids, o.ids) && h.length === o.length;
      worst = Math.max(worst, Math.abs(h.score - o.score), Math.abs(h.logProb - o.logProb));
    });
  });
  check(same && worst <= TOL, `${label}: same ids, lengths and train argmax; scores within ${TOL}`,
    `max |diff| = ${worst}; ids equal: ${same}`);
  check(eq(a.variables, b.variables), `${label}: the same variable names, shapes and fingerprints (bit-identical weights)`,
    JSON.stringify(a.variables.map((v, i) => [v.name, v.fingerprint, b.variables[i]?.fingerprint])));
  console.log(`     ${label}: max |score diff| = ${worst.toExponential(2)}; ` +
    `first hypothesis score ${a.hypotheses[0][0].score} vs ${b.hypotheses[0][0].score}`);
}

// What the page shows, read from the DOM (not from window.varscopeDemo).
async function rendered(page) {
  return page.evaluate(() => {
    const cells = (tr) => [...tr.cells].map((c) => c.textContent);  // th (row header) and td cells
    return {
      train: document.getElementById('s2s-train').textContent,
      beams: [...document.querySelectorAll('#s2s-beam-tables table')].map((t) => ({
        row: Number(t.dataset.row),
        rows: [...t.tBodies[0].rows].map(cells),
      })),
      vars: [...document.getElementById('s2s-vars').tBodies[0].rows].map(cells),
      shared: [...document.getElementById('s2s-shared').tBodies[0].rows].map(cells),
    };
  });
}

// The DOM must show exactly `ref`'s numbers (node's output of the same binary), in the
// page's formats: ids joined by spaces, scores and log probs with toFixed(5).
function checkRendered(label, dom, ref) {
  const train = ref.trainArgmax.map((ids) => `[${ids.join(' ')}]`).join(' ');
  check(dom.train === train, `${label}: the rendered training-decoder ids are node's`, `${dom.train} vs ${train}`);
  const beams = ref.hypotheses.map((hyps, b) => ({
    row: b,
    rows: hyps.map((h, i) => [String(i), h.ids.join(' '), h.score.toFixed(5), String(h.length), h.logProb.toFixed(5)]),
  }));
  check(eq(dom.beams, beams), `${label}: the rendered beam tables (ids, scores, lengths, log probs) are node's`,
    `${JSON.stringify(dom.beams).slice(0, 400)}\n     vs ${JSON.stringify(beams).slice(0, 400)}`);
  const fps = ref.variables.map((v) => [v.name, v.fingerprint]);
  check(eq(dom.vars.map((c) => [c[0], c[2]]), fps), `${label}: the rendered variable fingerprints are node's`,
    JSON.stringify(dom.vars).slice(0, 400));
  const shared = ref.decoders.trainer.map((v, i) => [v.name, v.fingerprint, ref.decoders.generation[i].fingerprint, 'yes']);
  check(eq(dom.shared, shared), `${label}: the rendered per-decoder fingerprints are node's (all shared)`,
    JSON.stringify(dom.shared).slice(0, 400));
}

// The DOM against another build: ids exactly, printed scores within TOL + the 5e-6 of toFixed(5).
function checkRenderedNative(label, dom, ref) {
  let worst = 0;
  let same = dom.beams.length === ref.hypotheses.length;
  dom.beams.forEach((t, b) => t.rows.forEach((cells, k) => {
    const h = ref.hypotheses[b]?.[k];
    if (!h) { same = false; return; }
    same = same && cells[1] === h.ids.join(' ') && cells[3] === String(h.length);
    worst = Math.max(worst, Math.abs(Number(cells[2]) - h.score), Math.abs(Number(cells[4]) - h.logProb));
  }));
  check(same && worst <= TOL + 5e-6, `${label}: rendered ids equal native's, rendered scores within ${TOL} + 5e-6`,
    `max |diff| ${worst}, ids equal ${same}`);
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const mjs = path.join(distDir, 'varscope_web.mjs');
  if (!check(fs.existsSync(mjs) && fs.existsSync(path.join(distDir, 'varscope_web.wasm')),
    `${distDir}/varscope_web.{mjs,wasm} exist (built by the wasm preset)`)) return;
  if (!check(fs.existsSync(chromiumPath), `Chromium at ${chromiumPath} (apt-get install chromium)`)) return;

  // Reference 1: the same .mjs under node.
  let t = performance.now();
  const { default: createVarscope } = await import(pathToFileURL(mjs).href);
  const nodeMod = await createVarscope();
  const nodeRef = JSON.parse(nodeMod.seq2seq(JSON.stringify(defaultParams)));
  const nodeRagged = JSON.parse(nodeMod.seq2seq(JSON.stringify(raggedParams)));
  timings.nodeLoadAndDecodeMs = performance.now() - t;
  check(nodeRef.ok === true, 'node: seq2seq runs', JSON.stringify(nodeRef).slice(0, 300));

  // Reference 2: the native build of the same bindings (when --native is given; a given
  // path that does not exist is a failure, not a skip).
  let nativeRef = null;
  if (nativeExe && !fs.existsSync(nativeExe)) {
    check(false, `native: ${nativeExe} exists`, 'build it: cmake --build --preset native --target varscope_web_native');
  } else if (nativeExe) {
    t = performance.now();
    nativeRef = JSON.parse(execFileSync(nativeExe, ['seq2seq', JSON.stringify(defaultParams)], { encoding: 'utf8' }));
    nativeRef.ragged = JSON.parse(execFileSync(nativeExe, ['seq2seq', JSON.stringify(raggedParams)], { encoding: 'utf8' }));
    timings.nativeDecodeMs = performance.now() - t;
    check(nativeRef.ok === true, 'native: seq2seq runs');
  } else {
    console.log('NOTE native comparison NOT RUN: no --native given (configure the wasm preset with '
      + '-DVARSCOPE_NATIVE_WEB_EXE=<native build>/varscope_web_native)');
  }

  const { page, pageErrors, foreign, readyMs, close } = await openDemoPage({ webDir, distDir });
  timings.pageReadyMs = readyMs;
  try {
    check(await page.locator('#error').isHidden(), 'no error shown after load',
      await page.locator('#error').textContent());
    const initial = await page.evaluate(() => window.varscopeDemo.lastSeq2seq);

    // ------------------------------------------------------------ 1. reuse modes
    const setReuse = async (outer, inner) => {
      await page.selectOption('#reuse-outer', outer);
      await page.selectOption('#reuse-inner', inner);
      await page.waitForSelector(`#reuse[data-state="${outer}/${inner}"]`);
      await page.waitForSelector('body[data-pending="0"]');
      return {
        effective: await page.textContent('#reuse-effective'),
        create: await page.textContent('#reuse-create'),
        get: await page.textContent('#reuse-get'),
      };
    };
    let r = await setReuse('None', 'AUTO_REUSE');
    check(r.effective === '_ReuseMode.AUTO_REUSE', 'reuse None/AUTO_REUSE: effective _ReuseMode.AUTO_REUSE', r.effective);
    check(r.create.startsWith('create') && r.get.startsWith('return'), 'reuse None/AUTO_REUSE: creates new, returns existing', JSON.stringify(r));
    r = await setReuse('None', 'None');
    check(r.effective === 'False' && r.create.startsWith('create') && !r.get.startsWith('return'),
      'reuse None/None: False, creates new, existing is an error', JSON.stringify(r));
    r = await setReuse('None', 'True');
    check(r.effective === 'True', 'reuse None/True: effective True', r.effective);
    check(!r.create.startsWith('create') && /new_variable/.test(r.create) && r.create.length > 20,
      'reuse None/True: a new name is a readable error', r.create);
    check(r.get.startsWith('return'), 'reuse None/True: existing is returned', r.get);
    console.log(`     new name under reuse=True: ${r.create.split('\n')[0]}`);
    r = await setReuse('True', 'None');
    check(r.effective === 'True', 'reuse True/None: inherits True', r.effective);
    await page.locator('#reuse').screenshot({ path: path.join(artifacts, 'section1-reuse.png') });

    // ------------------------------------------------------------ 2. feed-forward
    const names = (sel) => page.$$eval(`${sel} li code`, (els) => els.map((e) => e.textContent));
    const unshared = await names('#ff-unshared-vars');
    const shared = await names('#ff-shared-vars');
    check(eq(unshared, expectedUnshared), 'feed-forward: the 8 unshared variable names', JSON.stringify(unshared));
    check(eq(shared, expectedShared), 'feed-forward: the 4 shared variable names', JSON.stringify(shared));
    check(await page.textContent('#ff-unshared-flag') === 'False', 'feed-forward unshared: shared: False');
    check(await page.textContent('#ff-shared-flag') === 'True', 'feed-forward shared: shared: True');
    await page.locator('#feedforward').screenshot({ path: path.join(artifacts, 'section2-feedforward.png') });

    // ------------------------------------------------------------ 3. seq2seq
    const runs = async () => Number(await page.getAttribute('#seq2seq', 'data-runs'));
    const waitRun = async (before) => {
      await page.waitForFunction((n) => Number(document.getElementById('seq2seq').dataset.runs) > n, before, { timeout: 60000 });
      await page.waitForSelector('body[data-pending="0"]');
      return page.evaluate(() => window.varscopeDemo.lastSeq2seq);
    };
    const beamRows = async (row) => (await page.$$(`#s2s-beam-tables table[data-row="${row}"] tbody tr`)).length;
    check(initial && initial.hypotheses.length === 2 && initial.hypotheses.every((h) => h.length === 3),
      'seq2seq on load: 2 batch rows, 3 hypotheses each for beam width 3');
    check((await page.$$('#s2s-beam-tables table')).length === 2 && await beamRows(0) === 3 && await beamRows(1) === 3,
      'seq2seq: one beam table per batch row, beamWidth (3) rows each');
    // Both decoders hold the same 5 decoder variables, with identical values.
    const sharedTable = (r) => r.decoders.trainer.map((v, i) => [v.name, v.fingerprint, r.decoders.generation[i]?.name, r.decoders.generation[i]?.fingerprint]);
    check(initial.decoders.trainer.length === 5 && sharedTable(initial).every(([n, f, n2, f2]) => n === n2 && f === f2),
      'seq2seq: training and beam-search decoders hold the same 5 variables (names and fingerprints)',
      JSON.stringify(sharedTable(initial)));
    check(eq(initial.decoders.trainer.map((v) => v.name), expectedSeq2seqVars.slice(5)),
      'seq2seq: the shared variables are the decoder/decoder/... ones');
    check((await page.textContent('#s2s-shared-verdict')).startsWith('True'), 'seq2seq: the page says Shared: True');
    const varNames = await page.$$eval('#s2s-vars tbody tr td:first-child', (els) => els.map((e) => e.textContent));
    check(eq(varNames, expectedSeq2seqVars), "seq2seq: the article's 10 variable names in order", JSON.stringify(varNames));

    compareExact('browser vs node (same .mjs)', initial, nodeRef);
    checkRendered('on load', await rendered(page), nodeRef);
    if (nativeRef) {
      compareNative('browser vs native build', initial, nativeRef);
      checkRenderedNative('on load vs native', await rendered(page), nativeRef);
    }

    // Seed control: a new seed is a new graph; going back to seed 0 reproduces the first values.
    await page.fill('#s2s-seed', '7');
    let before = await runs();
    await page.click('#s2s-decode');
    const seeded = await waitRun(before);
    // Random initial values change with the seed; the constant biases (ones / zeros) do not.
    const randomInit = (v) => /kernel|embedding/.test(v.name);
    check(seeded.seed === 7 && eq(seeded.variables.map((v) => v.name), expectedSeq2seqVars) &&
      seeded.variables.every((v, i) => (v.fingerprint !== initial.variables[i].fingerprint) === randomInit(v)),
      'seed 7: same 10 names; every randomly initialised value differs, the constant biases do not',
      JSON.stringify(seeded.variables.map((v, i) => [v.name, v.fingerprint, initial.variables[i].fingerprint])));
    await page.fill('#s2s-seed', '0');
    before = await runs();
    await page.click('#s2s-decode');
    const reseeded = await waitRun(before);
    check(eq(reseeded.variables, initial.variables) && eq(reseeded.hypotheses, initial.hypotheses),
      'seed 0 again: the same weights and hypotheses as on load');

    // A ragged batch typed into the textarea, compared with node and native.
    await page.fill('#s2s-source', raggedParams.sources.map((r) => r.join(' ')).join('\n'));
    await page.fill('#s2s-beam', '4');
    await page.fill('#s2s-maxlen', '6');
    await page.fill('#s2s-penalty', '0.6');
    before = await runs();
    await page.click('#s2s-decode');
    const ragged = await waitRun(before);
    check(eq(ragged.trainArgmax.map((r) => r.length), [3, 5]), 'ragged batch: train argmax per row has the row length');
    compareExact('ragged batch: browser vs node', ragged, nodeRagged);
    checkRendered('ragged batch', await rendered(page), nodeRagged);
    if (nativeRef) {
      compareNative('ragged batch: browser vs native build', ragged, nativeRef.ragged);
      checkRenderedNative('ragged batch vs native', await rendered(page), nativeRef.ragged);
    }

    // Invalid parameters: a readable error naming the bad id.
    await page.fill('#s2s-source', '1 2 5000');
    await page.click('#s2s-decode');
    await page.waitForSelector('#error:not([hidden])', { timeout: 30000 });
    const paramError = (await page.textContent('[role="alert"]')) || '';
    check(/5000/.test(paramError) && /vocabulary/.test(paramError), 'invalid token id: the alert names it', paramError);
    await page.fill('#s2s-source', '1 1 1 1 1 1 1 1\n1 1 1 1 1 1 1 1');

    before = await runs();
    t = performance.now();
    await page.click('#s2s-decode');
    const b4 = await waitRun(before);
    timings.decodeBeam4Ms = performance.now() - t;
    check(await beamRows(0) === 4 && await beamRows(1) === 4 && b4.hypotheses[0].length === 4,
      'seq2seq: beam width 4 gives 4-row tables');
    check(await page.locator('#error').isHidden(), 'a successful decode clears the earlier alert');
    check(b4.hypotheses[0].every((h) => h.length <= 6), 'seq2seq: max length 6 respected');
    const sorted = b4.hypotheses[0].every((h, i, a) => i === 0 || a[i - 1].score >= h.score);
    check(sorted, 'seq2seq: hypotheses sorted best first');

    before = await runs();
    await page.click('#s2s-perturb');
    const p1 = await waitRun(before);
    const fpBefore = Object.fromEntries(b4.variables.map((v) => [v.name, v.fingerprint]));
    const fpAfter = Object.fromEntries(p1.variables.map((v) => [v.name, v.fingerprint]));
    const changed = Object.keys(fpAfter).filter((k) => fpAfter[k] !== fpBefore[k]);
    check(eq(changed, ['decoder/decoder/out_layer/kernel:0']), 'perturb: only the shared out_layer kernel changes', JSON.stringify(changed));
    check(!eq(p1.hypotheses, b4.hypotheses), 'perturb: beam-search outputs change', JSON.stringify(p1.hypotheses[0][0]));
    console.log(`     train argmax ${eq(p1.trainArgmax, b4.trainArgmax) ? 'unchanged' : 'changed'} by the perturbation`);
    const outKernel = (r, which) => r.decoders[which].at(-1).fingerprint;
    check(outKernel(p1, 'trainer') === outKernel(p1, 'generation') && outKernel(p1, 'trainer') !== outKernel(b4, 'trainer'),
      'perturb: both decoders see the new out_layer kernel (same new fingerprint)');
    check(p1.trainLogitsFingerprint !== b4.trainLogitsFingerprint,
      'perturb: the training decoder\'s logits change too (both decoders read the shared weight)');
    await page.locator('#seq2seq').screenshot({ path: path.join(artifacts, 'section3-seq2seq.png') });

    // ------------------------------------------------------------ 4. checkpoint
    const ckptPath = path.join(artifacts, 'varscope-demo-checkpoint.json');
    t = performance.now();
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ckpt-save')]);
    await download.saveAs(ckptPath);
    timings.saveCheckpointMs = performance.now() - t;
    let saved = null;
    try { saved = JSON.parse(fs.readFileSync(ckptPath, 'utf8')); } catch (e) { saved = null; }
    check(saved && saved.format === 'varscope-checkpoint', 'checkpoint: download is a varscope checkpoint',
      saved ? JSON.stringify(Object.keys(saved)) : 'not JSON');
    console.log(`     checkpoint ${(fs.statSync(ckptPath).size / 1e6).toFixed(1)} MB`);

    // Change the weights again, then load the saved file: the fingerprints come back.
    before = await runs();
    await page.click('#s2s-perturb');
    const p2 = await waitRun(before);
    check(p2.variables.at(-1).fingerprint !== p1.variables.at(-1).fingerprint, 'perturbing twice changes the kernel again');
    before = await runs();
    t = performance.now();
    await page.setInputFiles('#ckpt-file', ckptPath);
    await page.waitForSelector('#checkpoint[data-loaded="1"]', { timeout: 60000 });
    const restored = await waitRun(before);
    timings.loadCheckpointMs = performance.now() - t;
    const report = await page.textContent('#ckpt-report');
    check(/ok/.test(report) && await page.locator('#error').isHidden(), 'checkpoint: loading the download is ok', report);
    const progress = await page.evaluate(() => ({
      read: Number(document.getElementById('checkpoint').dataset.progress),
      value: document.getElementById('ckpt-progress').value,
      max: document.getElementById('ckpt-progress').max,
      label: document.getElementById('ckpt-progress-label').textContent,
    }));
    check(progress.read === fs.statSync(ckptPath).size,
      'checkpoint: the chunked reader read the whole file', JSON.stringify(progress));
    check(progress.value === progress.max && progress.max === fs.statSync(ckptPath).size,
      'checkpoint: progress value == max == file size', JSON.stringify(progress));
    check(eq(restored.variables, p1.variables), 'checkpoint: restored fingerprints equal the saved ones');
    check(eq(restored.hypotheses, p1.hypotheses), 'checkpoint: decoding after restore reproduces the saved outputs');

    // A bad file, dropped on the drop zone.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['{not json'], 'bad.json', { type: 'application/json' }));
      document.getElementById('ckpt-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForSelector('#error:not([hidden])', { timeout: 30000 });
    const alertText = (await page.textContent('[role="alert"]')) || '';
    check(/bad\.json/.test(alertText) && /Checkpoint|JSON|json|parse/.test(alertText) && alertText.length < 2000,
      'checkpoint: a bad file shows a readable error in role=alert', alertText);
    console.log(`     alert: ${alertText.split('\n')[0]}`);
    // Still usable, and the model unchanged, after the error.
    before = await runs();
    await page.click('#s2s-decode');
    const after = await waitRun(before);
    check(eq(after.variables, p1.variables), 'checkpoint: a failed load modifies nothing');
    await page.locator('#checkpoint').screenshot({ path: path.join(artifacts, 'section4-checkpoint.png') });
    await page.screenshot({ path: path.join(artifacts, 'page-desktop.png'), fullPage: true });

    // ------------------------------------------------------------ 5. article tour
    const tourText = await page.textContent('#tour-output');
    check(/shared: True/.test(tourText) && /shared: False/.test(tourText) &&
      expectedSeq2seqVars.every((n) => tourText.includes(n)),
      'tour: the page shows the article blocks (shared True/False, the 10 seq2seq names)', tourText.slice(0, 200));
    const sectionCount = await page.$$eval('#tour-section option', (o) => o.length);
    check(sectionCount >= 9, 'tour: one option per article block', String(sectionCount));
    await page.selectOption('#tour-section', 'feed-forward-shared');
    const tourRuns = Number(await page.getAttribute('#tour', 'data-runs'));
    await page.click('#tour-run');
    await page.waitForFunction((n) => Number(document.getElementById('tour').dataset.runs) > n, tourRuns);
    const one = await page.textContent('#tour-output');
    check(/^== \[feed-forward-shared\]/.test(one) && /shared: True/.test(one) && !/shared: False/.test(one),
      'tour: one block on its own', one.slice(0, 120));
    await page.locator('#tour').screenshot({ path: path.join(artifacts, 'section5-tour.png') });

    // Narrow screen: no horizontal scrolling of the page.
    await page.setViewportSize({ width: 360, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, 'narrow screen (360 px): no horizontal page overflow', `overflow ${overflow}px`);
    await page.screenshot({ path: path.join(artifacts, 'page-narrow.png'), fullPage: true });

    check(pageErrors.length === 0, 'no page errors', pageErrors.join('\n     '));
    check(foreign.length === 0, 'no requests beyond the page origin', foreign.join(' '));
  } finally {
    await close();
  }
}

await run(main, 'all browser demo checks passed', [`screenshots: ${artifacts}`]);
