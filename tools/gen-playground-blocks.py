#!/usr/bin/env python3
"""Derives web/playground/article-blocks.json (the playground's drop-down: the article's code blocks in
order, under the article's Japanese headings) from tests/playground/article.py (the article's blocks,
verbatim, indentation restored) and the article itself (../shared/seed/blog-variable-scope-ja.txt).

  python3 tools/gen-playground-blocks.py [--article TXT] > web/playground/article-blocks.json
  python3 tools/gen-playground-blocks.py [--article TXT] --check web/playground/article-blocks.json \
      [--run MODULE.mjs [--node NODE]]   # CTest playground_blocks

Every non-blank line of every block must occur in the article, in order (so the blocks are the article's
code, not ours), and every heading must be a line of the article standing before its block's code and
after the previous block's heading. Entry 0 is the whole article (what the editor opens with); entry k
is block k alone, prefixed with `import tensorflow as tf` and the earlier blocks' helper functions it
calls (show_variables, has_same_outputs, feed_forward, ...), verbatim, so it runs on its own. After the
article's blocks come the entries that are NOT from the article, labelled "(beyond the article) ...", from
tests/playground/beyond_attention.py: its [attention-common] section followed by each other section
(the attention sharing trap, memory_layer_1, and TF's way to avoid it).
--check compares the file with what this derives (exit 1 listing the first difference); --run also
runs every entry under node (tools/tf1-python.mjs --wasm MODULE) and requires exit 0 and no stderr.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTICLE_PY = os.path.join(REPO, "tests", "playground", "article.py")
BEYOND_PY = os.path.join(REPO, "tests", "playground", "beyond_attention.py")
DEFAULT_ARTICLE = os.path.join(os.path.dirname(REPO), "shared", "seed", "blog-variable-scope-ja.txt")
if not os.path.exists(DEFAULT_ARTICLE):
    DEFAULT_ARTICLE = "/work/shared/seed/blog-variable-scope-ja.txt"

# article.py's section id -> the article's heading (a whole line of the article) the block stands under.
HEADINGS = {
    "variable-and-get-variable": "Variable と get_variable",
    "variable-scope": "variable_scope で変数を階層化・共有する",
    "reuse-modes": "variable_scope の reuse option",
    "reuse-variables": "variable_scope の reuse option",
    "reuse-inheritance": "reuse option の継承",
    "feed-forward-unshared": "重み共有をしない場合",
    "feed-forward-shared": "重み共有をする場合",
    "seq2seq": "Seq2Seq のデコーダを学習時と生成時で分ける",
}
WHOLE_LABEL = "記事のコード全体 (全ブロックを順に)"
# beyond_attention.py's section id -> its drop-down label ([attention-common] prefixes each of them).
BEYOND = {
    "attention-trap": "(beyond the article) attention: the memory_layer_1 trap",
    "attention-shared": "(beyond the article) attention: the TF-correct way (one shared memory_layer)",
}
BEYOND_COMMON = "attention-common"
MARKER = re.compile(r"^# \[([a-z0-9-]+)\]$")


def fail(message):
    sys.stderr.write(f"gen-playground-blocks: {message}\n")
    sys.exit(1)


def sections(source):
    lines = source.split("\n")
    start = lines.index("import tensorflow as tf")
    out = []
    for line in lines[start + 1:]:
        m = MARKER.match(line)
        if m:
            out.append([m.group(1), []])
        elif out:
            out[-1][1].append(line)
        elif line.strip():
            fail(f"article.py: code before the first section marker: {line!r}")
    return [(sid, "\n".join(body).strip("\n") + "\n") for sid, body in out]


def top_level_defs(code):
    """{name: source} of the top-level `def`s of a block (the def line up to the next top-level line)."""
    defs = {}
    lines = code.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"def ([A-Za-z_]\w*)\(", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and (lines[j] == "" or lines[j][0] in " \t"):
            j += 1
        defs[m.group(1)] = "\n".join(lines[i:j]).rstrip("\n") + "\n"
        i = j
    return defs


def derive(article_path):
    with open(ARTICLE_PY, encoding="utf-8") as f:
        source = f.read()
    with open(article_path, encoding="utf-8") as f:
        article = [l.strip() for l in f.read().split("\n")]
    secs = sections(source)
    if [s for s, _ in secs] != list(HEADINGS):
        fail(f"article.py's sections {[s for s, _ in secs]} are not {list(HEADINGS)}")
    pos = 0
    heading_floor = 0
    blocks = []
    earlier_defs = {}
    seen_headings = {}
    for sid, code in secs:
        first = None
        for line in code.split("\n"):
            if not line.strip():
                continue
            try:
                pos = article.index(line.strip(), pos) + 1
            except ValueError:
                fail(f"[{sid}] line {line.strip()!r} is not in the article (after line {pos})")
            first = pos if first is None else first
        heading = HEADINGS[sid]
        candidates = [k for k in range(heading_floor, pos) if article[k] == heading]
        if not candidates:
            fail(f"[{sid}] heading {heading!r} is not a line of the article between lines {heading_floor + 1} and {pos}")
        heading_floor = candidates[-1]
        seen_headings[heading] = seen_headings.get(heading, 0) + 1
        label = heading if seen_headings[heading] == 1 else f"{heading} ({seen_headings[heading]})"
        # The helpers of earlier blocks this one calls, transitively, in their order of definition.
        need = set()
        frontier = code
        while True:
            more = {n for n in earlier_defs if n not in need and re.search(rf"\b{n}\b", frontier)}
            if not more:
                break
            need |= more
            frontier = "".join(earlier_defs[n] for n in more)
        helpers = "".join(earlier_defs[n] + "\n" for n in earlier_defs if n in need)
        blocks.append({
            "id": sid,
            "heading": heading,
            "label": f"{len(blocks) + 1}. {label}",
            "articleLine": first,
            "code": "import tensorflow as tf\n\n" + helpers + code,
        })
        for name, text in top_level_defs(code).items():
            earlier_defs[name] = text
    whole = "import tensorflow as tf\n\n" + "\n".join(code for _, code in secs)
    with open(BEYOND_PY, encoding="utf-8") as f:
        beyond = dict(sections(f.read()))
    if list(beyond) != [BEYOND_COMMON] + list(BEYOND):
        fail(f"beyond_attention.py's sections {list(beyond)} are not {[BEYOND_COMMON] + list(BEYOND)}")
    extra = [{"id": f"beyond-{sid}", "heading": "(beyond the article)", "label": label, "articleLine": None,
              "code": "import tensorflow as tf\n\n" + beyond[BEYOND_COMMON] + "\n" + beyond[sid]}
             for sid, label in BEYOND.items()]
    return {
        "comment": "Generated by tools/gen-playground-blocks.py from tests/playground/article.py, the article "
                   "(blog-variable-scope-ja.txt) and tests/playground/beyond_attention.py; checked by CTest "
                   "playground_blocks. Do not edit.",
        "entries": [{"id": "article", "heading": WHOLE_LABEL, "label": WHOLE_LABEL, "articleLine": blocks[0]["articleLine"],
                     "code": whole}] + blocks + extra,
    }


def main(argv):
    article = DEFAULT_ARTICLE
    check = None
    run = None
    node = "node"
    i = 0
    while i < len(argv):
        if argv[i] in ("--article", "--check", "--run", "--node") and i + 1 < len(argv):
            value = argv[i + 1]
            if argv[i] == "--article":
                article = value
            elif argv[i] == "--check":
                check = value
            elif argv[i] == "--node":
                node = value
            else:
                run = value
            i += 2
        else:
            fail(f"unknown argument {argv[i]!r}")
    if not os.path.exists(article):
        fail(f"the article {article} is missing (../shared/seed/blog-variable-scope-ja.txt)")
    data = derive(article)
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    if check is None:
        sys.stdout.write(text)
        return 0
    with open(check, encoding="utf-8") as f:
        committed = f.read()
    if committed != text:
        a, b = committed.split("\n"), text.split("\n")
        k = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        fail(f"{check} differs from what article.py, the article and beyond_attention.py give, first at line {k + 1}:\n"
             f"  file:    {a[k] if k < len(a) else '<end>'!r}\n  derived: {b[k] if k < len(b) else '<end>'!r}\n"
             f"regenerate: python3 tools/gen-playground-blocks.py > {check}")
    print(f"playground_blocks: ok: {check} is derived from article.py, the article and beyond_attention.py "
          f"({len(data['entries']) - 1 - len(BEYOND)} blocks + the whole article + {len(BEYOND)} beyond it)")
    if run:
        runner = os.path.join(REPO, "tools", "tf1-python.mjs")
        with tempfile.TemporaryDirectory() as tmp:
            for entry in data["entries"]:
                path = os.path.join(tmp, f"{entry['id']}.py")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(entry["code"])
                r = subprocess.run([node, runner, "--wasm", run, path], capture_output=True, text=True)
                if r.returncode != 0 or r.stderr:
                    fail(f"entry {entry['label']!r} exited {r.returncode} under node:\n{r.stderr}")
                print(f"ok   {entry['label']}: runs on its own ({len(r.stdout.splitlines())} lines printed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
