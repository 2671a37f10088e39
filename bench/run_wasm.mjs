#!/usr/bin/env node
// One command for the wasm timings (issues 6 and 22): varscope's wasm_bench (encoder,
// teacher-forced decoder, beam search), TF.js's wasm backend GRU encoder, and the same
// beam search in TF.js ops on varscope's weights (bench/tfjs_beam.mjs, checked to give
// varscope's beams), under node and in headless Chromium (playwright-core,
// /usr/bin/chromium), then a table of medians and tfjs/varscope ratios. Every timed sample
// runs a batch of calls lasting about 10 ms, after 1 s of warm-up (Chromium's clock has 0.1 ms steps).
// --check: exit 1 unless TF.js's beams equal varscope's in every environment run.
//
//   node_modules/.bin/cmake --preset wasm
//   nice node_modules/.bin/cmake --build --preset wasm --target wasm_bench
//   node bench/run_wasm.mjs [--reps 30] [--json out.json] [--skip-browser] [--skip-node] [--dist DIR] [--check]
// --dist: the wasm build's web-dist folder (default build/wasm/web-dist).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer, defaultDist } from '../tools/serve-web.mjs';
import { benchTfjsGru, tfjsNode } from './tfjs_gru.mjs';
import { benchTfjsBeam } from './tfjs_beam.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const reps = Number(opt('--reps', '30'));
const jsonOut = opt('--json', null);

const distDir = path.resolve(opt('--dist', defaultDist));
const benchMjs = path.join(distDir, 'wasm_bench.mjs');
if (!fs.existsSync(benchMjs)) {
  console.error(`${benchMjs} is missing: build the wasm_bench target (wasm preset) first`);
  process.exit(2);
}

async function runNode() {
  const { default: createWasmBench } = await import(pathToFileURL(benchMjs).href);
  const vs = await createWasmBench();
  const varscope = {
    encoder: JSON.parse(vs.encoder(reps)),
    decoder: JSON.parse(vs.decoder(reps)),
    beam: JSON.parse(vs.beam(reps)),
  };
  const t = await tfjsNode();
  const tfjs = await benchTfjsGru({ ...t, reps });
  const tfjsBeam = benchTfjsBeam({ tf: t.tf, problem: vs.seed_beam_problem(), reps });
  return { env: 'node', node: process.version, reps, varscope, tfjs, tfjsBeam };
}

async function runBrowser() {
  const { launchChromium } = await import('../tests/browser/support.mjs');  // the browser tests' flags
  const server = await startServer({ port: 0, dist: distDir, quiet: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}bench.html?reps=${reps}`);
    await page.waitForFunction(() => ['done', 'failed'].includes(document.getElementById('status')?.textContent),
      null, { timeout: 600_000 });
    const out = JSON.parse(await page.textContent('#result'));
    if (out.error) throw new Error(`browser: ${out.error}\n${logs.join('\n')}`);
    out.browser = browser.version();
    return out;
  } finally {
    await browser.close();
    await server.close();
  }
}

const results = {};
if (!args.includes('--skip-node')) results.node = await runNode();
if (!args.includes('--skip-browser')) results.chromium = await runBrowser();
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(results, null, 2) + '\n');

const ms = (us) => (us === undefined ? '-' : (us / 1000).toFixed(3));
const rows = [];
for (const [env, r] of Object.entries(results)) {
  const vsEnc = r.varscope.encoder.median_us;
  const t = r.tfjs;
  const ratio = (x) => (x ? `${(x / vsEnc).toFixed(2)}x` : '-');
  const tb = r.tfjsBeam ?? {};
  const vsBeam = r.varscope.beam.median_us;
  const fastest = Math.min(t.ops?.median_us ?? Infinity, t.tuned?.median_us ?? Infinity);
  rows.push([env, ms(vsEnc), ms(t.ops?.median_us), ms(t.tuned?.median_us), ratio(fastest), ms(t.layers?.median_us),
    ratio(t.layers?.median_us), ms(r.varscope.decoder.median_us), ms(vsBeam), ms(tb.median_us),
    tb.median_us ? `${(tb.median_us / vsBeam).toFixed(2)}x` : '-', String(tb.agrees ?? tb.error ?? '-'),
    `simd=${t.simd} mt=${t.multithread}`]);
}
const head = ['env', 'vs enc ms', 'tfjs ops ms', 'tfjs tuned ms', 'faster/vs', 'tfjs layers ms', 'layers/vs', 'vs dec ms',
  'vs beam ms',
  'tfjs beam ms', 'beam tfjs/vs', 'same beams', 'tfjs'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
console.log(`\nseed shape (vocab 3000, emb 256, hidden 256, batch 2, len 8), medians of ${reps} reps; ` +
  'beam: width 2, max_len 8; ratio = TF.js / varscope (>1 means varscope is faster)');
console.log(line(head));
console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
for (const r of rows) console.log(line(r));
if (results.chromium) console.log(`chromium ${results.chromium.browser}`);
const bad = Object.entries(results).filter(([, r]) => !r.tfjsBeam?.agrees);
if (args.includes('--check') && bad.length) {
  for (const [env, r] of bad) console.error(`${env}: TF.js's beams differ from varscope's: ${JSON.stringify(r.tfjsBeam)}`);
  process.exit(1);
}
