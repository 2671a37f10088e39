// The comparison of the article's Python output with the article's printed outputs
// (tests/data/article_outputs.txt), shared by tests/playground/check_article.mjs (under node) and
// tests/browser/playground.test.mjs (the page's playground): every variable name, boolean and
// reuse-table line exactly, line for line; the two id arrays of the seq2seq block by shape (rows x ids
// per row; their values come from random weights) and as ids inside the vocabulary.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const VOCAB = 3000; // the article's vocab_size

/// The article's printed lines (comment and [section] lines of article_outputs.txt dropped).
export function expectedArticleLines() {
  return readFileSync(resolve(repo, 'tests/data/article_outputs.txt'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !/^\[[a-z0-9-]+\]$/.test(l));
}

/// An array printed over several lines ("[[a b ...]" ... "[c d ...]]"): its rows of integers.
export function takeArray(lines, at) {
  const rows = [];
  let k = at;
  for (; k < lines.length; k++) {
    const text = lines[k].trim();
    const inner = text.replace(/^\[+/, '').replace(/\]+$/, '').trim();
    rows.push(inner === '' ? [] : inner.split(/\s+/));
    if (text.endsWith(']]')) break;
  }
  return { rows, next: k + 1 };
}

/// Compares stdout text with the article: {problems: [...] (empty = match), arrays: [rows, rows], expected}.
export function compareArticleOutput(stdout) {
  const expected = expectedArticleLines();
  const actual = stdout.split('\n');
  if (actual.at(-1) === '') actual.pop();
  const problems = [];
  let a = 0;
  let e = 0;
  let arrays = 0;
  const pythonArrays = [];
  while (e < expected.length && problems.length < 10) {
    if (a >= actual.length) {
      problems.push(`output ended at line ${a + 1}; expected next: ${JSON.stringify(expected[e])}`);
      break;
    }
    if (expected[e].startsWith('[[')) {
      const want = takeArray(expected, e);
      if (!actual[a].startsWith('[[')) {
        problems.push(`line ${a + 1}: expected an id array, got ${JSON.stringify(actual[a])}`);
        break;
      }
      const got = takeArray(actual, a);
      const shape = (r) => `${r.length}x${r.map((x) => x.length).join(',')}`;
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
  return { problems, arrays: pythonArrays, expected };
}
