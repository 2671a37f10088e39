#!/usr/bin/env node
// tools/tf1-python.mjs — run a Python file the way the browser playground will (issue 24), under node.
//
//   node tools/tf1-python.mjs [--wasm PATH/varscope_web.mjs] [--data DIR]... FILE.py [ARGS...]
//
// The varscope wasm build (build/wasm/varscope_web.mjs by default; --wasm PATH or the environment
// variable VARSCOPE_WASM override it) is loaded and registered for Python as the JS module `_varscope`
// (pyodide.registerJsModule), which the `tensorflow` shim imports. Given explicitly (flag or variable)
// and missing: exit 2. The default missing: scripts that never import tensorflow still run; importing it
// raises ImportError saying how to build the module.
//
// Python is Pyodide from this repo's node_modules (npm `pyodide`, exact version in package.json),
// loaded from disk with indexURL pointing there: never from a CDN, works with the network off.
// web/python/ (the playground's own Python packages: today `numpy`, the pure-Python numpy-mini;
// later the `tensorflow` shim over the varscope wasm build) is mounted and put first on sys.path,
// ahead of the script's own directory, so `import numpy` is numpy-mini, as in the page.
//
// --data DIR (repeatable) mounts a host directory read-write at /varscope/data/<DIR's base name>, for test
// scripts that read golden data (tests/playground/attention_checks.py reads tests/data as /varscope/data/data).
//
// The script runs as __main__ with sys.argv = [FILE.py, ARGS...]. Its stdout and stderr are written
// to ours byte for byte as Python flushes them (line-buffered). Exit codes:
//   0  the script ran to the end (or sys.exit(0) / sys.exit(None))
//   1  an uncaught Python exception: its traceback (as CPython prints it) goes to stderr
//   2  usage error: no FILE given, or FILE cannot be read
//   N  sys.exit(N)
import { readFileSync, writeSync, existsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pyodideDir = resolve(repo, "node_modules/pyodide");
const pythonDir = resolve(repo, "web/python");

function usage(message) {
  process.stderr.write(`tf1-python: ${message}\nusage: node tools/tf1-python.mjs [--wasm PATH/varscope_web.mjs] FILE.py [ARGS...]\n` +
    "  --data DIR (before FILE.py, repeatable): mount DIR at /varscope/data/<DIR's base name>\n");
  process.exit(2);
}

let argv = process.argv.slice(2);
let wasmPath = process.env.VARSCOPE_WASM || null;
let wasmExplicit = wasmPath !== null;
const dataDirs = [];
while (argv[0] === "--wasm" || argv[0] === "--data") {
  if (argv.length < 2) usage(argv[0] === "--wasm" ? "--wasm needs a PATH to varscope_web.mjs" : "--data needs a DIR");
  if (argv[0] === "--wasm") {
    wasmPath = argv[1];
    wasmExplicit = true;
  } else {
    if (!existsSync(argv[1]) || !statSync(argv[1]).isDirectory()) usage(`--data ${argv[1]}: not a directory`);
    dataDirs.push(resolve(argv[1]));
  }
  argv = argv.slice(2);
}
wasmPath = resolve(wasmPath ?? resolve(repo, "build/wasm/varscope_web.mjs"));
const wasmBuildHint = "build it: node_modules/.bin/cmake --preset wasm && node_modules/.bin/cmake --build --preset wasm --target varscope_web";
if (wasmExplicit && !existsSync(wasmPath)) usage(`varscope wasm module ${wasmPath} not found: ${wasmBuildHint}`);
const [file, ...args] = argv;
if (file === undefined) usage("no Python file given");
let source;
try {
  if (!statSync(file).isFile()) usage(`${file}: not a file`);
  source = readFileSync(file, "utf8");
} catch (e) {
  usage(`cannot read ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
}
if (!existsSync(resolve(pyodideDir, "pyodide.mjs"))) {
  process.stderr.write(`tf1-python: ${pyodideDir} is missing: run \`npm ci\` in ${repo}\n`);
  process.exit(2);
}

// Write all of buf to fd, retrying when a non-blocking pipe is full.
function writeAll(fd, buf) {
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
  return buf.length;
}

const { loadPyodide } = await import(resolve(pyodideDir, "pyodide.mjs"));
const py = await loadPyodide({
  indexURL: pyodideDir + "/",
});
py.setStdout({ write: (buf) => writeAll(1, buf) });
py.setStderr({ write: (buf) => writeAll(2, buf) });
py.mountNodeFS("/varscope/python", pythonDir);
let wasmMissing = "";
if (existsSync(wasmPath)) {
  const { pathToFileURL } = await import("node:url");
  const { default: createVarscope } = await import(pathToFileURL(wasmPath).href);
  py.registerJsModule("_varscope", await createVarscope());
} else {
  wasmMissing = `tf1-python: the varscope wasm module ${wasmPath} is not built; ${wasmBuildHint} (or pass --wasm PATH)`;
}
py.mountNodeFS("/varscope/script", resolve(dirname(file)));
for (const dir of dataDirs) {
  const at = `/varscope/data/${basename(dir)}`;
  py.mountNodeFS(at, dir);
}

// The driver: run the source as __main__, CPython-style traceback (without the driver's own frame)
// on an uncaught exception. linecache gets the source so tracebacks show the offending lines.
const run = py.globals.get("dict")();
run.set("source", source);
run.set("filename", file);
run.set("wasm_missing", wasmMissing);
run.set("argv", py.toPy([file, ...args]));
const code = py.runPython(
  `
import sys, linecache, traceback, types
sys.path[:0] = ["/varscope/python", "/varscope/script"]
if wasm_missing:
    import os
    os.environ["VARSCOPE_WASM_MISSING"] = wasm_missing
sys.argv = list(argv)
sys.stdout.reconfigure(line_buffering=True)
sys.stderr.reconfigure(line_buffering=True)
linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
main = types.ModuleType("__main__")
main.__file__ = filename
sys.modules["__main__"] = main
def _run():
    try:
        exec(compile(source, filename, "exec"), main.__dict__)
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
    except BaseException as e:
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        return 1
    return 0
exit_code = _run()
sys.stdout.flush()
sys.stderr.flush()
exit_code
`,
  { globals: run },
);
process.exitCode = code;
