#!/usr/bin/env python3
"""Extracts the printed outputs of the article's code blocks into
tests/data/article_outputs.txt, the independent expectation for `varscope tour`.

The article (seed/blog-variable-scope-ja.txt, TF 1.5) shows each block's output
as a run of lines right after the code. This script finds every maximal run of
output-looking lines (variable names with ":0", "scope: reuse" lines,
"shared: ...", numpy int arrays) in order and labels them with the tour's
section ids.

The introduction's block prints nothing. One more block prints nothing: the scope.reuse_variables() block
ends in show_variables() but its output is not shown. For it the expectation
is the distinct "# -> name:0" comments of its own code lines.

Usage: python3 tools/extract-article-outputs.py ../shared/seed/blog-variable-scope-ja.txt \
           > tests/data/article_outputs.txt
"""
import re
import sys

SECTION_IDS = [
    "variable-and-get-variable",
    "variable-scope",
    "reuse-modes",
    "reuse-inheritance",
    "feed-forward-unshared",
    "feed-forward-shared",
    "seq2seq",
]

OUTPUT_LINE = re.compile(
    r"^("
    r"[A-Za-z0-9_./]+:0"                                   # variable names
    r"|[A-Za-z0-9_/]+: (False|True|_ReuseMode\.AUTO_REUSE)"  # show_reuse
    r"|shared: (False|True)"                               # has_same_outputs
    r"|\s*\[+[0-9 ]+\]+"                                   # numpy int arrays
    r")$"
)


def main(path):
    with open(path, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f]
    runs, current = [], []
    for line in lines:
        if OUTPUT_LINE.match(line):
            current.append(line)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    if len(runs) != len(SECTION_IDS):
        sys.exit(f"expected {len(SECTION_IDS)} output runs in the article, found {len(runs)}")
    print("# Printed outputs of the article's code blocks, extracted verbatim from")
    print("# seed/blog-variable-scope-ja.txt by tools/extract-article-outputs.py.")
    print("# [section-id] lines match `varscope tour --list`.")
    print("[intro]")
    print("# (the introduction's block prints nothing)")
    for section, run in zip(SECTION_IDS, runs):
        print(f"[{section}]")
        for line in run:
            print(line)
        if section == "reuse-modes":
            print("[reuse-variables]")
            print("# (not printed in the article: the block's own '# -> name' comments)")
            for name in reuse_variables_comments(lines):
                print(name)


def reuse_variables_comments(lines):
    start = lines.index("with tf.variable_scope('reuse_true') as scope:")
    end = lines.index("show_variables()", start)
    names = []
    for line in lines[start:end]:
        m = re.search(r"# -> (\S+:0)", line)
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return names


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/seed/blog-variable-scope-ja.txt")
