// Module Web Worker: loads the WebAssembly build of varscope (wasm/bindings.cpp)
// and answers {id, fn, args} requests with {id, ok, result} or {id, ok:false, error}.
// Results are the bindings' JSON text, parsed here. Requests run one at a time in
// arrival order, so the page trains the date model in short chunks (datesTrain)
// and a decode or a pause lands between two chunks; the page itself never blocks.
import createVarscope from './dist/varscope_web.mjs';

const allowed = new Set(['tour', 'reuseTable', 'feedForward', 'seq2seq', 'saveCheckpoint', 'loadCheckpoint',
  'datesLoad', 'datesNew', 'datesDecode', 'datesTrain', 'datesValidate', 'datesSave', 'setThreads']);
/** The committed trained models (models/dates.json, models/dates-attention.json), copied into dist/ by the wasm build. */
const defaultModels = {
  '': { url: new URL('./dist/models/dates.json', import.meta.url), label: 'models/dates.json (the trained default)' },
  attention: {
    url: new URL('./dist/models/dates-attention.json', import.meta.url),
    label: 'models/dates-attention.json (trained, with attention)',
  },
};
const ready = createVarscope();

ready.then(
  () => self.postMessage({ id: 0, ready: true }),
  (e) => self.postMessage({ id: 0, ready: false, error: String(e && e.message ? e.message : e) }),
);

let queue = Promise.resolve();
self.onmessage = (event) => {
  queue = queue.then(() => handle(event.data));
};

async function handle({ id, fn, args = [] }) {
  try {
    const mod = await ready;
    let callArgs = args;
    let name = fn;
    if (fn === 'datesLoadDefault') {
      // Fetch the committed model here (not in the page): 2.6 MB never crosses postMessage twice.
      // args[0]: '' the default (no attention), 'attention' the attention model.
      const which = defaultModels[args[0] || ''];
      if (!which) throw new Error(`no committed date model '${args[0]}' (use '' or 'attention')`);
      const res = await fetch(which.url);
      if (!res.ok) throw new Error(`${which.url.pathname}: HTTP ${res.status} (build the wasm preset: it copies models/dates*.json into build/wasm/web-dist/models/, served as dist/)`);
      callArgs = [await res.text(), which.label];
      name = 'datesLoad';
    } else if (!allowed.has(fn)) {
      throw new Error(`unknown function ${fn}`);
    }
    const started = performance.now();
    const text = mod[name](...callArgs);
    const result = JSON.parse(text);
    self.postMessage({ id, ok: true, result, ms: performance.now() - started });
  } catch (e) {
    self.postMessage({ id, ok: false, error: String(e && e.message ? e.message : e) });
  }
}
