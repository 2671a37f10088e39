#!/usr/bin/env python3
"""The browser bindings sample what the CLI samples: for each sampling case of
tests/data/dates_decode_native.json (written by tools/gen-dates-decode-golden.py from
`varscope decode --sample ...`; ctest dates_decode_golden keeps it current), the native
build of wasm/bindings.cpp (varscope_web_native datesDecode CHECKPOINT PARAMS_JSON, the
entry the page and the wasm test call with {sample: true, temperature, topK, seed}) must
give the same ids and text. The wasm build is held to the same golden by
tests/wasm/dates_decode_wasm.mjs, so a seed gives the same tokens natively and in wasm.
Usage: check_sampling_bindings.py VARSCOPE_WEB_NATIVE CHECKPOINT GOLDEN"""
import json
import subprocess
import sys


def main(web_native, checkpoint, golden_path):
    with open(golden_path, encoding="utf-8") as f:
        cases = json.load(f).get("sampling", [])
    failures = []
    for c in cases:
        params = {"text": c["input"], "sample": True, "temperature": c["temperature"], "topK": c["top_k"],
                  "seed": c["seed"]}
        r = subprocess.run([web_native, "datesDecode", checkpoint, json.dumps(params, ensure_ascii=False)],
                           capture_output=True, text=True)
        label = f"{c['input']!r} T={c['temperature']} k={c['top_k']} seed={c['seed']}"
        try:
            out = json.loads(r.stdout)
        except json.JSONDecodeError:
            failures.append(f"{label}: exit {r.returncode}, not JSON: {r.stdout[:200]} {r.stderr[:200]}")
            continue
        if not out.get("ok"):
            failures.append(f"{label}: {out}")
            continue
        got = [(h["ids"], h["text"]) for h in out["hypotheses"]]
        want = [(h["ids"], h["text"]) for h in c["hypotheses"]]
        ok = got == want
        print(f"{'ok  ' if ok else 'FAIL'} {label}: bindings {got[0][1] if got else None!r} CLI {want[0][1]!r}")
        if not ok:
            failures.append(f"{label}: bindings {got} vs CLI {want}")
    if not cases:
        failures.append(f"{golden_path} has no sampling cases; regenerate it with tools/gen-dates-decode-golden.py")
    print("\n".join(failures) or f"bindings sample what the CLI samples: {len(cases)} cases")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
