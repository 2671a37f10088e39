#!/usr/bin/env python3
"""Runs `varscope tour` like a user and checks it: exit code 0, exactly one
header per article section, in article order (the list comes from the article:
tests/data/article_outputs.txt, so a section the tour drops, renames or adds
fails), and each section's printed lines (lines not starting with '#') equal
to the article's. Also checks the CLI's exit codes for bad usage.
Usage: check_tour.py VARSCOPE_BINARY ARTICLE_OUTPUTS"""
import re
import subprocess
import sys


# The article's code blocks, in article order (the introduction's prints nothing).
ARTICLE_SECTIONS = ["intro", "variable-and-get-variable", "variable-scope", "reuse-modes", "reuse-variables",
                    "reuse-inheritance", "feed-forward-unshared", "feed-forward-shared", "seq2seq"]
# Sections beyond the article (printed after its blocks; not compared with the article's lines).
BEYOND_SECTIONS = ["beyond-training", "beyond-attention"]


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
    printed, order, current = {}, [], None
    failures = []
    for line in run.stdout.splitlines():
        m = re.fullmatch(r"== \[([a-z0-9-]+)\] .* ==", line)
        if m:
            if m.group(1) in printed:
                failures.append(f"section [{m.group(1)}] printed twice")
            order.append(m.group(1))
            current = printed.setdefault(m.group(1), [])
        elif line and not line.startswith("#"):
            if current is None:
                failures.append(f"output before any section header: {line!r}")
                continue
            current.append(line)
    article_order = [s for s in order if not s.startswith("beyond-")]
    beyond_order = [s for s in order if s.startswith("beyond-")]
    if list(expected) != ARTICLE_SECTIONS:
        failures.append(f"{expected_path} has sections {list(expected)}, the article has {ARTICLE_SECTIONS}")
    if article_order != ARTICLE_SECTIONS:
        failures.append(f"the tour printed sections {article_order}, the article has {ARTICLE_SECTIONS} (in this order)")
    if order[:len(ARTICLE_SECTIONS)] != article_order:
        failures.append(f"sections beyond the article must come after the article's: {order}")
    if beyond_order != BEYOND_SECTIONS:
        failures.append(f"the tour printed beyond-the-article sections {beyond_order}, expected {BEYOND_SECTIONS}")
    for section in BEYOND_SECTIONS:
        if not printed.get(section):
            failures.append(f"[{section}] printed nothing")
    for section in ARTICLE_SECTIONS:
        if section not in printed:
            failures.append(f"[{section}] is missing from the tour")
        elif section not in expected:
            failures.append(f"[{section}] is missing from {expected_path}")
        elif masked(printed[section]) != masked(expected[section]):
            failures.append(f"[{section}] printed {printed[section]}\n  article: {expected[section]}")
    print(f"checked {len(article_order)} tour sections against the article's {len(ARTICLE_SECTIONS)}, "
          f"and {len(beyond_order)} beyond it")
    for args, code in ((["tour", "--section", "nope"], 2), (["bogus"], 2), ([], 2), (["--help"], 0)):
        got = subprocess.run([binary, *args], capture_output=True, text=True).returncode
        if got != code:
            failures.append(f"`varscope {' '.join(args)}` exited {got}, expected {code}")
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
