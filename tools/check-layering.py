#!/usr/bin/env python3
"""Checks that varscope's partitions depend on each other in one direction.

The order is the order of `export import :x;` in modules/varscope.cppm, which its top
comment lists too. The check fails (exit 1, one line per finding) when:
  1. the top comment of varscope.cppm does not list the partitions in that order;
  2. a partition interface (modules/x.cppm) imports a partition that comes later;
  3. an interface says a declaration is "defined in" another partition's implementation;
  4. an implementation unit (modules/src/x.cpp, plus the headers it includes from
     modules/src/) names a namespace-scope entity (function, class, alias, constant)
     that only partitions outside :x's own imports, direct or transitive, declare
     (e.g. init.cpp calling get_default_graph(), which :store declares);
  5. an implementation unit imports (`import :y;`) a partition :x's interface does not see;
  6. tape discipline: a tensor's tape id is set by hand (`set_tape_id(`) anywhere but the
     tape itself (autograd.cppm's record_op family, src/autograd.cpp) and variable reads
     (src/store.cpp), or `TapeAccess::` is used outside autograd.cppm / src/autograd.cpp.
     Ops record through record_op, which resets their outputs; a hand-set id elsewhere is
     how a copy of an input ends up passing for it (a silently wrong gradient).
Implementation units are `module varscope;` and see every partition, so the compiler does
not catch an upward call; rules 4 and 5 do. (Internal partitions, `module varscope:x.impl;
import :x;`, would let the compiler enforce it; clang 19 crashes compiling them here.)

Usage:
  tools/check-layering.py [MODULES_DIR]      check (default: modules/ next to tools/)
  tools/check-layering.py --self-test        plant upward dependencies in a copy and
                                             check that each one is reported
CTest runs both (tests/CMakeLists.txt: layering, layering_self_test).
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

KEYWORDS = set("""
alignas alignof and asm auto bool break case catch char char8_t char16_t char32_t class co_await
co_return co_yield concept const consteval constexpr constinit const_cast continue decltype default
delete do double dynamic_cast else enum explicit export extern false float for friend goto if import
inline int long module mutable namespace new noexcept not nullptr operator or private protected public
register reinterpret_cast requires return short signed sizeof static static_assert static_cast struct
switch template this thread_local throw true try typedef typeid typename union unsigned using virtual
void volatile wchar_t while final override std size_t
""".split())

TOKEN = re.compile(r"[A-Za-z_]\w*|::|->|[{}()<>;=.,\[\]]|\S")


def strip_code(text: str) -> str:
    """Removes comments, string/char literals and preprocessor lines, keeping line breaks."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    lines = ["" if line.lstrip().startswith("#") else line for line in "".join(out).split("\n")]
    return "\n".join(lines)


def tokens(text: str):
    """(token, line) pairs of code with comments and literals removed."""
    for lineno, line in enumerate(strip_code(text).split("\n"), 1):
        for m in TOKEN.finditer(line):
            yield m.group(0), lineno


def namespace_scope_names(text: str) -> set[str]:
    """Names a partition interface declares at namespace scope."""
    toks = [t for t, _ in tokens(text)]
    names: set[str] = set()
    braces: list[bool] = []  # True: a namespace (or export) block
    paren = 0
    pending_namespace = False
    i = 0
    while i < len(toks):
        t = toks[i]
        at_ns = all(braces) and paren == 0
        if t == "template" and i + 1 < len(toks) and toks[i + 1] == "<":
            depth, i = 0, i + 1
            while i < len(toks):
                depth += toks[i] == "<"
                depth -= toks[i] == ">"
                if depth == 0:
                    break
                i += 1
        elif t == "namespace" or (t == "export" and i + 1 < len(toks) and toks[i + 1] == "{"):
            pending_namespace = True
        elif t == "{":
            braces.append(pending_namespace)
            pending_namespace = False
        elif t == "}":
            if braces:
                braces.pop()
        elif t == ";":
            pending_namespace = False
        elif t == "(":
            paren += 1
        elif t == ")":
            paren -= 1
        elif at_ns and t in ("class", "struct", "union", "enum"):
            j = i + 1
            while j < len(toks) and toks[j] in ("class", "struct", "[", "]", "nodiscard"):
                j += 1
            if j < len(toks) and re.match(r"[A-Za-z_]\w*$", toks[j]) and toks[j] not in KEYWORDS:
                names.add(toks[j])
        elif at_ns and re.match(r"[A-Za-z_]\w*$", t) and t not in KEYWORDS and i + 1 < len(toks):
            prev = toks[i - 1] if i else ""
            if prev not in ("::", ".", "->", "operator", "namespace") and toks[i + 1] in ("(", "="):
                names.add(t)
        i += 1
    return names


TYPE_KEYWORDS = {"auto", "bool", "char", "int", "long", "short", "unsigned", "signed", "float", "double", "void",
                 "size_t", "class", "struct", "enum", "union", "using", "namespace"}
IDENT = re.compile(r"[A-Za-z_]\w*$")


def used_names(text: str):
    """(name, line) of the identifiers a unit uses: unqualified or varscope::/detail::-qualified,
    not member accesses, and not names the unit declares itself (a local `auto add = ...`,
    a parameter `const SourceLocation& where`, a helper `std::string number(double)`)."""
    toks = list(tokens(text))
    local: set[str] = set()
    for k, (t, _) in enumerate(toks):
        if not IDENT.match(t) or t in KEYWORDS or k == 0 or k + 1 >= len(toks):
            continue
        prev, nxt = toks[k - 1][0], toks[k + 1][0]
        declared_type = (IDENT.match(prev) and prev not in KEYWORDS) or prev in TYPE_KEYWORDS or prev in (">", "*", "&")
        if declared_type and nxt in ("=", "(", "{", ";", ",", ")", "[", ":"):
            local.add(t)
    for k, (t, line) in enumerate(toks):
        if not IDENT.match(t) or t in KEYWORDS or t in local:
            continue
        prev = toks[k - 1][0] if k else ""
        if prev in (".", "->"):
            continue
        if prev == "::" and k >= 2 and toks[k - 2][0] not in ("varscope", "detail"):
            continue
        yield t, line


def check(modules: Path) -> list[str]:
    problems: list[str] = []
    primary = modules / "varscope.cppm"
    primary_text = primary.read_text()
    order = re.findall(r"^\s*export\s+import\s+:(\w+)\s*;", primary_text, re.M)
    if not order:
        return [f"{primary}: no `export import :x;` lines"]
    rank = {p: k for k, p in enumerate(order)}

    # 1. The written-down order.
    listed = re.findall(r"^//\s+:(\w+)\b", primary_text.split("export module", 1)[0], re.M)
    if listed != order:
        problems.append(f"{primary}: the top comment lists {listed}, the export imports are {order}; "
                        "list the partitions in the order they are exported")

    # 2. Interfaces import only earlier partitions.
    imports: dict[str, list[str]] = {}
    declared: dict[str, set[str]] = {}
    for part in order:
        path = modules / f"{part}.cppm"
        if not path.exists():
            problems.append(f"{primary}: exports :{part} but {path} does not exist")
            continue
        text = path.read_text()
        imports[part] = re.findall(r"^\s*(?:export\s+)?import\s+:(\w+)\s*;", text, re.M)
        declared[part] = namespace_scope_names(text)
        for dep in imports[part]:
            if dep not in rank:
                problems.append(f"{path}: imports :{dep}, which varscope.cppm does not export")
            elif rank[dep] >= rank[part]:
                problems.append(f"{path}: :{part} imports :{dep}, which comes later in the order "
                                f"({' -> '.join(order)}); move what it needs below :{part}")
        # 3. "defined in" another partition's implementation.
        for lineno, line in enumerate(text.split("\n"), 1):
            m = re.search(r"defined (?:in|by) (?:the )?:(\w+) implementation", line)
            if m and m.group(1) != part:
                problems.append(f"{path}:{lineno}: :{part} declares something for the implementation of "
                                f":{m.group(1)} to define: {line.strip()}; declare it in :{m.group(1)} or define "
                                f"it in :{part}'s implementation")
    for path in sorted(modules.glob("*.cppm")):
        # Another named module beside varscope (modules/testing.cppm: `varscope.testing`, the
        # test hooks) is not a partition and stays out of the order.
        if not re.search(r"^\s*export\s+module\s+varscope\s*(:|;)", path.read_text(), re.M):
            continue
        if path.stem != "varscope" and path.stem not in rank:
            problems.append(f"{path}: not exported by varscope.cppm (add `export import :{path.stem};` in order)")

    def below(part: str) -> set[str]:
        seen, todo = set(), [part]
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            todo.extend(imports.get(p, []))
        return seen

    # 4. Implementation units use only what their partition imports.
    for impl in sorted((modules / "src").glob("*.cpp")):
        part = impl.stem
        if part not in rank:
            problems.append(f"{impl}: no partition :{part} (name implementation units after their partition)")
            continue
        allowed = below(part)
        visible = set().union(*(declared.get(p, set()) for p in allowed))
        upper = {}
        for p in order:
            if p not in allowed:
                for name in declared.get(p, ()):
                    upper.setdefault(name, p)
        text = impl.read_text()
        # 5. Imports written in an implementation unit stay within what its interface sees.
        for dep in re.findall(r"^\s*import\s+:(\w+)\s*;", text, re.M):
            if dep not in allowed:
                problems.append(f"{impl}: imports :{dep}, which :{part}'s interface does not import; "
                                f"import it in modules/{part}.cppm if it is below :{part}, else move the code up")
        if re.search(r"^\s*(export\s+)?import\s+varscope\s*;", text, re.M):
            problems.append(f"{impl}: imports the whole module; import :{part} instead")
        units = [(impl, text)]
        for header in re.findall(r'^\s*#\s*include\s+"([^"]+)"', units[0][1], re.M):
            hpath = impl.parent / header
            if hpath.exists():
                units.append((hpath, hpath.read_text()))
        for path, text in units:
            reported = set()
            for name, line in used_names(text):
                if name in upper and name not in visible and name not in reported:
                    reported.add(name)
                    where = f"{path}:{line}" + (f" (included by {impl.name})" if path != impl else "")
                    problems.append(f"{where}: the implementation of :{part} uses `{name}` from :{upper[name]}, "
                                    f"which :{part} does not import ({' -> '.join(order)}); move it below "
                                    f":{part} or the code that needs it up")

    # 6. Tape discipline.
    tape_files = {"autograd.cppm", "src/autograd.cpp"}
    id_files = tape_files | {"src/store.cpp", "tensor.cppm"}  # tensor.cppm declares set_tape_id
    sources = sorted(modules.glob("*.cppm")) + sorted((modules / "src").glob("*.cpp")) + \
        sorted((modules / "src").glob("*.hpp"))
    for path in sources:
        rel = path.relative_to(modules).as_posix()
        text = strip_code(path.read_text())
        for lineno, line in enumerate(text.split("\n"), 1):
            if "set_tape_id(" in line and rel not in id_files:
                problems.append(f"{path}:{lineno}: sets a tape id by hand; record the op with record_op / "
                                "record_in_place (they reset and assign ids), or wrap a non-differentiable "
                                "output in untracked()")
            if "TapeAccess::" in line and rel not in tape_files:
                problems.append(f"{path}:{lineno}: uses detail::TapeAccess outside :autograd; record through "
                                "record_op / record_in_place / will_record")
    return problems


def self_test(modules: Path) -> int:
    """Each planted upward dependency must be reported; the unchanged copy must pass."""
    plants = [
        ("src/init.cpp", "\nnamespace varscope { std::uint64_t planted() { return get_default_graph().seed(); } }\n",
         "init.cpp", "get_default_graph"),
        ("src/store.cpp", "\nnamespace varscope { void planted() { (void)get_variable_scope(); } }\n",
         "store.cpp", "get_variable_scope"),
        ("tensor.cppm", None, "tensor.cppm", ":store"),
        ("src/tensor.cpp", "import :store;", "tensor.cpp", "imports :store"),
        ("store.cppm", "\n// planted: void f(); defined in the :scope implementation\n", "store.cppm", "implementation of :scope"),
        ("src/ops.cpp", "\nnamespace varscope { void planted(Tensor& t) { t.set_tape_id(0); } }\n",
         "ops.cpp", "tape id by hand"),
        ("src/loss.cpp", "\nnamespace varscope { void planted() { (void)detail::TapeAccess::track; } }\n",
         "loss.cpp", "TapeAccess"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "modules"
        shutil.copytree(modules, copy)
        baseline = check(copy)
        if baseline:
            print("self-test: the unchanged tree already fails:\n  " + "\n  ".join(baseline))
            return 1
        for rel, addition, where, what in plants:
            target = copy / rel
            original = target.read_text()
            if addition is None:
                target.write_text(original.replace("import :errors;\n", "import :errors;\nimport :store;\n", 1))
            elif addition.startswith("import"):
                target.write_text(re.sub(r"^(module varscope;)", r"\1\n" + addition, original, flags=re.M))
            else:
                target.write_text(original + addition)
            found = [p for p in check(copy) if where in p and what in p]
            print(f"self-test: planted {what!r} in {rel}: {'reported' if found else 'NOT REPORTED'}")
            failures += not found
            target.write_text(original)
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--self-test"]
    modules = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "modules"
    if not (modules / "varscope.cppm").exists():
        print(f"check-layering: {modules}/varscope.cppm not found; pass the modules/ folder", file=sys.stderr)
        return 2
    if "--self-test" in argv:
        return self_test(modules)
    problems = check(modules)
    for p in problems:
        print(p)
    if not problems:
        print(f"layering ok: {len(list((modules / 'src').glob('*.cpp')))} implementation units follow the order")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
