"""The playground worker's Python side (web/playground-worker.js; issue 24): runs one Run's code as
__main__ in a fresh default graph, prints an uncaught exception's traceback (without this module's frames)
to stderr, and collects every graph the code made with its variables: name, shape, dtype, who created it
at which Python line, and how many times get_variable returned it again (reused), from varscope's
VariableAudit opened on each graph as it is created."""
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


def run(source):
    """Runs `source`; returns {exitCode, graphs: [{index, variables: [...]}], restart}."""
    import tensorflow as tf
    from tensorflow import _session

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
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    result = []
    for index, (graph, audit_handle) in enumerate(graphs):
        reuses = {}
        created_by_get = set()
        entries = audit_handle.entries()
        for e in entries:
            if e.created:
                created_by_get.add(e.name)
            else:
                reuses[e.name] = reuses.get(e.name, 0) + 1
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
                "line": _origin_line(o.callSite),
                "callSite": o.callSite,
                "reused": reuses.get(key, 0),
            })
            v.delete()
        audit_handle.delete()
        if variables:
            result.append({"index": index, "variables": variables})
    graphs.clear()
    return {"exitCode": code, "graphs": result, "restart": restart}
