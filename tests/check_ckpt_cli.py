#!/usr/bin/env python3
"""Runs `varscope ckpt ls|diff|remap` like a user on small checkpoints written
here by hand (base64 and plain-number encodings) and checks outputs and exit
codes; then the command line's --help and bad usage (exit 2) across subcommands.
Usage: check_ckpt_cli.py VARSCOPE_BINARY"""
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile


def ckpt(path, variables, metadata=None):
    root = {"format": "varscope-checkpoint", "version": 1, "variables": variables}
    if metadata is not None:
        root["metadata"] = metadata
    with open(path, "w") as f:
        json.dump(root, f)


def b64(values):
    return base64.b64encode(struct.pack("<%df" % len(values), *values)).decode()


def run(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main(binary):
    d = tempfile.mkdtemp()
    a, b, c = (os.path.join(d, n) for n in ("a.json", "b.json", "c.json"))
    ckpt(a, [{"name": "scope/weights", "dtype": "float32", "shape": [2], "data": b64([1.0, 2.0])},
             {"name": "scope/biases", "dtype": "float32", "shape": [1], "values": [0.5]}], {"hidden": 2})
    ckpt(b, [{"name": "scope/weights", "dtype": "float32", "shape": [2], "values": [1.0, 2.25]},
             {"name": "other", "dtype": "int32", "shape": [], "values": [3]}])
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)

    code, out = run(binary, "ckpt", "ls", a)
    expect(code == 0 and out.index("scope/biases") < out.index("scope/weights") and "[2]" in out, f"ls: {out}")
    code, out = run(binary, "ckpt", "diff", a, b)
    expect(code == 1 and "max|a-b| = 0.25" in out and "only in A: scope/biases" in out and "only in B: other" in out,
           f"diff: {code} {out}")
    code, out = run(binary, "ckpt", "diff", a, a)
    expect(code == 0 and "0 difference(s)" in out, f"diff same: {code} {out}")
    code, out = run(binary, "ckpt", "remap", a, "--prefix", "scope/=new/", "--rename", "*/weights=*/kernel",
                    "--rename", "*/biases=*/bias", "-o", c)
    expect(code == 0, f"remap: {code} {out}")
    written = json.load(open(c))
    expect([v["name"] for v in written["variables"]] == ["new/kernel", "new/bias"], f"remap names: {written}")
    expect(written.get("metadata") == {"hidden": 2}, "remap keeps metadata")
    code, out = run(binary, "ckpt", "diff", a, c)
    expect(code == 1, "remapped file differs by names")
    with open(os.path.join(d, "bad.json"), "w") as f:
        f.write('{"format": "varscope-checkpoint", "version": 1, "variables": [{"name": "w", "dtype": "float32", '
                '"shape": [3], "values": [1]}]}')
    code, out = run(binary, "ckpt", "ls", os.path.join(d, "bad.json"))
    expect(code == 1 and 'variable "w" has 1 values but shape [3] needs 3' in out, f"bad: {code} {out}")
    code, out = run(binary, "ckpt", "remap", a, "--prefix", "nonsense", "-o", c)
    expect(code == 2, f"bad --prefix exits 2: {code} {out}")
    code, out = run(binary, "ckpt", "ls", os.path.join(d, "missing.json"))
    expect(code == 2, f"missing file exits 2: {code}")
    # The command line as a whole (main.cpp + one cmd_<name>.cpp per subcommand): --help lists
    # every user subcommand (dev is hidden) and succeeds; bad usage exits 2, a subcommand's too.
    code, out = run(binary, "--help")
    expect(code == 0 and all(f"\n  {s} " in out for s in ("tour", "ckpt", "train", "decode", "eval"))
           and "\n  dev " not in out, f"--help lists the subcommands (dev hidden): {code} {out}")
    for args in ([], ["nonsense"], ["ckpt"], ["ckpt", "nonsense"], ["dev"], ["train", "--task", "dates"],
                 ["eval", "--task", "dates", "--beam", "x"], ["tour", "--bogus"]):
        code, out = run(binary, *args)
        expect(code == 2, f"`varscope {' '.join(args)}` is bad usage: exit {code} (want 2) {out[:200]}")
    code, out = run(binary, "tour", "--list")
    expect(code == 0 and "variable-scope " in out and "reuse-modes " in out, f"tour --list: {code} {out[:300]}")
    print("\n".join(failures) or "ckpt CLI: all checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1])
