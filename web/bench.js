// Runs the varscope wasm benchmark (dist/wasm_bench.mjs), the TF.js wasm GRU encoder
// (dist/tfjs/tfjs_gru.mjs, from bench/) and the same beam search in TF.js ops on
// varscope's weights (dist/tfjs/tfjs_beam.mjs) in this page and prints JSON
// into <pre id="result">. Driven headless by bench/run_wasm.mjs.
const status = document.getElementById('status');
const result = document.getElementById('result');
const reps = Number(new URLSearchParams(location.search).get('reps') ?? 50);

async function run() {
  const out = { env: 'browser', userAgent: navigator.userAgent, reps };
  const { default: createWasmBench } = await import('./dist/wasm_bench.mjs');
  const vs = await createWasmBench();
  status.textContent = 'varscope…';
  out.varscope = {
    encoder: JSON.parse(vs.encoder(reps)),
    decoder: JSON.parse(vs.decoder(reps)),
    beam: JSON.parse(vs.beam(reps)),
  };
  status.textContent = 'TF.js…';
  if (globalThis.tf?.wasm) {
    const { benchTfjsGru } = await import('./dist/tfjs/tfjs_gru.mjs');
    out.tfjs = await benchTfjsGru({
      tf: globalThis.tf, setWasmPaths: globalThis.tf.wasm.setWasmPaths,
      wasmPath: new URL('dist/tfjs/', location.href).href, reps,
    });
    status.textContent = 'TF.js beam search…';
    const { benchTfjsBeam } = await import('./dist/tfjs/tfjs_beam.mjs');
    out.tfjsBeam = benchTfjsBeam({ tf: globalThis.tf, problem: vs.seed_beam_problem(), reps });
  } else {
    out.tfjs = { error: 'TF.js not loaded (dist/tfjs/ missing: npm install, then rebuild wasm_bench)' };
  }
  return out;
}

run().then(
  (out) => { result.textContent = JSON.stringify(out, null, 2); status.textContent = 'done'; },
  (err) => { result.textContent = JSON.stringify({ error: String(err?.stack ?? err) }); status.textContent = 'failed'; },
);
