#!/usr/bin/env python3
"""Loads the committed attention date model (models/dates-attention.json, tensorflow/nmt's
model with normed Bahdanau attention) and measures it:

1. exact match on 2,000 test-split samples (dates never seen in training), greedy and
   beam 4, by `varscope eval` (greedy >= 0.99, beam 4 >= 0.99);
2. the alignments a person expects, from the real beam-4 decode (`decode --json`, whose
   hypotheses carry their alignments [length, source length]): over test-split inputs
   whose best hypothesis is right,
   - every row sums to 1 (within 1e-4) and is 0 past the source's length;
   - the year: for each of the 4 year digits of the output, the argmax of its alignment row
     lies inside the source span of the year (inputs that write the 4-digit year once);
   - the month and the day: for their 2 digits each, the argmax lies inside the source span
     that writes them (a number equal to the month / day that occurs once among the
     source's numbers, or the month's name); inputs where month and day are the same
     number are left out of that part.
   Each part must hold for >= 95% of the rows checked (and is reported exactly). Measured
   on the committed model (models/README.md): year 1509/1516 = 0.9954, month 734/758 =
   0.9683, day 757/758 = 0.9987; most month misses are the month's second digit attending
   most to the delimiter right after it (月 or '.'). A model that attends elsewhere, or a
   decode that returns another matrix (see tests/MUTATIONS.md), fails: uniform attention
   puts at most 4 of ~11-25 columns in the year's span.

Usage: check_dates_attention_model.py VARSCOPE_BINARY MODEL_JSON"""
import json
import re
import subprocess
import sys

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
SIZE_ALIGN = 400      # test inputs decoded for the alignment check
MIN_FRACTION = 0.95   # of the checked rows whose argmax must be in the span


def spans(source, target):
    """{part: (start, end)} character spans of year / month / day in `source` (end exclusive)."""
    year, month, day = target[0:4], int(target[5:7]), int(target[8:10])
    out = {}
    if source.count(year) == 1:
        k = source.index(year)
        out["year"] = (k, k + 4)
    numbers = [(m.start(), m.end(), int(m.group())) for m in re.finditer(r"\d+", source)
               if not (out.get("year") and m.start() == out["year"][0])]
    if month != day:
        for part, value in (("month", month), ("day", day)):
            hits = [(a, b) for a, b, v in numbers if v == value and b - a <= 2]
            if len(hits) == 1:
                out[part] = hits[0]
        if "month" not in out:
            words = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", source)
                     if m.group().lower()[:3] == MONTHS[month - 1]]
            if len(words) == 1:
                out["month"] = words[0]
    return out


def main(binary, model):
    failures = []
    r = subprocess.run([binary, "eval", "--checkpoint", model, "--task", "dates", "--size", "2000", "--beam", "4"],
                       capture_output=True, text=True)
    greedy = re.search(r"greedy\s+exact match (\d\.\d+)", r.stdout)
    beam = re.search(r"beam 4\s+exact match (\d\.\d+)", r.stdout)
    if r.returncode != 0 or not greedy or not beam:
        failures.append(f"eval: {r.returncode} {r.stdout} {r.stderr}")
    else:
        print(f"attention model: greedy {greedy.group(1)}, beam 4 {beam.group(1)} on 2000 test samples")
        for name, value in (("greedy", greedy.group(1)), ("beam-4", beam.group(1))):
            if float(value) < 0.99:
                failures.append(f"{name} exact match {value} < 0.99\n{r.stdout}")

    dump = subprocess.run([binary, "dev", "dump-batches", "--task", "dates", "--steps", "0", "--test-size",
                           str(SIZE_ALIGN), "--out", "-"], capture_output=True, text=True)
    tests = [row for row in map(json.loads, dump.stdout.splitlines()) if row.get("kind") == "test"]
    if dump.returncode != 0 or len(tests) != SIZE_ALIGN:
        failures.append(f"dump-batches gave {len(tests)} test samples: {dump.stderr}")
        tests = []
    # One input per decode (a batch of one, as the page decodes: no padding columns).
    counts = {p: [0, 0] for p in ("year", "month", "day")}  # [rows in span, rows checked]
    misses = []
    sums_bad = 0
    rows_total = 0
    for sample in tests:
        source, target = sample["source"], sample["target"]
        d = subprocess.run([binary, "decode", "--checkpoint", model, "--beam", "4", "--json", "--", source],
                           capture_output=True, text=True)
        try:
            hyps = json.loads(d.stdout)[0]["hypotheses"]
        except (ValueError, KeyError, IndexError) as e:
            failures.append(f"decode {source!r}: {e} {d.stdout[:300]} {d.stderr}")
            break
        length = len(source)  # one id per character
        for h in hyps:
            a = h.get("alignments")
            if not isinstance(a, list) or len(a) != h["length"] or any(len(row) != length for row in a):
                failures.append(f"decode {source!r}: hypothesis {h['text']!r} has alignments "
                                f"{None if a is None else [len(row) for row in a]}, expected {h['length']} rows "
                                f"of {length}")
                break
            for row in a:
                rows_total += 1
                if abs(sum(row) - 1.0) > 1e-4 or min(row) < 0:
                    sums_bad += 1
        best = hyps[0]
        if best["text"] != target:
            continue
        a = best["alignments"]
        for part, (lo, hi) in spans(source, target).items():
            positions = {"year": range(0, 4), "month": range(5, 7), "day": range(8, 10)}[part]
            for t in positions:
                row = a[t]
                arg = max(range(len(row)), key=row.__getitem__)
                counts[part][1] += 1
                if lo <= arg < hi:
                    counts[part][0] += 1
                elif len(misses) < 8:
                    misses.append(f"{source!r} -> {target}: output {t} ({target[t]!r}, {part}) attends most to "
                                  f"source {arg} ({source[arg]!r}, {row[arg]:.3f}); {part} is source [{lo}, {hi})")
    if sums_bad:
        failures.append(f"{sums_bad} of {rows_total} alignment rows do not sum to 1 within 1e-4")
    else:
        print(f"{rows_total} alignment rows of {len(tests)} inputs x 4 beams each sum to 1 (within 1e-4)")
    for part, (good, checked) in counts.items():
        fraction = good / checked if checked else 0.0
        print(f"{part}: {good}/{checked} output rows attend most inside the source's {part} ({fraction:.4f})")
        if checked < 100 or fraction < MIN_FRACTION:
            failures.append(f"{part}: {good}/{checked} rows with the argmax in the span (need >= {MIN_FRACTION} "
                            f"of >= 100)")
    for m in misses:
        print("  e.g.", m)
    for f in failures:
        print("FAIL:", f)
    print("dates attention model:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
