#!/usr/bin/env node
// Relaxed SIMD vs plain SIMD128 on varscope's packed wasm kernel (issue 22: "worth measuring:
// relaxed SIMD (FMA)"), under node and in headless Chromium. Builds bench/relaxed_simd_probe.cpp
// with clang-19 straight to wasm (see that file for why not through Emscripten), then times both
// kernels on the products the seed-shape model runs, alternating them, and prints GFLOP/s medians
// and the largest difference between the two kernels' outputs.
//   node bench/relaxed_simd_probe.mjs [--rounds 7] [--skip-browser] [--skip-node]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const rounds = Number(opt('--rounds', '7'));

// [M, K, N]: rows x depth x columns of one product (N a multiple of 16, as the packed panels).
const shapes = [
  { name: 'seed encoder step (h @ W_h: 2 rows)', m: 2, k: 256, n: 768 },
  { name: 'seed input projection (16 rows)', m: 16, k: 256, n: 768 },
  { name: 'seed beam output layer (4 rows, V 3000)', m: 4, k: 256, n: 3008 },
  { name: 'medium GRU step (64 rows)', m: 64, k: 768, n: 1536 },
];

// The wasm, built by clang-19 with a PATH that has its wasm-ld but not Debian's wasm-opt
// (binaryen 108 cannot parse relaxed SIMD and clang would run it at -O3).
function build() {
  const out = path.join(os.tmpdir(), 'varscope-relaxed-simd-probe.wasm');
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-wasm-ld-'));
  for (const n of ['wasm-ld', 'wasm-ld-19']) fs.symlinkSync('/usr/lib/llvm-19/bin/wasm-ld', path.join(bin, n));
  execFileSync('/usr/lib/llvm-19/bin/clang++', ['--target=wasm32', '-O3', '-msimd128', '-mrelaxed-simd', '-nostdlib',
    '-fno-exceptions', '-std=c++20', '-Wl,--no-entry', '-Wl,--export-dynamic', '-Wl,--initial-memory=134217728',
    path.join(root, 'bench/relaxed_simd_probe.cpp'), '-o', out],
  { env: { ...process.env, PATH: `${bin}:/usr/lib/llvm-19/bin` }, stdio: 'inherit' });
  fs.rmSync(bin, { recursive: true });
  return fs.readFileSync(out);
}

// Self-contained (it is also sent into the page): instantiates the probe and measures.
async function measure({ bytes, shapes, rounds }) {
  const { instance } = await WebAssembly.instantiate(new Uint8Array(bytes));
  const x = instance.exports;
  const heap = new Float32Array(x.memory.buffer);
  const base = x.memory_base() / 4;
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const results = [];
  for (const s of shapes) {
    const a = base, b = a + s.m * s.k, c1 = b + s.k * s.n, c2 = c1 + s.m * s.n;
    for (let i = 0; i < s.m * s.k + s.k * s.n; ++i) heap[a + i] = rand();
    const run = (f, reps) => {
      const t0 = performance.now();
      f(a * 4, b * 4, (f === x.gemm_relaxed ? c2 : c1) * 4, s.m, s.k, s.n, reps);
      return performance.now() - t0;
    };
    for (const f of [x.gemm_simd128, x.gemm_relaxed]) for (const t0 = performance.now(); performance.now() - t0 < 300;) run(f, 16);
    const once = Math.max(1e-3, run(x.gemm_simd128, 16) / 16);
    const reps = Math.max(1, Math.round(20 / once));  // ~20 ms a sample (Chromium's clock: 0.1 ms)
    const gflops = { simd128: [], relaxed: [] };
    for (let r = 0; r < rounds; ++r)
      for (const [name, f] of [['simd128', x.gemm_simd128], ['relaxed', x.gemm_relaxed]])
        gflops[name].push((2 * s.m * s.k * s.n * reps) / (run(f, reps) * 1e6));
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < s.m * s.n; ++i) {
      maxDiff = Math.max(maxDiff, Math.abs(heap[c1 + i] - heap[c2 + i]));
      maxAbs = Math.max(maxAbs, Math.abs(heap[c1 + i]));
    }
    const median = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
    results.push({ ...s, reps, simd128: median(gflops.simd128), relaxed: median(gflops.relaxed), maxDiff, maxAbs,
      simd128_rounds: gflops.simd128, relaxed_rounds: gflops.relaxed });
  }
  return results;
}

function print(env, results) {
  console.log(`\n${env}: GFLOP/s, medians of ${rounds} alternating rounds`);
  console.log('| product | M x K x N | SIMD128 (mul + add) | relaxed_madd | relaxed / SIMD128 | max |diff| (max |c|) |');
  console.log('|---|---|---:|---:|---:|---|');
  for (const r of results)
    console.log(`| ${r.name} | ${r.m} x ${r.k} x ${r.n} | ${r.simd128.toFixed(1)} | ${r.relaxed.toFixed(1)} | ` +
      `${(r.relaxed / r.simd128).toFixed(2)}x | ${r.maxDiff.toExponential(1)} (${r.maxAbs.toFixed(1)}) |`);
}

if (args.includes('--child')) {  // node with --experimental-wasm-relaxed-simd, started below
  const bytes = fs.readFileSync(opt('--child'));
  process.stdout.write(JSON.stringify(await measure({ bytes, shapes, rounds })));
  process.exit(0);
}

const bytes = build();
const wasmFile = path.join(os.tmpdir(), 'varscope-relaxed-simd-probe.wasm');
if (!args.includes('--skip-node')) {
  // node 20's V8 has relaxed SIMD behind a flag (Chromium ships it on).
  const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', fileURLToPath(import.meta.url),
    '--child', wasmFile, '--rounds', String(rounds)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node child failed: ${r.stderr}`);
  print(`node ${process.version} --experimental-wasm-relaxed-simd`, JSON.parse(r.stdout));
}
if (!args.includes('--skip-browser')) {
  const { launchChromium } = await import('../tests/browser/support.mjs');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><title>relaxed SIMD probe</title>');
    print(`Chromium ${browser.version()}`, await page.evaluate(measure, { bytes: Array.from(bytes), shapes, rounds }));
  } finally {
    await browser.close();
  }
}
