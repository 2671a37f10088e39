#!/usr/bin/env node
// Time to 90% validation accuracy when training the date model from scratch in the
// demo page (Web Worker, WebAssembly) in headless Chromium (issue 12). A benchmark,
// not a test: it reports; it asserts nothing.
//   node bench/dates_browser_train.mjs [--hidden 64] [--embedding 32] [--batch 64] [--seed 1]
//        [--target 0.9] [--limit-s 600] [--runs 1] [--native build/native/varscope]
//        [--attention normed_bahdanau|bahdanau|scaled_luong|luong]
// Needs the wasm preset's build (build/wasm/web-dist, or --dist DIR) and apt `chromium`. The page validates
// (greedy exact match on 200 held-out dates) every 100 steps; the time is from the
// "Train from scratch" click to the first validation at or above the target, the
// validation runs included. Prints steps/s and the accuracy curve. With --native, the
// peer in the same run: the native CLI (`varscope train`, same seed, sizes, data and
// 200-date validation every 100 steps) timed to the same target, one thread. With
// --attention, both train tensorflow/nmt's model with that attention (the page's
// "attention" option of its training section; `varscope train --attention`).
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startServer, defaultDist } from '../tools/serve-web.mjs';
import { repo, commandLine, launchChromium } from '../tests/browser/support.mjs';

const opt = commandLine();
const hidden = opt('--hidden', '64');
const embedding = opt('--embedding', '32');
const batch = opt('--batch', '64');
const seed = opt('--seed', '1');
const target = Number(opt('--target', '0.9'));
const limitMs = Number(opt('--limit-s', '600')) * 1000;
const runs = Number(opt('--runs', '1'));
const nativeCli = opt('--native', '');
const attention = opt('--attention', '');
const distDir = path.resolve(opt('--dist', defaultDist));

const server = await startServer({ port: 0, root: path.join(repo, 'web'), dist: distDir, quiet: true });
const browser = await launchChromium();
const results = [];
try {
  for (let run = 0; run < runs; ++run) {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120000 });
    // Make sure the option exists (the page offers a fixed list).
    for (const [sel, v] of [['#train-hidden', hidden], ['#train-embedding', embedding], ['#train-batch', batch]]) {
      const ok = await page.$$eval(`${sel} option`, (o, val) => o.some((x) => x.value === val), v);
      if (!ok) throw new Error(`${sel} has no option ${v}`);
      await page.selectOption(sel, v);
    }
    await page.selectOption('#train-attention', attention);
    await page.fill('#train-seed', seed);
    const t0 = Date.now();
    await page.click('#train-scratch');
    let reached = null;
    let last = { acc: [], accSteps: [] };
    while (Date.now() - t0 < limitMs) {
      await page.waitForTimeout(250);
      const s = await page.evaluate(() => ({
        acc: window.varscopeDemo.dates.acc.slice(), accSteps: window.varscopeDemo.dates.accSteps.slice(),
        step: Number(document.getElementById('dates').dataset.step),
      }));
      last = s;
      const k = s.acc.findIndex((a) => a >= target);
      if (k >= 0) {
        reached = { ms: Date.now() - t0, step: s.accSteps[k], curve: s.acc.map((a, i) => `${s.accSteps[i]}:${a.toFixed(3)}`) };
        break;
      }
    }
    await page.click('#train-pause');
    await page.close();
    if (!reached) {
      console.log(`run ${run + 1}: did not reach ${target} within ${limitMs / 1000} s\n  curve ` +
        last.acc.map((a, i) => `${last.accSteps[i]}:${a.toFixed(3)}`).join(' '));
      results.push(null);
    } else {
      console.log(`run ${run + 1}: ${(reached.ms / 1000).toFixed(1)} s to validation accuracy >= ${target} at step ${reached.step} ` +
        `(${(reached.step / (reached.ms / 1000)).toFixed(1)} steps/s incl. validation)\n  curve ${reached.curve.join(' ')}`);
      results.push(reached.ms);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
// The native peer: the CLI's progress lines carry "step N/..." and "val greedy exact A".
async function nativeRun() {
  const t0 = Date.now();
  const child = spawn(nativeCli, ['train', '--task', 'dates', '--steps', '20000', '--out', path.join(process.env.TMPDIR || '/tmp', `dates-bench-${process.pid}.json`),
    '--hidden', hidden, '--embedding', embedding, '--batch', batch, '--seed', seed, '--eval-every', '100', '--eval-size', '200',
    '--log-every', '100', '--save-every', '0', ...(attention ? ['--attention', attention] : [])], { env: { ...process.env, OPENBLAS_NUM_THREADS: '1', VARSCOPE_NUM_THREADS: '1' } });
  let buffer = '';
  const curve = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, limitMs);
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      buffer += d;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /step (\d+)\/.*val greedy exact ([\d.]+)/.exec(line);
        if (!m) continue;
        curve.push(`${m[1]}:${m[2]}`);
        if (Number(m[2]) >= target) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve({ ms: Date.now() - t0, step: Number(m[1]), curve });
        }
      }
    });
  });
}
if (nativeCli) {
  const r = await nativeRun();
  if (!r) console.log(`native: did not reach ${target} within ${limitMs / 1000} s`);
  else console.log(`native (${nativeCli}, 1 thread): ${(r.ms / 1000).toFixed(1)} s to validation accuracy >= ${target} at step ${r.step}\n  curve ${r.curve.join(' ')}`);
}
const ok = results.filter((x) => x !== null).sort((a, b) => a - b);
console.log(`hidden ${hidden} embedding ${embedding} batch ${batch} seed ${seed}: ` +
  (ok.length ? `median ${(ok[Math.floor(ok.length / 2)] / 1000).toFixed(1)} s to ${target} over ${ok.length}/${runs} runs` : 'never reached'));
