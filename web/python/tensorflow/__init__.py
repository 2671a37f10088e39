"""`import tensorflow as tf` in the varscope playground: a TF 1.x API shim over varscope's wasm build
(wasm/tf_api.cpp through the JS module `_varscope`). Graph construction is varscope's (TF's names,
reuse rules and errors); values are computed eagerly and tf.Session.run returns them. Anything not
listed here raises NotImplementedError naming it (module __getattr__), never a silent wrong answer.
The plan and what is covered: docs/design/issue-24-playground.md."""
from . import _bridge
from ._bridge import Tensor, unsupported
from . import dtypes
from .dtypes import DType, TensorShape, as_dtype, float32, int32
from .variables import Variable
from ._scope import AUTO_REUSE, VariableScope, get_variable, get_variable_scope, name_scope, variable_scope
from ._session import (Graph, GraphKeys, Session, get_default_graph, global_variables_initializer,
                       local_variables_initializer, reset_default_graph, variables_initializer)
from .initializers import (constant_initializer, glorot_uniform_initializer, ones_initializer,
                           random_normal_initializer, random_uniform_initializer, truncated_normal_initializer,
                           zeros_initializer)
from ._ops import (add, argmax, concat, constant, matmul, multiply, ones, random_normal, random_uniform, reshape, sigmoid,
                   tanh, zeros)
from . import initializers, layers, nn, contrib, compat, test
from .variables import wrap_list as _wrap_list

__version__ = "1.15.0-varscope"
VERSION = __version__


def global_variables(scope=None):
    """tf.global_variables(scope): the default graph's GLOBAL_VARIABLES in creation order."""
    return _wrap_list(_bridge.call(_bridge.vs.globalVariables, scope or ""))


def trainable_variables(scope=None):
    return _wrap_list(_bridge.call(_bridge.vs.trainableVariables, scope or ""))


def local_variables(scope=None):
    return _wrap_list(_bridge.call(_bridge.vs.localVariables, scope or ""))




def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.{name}")
