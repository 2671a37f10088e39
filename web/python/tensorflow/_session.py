"""Graphs and sessions for the varscope playground: tf.Graph (as_default, collections), the default
graph stack (get_default_graph, reset_default_graph), tf.Session (run over nested fetches, values are
computed eagerly, so run returns them as numpy-mini arrays), tf.global_variables_initializer (a no-op
op that run accepts)."""
from ._bridge import Tensor, call, own, unsupported, vs
from .variables import Variable, wrap_list

_graph_stack = []  # Graph objects entered with as_default(), innermost last
# Callables run with each new Graph (the playground worker opens a created/reused audit on it).
_graph_created_hooks = []


class GraphKeys:
    GLOBAL_VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"


class Graph:
    """tf.Graph: a varscope graph (its own variable store and name registry)."""

    def __init__(self, _seed=0):
        self._handle = own(self, call(vs.Graph.create, _seed))
        for hook in _graph_created_hooks:
            hook(self)

    def as_default(self):
        return _GraphContext(self)

    def get_collection(self, name, scope=None):
        return wrap_list(call(self._handle.getCollection, name, scope or ""))

    def get_collection_ref(self, name):
        raise unsupported("tf.Graph.get_collection_ref")

    def __eq__(self, other):
        return isinstance(other, Graph) and self._handle.isSame(other._handle)

    def __hash__(self):
        return id(self)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.Graph.{name}")


class _GraphContext:
    def __init__(self, graph):
        self._graph = graph
        self._context = None

    def __enter__(self):
        self._context = own(self, call(self._graph._handle.asDefault))
        _graph_stack.append(self._graph)
        return self._graph

    def __exit__(self, *exc):
        call(self._context.close)
        _graph_stack.pop()
        return False


# The graph used outside every `with graph.as_default()` (TF's global default graph).
_base = {"graph": None, "context": None}


def _open_base_graph():
    _base["graph"] = Graph()
    _base["context"] = call(_base["graph"]._handle.asDefault)


_open_base_graph()


def get_default_graph():
    """tf.get_default_graph(): the innermost graph entered, or the global default graph."""
    return _graph_stack[-1] if _graph_stack else _base["graph"]


def reset_default_graph():
    """tf.reset_default_graph(): a fresh global default graph (not inside a graph or scope context)."""
    if _graph_stack or vs.openContexts() != 1:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. If you need a cleared "
                             "graph, exit the nesting and create a new graph.")
    call(_base["context"].close)
    _base["context"].delete()
    _open_base_graph()


class _InitOp:
    """What tf.global_variables_initializer() returns: varscope variables hold their values from creation."""

    name = "init"

    def __repr__(self):
        return "<tf.Operation 'init' type=NoOp>"


def global_variables_initializer():
    return _InitOp()


def variables_initializer(var_list, name="init"):
    return _InitOp()


def local_variables_initializer():
    return _InitOp()


def _fetch(x):
    if isinstance(x, Tensor):
        return x.numpy_value()
    if isinstance(x, Variable):
        return x.value().numpy_value()
    if isinstance(x, _InitOp):
        return None
    if isinstance(x, list):
        return [_fetch(v) for v in x]
    if isinstance(x, tuple):
        values = [_fetch(v) for v in x]
        return type(x)(*values) if hasattr(x, "_fields") else tuple(values)
    if isinstance(x, dict):
        return {k: _fetch(v) for k, v in x.items()}
    raise TypeError(f"Fetch argument {x!r} has invalid type {type(x)}, must be a string or Tensor. "
                    f"(Can not convert a {type(x).__name__} into a Tensor or Operation.)")


class Session:
    """tf.Session: `with tf.Session(graph=g) as sess` enters g as the default graph; run(fetches)
    returns the eagerly computed values (numpy-mini arrays) in the fetches' structure."""

    def __init__(self, target="", graph=None, config=None):
        if target:
            raise unsupported("tf.Session(target=...)")
        self.graph = graph if graph is not None else get_default_graph()
        self._context = None
        self._closed = False

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        if feed_dict:
            raise unsupported("tf.Session.run(feed_dict=...) (the playground has no placeholders)")
        if options is not None or run_metadata is not None:
            raise unsupported("tf.Session.run(options=..., run_metadata=...)")
        return _fetch(fetches)

    def close(self):
        self._closed = True

    def as_default(self):
        raise unsupported("tf.Session.as_default")

    def __enter__(self):
        self._context = self.graph.as_default()
        self._context.__enter__()
        return self

    def __exit__(self, *exc):
        self._context.__exit__(*exc)
        self.close()
        return False

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.Session.{name}")
