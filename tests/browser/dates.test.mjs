#!/usr/bin/env node
// Browser test of the demo's date model (issue 12) in headless Chromium (apt
// `chromium`, npm playwright-core; no browser download), in the harness of support.mjs:
//   node tests/browser/dates.test.mjs [--web DIR] [--dist DIR] [--artifacts DIR] [--golden FILE]
// 1. the committed model, decoded in the page's Web Worker, gives the native CLI's
//    hypotheses (tests/data/dates_decode_native.json: `varscope decode --json`, kept
//    current by the native ctest dates_decode_golden) for several inputs, as rendered text;
// 2. a short training run from scratch whose loss falls (mean of the first 20 steps vs the last 20);
// 3. pause stops the step counter, resume continues it;
// 4. save (download) then load (file input) restores the same decode output and step;
// 5. loading tensorflow/nmt's LSTM model (tests/data/dates_nmt_lstm_tiny.json, written by
//    `varscope train --task dates --cell lstm --layers 2 --bidirectional --steps 3 --hidden 16
//    --embedding 8 --batch 8 --seed 5 --eval-every 0 --out ...`) shows its description and exactly
//    its trainable variables (nmt's names and shapes), and it decodes with shared decoders.
// Exits 1 on any failed check, listing them.
import fs from 'node:fs';
import path from 'node:path';
import { repo, chromiumPath, commandLine, defaultDist, eq, harness, openDemoPage } from './support.mjs';

const opt = commandLine();
const webDir = path.resolve(opt('--web', path.join(repo, 'web')));
const distDir = path.resolve(opt('--dist', defaultDist));
const artifacts = path.resolve(opt('--artifacts', path.join(repo, 'build', 'wasm', 'test-artifacts')));
const golden = JSON.parse(fs.readFileSync(opt('--golden', path.join(repo, 'tests', 'data', 'dates_decode_native.json')), 'utf8'));
const TOL = 1e-5 + 5e-6;  // wasm vs native (tests/wasm/dates_decode_wasm.mjs) + toFixed(5) rounding

const { timings, check, run } = harness();
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of ['varscope_web.mjs', 'varscope_web.wasm', 'models/dates.json', 'uplot/uPlot.esm.js'])
    if (!check(fs.existsSync(path.join(distDir, f)), `${distDir}/${f} exists (built by the wasm preset)`)) return;
  if (!check(fs.existsSync(chromiumPath), `Chromium at ${chromiumPath} (apt-get install chromium)`)) return;

  const { page, pageErrors, foreign, readyMs, close } = await openDemoPage({ webDir, distDir });
  timings.pageReadyMs = readyMs;
  try {
    let t;
    const attr = async (name) => page.getAttribute('#dates', name);
    const step = async () => Number(await attr('data-step'));
    check(Number(await attr('data-decodes')) >= 1, 'the default model is decoded on load');
    check((await page.textContent('#dates-model')).includes('models/dates.json'), 'the page says it runs models/dates.json',
      await page.textContent('#dates-model'));

    // ---------------------------------------------------------- 1. default model == native CLI
    const decodeInPage = async (text, beam = golden.beam) => {
      const before = Number(await attr('data-decodes'));
      await page.fill('#dates-beam', String(beam));
      await page.fill('#dates-input', text);
      await page.click('#dates-decode');
      await page.waitForFunction((n) => Number(document.getElementById('dates').dataset.decodes) > n, before, { timeout: 60000 });
      await page.waitForSelector('body[data-pending="0"]');
      return page.evaluate(() => ({
        rows: [...document.getElementById('dates-beams').tBodies[0].rows].map((tr) => [...tr.cells].map((c) => c.textContent)),
        greedy: document.getElementById('dates-greedy').textContent,
        shared: document.getElementById('dates-shared-verdict').textContent,
        last: window.varscopeDemo.lastDates,
      }));
    };
    const picks = [0, 2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 19];  // every format, era dates with 元年
    let worst = 0;
    for (const i of picks) {
      const input = golden.inputs[i];
      const native = golden.results[i].hypotheses;
      const shown = await decodeInPage(input);
      const rowsOk = shown.rows.length === native.length && shown.rows.every((cells, k) =>
        cells[1] === native[k].text && cells[4] === String(native[k].length));
      shown.rows.forEach((cells, k) => {
        if (native[k]) worst = Math.max(worst, Math.abs(Number(cells[2]) - native[k].score), Math.abs(Number(cells[3]) - native[k].log_prob));
      });
      check(rowsOk && shown.rows[0][1] === native[0].text,
        `"${input}" -> the page shows the native CLI's ${native.length} hypotheses (top: ${native[0].text})`,
        `page ${JSON.stringify(shown.rows)}\n     native ${JSON.stringify(native.map((h) => [h.text, h.score, h.length]))}`);
    }
    check(worst <= TOL, `rendered scores / log-probs within ${TOL} of native's`, `max |diff| ${worst}`);
    console.log(`     max |rendered score - native score| = ${worst.toExponential(2)}`);
    const one = await decodeInPage('Tuesday, December 1, 2026');
    check(one.greedy.startsWith('2026-12-01'), 'greedy shown beside the beams', one.greedy);
    check(one.shared.startsWith('True') && one.last.decoders.trainer.length === 5,
      'the date model\'s two decoders hold the same 5 variables', one.shared);
    await page.locator('#dates').screenshot({ path: path.join(artifacts, 'dates-default.png') });

    // ---------------------------------------------------------- 2. training from scratch: loss falls
    await page.selectOption('#train-hidden', '32');
    await page.selectOption('#train-embedding', '16');
    await page.selectOption('#train-batch', '32');
    t = performance.now();
    await page.click('#train-scratch');
    await page.waitForSelector('#dates[data-state="training"]', { timeout: 30000 });
    await page.waitForFunction(() => window.varscopeDemo.dates.losses.length >= 80, null, { timeout: 120000 });
    timings.train80StepsMs = performance.now() - t;
    const losses = await page.evaluate(() => window.varscopeDemo.dates.losses.slice());
    const first = mean(losses.slice(0, 20));
    const last = mean(losses.slice(-20));
    check(last < 0.8 * first, `training from scratch: loss falls (first 20 steps ${first.toFixed(3)} -> last 20 ${last.toFixed(3)})`,
      JSON.stringify(losses.map((x) => +x.toFixed(3))));
    check(await page.evaluate(() => document.querySelectorAll('#train-loss-plot canvas').length === 1),
      'the loss curve is drawn (uPlot canvas)');
    check((await page.textContent('#dates-model')).includes('from scratch'), 'the page says the model is from scratch');

    // ---------------------------------------------------------- 3. pause / resume
    await page.click('#train-pause');
    await page.waitForSelector('#dates[data-state="paused"]', { timeout: 30000 });
    const paused = await step();
    await page.waitForTimeout(1500);
    check(await step() === paused && paused >= 80, `pause: the step counter stays at ${paused}`, `now ${await step()}`);
    check(await page.textContent('#train-step') === String(paused), 'pause: the shown step is the paused step');
    await page.click('#train-resume');
    await page.waitForFunction((n) => Number(document.getElementById('dates').dataset.step) >= n + 10, paused, { timeout: 60000 });
    check(await step() >= paused + 10, `resume: the step counter continues (${paused} -> ${await step()})`);
    await page.click('#train-pause');
    await page.waitForSelector('#dates[data-state="paused"]', { timeout: 30000 });

    // ---------------------------------------------------------- 4. save then load
    const probe = '令和元年5月1日';
    const savedDecode = await decodeInPage(probe);
    const savedStep = await step();
    const ckptPath = path.join(artifacts, 'varscope-dates-trained.json');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dates-save')]);
    await download.saveAs(ckptPath);
    const saved = JSON.parse(fs.readFileSync(ckptPath, 'utf8'));
    check(saved.format === 'varscope-checkpoint' && saved.metadata && saved.metadata.task === 'dates' && saved.metadata.hidden === 32,
      'save: the download is a dates checkpoint with its metadata', JSON.stringify(saved.metadata || {}).slice(0, 200));
    // Train on so the weights (and outputs) move away from the saved ones.
    await page.click('#train-resume');
    await page.waitForFunction((n) => Number(document.getElementById('dates').dataset.step) >= n + 15, savedStep, { timeout: 60000 });
    await page.click('#train-pause');
    await page.waitForSelector('#dates[data-state="paused"]', { timeout: 30000 });
    const moved = await decodeInPage(probe);
    check(!eq(moved.last.hypotheses, savedDecode.last.hypotheses), 'training on changes the decode output');
    await page.setInputFiles('#dates-file', ckptPath);
    await page.waitForSelector('#dates[data-loaded="1"]', { timeout: 60000 });
    await page.waitForSelector('body[data-pending="0"]');
    const restored = await decodeInPage(probe);
    check(await step() === savedStep, `load: the step is the saved one (${savedStep})`, String(await step()));
    check(eq(restored.last.hypotheses, savedDecode.last.hypotheses) && eq(restored.rows, savedDecode.rows),
      'load: decoding after loading gives the saved model\'s output exactly',
      `${JSON.stringify(restored.last.hypotheses[0])}\n     vs ${JSON.stringify(savedDecode.last.hypotheses[0])}`);
    check(eq(restored.last.variables, savedDecode.last.variables), 'load: the variable fingerprints are the saved ones');
    await page.locator('#dates').screenshot({ path: path.join(artifacts, 'dates-trained.png') });

    // ---------------------------------------------------------- 5. nmt's LSTM model: its variable list
    const nmtPath = path.join(repo, 'tests', 'data', 'dates_nmt_lstm_tiny.json');
    const nmtCkpt = JSON.parse(fs.readFileSync(nmtPath, 'utf8'));
    const notModel = (n) => n.endsWith('/Adam') || n.endsWith('/Adam_1') || ['global_step', 'beta1_power', 'beta2_power'].includes(n);
    const want = nmtCkpt.variables.filter((v) => !notModel(v.name)).map((v) => [`${v.name}:0`, JSON.stringify(v.shape)]).sort();
    const loadsBefore = Number(await attr('data-loaded'));
    await page.setInputFiles('#dates-file', nmtPath);
    await page.waitForFunction((n) => Number(document.getElementById('dates').dataset.loaded) > n, loadsBefore, { timeout: 60000 });
    await page.waitForSelector('body[data-pending="0"]');
    const nmtDecode = await decodeInPage('1 December 2026', 3);
    const modelText = await page.textContent('#dates-model');
    check(modelText.includes("tensorflow/nmt's model [bi LSTM encoder, 1 layer each way; 2-layer LSTM decoder]"),
      'nmt: the page names the loaded model', modelText);
    const shownVars = await page.evaluate(() => [...document.getElementById('dates-vars').tBodies[0].rows]
      .map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
    const shownNames = shownVars.map(([n]) => n).sort();
    check(eq(shownNames, want.map(([n]) => n)) && await page.textContent('#dates-var-count') === String(want.length),
      `nmt: the variable list is the checkpoint's ${want.length} model variables (nmt's names)`,
      `shown ${JSON.stringify(shownNames)}\n     want ${JSON.stringify(want.map(([n]) => n))}`);
    const shapeOf = Object.fromEntries(nmtDecode.last.variables.map((v) => [v.name, JSON.stringify(v.shape)]));
    check(want.every(([n, s]) => shapeOf[n] === s), 'nmt: every shape is the checkpoint\'s',
      JSON.stringify(shapeOf));
    check(shownNames.includes('dynamic_seq2seq/encoder/bidirectional_rnn/bw/basic_lstm_cell/kernel:0') &&
      shownNames.includes('dynamic_seq2seq/decoder/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0') &&
      shownNames.includes('embeddings/embedding_share:0'), 'nmt: the list has nmt\'s encoder, decoder and embedding names');
    check(nmtDecode.shared.startsWith('True') && nmtDecode.rows.length === 3,
      'nmt: it decodes (3 beams) and its training and beam-search decoders hold the same variables', nmtDecode.shared);
    await page.locator('#dates').screenshot({ path: path.join(artifacts, 'dates-nmt-lstm.png') });
    check(pageErrors.length === 0, 'no page errors', pageErrors.join('\n     '));
    check(foreign.length === 0, 'no requests beyond the page origin', foreign.join(' '));
  } finally {
    await close();
  }
}

await run(main, 'all browser date-model checks passed');
