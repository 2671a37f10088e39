#!/usr/bin/env node
// Browser test of the date model's attention (issue 21) in headless Chromium, in the harness
// of support.mjs:
//   node tests/browser/dates_attention.test.mjs [--web DIR] [--dist DIR] [--artifacts DIR] [--golden FILE]
// 1. the "attention" switch loads models/dates-attention.json; its decode in the page's Web
//    Worker gives the native CLI's hypotheses (tests/data/dates_attention_decode_native.json,
//    `varscope decode --json`, kept current by the native ctest dates_attention_decode_golden);
// 2. the heat map exists: one row per output character (</s> included) labelled with it, one
//    column per source character labelled with it; every cell's data-value is the native
//    alignment (within 1e-4), and every row sums to 1 (within 1e-4) — read from the DOM;
// 3. the year digits' rows attend most to the year's characters (the alignment a person expects);
// 4. the map changes when the input changes, and clicking another beam's row draws that beam's
//    map (other values, the selected row marked);
// 5. switching attention off hides the map (the default model has none);
// 6. training from scratch with attention (an option of the same Trainer the CLI uses): the
//    model says so, the runs table records the run with its attention and validation accuracy,
//    and the re-decoded hypotheses carry a heat map.
// Exits 1 on any failed check, listing them.
import fs from 'node:fs';
import path from 'node:path';
import { repo, chromiumPath, commandLine, defaultDist, harness, openDemoPage } from './support.mjs';

const opt = commandLine();
const webDir = path.resolve(opt('--web', path.join(repo, 'web')));
const distDir = path.resolve(opt('--dist', defaultDist));
const artifacts = path.resolve(opt('--artifacts', path.join(repo, 'build', 'wasm', 'test-artifacts')));
const golden = JSON.parse(fs.readFileSync(opt('--golden', path.join(repo, 'tests', 'data', 'dates_attention_decode_native.json')), 'utf8'));
const TOL = 1e-4;

const { timings, check, run } = harness();

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of ['varscope_web.mjs', 'varscope_web.wasm', 'models/dates.json', 'models/dates-attention.json'])
    if (!check(fs.existsSync(path.join(distDir, f)), `${distDir}/${f} exists (built by the wasm preset)`)) return;
  if (!check(fs.existsSync(chromiumPath), `Chromium at ${chromiumPath} (apt-get install chromium)`)) return;

  const { page, pageErrors, foreign, readyMs, close } = await openDemoPage({ webDir, distDir });
  timings.pageReadyMs = readyMs;
  try {
    const attr = async (name) => page.getAttribute('#dates', name);
    check(await attr('data-attention') === 'off' && await page.isHidden('#dates-attn-section'),
      'without attention (models/dates.json) there is no heat map');

    // ---------------------------------------------------------- 1. the switch
    let before = Number(await attr('data-decodes'));
    let t = performance.now();
    await page.selectOption('#dates-attention', 'attention');
    await page.waitForFunction((n) => Number(document.getElementById('dates').dataset.decodes) > n &&
      document.getElementById('dates').dataset.model === 'attention', before, { timeout: 60000 });
    await page.waitForSelector('body[data-pending="0"]');
    timings.switchMs = performance.now() - t;
    const modelText = await page.textContent('#dates-model');
    check(modelText.includes('models/dates-attention.json') && modelText.includes('normed_bahdanau attention'),
      'attention on: the page runs models/dates-attention.json (normed_bahdanau)', modelText);

    // What the page shows: the heat map read back from the DOM.
    const readMap = () => page.evaluate(() => {
      const table = document.getElementById('dates-attn');
      return {
        visible: !document.getElementById('dates-attn-section').hidden,
        beam: table.dataset.beam,
        cols: [...table.tHead.rows[0].cells].slice(1).map((c) => c.textContent),
        rows: [...table.tBodies[0].rows].map((tr) => tr.cells[0].textContent),
        values: [...table.tBodies[0].rows].map((tr) => [...tr.cells].slice(1).map((c) => Number(c.dataset.value))),
        shades: [...table.tBodies[0].rows].map((tr) => [...tr.cells].slice(1).map((c) => c.style.background)),
        selected: [...document.getElementById('dates-beams').tBodies[0].rows].map((tr) => tr.classList.contains('selected')),
        beams: [...document.getElementById('dates-beams').tBodies[0].rows].map((tr) => tr.cells[1].textContent),
      };
    });
    const decodeInPage = async (text) => {
      const n = Number(await attr('data-decodes'));
      await page.fill('#dates-beam', String(golden.beam));
      await page.fill('#dates-input', text);
      await page.click('#dates-decode');
      await page.waitForFunction((k) => Number(document.getElementById('dates').dataset.decodes) > k, n, { timeout: 60000 });
      await page.waitForSelector('body[data-pending="0"]');
      return readMap();
    };
    const rowSumsOk = (values) => values.length > 0 && values.every((r) => Math.abs(r.reduce((a, b) => a + b, 0) - 1) <= TOL);
    const maxDiff = (a, b) => {
      if (a.length !== b.length) return Infinity;
      let d = 0;
      a.forEach((r, i) => {
        if (r.length !== b[i].length) d = Infinity;
        else r.forEach((v, j) => { d = Math.max(d, Math.abs(v - b[i][j])); });
      });
      return d;
    };

    // ---------------------------------------------------------- 2./3. against native, per input
    const picks = golden.inputs.map((input, i) => i).filter((i) => !golden.inputs[i].includes('?'));
    let worst = 0;
    const maps = {};
    for (const i of picks) {
      const input = golden.inputs[i];
      const native = golden.results[i].hypotheses;
      const m = await decodeInPage(input);
      maps[input] = m;
      const best = native[0];
      const d = maxDiff(m.values, best.alignments);
      worst = Math.max(worst, d);
      const wantRows = [...best.text].concat(['</s>']);
      const wantCols = [...input].map((c) => (c === ' ' ? '␣' : c));
      check(m.visible && m.beam === '0' && JSON.stringify(m.beams) === JSON.stringify(native.map((h) => h.text)) &&
        JSON.stringify(m.rows) === JSON.stringify(wantRows) && JSON.stringify(m.cols) === JSON.stringify(wantCols) &&
        d <= TOL && rowSumsOk(m.values),
      `"${input}" -> ${best.text}: heat map of beam 0, ${wantRows.length} output x ${wantCols.length} source characters ` +
        'labelled, the native alignments, rows summing to 1',
      `rows ${JSON.stringify(m.rows)} cols ${JSON.stringify(m.cols)} beams ${JSON.stringify(m.beams)} |diff| ${d} ` +
        `sums ${JSON.stringify(m.values.map((r) => r.reduce((a, b) => a + b, 0)))}`);
    }
    console.log(`     max |page alignment - native alignment| = ${worst.toExponential(2)}`);
    const us = maps['12/01/2026'];
    const argmax = (r) => r.indexOf(Math.max(...r));
    check(us && [0, 1, 2, 3].every((k) => { const j = argmax(us.values[k]); return j >= 6 && j < 10; }),
      '"12/01/2026": each year digit of the output attends most to the year "2026" (source 6–9)',
      us && JSON.stringify([0, 1, 2, 3].map((k) => argmax(us.values[k]))));
    check(us && us.shades[0].every((s) => s.startsWith('rgba(')) && new Set(us.shades.flat()).size > 2,
      'cells are shaded by their weight', us && JSON.stringify(us.shades[0]));
    await page.locator('#dates').screenshot({ path: path.join(artifacts, 'dates-attention.png') });

    // ---------------------------------------------------------- 4. input change, beam click
    const a = await decodeInPage('Tuesday, December 1, 2026');
    const b = await decodeInPage('Tuesday, December 8, 2026');
    check(a.values.length > 0 && maxDiff(a.values, b.values) > 1e-3,
      'the map changes with the input (1 -> 8 December)', `max diff ${maxDiff(a.values, b.values)}`);
    const c = await decodeInPage('07.03.1999');
    check(c.cols.length === 10 && a.cols.length === 25 && c.rows.join('') === '1999-03-07</s>',
      'a shorter input gives a narrower map', `${a.cols.length} -> ${c.cols.length} columns; rows ${c.rows.join('')}`);
    const draws = Number(await attr('data-attn-draws'));
    await page.click('#dates-beams tbody tr:nth-child(2)');
    await page.waitForFunction((n) => Number(document.getElementById('dates').dataset.attnDraws) > n, draws, { timeout: 10000 });
    const c1 = await readMap();
    check(c1.beam === '1' && c1.selected[1] && !c1.selected[0] && c1.rows.join('') === `${c1.beams[1]}</s>` &&
      maxDiff(c1.values, c.values) > 1e-3 && rowSumsOk(c1.values),
    `clicking beam 1 draws beam 1's map (${c1.beams[1]}): other values, rows summing to 1, its row marked`,
    `beam ${c1.beam} rows ${c1.rows.join('')} selected ${JSON.stringify(c1.selected)} diff ${maxDiff(c1.values, c.values)}`);
    const native = golden.results[golden.inputs.indexOf('01.12.2026')];
    if (native) {
      const d0 = await decodeInPage('01.12.2026');
      await page.click('#dates-beams tbody tr:nth-child(3)');
      await page.waitForFunction(() => document.getElementById('dates-attn').dataset.beam === '2', null, { timeout: 10000 });
      const d2 = await readMap();
      check(d0.beam === '0' && maxDiff(d2.values, native.hypotheses[2].alignments) <= TOL,
        '"01.12.2026" beam 2\'s map is native\'s beam-2 alignments', `diff ${maxDiff(d2.values, native.hypotheses[2].alignments)}`);
    }
    await page.locator('#dates').screenshot({ path: path.join(artifacts, 'dates-attention-beam.png') });

    // ---------------------------------------------------------- 5. attention off
    before = Number(await attr('data-decodes'));
    await page.selectOption('#dates-attention', '');
    await page.waitForFunction((n) => Number(document.getElementById('dates').dataset.decodes) > n &&
      document.getElementById('dates').dataset.model === 'default', before, { timeout: 60000 });
    await page.waitForSelector('body[data-pending="0"]');
    check(await attr('data-attention') === 'off' && await page.isHidden('#dates-attn-section') &&
      (await page.textContent('#dates-model')).includes('models/dates.json'),
    'attention off: models/dates.json again, no heat map');

    // ---------------------------------------------------------- 6. training with attention
    await page.selectOption('#train-hidden', '32');
    await page.selectOption('#train-embedding', '16');
    await page.selectOption('#train-batch', '32');
    await page.selectOption('#train-attention', 'normed_bahdanau');
    t = performance.now();
    await page.click('#train-scratch');
    await page.waitForSelector('#dates[data-state="training"]', { timeout: 30000 });
    await page.waitForFunction(() => Number(document.getElementById('dates').dataset.evals || 0) >= 1, null, { timeout: 180000 });
    timings.trainAttention100StepsMs = performance.now() - t;
    await page.click('#train-pause');
    await page.waitForSelector('#dates[data-state="paused"]', { timeout: 30000 });
    await page.waitForSelector('body[data-pending="0"]');
    const runs = await page.evaluate(() => [...document.getElementById('train-runs').tBodies[0].rows]
      .map((tr) => [...tr.cells].map((cell) => cell.textContent)));
    const trained = await page.textContent('#dates-model');
    check(trained.includes('from scratch') && trained.includes('normed_bahdanau attention'),
      'training from scratch with attention builds nmt\'s model with normed_bahdanau attention', trained);
    check(runs.length === 1 && runs[0][2] === 'normed_bahdanau' && /%$/.test(runs[0][4]) && Number(runs[0][3]) >= 100,
      `the runs table records the run: ${JSON.stringify(runs[0])}`, JSON.stringify(runs));
    const m = await decodeInPage('1 December 2026');
    check(m.visible && m.values.length >= 1 && rowSumsOk(m.values) && m.cols.length === 15,
      'the model being trained decodes with a heat map (rows summing to 1)', JSON.stringify(m.rows));
    check(pageErrors.length === 0, 'no page errors', pageErrors.join('\n     '));
    check(foreign.length === 0, 'no requests beyond the page origin', foreign.join(' '));
  } finally {
    await close();
  }
}

await run(main, 'all browser attention checks passed');
