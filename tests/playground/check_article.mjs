#!/usr/bin/env node
// The article's Python, run under node on the varscope wasm build, against the article's printed
// outputs (issue 24, CTest playground_article).
//
//   node tests/playground/check_article.mjs --module build/wasm/varscope_web.mjs
//
// Runs `node tools/tf1-python.mjs --wasm MODULE tests/playground/article.py` and compares its stdout
// with tests/data/article_outputs.txt (its comment and [section] lines dropped): every variable name,
// boolean and reuse-table line exactly, line for line; the two id arrays of the seq2seq block by shape
// (rows x ids per row; their values come from random weights) and as ids inside the vocabulary.
// Beyond the article: those ids must equal, id for id, what the C++ article (`varscope tour`, the same
// module's `tour("seq2seq")`) prints: the Python path builds the same graph with the same seeds.
// Exit 0 when everything matches; 1 with the first differences listed otherwise.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const args = process.argv.slice(2);
const i = args.indexOf("--module");
if (i < 0 || i + 1 >= args.length) {
  console.error("usage: check_article.mjs --module PATH/varscope_web.mjs");
  process.exit(2);
}
const modulePath = resolve(args[i + 1]);
const VOCAB = 3000; // the article's vocab_size

const expected = readFileSync(resolve(repo, "tests/data/article_outputs.txt"), "utf8")
  .split("\n")
  .filter((l) => l !== "" && !l.startsWith("#") && !/^\[[a-z0-9-]+\]$/.test(l));

const t0 = process.hrtime.bigint();
const run = spawnSync(
  process.execPath,
  [resolve(repo, "tools/tf1-python.mjs"), "--wasm", modulePath, resolve(here, "article.py")],
  { encoding: "utf8", maxBuffer: 64 << 20 },
);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const problems = [];
if (run.status !== 0) problems.push(`article.py exited ${run.status}; stderr:\n${run.stderr}`);
else if (run.stderr !== "") problems.push(`article.py wrote to stderr:\n${run.stderr}`);
const actual = run.stdout.split("\n");
if (actual.at(-1) === "") actual.pop();

// An array printed over several lines ("[[a b ...]" ... "[c d ...]]"): its rows of integers.
function takeArray(lines, at) {
  const rows = [];
  let k = at;
  for (; k < lines.length; k++) {
    const text = lines[k].trim();
    const inner = text.replace(/^\[+/, "").replace(/\]+$/, "").trim();
    rows.push(inner === "" ? [] : inner.split(/\s+/));
    if (text.endsWith("]]")) break;
  }
  return { rows, next: k + 1 };
}

let a = 0;
let e = 0;
let arrays = 0;
const pythonArrays = [];
while (e < expected.length && problems.length < 10) {
  if (a >= actual.length) {
    problems.push(`output ended at line ${a + 1}; expected next: ${JSON.stringify(expected[e])}`);
    break;
  }
  if (expected[e].startsWith("[[")) {
    const want = takeArray(expected, e);
    if (!actual[a].startsWith("[[")) {
      problems.push(`line ${a + 1}: expected an id array, got ${JSON.stringify(actual[a])}`);
      break;
    }
    const got = takeArray(actual, a);
    const shape = (r) => `${r.length}x${r.map((x) => x.length).join(",")}`;
    if (shape(want.rows) !== shape(got.rows))
      problems.push(`line ${a + 1}: id array of shape ${shape(got.rows)}, the article's is ${shape(want.rows)}`);
    for (const id of got.rows.flat())
      if (!/^\d+$/.test(id) || Number(id) >= VOCAB) {
        problems.push(`line ${a + 1}: ${JSON.stringify(id)} is not an id in [0, ${VOCAB})`);
        break;
      }
    arrays++;
    pythonArrays.push(got.rows);
    e = want.next;
    a = got.next;
    continue;
  }
  if (actual[a] !== expected[e])
    problems.push(`line ${a + 1}: got ${JSON.stringify(actual[a])}, the article prints ${JSON.stringify(expected[e])}`);
  a++;
  e++;
}
if (problems.length === 0 && a < actual.length)
  problems.push(`extra output from line ${a + 1}: ${JSON.stringify(actual.slice(a, a + 3))}`);
if (problems.length === 0 && arrays !== 2) problems.push(`compared ${arrays} id arrays, the article prints 2`);

// The C++ article's ids from the same wasm module.
if (problems.length === 0) {
  const { default: createVarscope } = await import(pathToFileURL(modulePath).href);
  const mod = await createVarscope();
  const tour = JSON.parse(mod.tour("seq2seq"));
  if (!tour.ok) problems.push(`tour("seq2seq") failed: ${tour.kind}: ${tour.message}`);
  else {
    const lines = tour.text.split("\n");
    const cpp = [];
    for (let k = 0; k < lines.length; ) {
      if (lines[k].startsWith("[[")) {
        const arr = takeArray(lines, k);
        cpp.push(arr.rows);
        k = arr.next;
      } else k++;
    }
    const text = (arrs) => JSON.stringify(arrs);
    if (text(cpp.slice(0, 2)) !== text(pythonArrays))
      problems.push(`the Python ids ${text(pythonArrays)} differ from the C++ article's (varscope tour) ${text(cpp.slice(0, 2))}`);
  }
}

if (problems.length) {
  console.error("playground_article: FAIL\n" + problems.join("\n"));
  process.exit(1);
}
console.log(
  `playground_article: ok: ${expected.length} article lines (${expected.length - 4} exactly, 2 id arrays by shape ` +
    `and equal to varscope tour's), ` +
    `article.py ran in ${(ms / 1000).toFixed(2)} s (Pyodide load + wasm + the article)`,
);
