#!/usr/bin/env python3
"""tests/playground/check_playground.py — the Python playground's runner and numpy-mini (issue 24).

  check_playground.py numpy  [--node NODE] [--numpy-python PY]
      every tests/playground/numpy_*.py is run by PY (real numpy; Debian's python3-numpy, which
      tools/install-deps.sh's python3-torch pulls in) and by `node tools/tf1-python.mjs`
      (Pyodide + numpy-mini): stdout must match byte for byte, both exit 0 with empty stderr.
      which_numpy.py proves each side imported the numpy it should.
  check_playground.py runner [--node NODE]
      tools/tf1-python.mjs's contract: traceback on stderr + exit 1 (raises.py), numpy-mini's
      NotImplementedError (unsupported.py), sys.exit(N) and argv (exits.py), exit 2 for a missing
      file or no file; and the same output with the network off (`unshare -n`, where permitted).

Prints one line per check and closes with 'N passed, N failed'; exits 1 if any failed.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.path.join(REPO, "tools", "tf1-python.mjs")

results = {"passed": 0, "failed": 0, "skipped": 0}


def report(name, problems, skipped=None):
    if skipped:
        results["skipped"] += 1
        print(f"SKIP {name}: {skipped}")
    elif problems:
        results["failed"] += 1
        print(f"FAIL {name}")
        for p in problems:
            print(f"  {p}")
    else:
        results["passed"] += 1
        print(f"ok   {name}")


def run(cmd, prefix=()):
    return subprocess.run(list(prefix) + cmd, cwd=REPO, capture_output=True, timeout=300)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a.splitlines(True), b.splitlines(True))):
        if x != y:
            return f"line {i + 1}: python3+numpy {x!r} vs runner {y!r}"
    return f"lengths differ: {len(a)} vs {len(b)} bytes"


def check_numpy(args):
    real = run([args.numpy_python, os.path.join(HERE, "which_numpy.py")])
    mini = run([args.node, RUNNER, os.path.join(HERE, "which_numpy.py")])
    problems = []
    real_file = real.stdout.decode().strip()
    if real.returncode != 0 or not real_file or real_file.startswith(os.path.join(REPO, "web")):
        problems.append(f"{args.numpy_python} has no real numpy: {real_file or real.stderr.decode()}")
    if mini.stdout.decode().strip() != "/varscope/python/numpy/__init__.py":
        problems.append(f"the runner imported {mini.stdout.decode().strip() or mini.stderr.decode()}")
    report("which numpy: real numpy under python3, numpy-mini under the runner", problems)

    scripts = sorted(f for f in os.listdir(HERE) if f.startswith("numpy_") and f.endswith(".py"))
    for script in scripts:
        path = os.path.join("tests", "playground", script)
        expected = run([args.numpy_python, path])
        actual = run([args.node, RUNNER, path])
        problems = []
        for who, r in (("python3+numpy", expected), ("runner", actual)):
            if r.returncode != 0 or r.stderr:
                problems.append(f"{who} exited {r.returncode}: {r.stderr.decode()[-2000:]}")
        if not problems and expected.stdout != actual.stdout:
            problems.append(first_difference(expected.stdout.decode(), actual.stdout.decode()))
        if not problems and len(expected.stdout) < 200:
            problems.append(f"suspiciously little output: {expected.stdout!r}")
        report(f"{script}: numpy-mini prints what numpy {real_version(args)} prints", problems)


def real_version(args, _cache={}):
    if "v" not in _cache:
        r = run([args.numpy_python, "-c", "import numpy; print(numpy.__version__)"])
        _cache["v"] = r.stdout.decode().strip() or "?"
    return _cache["v"]


def expect(r, code, stdout, stderr_checks):
    problems = []
    if r.returncode != code:
        problems.append(f"exit code {r.returncode}, expected {code}")
    if stdout is not None and r.stdout.decode() != stdout:
        problems.append(f"stdout {r.stdout.decode()!r}, expected {stdout!r}")
    err = r.stderr.decode()
    for what, ok in stderr_checks:
        if not ok(err):
            problems.append(f"stderr: {what}; got:\n{err}")
    return problems


def check_runner(args):
    node = [args.node, RUNNER]
    raises = os.path.join("tests", "playground", "raises.py")
    r = run(node + [raises])
    report("raises.py: output so far, CPython traceback on stderr, exit 1", expect(r, 1, "before the error\n", [
        ("starts with the traceback header", lambda e: e.startswith("Traceback (most recent call last):\n")),
        ("names the module-level line", lambda e: f'  File "{raises}", line 10, in <module>\n' in e),
        ("names the function's line", lambda e: f'  File "{raises}", line 7, in make_variable\n' in e),
        ("shows the source line", lambda e: "    raise ValueError(f\"Variable {name} already exists" in e),
        ("ends with the exception", lambda e: e.endswith(
            "ValueError: Variable decoder/kernel already exists, disallowed.\n")),
        ("has none of the runner's own frames", lambda e: "_run" not in e and "<exec>" not in e),
    ]))

    r = run(node + [os.path.join("tests", "playground", "unsupported.py")])
    report("unsupported.py: numpy-mini's NotImplementedError names the operation", expect(r, 1, "(2, 2)\n", [
        ("ends with the NotImplementedError", lambda e: e.endswith(
            "NotImplementedError: ndarray + is not supported by varscope's numpy-mini (web/python/numpy)\n")),
    ]))

    r = run(node + [os.path.join("tests", "playground", "exits.py"), "3"])
    report("exits.py 3: sys.exit(3) is exit 3, argv passed", expect(r, 3, "args ['3']\n", [
        ("is empty", lambda e: e == "")]))

    missing = os.path.join("tests", "playground", "no_such_file.py")
    r = run(node + [missing])
    report("a missing file: exit 2 with a clear message", expect(r, 2, "", [
        ("says it cannot read the file", lambda e: e.startswith(f"tf1-python: cannot read {missing}: no such file\n")),
        ("shows the usage", lambda e: "usage: node tools/tf1-python.mjs [--wasm PATH/varscope_web.mjs] FILE.py" in e),
    ]))

    absent = os.path.join("build", "no_such_dir", "varscope_web.mjs")
    r = run(node + ["--wasm", absent, os.path.join("tests", "playground", "exits.py")])
    report("--wasm naming a missing module: exit 2 naming it", expect(r, 2, "", [
        ("names the module and how to build it", lambda e: e.startswith(
            f"tf1-python: varscope wasm module {os.path.join(REPO, absent)} not found: build it:"))]))

    r = run(node)
    report("no file: exit 2 with usage", expect(r, 2, "", [
        ("says no file was given", lambda e: e.startswith("tf1-python: no Python file given\n"))]))

    # Offline: a new network namespace has no interface but loopback, so a CDN fetch would fail.
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        report("offline (unshare -n)", [], skipped="unshare -n not permitted here")
        return
    path = os.path.join("tests", "playground", "numpy_tf_results.py")
    online = run(node + [path])
    offline = run(node + [path], prefix=["unshare", "-n"])
    problems = expect(offline, 0, online.stdout.decode(), [("is empty", lambda e: e == "")])
    if online.returncode != 0 or not online.stdout:
        problems.append(f"the online run failed: {online.stderr.decode()}")
    report("offline (unshare -n): Pyodide loads from node_modules, same output", problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["numpy", "runner"])
    parser.add_argument("--node", default="node")
    parser.add_argument("--numpy-python", default="/usr/bin/python3")
    args = parser.parse_args()
    {"numpy": check_numpy, "runner": check_runner}[args.what](args)
    line = f"{results['passed']} passed, {results['failed']} failed"
    if results["skipped"]:
        line += f", {results['skipped']} skipped"
    print(line)
    return 1 if results["failed"] or not results["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
