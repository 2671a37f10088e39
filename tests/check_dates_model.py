#!/usr/bin/env python3
"""Loads the committed dates checkpoint (models/dates.json) and measures it:
exact match on 2,000 test-split samples (dates never seen in training) with
greedy and beam-4 decoding, computed now by `varscope eval`, and a few decodes
across formats and era boundaries.
Usage: check_dates_model.py VARSCOPE_BINARY MODEL_JSON"""
import json
import re
import subprocess
import sys


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
    for f in failures:
        print("FAIL:", f)
    print("dates model:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
