#!/usr/bin/env node
// The article's Python, run under node on the varscope wasm build, against the article's printed
// outputs (issue 24, CTest playground_article).
//
//   node tests/playground/check_article.mjs --module build/wasm/varscope_web.mjs
//
// Runs `node tools/tf1-python.mjs --wasm MODULE tests/playground/article.py` and compares its stdout
// with tests/data/article_outputs.txt (its comment and [section] lines dropped): every variable name,
// boolean and reuse-table line exactly, line for line; the two id arrays of the seq2seq block by shape
// (rows x ids per row; their values come from random weights) and as ids inside the vocabulary
// (the comparison lives in article_compare.mjs, shared with tests/browser/playground.test.mjs).
// Beyond the article: those ids must equal, id for id, what the C++ article (`varscope tour`, the same
// module's `tour("seq2seq")`) prints: the Python path builds the same graph with the same seeds.
// Exit 0 when everything matches; 1 with the first differences listed otherwise.
import { spawnSync } from "node:child_process";
import { compareArticleOutput, expectedArticleLines, takeArray } from "./article_compare.mjs";
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
const expected = expectedArticleLines();

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

const { problems: compared, arrays: pythonArrays } = compareArticleOutput(run.stdout);
problems.push(...compared);

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
