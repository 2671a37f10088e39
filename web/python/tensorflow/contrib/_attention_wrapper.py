"""tf.contrib.seq2seq's attention (TF 1.15) for the varscope playground: BahdanauAttention, LuongAttention,
AttentionWrapper and AttentionWrapperState over varscope's :attention partition (wasm/tf_api.cpp,
docs/attention.md). As in TF, a mechanism creates <current scope>/memory_layer/kernel when it is
constructed (a second one in the same scope makes memory_layer_1: the sharing trap), and the wrapper
creates the rest at its first call. Deliberate differences (docs/attention.md): the state's `time` is a
float32 [B, 1] column, and `alignment_history` is recorded by the decoders, not in a TensorArray."""
import collections
import weakref

from .. import _bridge
from .._bridge import Tensor, as_tensor, call, options, own, unsupported, vs
from ..nn.rnn_cell import RNNCell

_FIELDS = ("cell_state", "attention", "time", "alignments", "alignment_history", "attention_state")


class AttentionWrapperState(collections.namedtuple("AttentionWrapperState", _FIELDS)):
    """TF 1.15's AttentionWrapperState: (cell_state, attention, time, alignments, alignment_history,
    attention_state); clone(**kwargs) replaces fields, checking their shapes as TF does."""
    __slots__ = ()

    def clone(self, **kwargs):
        unknown = [k for k in kwargs if k not in _FIELDS]
        if unknown:
            raise ValueError(f"Got unexpected field names: {unknown!r}")
        if "alignment_history" in kwargs:
            raise unsupported("AttentionWrapperState.clone(alignment_history=...) (varscope's decoders record it)")
        keep = []
        fields = {}
        if "cell_state" in kwargs:
            fields["cellState"] = _bridge.state_to_js(kwargs["cell_state"], keep)
        for key, js_key in (("attention", "attention"), ("time", "time"), ("alignments", "alignments"),
                            ("attention_state", "attentionState")):
            if key in kwargs:
                t = as_tensor(kwargs[key])
                keep.append(t)
                fields[js_key] = t._handle
        out = _bridge.state_from_js(call(vs.cloneAttentionWrapperState, _bridge.state_to_js(self, keep),
                                         options(**fields)))
        return out._replace(alignment_history=self.alignment_history)

    def _for_js(self):
        """The state as varscope holds it: alignment_history is () there (the decoders record it)."""
        return self._replace(alignment_history=())


class _AlignmentHistory:
    """final_state.alignment_history of an AttentionWrapper(alignment_history=True): stack() gives every
    step's alignments, time major [T, B, T_mem], as TF's TensorArray.stack() does; where varscope did not
    record them, stack() raises NotImplementedError naming the case."""

    def __init__(self, stacked=None, missing=None):
        self._stacked = stacked
        self._missing = missing

    def stack(self, name=None):
        if self._stacked is None:
            raise unsupported(self._missing)
        return self._stacked

    def __repr__(self):
        return "<alignment_history TensorArray>"


def with_alignment_history(cell, state, stacked, where):
    """`state` with its alignment_history field as TF gives it for `cell`: the recorded [T, B, T_mem]
    alignments (a JS Tensor or null) behind .stack(), or a stack() that names `where` as not recorded."""
    if not isinstance(cell, AttentionWrapper) or not cell._alignment_history or \
            not isinstance(state, AttentionWrapperState):
        return state
    if stacked is not None and not _bridge.absent(stacked):
        history = _AlignmentHistory(Tensor(stacked))
    else:
        history = _AlignmentHistory(missing=f"final_state.alignment_history.stack() after {where} (varscope records "
                                            "alignment_history in a BasicDecoder with the GreedyEmbeddingHelper)")
    return state._replace(alignment_history=history)


_mechanisms = weakref.WeakSet()  # live mechanisms: a load() into a memory_layer recomputes their keys


class _AttentionMechanism:
    """What BahdanauAttention and LuongAttention share: the memory, its lengths and varscope's mechanism."""

    _kind = None

    def __init__(self, who, num_units, memory, memory_sequence_length, flag, probability_fn, score_mask_value,
                 dtype, custom_key_value_fn):
        for arg, value in (("probability_fn", probability_fn), ("score_mask_value", score_mask_value),
                           ("custom_key_value_fn", custom_key_value_fn)):
            if value is not None:
                raise unsupported(f"tf.contrib.seq2seq.{who}({arg}=...)")
        if dtype is not None and _bridge.dtype_name(dtype) != "float32":
            raise unsupported(f"tf.contrib.seq2seq.{who}(dtype != tf.float32)")
        self._memory = as_tensor(memory)
        self._length = None if memory_sequence_length is None else as_tensor(memory_sequence_length, "int32")
        self._handle = own(self, call(vs.AttentionMechanism.create, self._kind, int(num_units), self._memory._handle,
                                      None if self._length is None else self._length._handle, bool(flag)))
        _mechanisms.add(self)

    @property
    def batch_size(self):
        return int(self._handle.batchSize())

    @property
    def alignments_size(self):
        return int(self._handle.alignmentsSize())

    def _rebind(self):
        """Recomputes the keys from memory_layer's current kernel (TF computes them when the graph runs)."""
        call(self._handle.setupMemory, self._memory._handle, None if self._length is None else self._length._handle)

    def _reads(self, variable):
        kernel = self._handle.memoryLayerKernel()
        try:
            return kernel.isSame(variable._handle)
        finally:
            kernel.delete()

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise unsupported(f"tf.contrib.seq2seq.{type(self).__name__}.{name}")


def variable_loaded(variable):
    """After Variable.load: every live mechanism whose memory_layer/kernel it is recomputes its keys."""
    for mechanism in list(_mechanisms):
        if mechanism._reads(variable):
            mechanism._rebind()


class BahdanauAttention(_AttentionMechanism):
    """tf.contrib.seq2seq.BahdanauAttention(num_units, memory, memory_sequence_length=None, normalize=False):
    creates memory_layer/kernel [memory depth, num_units] in the current variable scope, now."""

    _kind = "bahdanau"

    def __init__(self, num_units, memory, memory_sequence_length=None, normalize=False, probability_fn=None,
                 score_mask_value=None, dtype=None, custom_key_value_fn=None, name="BahdanauAttention"):
        super().__init__("BahdanauAttention", num_units, memory, memory_sequence_length, normalize, probability_fn,
                         score_mask_value, dtype, custom_key_value_fn)


class LuongAttention(_AttentionMechanism):
    """tf.contrib.seq2seq.LuongAttention(num_units, memory, memory_sequence_length=None, scale=False):
    creates memory_layer/kernel [memory depth, num_units] in the current variable scope, now."""

    _kind = "luong"

    def __init__(self, num_units, memory, memory_sequence_length=None, scale=False, probability_fn=None,
                 score_mask_value=None, dtype=None, custom_key_value_fn=None, name="LuongAttention"):
        super().__init__("LuongAttention", num_units, memory, memory_sequence_length, scale, probability_fn,
                         score_mask_value, dtype, custom_key_value_fn)


class AttentionWrapper(RNNCell):
    """tf.contrib.seq2seq.AttentionWrapper(cell, attention_mechanism, attention_layer_size=None,
    alignment_history=False, output_attention=True, initial_cell_state=None, name=None): an RNN cell for
    tf.nn.dynamic_rnn, BasicDecoder and BeamSearchDecoder; its state is an AttentionWrapperState."""

    _tf_module = "tf.contrib.seq2seq"

    def __init__(self, cell, attention_mechanism, attention_layer_size=None, alignment_history=False,
                 cell_input_fn=None, output_attention=True, initial_cell_state=None, name=None,
                 attention_layer=None, attention_fn=None):
        if isinstance(attention_mechanism, (list, tuple)) or isinstance(attention_layer_size, (list, tuple)):
            raise unsupported("tf.contrib.seq2seq.AttentionWrapper with a list of attention mechanisms")
        for arg, value in (("cell_input_fn", cell_input_fn), ("attention_layer", attention_layer),
                           ("attention_fn", attention_fn)):
            if value is not None:
                raise unsupported(f"tf.contrib.seq2seq.AttentionWrapper({arg}=...)")
        if not isinstance(cell, RNNCell):
            raise TypeError(f"cell must be an RNNCell, saw type: {type(cell).__name__}")
        if not isinstance(attention_mechanism, _AttentionMechanism):
            raise TypeError("attention_mechanism must be an AttentionMechanism or list of multiple "
                            f"AttentionMechanism instances, saw type: {type(attention_mechanism).__name__}")
        keep = []
        init = None if initial_cell_state is None else _bridge.state_to_js(initial_cell_state, keep)
        self._refs = (cell, attention_mechanism)
        self._alignment_history = bool(alignment_history)
        self._handle = own(self, call(vs.RNNCell.attentionWrapper, cell._handle, attention_mechanism._handle, options(
            attentionLayerSize=None if attention_layer_size is None else int(attention_layer_size),
            alignmentHistory=self._alignment_history, outputAttention=bool(output_attention),
            initialCellState=init, name=name)))
