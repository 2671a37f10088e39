#!/usr/bin/env node
// Checkpoint restore / save throughput of the WebAssembly build under node: the
// demo bindings' saveCheckpoint / loadCheckpoint (save_to_string /
// restore_from_string: the same streaming reader as natively) on the demo's
// article-size model (vocab 3000, emb 256, hidden 256). Prints MB/s of JSON, median
// of --reps runs. Needs the wasm build (build/wasm/web-dist/varscope_web.mjs).
//
//   node bench/wasm_checkpoint.mjs [--reps 15] [--dist build/wasm/web-dist]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const di = process.argv.indexOf('--dist');
const distDir = di > 0 ? path.resolve(process.argv[di + 1]) : path.join(root, 'build', 'wasm', 'web-dist');
const mjs = path.join(distDir, 'varscope_web.mjs');
if (!fs.existsSync(mjs)) {
  console.error(`${mjs} is missing: build the varscope_web target (wasm preset) first`);
  process.exit(2);
}
const i = process.argv.indexOf('--reps');
const reps = i > 0 ? Number(process.argv[i + 1]) : 15;
const factory = (await import(pathToFileURL(mjs).href)).default;
const m = await factory();
m.seq2seq(JSON.stringify({ seed: 0 }));  // builds the demo model
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const saves = [], loads = [];
let text = '';
for (let r = 0; r < reps; ++r) {
  let t0 = performance.now();
  const saved = JSON.parse(m.saveCheckpoint());
  saves.push(performance.now() - t0);
  if (!saved.ok) throw new Error(JSON.stringify(saved));
  text = saved.text;
  t0 = performance.now();
  const loaded = JSON.parse(m.loadCheckpoint(text));
  loads.push(performance.now() - t0);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded));
}
const mb = Buffer.byteLength(text) / 1e6;
console.log(JSON.stringify({
  json_mb: Number(mb.toFixed(2)),
  save_ms: Number(median(saves).toFixed(1)), save_mb_per_s: Number((mb / (median(saves) / 1e3)).toFixed(1)),
  restore_ms: Number(median(loads).toFixed(1)), restore_mb_per_s: Number((mb / (median(loads) / 1e3)).toFixed(1)),
  note: 'includes the JS <-> wasm string copies and the JSON envelope of the bindings',
}));
