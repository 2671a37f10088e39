#!/usr/bin/env node
// tools/tf1-python.mjs — run a Python file the way the browser playground will (issue 24), under node.
//
//   node tools/tf1-python.mjs FILE.py [ARGS...]
//
// Python is Pyodide from this repo's node_modules (npm `pyodide`, exact version in package.json),
// loaded from disk with indexURL pointing there: never from a CDN, works with the network off.
// web/python/ (the playground's own Python packages: today `numpy`, the pure-Python numpy-mini;
// later the `tensorflow` shim over the varscope wasm build) is mounted and put first on sys.path,
// ahead of the script's own directory, so `import numpy` is numpy-mini, as in the page.
//
// The script runs as __main__ with sys.argv = [FILE.py, ARGS...]. Its stdout and stderr are written
// to ours byte for byte as Python flushes them (line-buffered). Exit codes:
//   0  the script ran to the end (or sys.exit(0) / sys.exit(None))
//   1  an uncaught Python exception: its traceback (as CPython prints it) goes to stderr
//   2  usage error: no FILE given, or FILE cannot be read
//   N  sys.exit(N)
import { readFileSync, writeSync, existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pyodideDir = resolve(repo, "node_modules/pyodide");
const pythonDir = resolve(repo, "web/python");

function usage(message) {
  process.stderr.write(`tf1-python: ${message}\nusage: node tools/tf1-python.mjs FILE.py [ARGS...]\n`);
  process.exit(2);
}

const [file, ...args] = process.argv.slice(2);
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
py.mountNodeFS("/varscope/script", resolve(dirname(file)));

// The driver: run the source as __main__, CPython-style traceback (without the driver's own frame)
// on an uncaught exception. linecache gets the source so tracebacks show the offending lines.
const run = py.globals.get("dict")();
run.set("source", source);
run.set("filename", file);
run.set("argv", py.toPy([file, ...args]));
const code = py.runPython(
  `
import sys, linecache, traceback, types
sys.path[:0] = ["/varscope/python", "/varscope/script"]
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
