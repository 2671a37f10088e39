#!/usr/bin/env python3
"""Runs `varscope tour` like a user and checks it: exit code 0, one header per
section, and each section's printed lines (lines not starting with '#') equal
to the article's (tests/data/article_outputs.txt). Also checks the CLI's exit
codes for bad usage. Usage: check_tour.py VARSCOPE_BINARY ARTICLE_OUTPUTS"""
import re
import subprocess
import sys


def parse_expected(path):
    sections, current = {}, None
    for line in open(path, encoding="utf-8").read().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[([a-z0-9-]+)\]", line)
        if m:
            current = sections.setdefault(m.group(1), [])
        else:
            current.append(line)
    return sections


ID_ARRAY = re.compile(r"^(\s*)(\[+)([0-9 ]+)(\]+)$")


def masked(lines):
    """The seq2seq block prints ids from random weights: compare id-array lines
    by structure (brackets and number count), everything else verbatim."""
    out = []
    for line in lines:
        m = ID_ARRAY.match(line)
        out.append(f"{m.group(2)}<{len(m.group(3).split())} ids>{m.group(4)}" if m else line)
    return out


def main(binary, expected_path):
    expected = parse_expected(expected_path)
    run = subprocess.run([binary, "tour"], capture_output=True, text=True)
    print(run.stdout)
    if run.returncode != 0:
        sys.exit(f"varscope tour exited {run.returncode}: {run.stderr}")
    printed, current = {}, None
    for line in run.stdout.splitlines():
        m = re.fullmatch(r"== \[([a-z0-9-]+)\] .* ==", line)
        if m:
            current = printed.setdefault(m.group(1), [])
        elif line and not line.startswith("#"):
            current.append(line)
    failures = []
    if not printed:
        failures.append("no sections printed")
    for section, lines in printed.items():
        if section.startswith("beyond-"):  # beyond the article: not the article's lines
            if not lines:
                failures.append(f"[{section}] printed nothing")
            continue
        if masked(lines) != masked(expected.get(section) or []) or section not in expected:
            failures.append(f"[{section}] printed {lines}\n  article: {expected.get(section)}")
    missing = [s for s in expected if s not in printed]
    print(f"checked {len(printed)} sections against the article; not in the tour yet: {missing}")
    for args, code in ((["tour", "--section", "nope"], 2), (["bogus"], 2), ([], 2), (["--help"], 0)):
        got = subprocess.run([binary, *args], capture_output=True, text=True).returncode
        if got != code:
            failures.append(f"`varscope {' '.join(args)}` exited {got}, expected {code}")
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
