#!/usr/bin/env node
// Browser test of the page's Playground (issue 24) in headless Chromium (apt `chromium`, npm
// playwright-core), with every request beyond the local server aborted (the page must work offline):
//   node tests/browser/playground.test.mjs [--web DIR] [--dist DIR] [--artifacts DIR] [--module MJS]
// 1. the drop-down lists the article's blocks under their Japanese headings (web/playground/article-blocks.json);
// 2. the whole article, picked from the drop-down and Run: its output against tests/data/article_outputs.txt
//    (tests/playground/article_compare.mjs) and byte for byte against the same code under node
//    (tools/tf1-python.mjs on --module); the variable table: every graph's variables, decoder/decoder/...
//    and feed_forward_shared/... marked reused, encoder/... and feed_forward_x/... created only;
// 3. `reuse=True` edited into a block where it must fail: TF's ValueError text, naming the edited line;
// 4. the #code= link reopens the edited code; a second Run of the article prints the same (fresh graph);
// 5. output streams during a run; Stop ends a run that never returns and Python restarts;
// 6. the "(beyond the article)" attention entries: the trap's decoder/memory_layer_1 flagged by the variable
//    audit's warning in the variable table, none for the TF-correct way;
// 7. reports the time from navigation to the first Run result and what the playground downloads.
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repo, chromiumPath, commandLine, defaultDist, eq, harness, openDemoPage } from './support.mjs';
import { compareArticleOutput } from '../playground/article_compare.mjs';

const opt = commandLine();
const webDir = path.resolve(opt('--web', path.join(repo, 'web')));
const distDir = path.resolve(opt('--dist', defaultDist));
const artifacts = path.resolve(opt('--artifacts', path.join(repo, 'build', 'test-artifacts')));
const modulePath = path.resolve(opt('--module', path.join(distDir, 'varscope_web.mjs')));
const blocks = JSON.parse(fs.readFileSync(path.join(webDir, 'playground', 'article-blocks.json'), 'utf8'));

const { timings, check, run } = harness();
const extra = [];

const seq2seqVars = [
  'embedding:0',
  'encoder/cell/gates/kernel:0', 'encoder/cell/gates/bias:0',
  'encoder/cell/candidate/kernel:0', 'encoder/cell/candidate/bias:0',
  'decoder/decoder/cell/gates/kernel:0', 'decoder/decoder/cell/gates/bias:0',
  'decoder/decoder/cell/candidate/kernel:0', 'decoder/decoder/cell/candidate/bias:0',
  'decoder/decoder/out_layer/kernel:0',
];

// The variable table as the DOM shows it: per graph, [name, reused count, line or null, mark, reusing lines].
async function table(page) {
  return page.evaluate(() => [...document.querySelectorAll('#pg-vars .pg-graph')].map((g) =>
    [...g.querySelectorAll('li.pg-var')].map((li) => [li.dataset.name, Number(li.dataset.reused),
      li.dataset.line ? Number(li.dataset.line) : null, li.querySelector('.pg-mark').textContent.trim(),
      li.dataset.reusedLines ? li.dataset.reusedLines.split(' ').map(Number) : []])));
}

// The editor's text (CodeMirror's document, through the page's hook).
const code = (page) => page.evaluate(() => window.varscopePlayground.code());

async function runAndWait(page, runs) {
  await page.click('#pg-run');
  await page.waitForSelector(`#playground[data-runs="${runs}"]`, { timeout: 120000 });
  return page.evaluate(() => ({ ...window.varscopePlayground.last, dom: document.getElementById('pg-output').textContent,
    status: document.getElementById('pg-status').textContent, hash: location.hash }));
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of ['varscope_web.mjs', 'varscope_web.wasm', 'python.zip', 'pyodide/pyodide.mjs', 'pyodide/pyodide.asm.wasm'])
    if (!check(fs.existsSync(path.join(distDir, f)), `${distDir}/${f} exists (built by the wasm preset's varscope_web)`)) return;
  if (!check(fs.existsSync(chromiumPath), `Chromium at ${chromiumPath} (apt-get install chromium)`)) return;

  // The whole article under node: the reference for the page's output, byte for byte.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-'));
  const articleFile = path.join(tmp, 'article.py');
  fs.writeFileSync(articleFile, blocks.entries[0].code);
  let t = performance.now();
  const node = spawnSync(process.execPath, [path.join(repo, 'tools', 'tf1-python.mjs'), '--wasm', modulePath, articleFile],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  timings.nodeArticleMs = performance.now() - t;
  check(node.status === 0 && node.stderr === '', 'node: the whole-article entry runs', node.stderr);

  t = performance.now();
  // local: every URL the page and its workers requested (support.mjs's route aborts all others).
  const { page, pageErrors, foreign, local, close } = await openDemoPage({ webDir, distDir });
  try {
    await page.waitForSelector('#playground:is([data-state="ready"], [data-state="error"])', { timeout: 120000 });
    if (!check(await page.getAttribute('#playground', 'data-state') === 'ready', 'the playground loads (Pyodide, the shim, varscope)',
      `${await page.textContent('#pg-status')}\n     ${(await page.textContent('#pg-output')).slice(0, 1500)}`)) return;
    timings.playgroundReadyMs = await page.evaluate(() => window.varscopePlayground.readyMs);

    // 1. The drop-down.
    const options = await page.$$eval('#pg-block option', (os) => os.map((o) => o.textContent));
    check(eq(options, blocks.entries.map((e) => e.label)), 'the drop-down lists the whole article and every block, with the article\'s headings',
      JSON.stringify(options));
    check(options.some((o) => o.includes('reuse option の継承')) && options.some((o) => o.includes('Seq2Seq のデコーダを学習時と生成時で分ける')),
      'the drop-down shows the Japanese headings');
    check(await code(page) === blocks.entries[0].code, 'the editor opens with the whole article');
    check(await page.locator('#pg-editor .cm-editor .cm-content[aria-label="Python code"]').count() === 1,
      'the editor is CodeMirror (the bundle from dist/playground-editor.mjs)');
    check(await page.locator('#pg-editor .cm-content .tok-keyword, #pg-editor .cm-content span[class^="ͼ"]').count() > 0,
      'the code is highlighted as Python');

    // 2. The whole article, picked from the drop-down.
    await page.selectOption('#pg-block', '8');
    check(await code(page) === blocks.entries[8].code, 'picking the seq2seq block puts it in the editor');
    await page.selectOption('#pg-block', '0');
    check(await code(page) === blocks.entries[0].code, 'picking the whole article puts it back');
    const first = await runAndWait(page, 1);
    timings.firstRunResultMs = await page.evaluate(() => window.varscopePlayground.firstResultMs);
    timings.firstRunMs = first.ms;
    check(first.exitCode === 0 && first.stderr === '', 'the article runs: exit 0, nothing on stderr', first.stderr.slice(0, 800));
    const cmp = compareArticleOutput(first.stdout);
    check(cmp.problems.length === 0, `the output matches the article (${cmp.expected.length} lines: names, booleans, reuse tables; 2 id arrays by shape)`,
      cmp.problems.join('\n     '));
    check(first.stdout === node.stdout, 'the page prints byte for byte what tools/tf1-python.mjs prints (ids included)',
      `${JSON.stringify(first.stdout.slice(-300))}\n     vs ${JSON.stringify(node.stdout.slice(-300))}`);
    check(first.dom === first.stdout, 'the output pane shows the streamed stdout');
    await page.locator('#playground').screenshot({ path: path.join(artifacts, 'playground-article.png') });

    const graphs = await table(page);
    const byName = new Map(graphs.flat().map((v) => [v[0], v]));
    check(graphs.length === 7, `the table has the article's 7 graphs with variables`, `${graphs.length}`);
    const s2s = graphs.at(-1) ?? [];
    check(eq(s2s.map((v) => v[0]), seq2seqVars), 'the seq2seq graph lists its 10 variables in creation order',
      JSON.stringify(s2s.map((v) => v[0])));
    for (const name of seq2seqVars.filter((n) => n.startsWith('decoder/')))
      check(byName.get(name)?.[1] === 1 && /reused ×1/.test(byName.get(name)?.[3]), `${name}: reused once (by the generation decoder)`,
        JSON.stringify(byName.get(name)));
    for (const name of seq2seqVars.filter((n) => !n.startsWith('decoder/')))
      check(s2s.find((v) => v[0] === name)?.[1] === 0, `${name}: created, not reused`);
    for (const [name, reused] of [['feed_forward_shared/dense_a/kernel:0', 1], ['feed_forward_shared/dense_b/bias:0', 1],
      ['feed_forward_x/dense_a/kernel:0', 0], ['feed_forward_y/dense_b/bias:0', 0], ['hoge/variable:0', 1],
      ['reuse_none/variable:0', 0], ['auto_reuse/variable:0', 1]])
      check(byName.get(name)?.[1] === reused, `${name}: reused ${reused}×`, JSON.stringify(byName.get(name)));
    const articleLines = blocks.entries[0].code.split('\n');
    const embedding = s2s.find((v) => v[0] === 'embedding:0');
    check(embedding?.[2] && /tf\.Variable\(.*name='embedding'\)/.test(articleLines[embedding[2] - 1]),
      'embedding:0 names the Python line that created it', JSON.stringify(embedding));
    // Which line: the decoders' variables are created by the training decoder's dynamic_decode and reused
    // by the beam-search decoder's (both lines of the Run's code, found by their text).
    const lineOf = (n) => articleLines[n - 1] ?? '';
    const trainDecode = articleLines.findIndex((l) => l.includes('dynamic_decode(decoder, swap_memory=True')) + 1;
    const beamDecode = articleLines.findIndex((l) => l.includes('decoder_outputs, _, _ = tf.contrib.seq2seq.dynamic_decode(')) + 1;
    for (const name of seq2seqVars.filter((n) => n.startsWith('decoder/'))) {
      const v = byName.get(name);
      check(v?.[2] === trainDecode && eq(v?.[4], [beamDecode]),
        `${name}: created at line ${trainDecode} (the training decoder's dynamic_decode), reused by line ${beamDecode} (the beam search's)`,
        JSON.stringify(v));
    }
    const hoge = byName.get('hoge/variable:0');
    check(/v_c = tf\.get_variable\('variable'/.test(lineOf(hoge?.[4]?.[0])) && /v_a = tf\.get_variable/.test(lineOf(hoge?.[2])),
      'hoge/variable:0: created by v_a\'s line, reused by v_c\'s', JSON.stringify(hoge));
    const kernelX = byName.get('feed_forward_x/dense_a/kernel:0');
    check(/tf\.layers\.dense\(inputs, 20, name='dense_a'\)/.test(lineOf(kernelX?.[2])),
      'feed_forward_x/dense_a/kernel:0: created at the tf.layers.dense line', JSON.stringify(kernelX));
    const scopes = await page.$$eval('#pg-vars .pg-graph:last-of-type li.pg-scope', (ls) => ls.map((l) => l.dataset.scope));
    check(eq(scopes, ['encoder', 'encoder/cell', 'encoder/cell/gates', 'encoder/cell/candidate', 'decoder', 'decoder/decoder',
      'decoder/decoder/cell', 'decoder/decoder/cell/gates', 'decoder/decoder/cell/candidate', 'decoder/decoder/out_layer']),
    'the seq2seq variables as a scope tree', JSON.stringify(scopes));

    // 3. reuse=True where it must fail: reuse_none/variable does not exist yet.
    await page.selectOption('#pg-block', '3');
    const block = blocks.entries[3].code;
    const from = "with tf.variable_scope('reuse_none', reuse=None):";
    check(block.includes(from), `block 3 has ${from}`);
    const edited = block.replace(from, "with tf.variable_scope('reuse_none', reuse=True):");
    // As a reader would: into the editor, select all, type (insertText: no auto-indent on the way).
    await page.click('#pg-editor .cm-content');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(edited);
    check(await code(page) === edited, 'the edit is in the editor');
    const failed = await runAndWait(page, 2);
    const line = edited.split('\n').findIndex((l) => l.includes("v_none_a = tf.get_variable('variable'")) + 1;
    check(failed.exitCode === 1, 'the edited block fails (exit 1)', `${failed.exitCode}`);
    // TF: "Variable reuse_none/variable does not exist, or was not created with tf.get_variable(). Did you mean
    // to set reuse=tf.AUTO_REUSE in VarScope?"; varscope words the rest (as playground_article_errors checks).
    check(/^ValueError: Variable reuse_none\/variable does not exist, or was not created with /m.test(failed.stderr),
      "TF's ValueError: Variable reuse_none/variable does not exist, or was not created with ...",
      failed.stderr.slice(0, 800));
    check(failed.stderr.includes(`File "<playground>", line ${line}`), `the traceback names the edited block's line ${line}`,
      failed.stderr.slice(0, 800));
    check(failed.dom.includes('ValueError: Variable reuse_none/variable does not exist'), 'the output pane shows the error');
    check(/Failed/.test(failed.status), 'the status says the run failed', failed.status);
    await page.locator('#playground').screenshot({ path: path.join(artifacts, 'playground-error.png') });

    // 4. The #code= link reopens the edited code (a new tab, same context: still offline).
    const shared = await page.context().newPage();
    await shared.goto(new URL(failed.hash, page.url()).href);
    await shared.waitForSelector('#pg-editor .cm-content');
    check(await code(shared) === edited, 'the #code= link reopens the edited code');
    check(await shared.inputValue('#pg-block') === 'shared', 'the drop-down says the code came from the link');
    await shared.close();

    // A second Run of the article in the same worker: a fresh default graph, the same output.
    await page.selectOption('#pg-block', '0');
    const again = await runAndWait(page, 3);
    timings.secondArticleRunMs = again.ms;
    check(again.exitCode === 0 && again.stdout === first.stdout, 'the article again, after the failure: the same output');
    check(eq(await table(page), graphs), 'the same variable table');

    // 5. Output streams while the code runs, and Stop ends a run that never returns.
    const forever = "import tensorflow as tf\nprint('started', tf.get_variable('w', shape=[1]).name)\nwhile True:\n    pass\n";
    await page.click('#pg-editor .cm-content');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(forever);
    await page.click('#pg-run');
    await page.waitForFunction(() => document.getElementById('pg-output').textContent.includes('started w:0'), null, { timeout: 60000 });
    check(await page.getAttribute('#playground', 'data-state') === 'running', 'the printed line shows while the run goes on (streamed)');
    await page.click('#pg-stop');
    await page.waitForSelector('#playground[data-stops="1"][data-loads="2"][data-state="ready"]', { timeout: 120000 });
    check((await page.textContent('#pg-output')).includes('[stopped'), 'Stop ends the run and says so');
    await page.click('#pg-editor .cm-content');
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText("print('after stop', 6 * 7)\n");
    const afterStop = await runAndWait(page, 4);
    check(afterStop.exitCode === 0 && afterStop.stdout === 'after stop 42\n', 'after Stop, the restarted Python runs code', JSON.stringify(afterStop));

    // 6. Beyond the article: the attention sharing trap, then TF's way to avoid it.
    const trapIndex = blocks.entries.findIndex((e) => e.id === 'beyond-attention-trap');
    const sharedIndex = blocks.entries.findIndex((e) => e.id === 'beyond-attention-shared');
    check(trapIndex > 8 && /^\(beyond the article\) attention/.test(options[trapIndex] ?? ''),
      'the attention trap entry comes after the article\'s blocks, labelled as beyond the article', options[trapIndex]);
    await page.selectOption('#pg-block', String(trapIndex));
    const trap = await runAndWait(page, 5);
    check(trap.exitCode === 0 && trap.stderr === '', 'the trap entry runs', trap.stderr.slice(0, 800));
    const warnings = await page.$$eval('#pg-vars .pg-graph .pg-warnings li', (ls) => ls.map((l) => l.textContent));
    check(warnings.length === 1 && warnings[0].includes('decoder/memory_layer_1/kernel was created next to decoder/memory_layer/kernel'),
      'the variable table shows the audit\'s warning for decoder/memory_layer_1', JSON.stringify(warnings));
    const warned = await page.$$eval('#pg-vars li.pg-var.warned', (ls) => ls.map((l) => [l.dataset.name, l.querySelector('.pg-mark').textContent]));
    check(warned.length === 1 && warned[0][0] === 'decoder/memory_layer_1/kernel:0' && warned[0][1].includes('not shared'),
      'decoder/memory_layer_1/kernel:0 is marked as not shared', JSON.stringify(warned));
    await page.locator('#playground').screenshot({ path: path.join(artifacts, 'playground-attention-trap.png') });
    await page.selectOption('#pg-block', String(sharedIndex));
    const sharedRun = await runAndWait(page, 6);
    const sharedWarnings = await page.$$eval('#pg-vars .pg-warnings li', (ls) => ls.length);
    const memoryLayers = (await table(page)).flat().filter((v) => v[0].includes('memory_layer'));
    check(sharedRun.exitCode === 0 && sharedWarnings === 0 && memoryLayers.length === 1 && memoryLayers[0][1] === 1,
      'the TF-correct way: one memory_layer, reused by the beam-search decoder, no warning', JSON.stringify(memoryLayers));

    check(foreign.length === 0, 'no request left the local server', foreign.join(' '));
    check(pageErrors.length === 0, 'no page errors', pageErrors.join('\n     '));

    // The download budget: what the playground requests beyond the demo, sized from the served files.
    const file = (p) => (p.startsWith('/dist/') ? path.join(distDir, p.slice(6)) : path.join(webDir, p.slice(1)));
    const requested = new Set(local.map((u) => new URL(u).pathname));
    const playground = [...requested].filter((p) => /^\/dist\/pyodide\/|^\/dist\/python\.zip$|^\/playground|^\/dist\/playground/.test(p)).sort();
    const size = (p) => fs.statSync(file(p)).size;
    const gz = (p) => zlib.gzipSync(fs.readFileSync(file(p)), { level: 9 }).length;
    const total = playground.reduce((s, p) => s + size(p), 0);
    const totalGz = playground.reduce((s, p) => s + gz(p), 0);
    extra.push(`playground downloads (beyond the demo's varscope_web.wasm/.mjs, which it shares):\n` +
      playground.map((p) => `  ${p} ${size(p)} bytes (gzip -9 ${gz(p)})`).join('\n') +
      `\n  total ${total} bytes (gzip -9 ${totalGz})`);
    for (const p of ['/dist/pyodide/pyodide.asm.wasm', '/dist/pyodide/pyodide.asm.mjs', '/dist/pyodide/python_stdlib.zip',
      '/dist/python.zip', '/dist/varscope_web.wasm', '/playground/article-blocks.json', '/dist/playground-editor.mjs'])
      check(requested.has(p), `${p} came from the page's own server`);
  } finally {
    await close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  extra.push(`time from navigation to the first Run result (Chromium): ${Math.round(timings.firstRunResultMs)} ms ` +
    `(Python + shim + wasm ready at ${Math.round(timings.playgroundReadyMs)} ms, the article's run ${Math.round(timings.firstRunMs)} ms)`);
}

run(main, 'playground: all checks passed', extra);
