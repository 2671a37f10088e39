// The playground's Web Worker (a module worker; issue 24): Pyodide (dist/pyodide/, copied from npm
// `pyodide` at build time, loaded from this page's own origin) plus the varscope wasm module
// (dist/varscope_web.mjs) registered for Python as `_varscope`; the playground's Python packages
// (web/python: the `tensorflow` shim, numpy-mini, _playground.py) come as dist/python.zip, unpacked
// into /varscope/python. Python -> JS -> wasm calls are synchronous inside this worker.
//
// Messages: page -> worker {run: id, code}; worker -> page {ready, loadMs} once, then per Run
// {stdout, text} / {stderr, text} (streamed as Python writes), {variables, graphs} and
// {done, id, exitCode, ms, restart}; a load failure is {fatal, message}. Stop is the page terminating
// this worker and starting a new one (no SharedArrayBuffer interrupt: the server sends no COOP/COEP).
import { loadPyodide } from './dist/pyodide/pyodide.mjs';
import createVarscope from './dist/varscope_web.mjs';

const base = new URL('./dist/', import.meta.url);
const t0 = performance.now();

// stdout/stderr: bytes decoded as UTF-8 and posted on every write (Python's streams are line-buffered, so
// a line at a time): a run blocks this worker's event loop, so nothing could flush a held-back tail later,
// and a program that prints and then computes for long (or forever) must show what it printed.
function stream(kind) {
  const decoder = new TextDecoder();
  return {
    write(buf) {
      const text = decoder.decode(buf, { stream: true });
      if (text) postMessage({ [kind]: true, text });
      return buf.length;
    },
    flush() {
      const text = decoder.decode();
      if (text) postMessage({ [kind]: true, text });
    },
  };
}
const out = stream('stdout');
const err = stream('stderr');

async function start() {
  const [py, varscope, zip] = await Promise.all([
    loadPyodide({ indexURL: new URL('pyodide/', base).href }),
    createVarscope({ locateFile: (f) => new URL(f, base).href }),
    fetch(new URL('python.zip', base)).then((r) => {
      if (!r.ok) throw new Error(`dist/python.zip: HTTP ${r.status} (build the wasm preset's varscope_web)`);
      return r.arrayBuffer();
    }),
  ]);
  py.setStdout({ write: (b) => out.write(b) });
  py.setStderr({ write: (b) => err.write(b) });
  py.registerJsModule('_varscope', varscope);
  py.unpackArchive(zip, 'zip', { extractDir: '/varscope/python' });
  py.runPython(`
import sys
sys.path.insert(0, "/varscope/python")
sys.stdout.reconfigure(line_buffering=True)
sys.stderr.reconfigure(line_buffering=True)
import tensorflow, _playground
`);
  return py;
}

const ready = start().then(
  (py) => {
    postMessage({ ready: true, loadMs: performance.now() - t0 });
    return py;
  },
  (e) => {
    postMessage({ fatal: true, message: String(e && e.stack ? e.stack : e) });
    throw e;
  },
);

onmessage = async ({ data }) => {
  if (data.run === undefined) return;
  const py = await ready;
  const t = performance.now();
  const runFn = py.pyimport('_playground').run;
  let result;
  try {
    const r = runFn(data.code);
    result = r.toJs({ dict_converter: Object.fromEntries });
    r.destroy();
  } catch (e) {
    out.flush();
    err.write(new TextEncoder().encode(`playground worker: ${e}\n`));
    err.flush();
    postMessage({ done: true, id: data.run, exitCode: 1, ms: performance.now() - t, restart: true });
    return;
  } finally {
    runFn.destroy();
  }
  out.flush();
  err.flush();
  postMessage({ variables: true, id: data.run, graphs: result.graphs });
  postMessage({ done: true, id: data.run, exitCode: result.exitCode, ms: performance.now() - t, restart: result.restart });
};
