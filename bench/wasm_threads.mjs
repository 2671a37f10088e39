#!/usr/bin/env node
// What WebAssembly threads give (issue 22): the wasm-threads build (Emscripten pthreads,
// runtime/openmp_team.cpp's team) at 1 and 2 threads, rounds alternating the thread
// count, under node and in headless Chromium (cross-origin isolated: the server sends
// COOP/COEP, so SharedArrayBuffer exists). Times, per thread count, medians over rounds:
//   - wasm_bench's seed-shape encoder, teacher-forced decoder and beam search (its own clock);
//   - the page's date-model training step at the page's default size (64 / 32 / 64):
//     varscope_web's datesTrain(n) on a fresh model, after a warm-up; in Chromium through
//     the demo page's worker (window.varscopeDemo.call), the way the page trains.
// Also checks that both thread counts train to the same losses (bit-identical results).
// A benchmark: it reports; the only failure is a loss mismatch or a build without threads.
//
//   node_modules/.bin/cmake --preset wasm-threads -DVARSCOPE_NATIVE_WEB_EXE=$PWD/build/native/varscope_web_native
//   nice node_modules/.bin/cmake --build --preset wasm-threads --target wasm_bench varscope_web
//   node bench/wasm_threads.mjs [--rounds 5] [--reps 20] [--steps 20] [--skip-browser] [--skip-node]
//        [--dist build/wasm-threads/web-dist] [--native build/native/varscope] [--hidden 64 --embedding 32 --batch 64]
// --native: also time the native CLI's training step at 1 thread (same sizes), the peer for the
// page's "per step vs native" ratio.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { startServer } from '../tools/serve-web.mjs';
import { repo as root, commandLine, launchChromium } from '../tests/browser/support.mjs';

const args = process.argv.slice(2);
const opt = commandLine(args);
const rounds = Number(opt('--rounds', '5'));
const reps = Number(opt('--reps', '20'));
const steps = Number(opt('--steps', '20'));
const distDir = path.resolve(opt('--dist', path.join(root, 'build', 'wasm-threads', 'web-dist')));
const nativeCli = opt('--native', '');
// The page's default size; --hidden / --embedding / --batch time a larger model (the page allows up to 512).
const model = { hidden: Number(opt('--hidden', '64')), embedding: Number(opt('--embedding', '32')),
  batch: Number(opt('--batch', '64')), seed: 1 };
for (const f of ['wasm_bench.mjs', 'wasm_bench.worker.js', 'varscope_web.mjs', 'varscope_web.worker.js']) {
  if (!fs.existsSync(path.join(distDir, f))) {
    console.error(`${path.join(distDir, f)} is missing: build the wasm-threads preset's wasm_bench and varscope_web first`);
    process.exit(2);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const parse = (text) => {
  const r = JSON.parse(text);
  if (r.ok === false) throw new Error(r.error ?? `${r.kind}: ${r.message}`);
  return r;
};

// One environment's measurements; `bench` and `web` expose the same calls under node and in the page.
async function measure(env, bench, web) {
  const threadCounts = [1, 2];
  const out = Object.fromEntries(threadCounts.map((n) => [n, { encoder: [], decoder: [], beam: [], trainStep: [] }]));
  const losses = {};
  for (let round = 0; round < rounds; ++round) {
    for (const n of round % 2 ? [...threadCounts].reverse() : threadCounts) {
      const got = await bench.setThreads(n);
      if (got !== n) throw new Error(`${env}: set_threads(${n}) gave ${got}`);
      for (const phase of ['encoder', 'decoder', 'beam']) out[n][phase].push((await bench.run(phase, reps)).median_us);
      const set = parse(await web.call('setThreads', n));
      if (!set.available || set.threads !== n) throw new Error(`${env}: the page's build has no threads (${JSON.stringify(set)})`);
      parse(await web.call('datesNew', JSON.stringify(model)));
      const first = parse(await web.call('datesTrain', 10));  // warm-up, and the losses compared across counts
      const key = JSON.stringify(first.losses);
      losses[n] ??= key;
      if (losses[n] !== key) throw new Error(`${env}: the first 10 losses at ${n} threads changed between rounds`);
      const t0 = performance.now();
      parse(await web.call('datesTrain', steps));
      out[n].trainStep.push(((performance.now() - t0) / steps) * 1000);
    }
  }
  const same = losses[1] === losses[2];
  const row = (n) => ({
    threads: n,
    encoder_us: median(out[n].encoder), decoder_us: median(out[n].decoder), beam_us: median(out[n].beam),
    train_step_us: median(out[n].trainStep),
    train_step_range_us: [Math.min(...out[n].trainStep), Math.max(...out[n].trainStep)],
  });
  return { env, rounds, reps, steps, same_losses_at_1_and_2_threads: same, rows: threadCounts.map(row) };
}

async function runNode() {
  const { default: createWasmBench } = await import(pathToFileURL(path.join(distDir, 'wasm_bench.mjs')).href);
  const { default: createVarscope } = await import(pathToFileURL(path.join(distDir, 'varscope_web.mjs')).href);
  const vb = await createWasmBench();
  const vw = await createVarscope();
  return measure(`node ${process.version}`,
    { setThreads: async (n) => vb.set_threads(n), run: async (phase, r) => JSON.parse(vb[phase](r)) },
    { call: async (fn, ...a) => vw[fn](...a) });
}

async function runBrowser() {
  const server = await startServer({ port: 0, dist: distDir, quiet: true, isolate: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const logs = [];
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(server.url);
    try {
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120000 });
    } catch (e) {
      throw new Error(`the page did not get ready: ${logs.join(' | ').slice(0, 600)}`);
    }
    if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the page is not cross-origin isolated');
    // wasm_bench in the page itself (main thread; its pthreads are workers of the page).
    await page.evaluate(async () => {
      const { default: create } = await import('/dist/wasm_bench.mjs');
      window.wasmBench = await create();
    });
    const version = await browser.version();
    return await measure(`Chromium ${version}`,
      { setThreads: (n) => page.evaluate((k) => window.wasmBench.set_threads(k), n),
        run: (phase, r) => page.evaluate(([p, k]) => JSON.parse(window.wasmBench[p](k)), [phase, r]) },
      { call: (fn, ...a) => page.evaluate(async ([f, xs]) => {
          // varscopeDemo.call parses the JSON and throws on errors; hand back JSON text like the bindings.
          try { return JSON.stringify(await window.varscopeDemo.call(f, ...xs)); } catch (e) { return JSON.stringify({ ok: false, error: String(e) }); }
        }, [fn, a]) });
  } finally {
    await browser.close();
    await server.close();
  }
}

function runNative() {
  const times = [];
  for (let round = 0; round < rounds; ++round) {
    const run = (n) => {
      const t0 = performance.now();
      const r = spawnSync(nativeCli, ['train', '--task', 'dates', '--steps', String(n), '--out', path.join(process.env.TMPDIR || '/tmp', `wasm-threads-native-${process.pid}.json`),
        '--hidden', String(model.hidden), '--embedding', String(model.embedding), '--batch', String(model.batch), '--seed', String(model.seed),
        '--eval-every', '0', '--eval-size', '1', '--log-every', '100000', '--save-every', '0'],
        { env: { ...process.env, OPENBLAS_NUM_THREADS: '1', VARSCOPE_NUM_THREADS: '1' } });
      if (r.status !== 0) throw new Error(`${nativeCli} train failed: ${String(r.stderr).slice(0, 400)}`);
      return performance.now() - t0;
    };
    // Per step = the difference of a long and a short run (start-up, model build and the final eval cancel).
    const short = run(50), long = run(50 + 10 * steps);
    times.push(((long - short) / (10 * steps)) * 1000);
  }
  return { env: 'native CLI, 1 thread', train_step_us: median(times), train_step_range_us: [Math.min(...times), Math.max(...times)] };
}

const results = [];
if (!args.includes('--skip-node')) results.push(await runNode());
if (!args.includes('--skip-browser')) results.push(await runBrowser());
const native = nativeCli ? runNative() : null;
console.log(JSON.stringify({ model, results, native }, null, 1));
console.log(`\ndate model hidden ${model.hidden}, embedding ${model.embedding}, batch ${model.batch}; ${rounds} rounds`);
console.log('\n| env | threads | encoder µs | decoder µs | beam µs | train step ms [range] | 2 thr / 1 thr (enc / dec / beam / train) |');
console.log('|---|---:|---:|---:|---:|---:|---|');
let failed = false;
for (const r of results) {
  const [one, two] = r.rows;
  for (const x of r.rows) {
    const gain = x.threads === 2
      ? ['encoder_us', 'decoder_us', 'beam_us', 'train_step_us'].map((k) => (one[k] / two[k]).toFixed(2) + 'x').join(' / ') : '';
    console.log(`| ${r.env} | ${x.threads} | ${x.encoder_us.toFixed(0)} | ${x.decoder_us.toFixed(0)} | ${x.beam_us.toFixed(0)} | ` +
      `${(x.train_step_us / 1000).toFixed(2)} [${x.train_step_range_us.map((v) => (v / 1000).toFixed(2)).join('-')}] | ${gain} |`);
  }
  if (!r.same_losses_at_1_and_2_threads) { console.log(`${r.env}: the losses differ between 1 and 2 threads`); failed = true; }
  if (native) console.log(`${r.env}: train step vs native 1 thread: 1 thr ${(one.train_step_us / native.train_step_us).toFixed(2)}x, 2 thr ${(two.train_step_us / native.train_step_us).toFixed(2)}x`);
}
if (native) console.log(`native CLI 1 thread: ${(native.train_step_us / 1000).toFixed(2)} ms per step [${native.train_step_range_us.map((v) => (v / 1000).toFixed(2)).join('-')}]`);
process.exit(failed ? 1 : 0);
