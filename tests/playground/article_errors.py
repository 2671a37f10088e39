# The article's "# -> ERROR" lines, run: for each commented-out line of tests/playground/article.py that
# the article marks "-> ERROR", the whole article runs again with only that line uncommented (verbatim),
# and must stop at that line with the ValueError TF raises, its text starting as TF's, naming the
# Python line. Prints one "ok" line per case and exits 1 on the first mismatch.
# Run: node tools/tf1-python.mjs tests/playground/article_errors.py (CTest playground_article_errors).
import contextlib
import io
import os
import re
import sys
import traceback

import tensorflow as tf

# tools/tf1-python.mjs mounts this script's directory at /varscope/script.
ARTICLE = os.path.join("/varscope/script" if os.path.isdir("/varscope/script") else os.path.dirname(__file__),
                       "article.py")
lines = open(ARTICLE, encoding="utf-8").read().split("\n")
ERROR_LINE = re.compile(r"^(\s*)# (v_\w+ = tf\.get_variable\('(\w+)', shape=\[2, 3\]\)) #\s*-> ERROR")

# TF 1.x's own first words for the two get_variable errors (tensorflow/python/ops/variable_scope.py).
def tf_prefix(full_name, kind):
    if kind == "exists":
        return f"Variable {full_name} already exists, disallowed"
    return f"Variable {full_name} does not exist, or was not created with "

cases = []
for i, text in enumerate(lines):
    m = ERROR_LINE.match(text)
    if m:
        cases.append((i, m))
# The article marks five lines "-> ERROR": section variable-and-get-variable (1), variable-scope (2),
# reuse-modes (2); the reuse-variables block's one too: 6.
if len(cases) != 6:
    print(f"expected 6 '# -> ERROR' lines in article.py, found {len(cases)}", file=sys.stderr)
    sys.exit(1)

failures = 0
for index, m in cases:
    source = list(lines)
    source[index] = m.group(1) + m.group(2)
    lineno = index + 1
    # The enclosing variable scope: the nearest `with tf.variable_scope('x'...)` less indented than the line.
    indent = len(m.group(1))
    scope = ""
    for j in range(index - 1, -1, -1):
        s = re.match(r"^(\s*)with tf\.variable_scope\('(\w+)'(.*)\)", lines[j])
        if s and len(s.group(1)) < indent:
            scope = s.group(2)
            reuse_true = "reuse=True" in s.group(3) or any(
                "scope.reuse_variables()" in lines[k] for k in range(j, index))
            break
        if re.match(r"^\s*with tf\.Session", lines[j]) and len(lines[j]) - len(lines[j].lstrip()) < indent:
            reuse_true = False
            break
    full_name = (scope + "/" if scope else "") + m.group(3)
    want = tf_prefix(full_name, "missing" if reuse_true else "exists")
    tf.reset_default_graph()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile("\n".join(source), "article.py", "exec"), {"__name__": "__article__"})
    except ValueError as e:
        frames = traceback.extract_tb(e.__traceback__)
        where = [f.lineno for f in frames if f.filename == "article.py"]
        first = str(e).split("\n")[0]
        problems = []
        if where[-1:] != [lineno]:
            problems.append(f"raised at article.py line {where[-1:]} instead of {lineno}")
        if not first.startswith(want):
            problems.append(f"message starts {first!r}, TF's starts {want!r}")
        if f"at article.py:{lineno}" not in str(e):
            problems.append(f"message does not name the Python line article.py:{lineno}")
        if problems:
            failures += 1
            print(f"FAIL line {lineno}: {m.group(2)}: " + "; ".join(problems))
        else:
            print(f"ok   line {lineno}: {m.group(2)} -> ValueError: {want}...")
    except BaseException as e:
        failures += 1
        print(f"FAIL line {lineno}: {m.group(2)}: raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    else:
        failures += 1
        print(f"FAIL line {lineno}: {m.group(2)}: ran without an error")
sys.exit(1 if failures else 0)
