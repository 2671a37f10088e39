#!/usr/bin/env python3
"""Loads the committed dates checkpoint (models/dates.json) and measures it:
exact match on 2,000 test-split samples (dates never seen in training) with
greedy and beam-4 decoding, computed now by `varscope eval`, and a few decodes
across formats and era boundaries.

`eval`'s numbers are then checked against `decode --json` on the same samples
(the test split as `dev dump-batches` lists it): its greedy and beam-4 accuracies
must be what decode's top hypotheses score against the targets, and every error
it lists must be decode's output for that input. Done for the committed model and
for an untrained one (`train --steps 0`), which must score about 0 — so an eval
that reported the committed model's numbers whatever it loaded would fail.
Usage: check_dates_model.py VARSCOPE_BINARY MODEL_JSON"""
import json
import os
import re
import subprocess
import sys
import tempfile

EVAL_ERROR = re.compile(r'^\s+"(.*)"\s+expected (\S+)\s+got (.*?)\s+score (-?[\d.]+)\s+\[\w+\]$')


def eval_agrees_with_decode(binary, model, size, failures):
    """eval --size SIZE vs decode --json on the same SIZE test samples; returns (greedy, beam)."""
    label = os.path.basename(model)
    dump = subprocess.run([binary, "dev", "dump-batches", "--task", "dates", "--steps", "0", "--test-size", str(size),
                           "--out", "-"], capture_output=True, text=True)
    tests = [row for row in map(json.loads, dump.stdout.splitlines()) if row.get("kind") == "test"]
    if dump.returncode != 0 or len(tests) != size:
        failures.append(f"{label}: dump-batches gave {len(tests)} test samples: {dump.stderr}")
        return None
    r = subprocess.run([binary, "eval", "--checkpoint", model, "--task", "dates", "--size", str(size), "--beam", "4",
                        "--worst", str(size)], capture_output=True, text=True)
    greedy = re.search(r"greedy\s+exact match (\d\.\d+)", r.stdout)
    beam = re.search(r"beam 4\s+exact match (\d\.\d+)", r.stdout)
    if r.returncode != 0 or not greedy or not beam:
        failures.append(f"{label}: eval: {r.returncode} {r.stdout} {r.stderr}")
        return None
    listed = {}
    for line in r.stdout.splitlines():
        m = EVAL_ERROR.match(line)
        if m:
            listed[m.group(1)] = (m.group(2), m.group(3).rstrip())
    sources = [t["source"] for t in tests]
    top = {}
    for width in (1, 4):
        d = subprocess.run([binary, "decode", "--checkpoint", model, "--beam", str(width), "--json", "--", *sources],
                           capture_output=True, text=True)
        try:
            rows = json.loads(d.stdout)
            if [row["input"] for row in rows] != sources:
                failures.append(f"{label}: decode --beam {width} answered other inputs")
                return None
            top[width] = [row["hypotheses"][0]["text"] for row in rows]
        except (ValueError, KeyError, IndexError) as e:
            failures.append(f"{label}: decode --beam {width}: {e} {d.stdout[:500]} {d.stderr}")
            return None
    targets = [t["target"] for t in tests]
    for width, printed in ((1, greedy.group(1)), (4, beam.group(1))):
        right = sum(g == t for g, t in zip(top[width], targets))
        if f"{right / size:.4f}" != printed:
            failures.append(f"{label}: eval printed {'greedy' if width == 1 else 'beam 4'} {printed}, but decode "
                            f"--beam {width} gets {right}/{size} = {right / size:.4f} on the same samples")
    errors = {s: (t, g) for s, t, g in zip(sources, targets, top[4]) if g != t}
    if errors != listed:
        diff = sorted(set(errors.items()) ^ set(listed.items()))[:5]
        failures.append(f"{label}: eval's {len(listed)} listed errors differ from decode's {len(errors)}: {diff}")
    print(f"{label}: eval greedy {greedy.group(1)}, beam 4 {beam.group(1)} on {size} test samples; decode --json "
          f"agrees ({len(errors)} beam errors, each listed by eval with decode's output)")
    return float(greedy.group(1)), float(beam.group(1))


def main(binary, model):
    failures = []
    r = subprocess.run([binary, "eval", "--checkpoint", model, "--task", "dates", "--size", "2000", "--beam", "4"],
                       capture_output=True, text=True)
    greedy = re.search(r"greedy\s+exact match (\d\.\d+)", r.stdout)
    beam = re.search(r"beam 4\s+exact match (\d\.\d+)", r.stdout)
    if r.returncode != 0 or not greedy or not beam:
        failures.append(f"eval: {r.returncode} {r.stdout} {r.stderr}")
    else:
        print(f"committed model: greedy {greedy.group(1)}, beam 4 {beam.group(1)} on 2000 test samples")
        if float(beam.group(1)) < 0.995:
            failures.append(f"beam-4 exact match {beam.group(1)} < 0.995\n{r.stdout}")
        if float(greedy.group(1)) < 0.99:
            failures.append(f"greedy exact match {greedy.group(1)} < 0.99\n{r.stdout}")
    cases = {"Tuesday, December 1, 2026": "2026-12-01", "2026年12月1日(火)": "2026-12-01", "令和元年5月1日": "2019-05-01",
             "平成元年1月8日": "1989-01-08", "平成31年4月30日": "2019-04-30", "DEC 31, 1999": "1999-12-31",
             "02/29/2000": "2000-02-29", "1  january 1900": "1900-01-01"}
    r = subprocess.run([binary, "decode", "--checkpoint", model, "--beam", "4", "--json", *cases],
                       capture_output=True, text=True)
    try:
        rows = json.loads(r.stdout)
        for row in rows:
            got = row["hypotheses"][0]["text"]
            if got != cases[row["input"]]:
                failures.append(f"decode {row['input']!r}: {got} (expected {cases[row['input']]})")
    except (ValueError, KeyError, IndexError) as e:
        failures.append(f"decode: {e} {r.stdout} {r.stderr}")
    eval_agrees_with_decode(binary, model, 200, failures)
    with tempfile.TemporaryDirectory() as tmp:
        untrained = os.path.join(tmp, "untrained.json")
        r = subprocess.run([binary, "train", "--task", "dates", "--steps", "0", "--out", untrained, "--seed", "3"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            failures.append(f"train --steps 0: {r.returncode} {r.stdout} {r.stderr}")
        else:
            scores = eval_agrees_with_decode(binary, untrained, 200, failures)
            if scores and max(scores) > 0.01:
                failures.append(f"untrained model scores greedy {scores[0]}, beam {scores[1]}: expected about 0")
    for f in failures:
        print("FAIL:", f)
    print("dates model:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
