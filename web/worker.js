// Module Web Worker: loads the WebAssembly build of varscope (wasm/bindings.cpp)
// and answers {id, fn, args} requests with {id, ok, result} or {id, ok:false, error}.
// Results are the bindings' JSON text, parsed here.
import createVarscope from './dist/varscope_web.mjs';

const allowed = new Set(['tour', 'reuseTable', 'feedForward', 'seq2seq', 'saveCheckpoint', 'loadCheckpoint']);
const ready = createVarscope();

ready.then(
  () => self.postMessage({ id: 0, ready: true }),
  (e) => self.postMessage({ id: 0, ready: false, error: String(e && e.message ? e.message : e) }),
);

self.onmessage = async (event) => {
  const { id, fn, args = [] } = event.data;
  try {
    if (!allowed.has(fn)) throw new Error(`unknown function ${fn}`);
    const mod = await ready;
    const started = performance.now();
    const text = mod[fn](...args);
    const result = JSON.parse(text);
    self.postMessage({ id, ok: true, result, ms: performance.now() - started });
  } catch (e) {
    self.postMessage({ id, ok: false, error: String(e && e.message ? e.message : e) });
  }
};
