"""The playground worker's Python side (web/playground-worker.js; issue 24): runs one Run's code as
__main__ in a fresh default graph, prints an uncaught exception's traceback (without this module's frames)
to stderr, and collects every graph the code made with its variables: name, shape, dtype, who created it
at which Python line, and which Python lines made get_variable return it again (reused), from varscope's
VariableAudit opened on each graph as it is created, with the audit's warnings (the sharing trap: a
memory_layer_1 next to memory_layer, a new decoder_1/...; each names the variable it flags); each audit entry is attributed to the line of the
Run's code that was executing when it appeared (tensorflow._bridge's call observer), so the variables a
layer, cell or decoder makes inside varscope get the Python line that built or ran it."""
import linecache
import sys
import traceback
import types

FILENAME = "<playground>"


def _origin_line(call_site):
    """'<playground>:12' -> 12 (the line of the Run's code), else None (made elsewhere: a library line)."""
    if call_site.startswith(FILENAME + ":"):
        try:
            return int(call_site[len(FILENAME) + 1:])
        except ValueError:
            return None
    return None


def _code_line():
    """The innermost line of the Run's own code on the stack, or None."""
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename != FILENAME:
        f = f.f_back
    return f.f_lineno if f is not None else None


class _Observer:
    """Attributes new audit entries to the Run's line executing around each shim -> varscope call."""

    def __init__(self, graphs):
        self.graphs = graphs  # [(graph, audit handle)] as created
        self.lines = []       # per graph: [line or None] parallel to its audit entries
        self.depth = 0

    def before(self):
        self.depth += 1
        return None

    def after(self, _token):
        self.depth -= 1
        if self.depth:
            return
        line = None
        for k, (_, audit_handle) in enumerate(self.graphs):
            while len(self.lines) <= k:
                self.lines.append([])
            n = audit_handle.entries().length
            if n > len(self.lines[k]):
                if line is None:
                    line = _code_line()
                self.lines[k].extend([line] * (n - len(self.lines[k])))


def run(source):
    """Runs `source`; returns {exitCode, graphs: [{index, variables: [...]}], restart}."""
    import tensorflow as tf
    from tensorflow import _bridge, _session

    graphs = []

    def audit(graph):
        graphs.append((graph, graph._handle.startAudit()))

    _session._graph_created_hooks[:] = [audit]
    restart = False
    try:
        tf.reset_default_graph()
    except AssertionError:
        # The previous Run left a graph or scope context open (as_default().__enter__() without exit):
        # the page restarts the worker instead of running in a polluted stack.
        _session._graph_created_hooks[:] = []
        print("The previous Run left a graph or variable scope open; restarting Python.", file=sys.stderr)
        return {"exitCode": 1, "graphs": [], "restart": True}
    observer = _Observer(graphs)
    _bridge._call_observer = observer
    linecache.cache[FILENAME] = (len(source), None, source.splitlines(True), FILENAME)
    main = types.ModuleType("__main__")
    main.__file__ = FILENAME
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    code = 0
    try:
        exec(compile(source, FILENAME, "exec"), main.__dict__)
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException as e:
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        _session._graph_created_hooks[:] = []
        _bridge._call_observer = None
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    result = []
    for index, (graph, audit_handle) in enumerate(graphs):
        reuses = {}      # name -> [line or None] of each reuse
        created_at = {}  # name -> line of its creation by get_variable
        lines = observer.lines[index] if index < len(observer.lines) else []
        entries = audit_handle.entries()
        for k, e in enumerate(entries):
            line = lines[k] if k < len(lines) else None
            if e.created:
                created_at[e.name] = line
            else:
                reuses.setdefault(e.name, []).append(line)
        warnings = list(audit_handle.warnings())
        variables = []
        handles = graph._handle.globalVariables("")
        for v in handles:
            key = v.name()[:-2] if v.name().endswith(":0") else v.name()
            o = v.origin()
            variables.append({
                "name": v.name(),
                "shape": list(v.shape()),
                "dtype": v.dtype(),
                "creator": o.creator,
                "line": _origin_line(o.callSite) or created_at.get(key),
                "callSite": o.callSite,
                "reused": len(reuses.get(key, [])),
                "reusedLines": sorted({l for l in reuses.get(key, []) if l is not None}),
                "warned": any(w.startswith(key + " ") for w in warnings),
            })
            v.delete()
        audit_handle.delete()
        if variables:
            result.append({"index": index, "variables": variables, "warnings": warnings})
    graphs.clear()
    return {"exitCode": code, "graphs": result, "restart": restart}
