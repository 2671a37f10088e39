#!/usr/bin/env python3
"""Golden for the native == wasm decode check of the committed date model (issue 12).

Runs the NATIVE CLI `varscope decode --checkpoint models/dates.json --beam 4 --n-best 4 --json`
on a fixed list of inputs (every date format of the date task, with case/spacing noise,
era dates with 元年, and one input with characters outside the vocabulary) and writes
its output to tests/data/dates_decode_native.json. The wasm build's test
(tests/wasm/dates_decode_wasm.mjs, ctest `dates_decode_wasm` in the wasm preset)
decodes the same inputs with the same checkpoint and compares: ids equal, scores
within 1e-5.

Sampling too ("sampling" in the golden): `varscope decode --sample --temperature T
--top-k K --seed S --json` on a few inputs, flat enough (T from 1.5 to 4) that the draws leave
the greedy path; the wasm test samples with the same (input, T, K, seed) through
datesDecode {sample: true, ...} and wants the same ids (a seed gives the same tokens
natively and in wasm).

Regenerate (after changing the model, the decoder or the inputs):
  cmake --build build/native --target varscope_cli
  python3 tools/gen-dates-decode-golden.py build/native/varscope
Check that the committed file is what the native build produces now (ctest
`dates_decode_golden` in the native preset):
  python3 tools/gen-dates-decode-golden.py build/native/varscope --check

With --attention: the committed attention model (models/dates-attention.json) and its golden
tests/data/dates_attention_decode_native.json, whose hypotheses also carry their alignments
(ctest `dates_attention_decode_golden`; the wasm side: `dates_attention_decode_wasm`).
"""
import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
CHECKPOINT = REPO / "models" / "dates.json"
GOLDEN = REPO / "tests" / "data" / "dates_decode_native.json"
BEAM = 4
N_BEST = 4

# One or more per DateFormat (docs/dates.md), plus noise and edge dates.
INPUTS = [
    "1 December 2026",            # day_month_year
    "29 february 2000",
    "Dec 1, 2026",                # month_abbrev_comma
    "JAN 31,  1900",
    "december 1st 2026",          # month_ordinal
    "March 22nd 2099",
    "Tuesday, December 1, 2026",  # weekday_long
    "saturday, july 4, 1953",
    "12/01/2026",                 # us_slash
    "07 / 04 / 1976",
    "01.12.2026",                 # european_dot
    "31.12.1999",
    "2026/12/1",                  # year_slash
    "1901/2/28",
    "2026年12月1日",              # kanji
    "1900年1月1日",
    "2026年12月1日(火)",          # kanji_weekday
    "令和8年12月1日",             # japanese_era
    "令和元年5月1日",
    "平成元年1月8日",
    "平成31年4月30日",
    " 5 MAY 2045 ",               # leading/trailing space, upper case
    "Sept 9, 2009 ?",             # characters outside the vocabulary -> <unk>
]

# (input, temperature, top_k, seed): sampling cases (top_k 0 = the whole vocabulary).
SAMPLING = [
    ("1 December 2026", 3.0, 0, 7),
    ("1 December 2026", 3.0, 0, 8),
    ("Dec 1, 2026", 2.0, 5, 1),
    ("12/01/2026", 1.5, 3, 42),
    ("2026年12月1日(火)", 4.0, 10, 123),
    ("令和元年5月1日", 3.0, 0, 7),
    ("Tuesday, December 1, 2026", 4.0, 0, 3),
    ("Sept 9, 2009 ?", 3.0, 0, 2026),
]


def sample(cli: str) -> list:
    # One input per run, as decode() and the page.
    out = []
    for text, temperature, top_k, seed in SAMPLING:
        cmd = [cli, "decode", "--checkpoint", str(CHECKPOINT), "--sample", "--temperature", str(temperature),
               "--top-k", str(top_k), "--seed", str(seed), "--json", "--", text]
        result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)[0]
        out.append({"input": text, "temperature": temperature, "top_k": top_k, "seed": seed,
                    "hypotheses": result["hypotheses"]})
    return out


def decode(cli: str, checkpoint: pathlib.Path = CHECKPOINT) -> list:
    # One input per run: a batch of one, as the page decodes (batch padding changes the
    # matrix shapes, hence the last bits of the scores).
    results = []
    for text in INPUTS:
        cmd = [cli, "decode", "--checkpoint", str(checkpoint), "--beam", str(BEAM), "--n-best", str(N_BEST), "--json",
               "--", text]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results.extend(json.loads(out))
    return results


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cli = sys.argv[1]
    if not pathlib.Path(cli).exists():
        print(f"{cli}: no such file; build it: cmake --build build/native --target varscope_cli", file=sys.stderr)
        return 2
    attention = "--attention" in sys.argv[2:]
    checkpoint = REPO / "models" / "dates-attention.json" if attention else CHECKPOINT
    golden_path = REPO / "tests" / "data" / "dates_attention_decode_native.json" if attention else GOLDEN
    golden = {
        "generated_by": "tools/gen-dates-decode-golden.py" + (" --attention" if attention else "") +
                        " (native varscope decode --json)",
        "checkpoint": "models/" + checkpoint.name,
        "beam": BEAM,
        "n_best": N_BEST,
        "inputs": INPUTS,
        "results": decode(cli, checkpoint),
    }
    if not attention:  # sampling is checked on the default model only
        golden["sampling"] = sample(cli)
    text = json.dumps(golden, indent=1, ensure_ascii=False) + "\n"
    if "--check" in sys.argv[2:]:
        committed = golden_path.read_text(encoding="utf-8")
        if json.loads(committed) != golden:
            print(f"{golden_path} is stale: the native build decodes differently now; regenerate with "
                  f"python3 tools/gen-dates-decode-golden.py {cli}"
                  f"{' --attention' if attention else ''}", file=sys.stderr)
            return 1
        print(f"ok: {golden_path.name} matches the native build ({len(INPUTS)} inputs, beam {BEAM}"
              f"{'' if attention else f'; {len(SAMPLING)} sampling cases'})")
        return 0
    golden_path.write_text(text, encoding="utf-8")
    print(f"wrote {golden_path} ({len(INPUTS)} inputs{'' if attention else f', {len(SAMPLING)} sampling cases'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
