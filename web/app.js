// The demo page: every computation goes to worker.js (the WebAssembly build);
// this file only turns form inputs into requests and results into DOM (and draws
// the date model's training curves with uPlot, copied into dist/ by the wasm build).
import uPlot from './dist/uplot/uPlot.esm.js';

const $ = (id) => document.getElementById(id);

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const waiting = new Map();
let pending = 0;
let resolveReady;
const ready = new Promise((r) => (resolveReady = r));

function setPending(delta) {
  pending += delta;
  document.body.dataset.pending = String(pending);
  document.body.setAttribute('aria-busy', pending > 0 ? 'true' : 'false');
}

worker.onmessage = (event) => {
  const msg = event.data;
  if (msg.id === 0) {
    if (msg.ready) resolveReady();
    else showError(`The WebAssembly module failed to load: ${msg.error}`);
    return;
  }
  const w = waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  setPending(-1);
  if (msg.ok) w.resolve(msg.result);
  else w.reject(new Error(msg.error));
};
worker.onerror = (e) => showError(`Worker error: ${e.message || 'could not start the worker'}`);

/** Calls a bindings function in the worker; resolves with its parsed JSON. */
async function call(fn, ...args) {
  await ready;
  const id = nextId++;
  setPending(+1);
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, fn, args });
  });
}

function showError(message) {
  const el = $('error');
  el.textContent = message;
  el.hidden = false;
}
function clearError() {
  const el = $('error');
  el.textContent = '';
  el.hidden = true;
}
/** A bindings result with ok:false (a varscope::Error from C++) becomes an exception. */
function check(result, what) {
  if (result && result.ok === false) throw new Error(`${what}: ${result.kind}: ${result.message}`);
  return result;
}
async function guarded(what, body) {
  try {
    await body();
  } catch (e) {
    showError(e.message.startsWith(what) ? e.message : `${what}: ${e.message}`);
  }
}

const shapeText = (shape) => `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;

function fillVarList(list, variables) {
  list.replaceChildren(
    ...variables.map((v) => {
      const li = document.createElement('li');
      const name = document.createElement('code');
      name.textContent = v.name;
      li.append(name, ` ${shapeText(v.shape)}`);
      return li;
    }),
  );
}

function row(cells, header = false) {
  const tr = document.createElement('tr');
  cells.forEach((c, i) => {
    const td = document.createElement(header && i === 0 ? 'th' : 'td');
    if (header && i === 0) td.scope = 'row';
    td.textContent = c;
    tr.append(td);
  });
  return tr;
}

// ---------------------------------------------------------------- 1. reuse modes
async function updateReuse() {
  await guarded('Reuse modes', async () => {
    const r = check(await call('reuseTable', $('reuse-outer').value, $('reuse-inner').value), 'Reuse modes');
    $('reuse-effective').textContent = r.effective;
    $('reuse-create').textContent = r.createNew === 'create' ? `create → ${r.createNewName}` : r.createNew;
    $('reuse-create').className = r.createNew === 'create' ? 'ok' : 'bad';
    $('reuse-get').textContent = r.getExisting === 'return' ? `return → ${r.getExistingName}` : r.getExisting;
    $('reuse-get').className = r.getExisting === 'return' ? 'ok' : 'bad';
    document.getElementById('reuse').dataset.state = `${r.outer}/${r.inner}`;
  });
}

// ---------------------------------------------------------------- 2. feed-forward
async function updateFeedForward() {
  await guarded('Feed-forward', async () => {
    const r = check(await call('feedForward'), 'Feed-forward');
    $('ff-unshared-flag').textContent = r.unshared.shared;
    $('ff-shared-flag').textContent = r.shared.shared;
    fillVarList($('ff-unshared-vars'), r.unshared.variables);
    fillVarList($('ff-shared-vars'), r.shared.variables);
  });
}

// ---------------------------------------------------------------- 3. seq2seq
function readParams() {
  const sources = $('s2s-source')
    .value.split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line, row) =>
      line.split(/[\s,]+/).map((s) => {
        if (!/^\d+$/.test(s)) throw new Error(`source row ${row + 1}: '${s}' is not a token id`);
        return Number(s);
      }),
    );
  if (sources.length === 0) throw new Error('give at least one row of source ids');
  const seed = $('s2s-seed').value.trim();
  if (!/^\d+$/.test(seed) || Number(seed) > 4294967295) throw new Error(`graph seed '${seed}' must be an integer in [0, 4294967295]`);
  return {
    sources,
    beamWidth: Number($('s2s-beam').value),
    maxLen: Number($('s2s-maxlen').value),
    lengthPenalty: Number($('s2s-penalty').value),
    seed: Number(seed),
  };
}

function beamTable(rowIndex, source, hypotheses) {
  const table = document.createElement('table');
  table.className = 'beam-table';
  table.dataset.row = String(rowIndex);
  const caption = document.createElement('caption');
  caption.textContent = `batch row ${rowIndex + 1} — source [${source.join(' ')}]`;
  const head = document.createElement('thead');
  const tr = document.createElement('tr');
  for (const h of ['beam', 'ids (until EOS)', 'score', 'length', 'log prob']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    tr.append(th);
  }
  head.append(tr);
  const body = document.createElement('tbody');
  body.append(
    ...hypotheses.map((h, i) =>
      row([String(i), h.ids.join(' '), h.score.toFixed(5), String(h.length), h.logProb.toFixed(5)], true),
    ),
  );
  table.append(caption, head, body);
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  wrap.append(table);
  return wrap;
}

// "Both decoders hold the same variables" (the seq2seq and the dates sections): one row per
// variable of the training decoder beside the beam-search decoder's, and the verdict.
// `decoders` is the bindings' { trainer, generation }: [{ name, fingerprint }] each.
function showSharedVariables(tableId, verdictId, { trainer, generation }) {
  let allSame = trainer.length === generation.length && trainer.length > 0;
  $(tableId).tBodies[0].replaceChildren(...trainer.map((v, i) => {
    const g = generation[i];
    const same = Boolean(g) && g.name === v.name && g.fingerprint === v.fingerprint;
    allSame = allSame && same;
    const tr = row([v.name, v.fingerprint, g ? `${g.fingerprint}` : '—', same ? 'yes' : 'NO'], true);
    tr.lastChild.className = same ? 'ok' : 'bad';
    return tr;
  }));
  $(verdictId).textContent = allSame
    ? `True — both decoders hold the same ${trainer.length} decoder variables`
    : 'False — the decoders hold different variables';
  $(verdictId).className = allSame ? 'ok' : 'bad';
}

function showSeq2seq(r, params) {
  $('s2s-train').textContent = r.trainArgmax.map((ids) => `[${ids.join(' ')}]`).join(' ');
  $('s2s-beam-tables').replaceChildren(...r.hypotheses.map((hyps, b) => beamTable(b, params.sources[b], hyps)));
  showSharedVariables('s2s-shared', 's2s-shared-verdict', r.decoders);
  const vars = $('s2s-vars').tBodies[0];
  vars.replaceChildren(...r.variables.map((v) => row([v.name, shapeText(v.shape), v.fingerprint])));
  $('s2s-var-count').textContent = String(r.variables.length);
  $('s2s-perturbed').textContent = r.perturbations
    ? `decoder/decoder/out_layer/kernel perturbed ${r.perturbations}× (seeded noise, stddev 0.05)`
    : '';
  window.varscopeDemo.lastSeq2seq = r;
  document.getElementById('seq2seq').dataset.runs = String(Number(document.getElementById('seq2seq').dataset.runs || 0) + 1);
}

async function decode(perturb = false) {
  await guarded('Seq2seq', async () => {
    const params = { ...readParams(), perturb };
    showSeq2seq(check(await call('seq2seq', JSON.stringify(params)), 'Seq2seq'), params);
    clearError();
  });
}


// ---------------------------------------------------------------- 3b. the date model
const datesEl = () => document.getElementById('dates');
const datesState = {
  steps: [], losses: [], accSteps: [], acc: [], training: false, loop: null, lastEval: 0, lastDecodeAt: 0,
  lastDecode: null, info: null, attnBeam: 0, runs: [], run: null,
};
const TRAIN_CHUNK = 5;      // steps per worker request: a pause or a decode waits at most one chunk
const EVAL_EVERY = 100;     // steps between validation runs
const EVAL_SIZE = 200;      // validation dates per run
const DECODE_EVERY_MS = 1500;

function plotWidth(id) {
  return Math.max(240, Math.min(560, $(id).clientWidth || 320));
}
const lossPlot = new uPlot({
  title: 'training loss (sequence_loss per step)', width: plotWidth('train-loss-plot'), height: 220,
  scales: { x: { time: false }, y: { distr: 3 } },
  series: [{ label: 'step' }, { label: 'loss', stroke: '#c0392b', width: 1 }],
  axes: [{}, { size: 60 }],
}, [[], []], $('train-loss-plot'));
const accPlot = new uPlot({
  title: 'validation accuracy (greedy exact match)', width: plotWidth('train-acc-plot'), height: 220,
  scales: { x: { time: false }, y: { range: [0, 1] } },
  series: [{ label: 'step' }, { label: 'accuracy', stroke: '#2471a3', width: 2, points: { show: true } }],
  axes: [{}, { size: 50 }],
}, [[], []], $('train-acc-plot'));
window.addEventListener('resize', () => {
  lossPlot.setSize({ width: plotWidth('train-loss-plot'), height: 220 });
  accPlot.setSize({ width: plotWidth('train-acc-plot'), height: 220 });
});

function showDatesInfo(info) {
  datesState.info = info;
  const h = info.hyper;
  $('dates-model').textContent = `${info.source} — step ${info.step}, ${info.model}: hidden ${h.hidden}, ` +
    `embedding ${h.embedding}, batch ${h.batch}, seed ${h.seed}`;
  $('train-step').textContent = String(info.step);
  datesEl().dataset.step = String(info.step);
  setTrainingButtons();
}

// The attention heat map of one hypothesis: a table with the output characters as rows (the
// end token </s> included) and the source characters as columns, each cell shaded by its
// alignment weight. Every cell carries its exact value in data-value (a row sums to 1).
function showAttention(r) {
  const section = $('dates-attn-section');
  const hyps = r.hypotheses.filter((h) => Array.isArray(h.alignments));
  if (!hyps.length) {
    section.hidden = true;
    $('dates-attn').replaceChildren();
    datesEl().dataset.attention = 'off';
    return;
  }
  if (datesState.attnBeam >= r.hypotheses.length) datesState.attnBeam = 0;
  const k = datesState.attnBeam;
  const h = r.hypotheses[k];
  const table = $('dates-attn');
  const head = document.createElement('thead');
  const axis = document.createElement('tr');
  const corner = document.createElement('th');
  corner.className = 'axis';
  corner.scope = 'col';
  corner.textContent = 'output ↓ · source →';
  axis.append(corner);
  r.sourceChars.forEach((c, j) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = c === ' ' ? '␣' : c;
    th.title = `source character ${j + 1}: '${c}'`;
    axis.append(th);
  });
  head.append(axis);
  const body = document.createElement('tbody');
  h.alignments.forEach((weights, t) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = h.outputTokens[t];
    tr.append(th);
    weights.forEach((w, j) => {
      const td = document.createElement('td');
      td.dataset.value = String(w);
      td.style.background = `rgba(11, 92, 173, ${Math.min(1, Math.max(0, w)).toFixed(3)})`;
      td.title = `${h.outputTokens[t]} ← '${r.sourceChars[j]}': ${w.toFixed(4)}`;
      tr.append(td);
    });
    body.append(tr);
  });
  table.replaceChildren(head, body);
  table.dataset.beam = String(k);
  table.dataset.text = h.text;
  table.dataset.rows = String(h.alignments.length);
  table.dataset.cols = String(r.sourceChars.length);
  $('dates-attn-beam').textContent = `${k} (${h.text})`;
  [...$('dates-beams').tBodies[0].rows].forEach((tr, i) => tr.classList.toggle('selected', i === k));
  section.hidden = false;
  datesEl().dataset.attention = 'on';
  datesEl().dataset.attnDraws = String(Number(datesEl().dataset.attnDraws || 0) + 1);
}

function showDatesDecode(r) {
  showDatesInfo(r);
  if (!datesState.lastDecode || datesState.lastDecode.input !== r.input) datesState.attnBeam = 0;
  $('dates-greedy').textContent = `${r.greedy.text}  (score ${r.greedy.score.toFixed(5)})`;
  $('dates-beams').tBodies[0].replaceChildren(...r.hypotheses.map((h, i) => {
    const tr = row([String(i), h.text, h.score.toFixed(5), h.logProb.toFixed(5), String(h.length)], true);
    tr.dataset.beam = String(i);
    if (h.alignments) tr.title = 'show this hypothesis\' attention';
    return tr;
  }));
  $('dates-unknown').textContent = r.unknown ? `characters outside the vocabulary, read as <unk>: ${r.unknown}` : '';
  showSharedVariables('dates-shared', 'dates-shared-verdict', r.decoders);
  $('dates-vars').tBodies[0].replaceChildren(...r.variables.map((v) => row([v.name, shapeText(v.shape), v.fingerprint])));
  $('dates-var-count').textContent = String(r.variables.length);
  datesState.lastDecode = r;
  showAttention(r);
  window.varscopeDemo.lastDates = r;
  datesEl().dataset.decodes = String(Number(datesEl().dataset.decodes) + 1);
}

async function decodeDates() {
  await guarded('Dates', async () => {
    const beam = Number($('dates-beam').value);
    const r = check(await call('datesDecode', JSON.stringify({ text: $('dates-input').value, beam, nBest: beam })), 'Dates');
    datesState.lastDecodeAt = performance.now();
    showDatesDecode(r);
    clearError();
  });
}

function resetCurves() {
  datesState.steps = [];
  datesState.losses = [];
  datesState.accSteps = [];
  datesState.acc = [];
  lossPlot.setData([[], []]);
  accPlot.setData([[], []]);
  $('train-loss').textContent = '–';
  $('train-acc').textContent = '–';
}

async function validateDates() {
  const v = check(await call('datesValidate', EVAL_SIZE), 'Validation');
  datesState.lastEval = v.step;
  datesState.accSteps.push(v.step);
  datesState.acc.push(v.accuracy);
  accPlot.setData([datesState.accSteps, datesState.acc]);
  $('train-acc').textContent = `${(100 * v.accuracy).toFixed(1)}% at step ${v.step}`;
  if (datesState.run) {
    const run = datesState.run;
    run.step = v.step;
    run.accuracy = v.accuracy;
    if (run.reached99 === null && v.accuracy >= 0.99) run.reached99 = v.step;
    showRuns();
  }
  datesEl().dataset.accuracy = String(v.accuracy);
  datesEl().dataset.evals = String(datesState.acc.length);
}

// One row per training run started on this page (from scratch or from a committed model):
// its latest validation accuracy and the first validation step at ≥ 99%.
function showRuns() {
  $('train-runs').tBodies[0].replaceChildren(...datesState.runs.map((run, i) => {
    const tr = row([String(i + 1), run.model, run.attention || 'none', String(run.step),
      run.accuracy === null ? '–' : `${(100 * run.accuracy).toFixed(1)}%`,
      run.reached99 === null ? '–' : String(run.reached99)], true);
    tr.dataset.attention = run.attention || 'none';
    return tr;
  }));
}

function setTrainingButtons() {
  const running = datesState.training;
  $('train-pause').disabled = !running;
  $('train-resume').disabled = running || !datesState.info;
  datesEl().dataset.state = running ? 'training' : datesState.steps.length ? 'paused' : 'idle';
}

async function trainLoop() {
  const started = performance.now();
  const startStep = datesState.info ? datesState.info.step : 0;
  while (datesState.training) {
    const r = check(await call('datesTrain', TRAIN_CHUNK), 'Training');
    r.losses.forEach((loss, i) => {
      datesState.steps.push(r.step - r.losses.length + i + 1);
      datesState.losses.push(loss);
    });
    lossPlot.setData([datesState.steps, datesState.losses]);
    const recent = datesState.losses.slice(-20);
    $('train-loss').textContent = (recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4);
    const seconds = (performance.now() - started) / 1000;
    $('train-rate').textContent = `${((r.step - startStep) / seconds).toFixed(1)} steps/s, ${seconds.toFixed(0)} s`;
    showDatesInfo(r);
    if (r.step - datesState.lastEval >= EVAL_EVERY) {
      await validateDates();
      await decodeDates();
    } else if (performance.now() - datesState.lastDecodeAt > DECODE_EVERY_MS) {
      await decodeDates();
    }
  }
}

function startTraining() {
  if (datesState.training) return;
  datesState.training = true;
  setTrainingButtons();
  datesState.loop = trainLoop()
    .catch((e) => showError(e.message))
    .finally(() => {
      datesState.training = false;
      setTrainingButtons();
      datesState.loop = null;
    });
}

async function pauseTraining() {
  datesState.training = false;
  if (datesState.loop) await datesState.loop;
  setTrainingButtons();
}

async function newTraining(fromDefault) {
  await pauseTraining();
  await guarded('Training', async () => {
    const info = fromDefault
      ? check(await call('datesLoadDefault', $('dates-attention').value), 'Default model')
      : check(await call('datesNew', JSON.stringify({
        hidden: Number($('train-hidden').value), embedding: Number($('train-embedding').value),
        batch: Number($('train-batch').value), seed: Number($('train-seed').value),
        attention: $('train-attention').value,
      })), 'New model');
    resetCurves();
    datesState.run = {
      model: `${fromDefault ? 'committed' : 'from scratch'}: ${info.model}, hidden ${info.hyper.hidden}`,
      attention: info.hyper.attention, step: info.step, accuracy: null, reached99: null,
    };
    datesState.runs.push(datesState.run);
    showRuns();
    datesState.lastEval = info.step;
    showDatesInfo(info);
    $('dates-report').textContent = '';
    await decodeDates();
    startTraining();
  });
}

async function saveDates() {
  await guarded('Save date model', async () => {
    const r = check(await call('datesSave'), 'Save date model');
    const url = URL.createObjectURL(new Blob([r.text], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `varscope-dates-step${r.step}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    $('dates-report').textContent = `Saved the model at step ${r.step} (${(r.text.length / 1e6).toFixed(1)} MB, with Adam's state: training can resume from it).`;
  });
}

async function loadDatesFile(file) {
  await pauseTraining();
  await guarded('Load date model', async () => {
    const text = await file.text();
    const r = await call('datesLoad', text, file.name);
    if (r.ok === false) {
      $('dates-report').textContent = `${file.name}: not loaded (the current model is unchanged).`;
      throw new Error(`Load date model: ${file.name}: ${r.kind}: ${r.message}`);
    }
    resetCurves();
    datesState.lastEval = r.step;
    showDatesInfo(r);
    $('dates-report').textContent = `${file.name}: loaded (step ${r.step}).`;
    datesEl().dataset.loaded = String(Number(datesEl().dataset.loaded || 0) + 1);
    await decodeDates();
    setTrainingButtons();
  });
}

// The committed model the "attention" switch selects: models/dates.json or models/dates-attention.json.
async function loadDefaultDates() {
  await guarded('Default model', async () => {
    const which = $('dates-attention').value;
    showDatesInfo(check(await call('datesLoadDefault', which), 'Default model'));
    datesEl().dataset.model = which || 'default';
    await decodeDates();
  });
}

// ---------------------------------------------------------------- 4. checkpoint
async function saveCheckpoint() {
  await guarded('Save checkpoint', async () => {
    const r = check(await call('saveCheckpoint'), 'Save checkpoint');
    const url = URL.createObjectURL(new Blob([r.text], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'varscope-demo-checkpoint.json';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    $('ckpt-report').textContent = `Saved ${(r.text.length / 1e6).toFixed(1)} MB checkpoint.`;
  });
}

/** Reads a File as text in chunks, showing progress (large checkpoints are tens of MB). */
async function readWithProgress(file) {
  const rowEl = $('ckpt-progress-row');
  const bar = $('ckpt-progress');
  const label = $('ckpt-progress-label');
  const mb = (n) => (n / 1e6).toFixed(1);
  bar.max = Math.max(file.size, 1);
  bar.value = 0;
  label.textContent = `Reading ${file.name}: 0 / ${mb(file.size)} MB`;
  rowEl.hidden = false;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const parts = [];
  let done = 0;
  const reader = file.stream().getReader();
  for (;;) {
    const { value, done: finished } = await reader.read();
    if (finished) break;
    parts.push(decoder.decode(value, { stream: true }));
    done += value.byteLength;
    bar.value = done;
    label.textContent = `Reading ${file.name}: ${mb(done)} / ${mb(file.size)} MB`;
  }
  parts.push(decoder.decode());
  label.textContent = `Read ${file.name} (${mb(done)} MB); restoring…`;
  document.getElementById('checkpoint').dataset.progress = String(done);
  return parts.join('');
}

async function loadCheckpointFile(file) {
  await guarded('Load checkpoint', async () => {
    $('ckpt-report').textContent = `Reading ${file.name}…`;
    let text;
    try {
      text = await readWithProgress(file);
    } catch (e) {
      $('ckpt-report').textContent = `${file.name}: not loaded.`;
      throw new Error(`Load checkpoint: ${file.name}: not UTF-8 text (${e.message})`);
    }
    const r = await call('loadCheckpoint', text);
    $('ckpt-progress-label').textContent = `Read ${file.name}; ${r.ok === false ? 'not restored' : 'restored'}.`;
    if (r.ok === false) {
      $('ckpt-report').textContent = `${file.name}: not loaded.`;
      throw new Error(`Load checkpoint: ${file.name}: ${r.kind}: ${r.message}`);
    }
    clearError();
    $('ckpt-report').textContent = `${file.name}: ok — restored ${r.matched.length} variables.\n${r.message}`;
    document.getElementById('checkpoint').dataset.loaded = String(Number(document.getElementById('checkpoint').dataset.loaded || 0) + 1);
    await decode(false);
  });
}

// ---------------------------------------------------------------- 5. article tour
async function runTour() {
  await guarded('Article tour', async () => {
    const r = check(await call('tour', $('tour-section').value), 'Article tour');
    const select = $('tour-section');
    if (select.options.length === 1) {
      for (const sec of r.sections.filter((x) => !x.beyond)) select.append(new Option(`${sec.id} — ${sec.title}`, sec.id));
      // Sections beyond the article (issue 11: training), in their own clearly marked group.
      const beyond = r.sections.filter((x) => x.beyond);
      if (beyond.length) {
        const group = document.createElement('optgroup');
        group.label = 'Beyond the article (not in the source text)';
        for (const sec of beyond) group.append(new Option(`[beyond the article] ${sec.id} — ${sec.title}`, sec.id));
        select.append(group);
      }
    }
    $('tour-output').textContent = r.text;
    document.getElementById('tour').dataset.runs = String(Number(document.getElementById('tour').dataset.runs || 0) + 1);
  });
}

// ---------------------------------------------------------------- wiring
window.varscopeDemo = { call, lastSeq2seq: null, lastDates: null, dates: datesState };

$('reuse-outer').addEventListener('change', updateReuse);
$('reuse-inner').addEventListener('change', updateReuse);
$('s2s-form').addEventListener('submit', (e) => {
  e.preventDefault();
  decode(false);
});
$('s2s-perturb').addEventListener('click', () => decode(true));
$('ckpt-save').addEventListener('click', saveCheckpoint);
$('dates-form').addEventListener('submit', (e) => {
  e.preventDefault();
  decodeDates();
});
let typing = null;
$('dates-input').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(decodeDates, 250);
});
$('dates-beams').tBodies[0].addEventListener('click', (e) => {
  const tr = e.target.closest('tr');
  if (!tr || !datesState.lastDecode) return;
  datesState.attnBeam = Number(tr.dataset.beam);
  showAttention(datesState.lastDecode);
});
$('dates-attention').addEventListener('change', async () => {
  await pauseTraining();
  datesState.run = null;
  resetCurves();
  await loadDefaultDates();
});
$('train-scratch').addEventListener('click', () => newTraining(false));
$('train-default').addEventListener('click', () => newTraining(true));
$('train-pause').addEventListener('click', pauseTraining);
$('train-resume').addEventListener('click', startTraining);
$('dates-save').addEventListener('click', saveDates);
$('dates-file').addEventListener('change', (e) => {
  const file = e.target.files && e.target.files[0];
  if (file) loadDatesFile(file);
  e.target.value = '';
});
$('tour-run').addEventListener('click', runTour);
$('ckpt-file').addEventListener('change', (e) => {
  const file = e.target.files && e.target.files[0];
  if (file) loadCheckpointFile(file);
  e.target.value = '';
});
const drop = $('ckpt-drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer.files && e.dataTransfer.files[0];
  if (file) loadCheckpointFile(file);
});

setPending(0);
ready.then(async () => {
  $('status').textContent = 'WebAssembly module loaded.';
  await Promise.all([updateReuse(), updateFeedForward(), decode(false), runTour(), loadDefaultDates()]);
  $('status').textContent = 'Ready.';
  document.body.dataset.ready = 'true';
});
