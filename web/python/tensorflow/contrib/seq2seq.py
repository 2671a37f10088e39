"""tf.contrib.seq2seq for the varscope playground: TrainingHelper, GreedyEmbeddingHelper, BasicDecoder,
BeamSearchDecoder, dynamic_decode and tile_batch over varscope's decoders (batch-major outputs; the
decoder's variables under <scope>/decoder/..., as TF names them), and the attention of
_attention_wrapper.py (BahdanauAttention, LuongAttention, AttentionWrapper, AttentionWrapperState)."""
import collections

from .. import _bridge
from .._bridge import Tensor, as_tensor, call, options, own, unsupported, vs
from ..layers import Dense
from ..nn.rnn_cell import RNNCell
from . import _attention_wrapper
from ._attention_wrapper import AttentionWrapper, AttentionWrapperState, BahdanauAttention, LuongAttention

BasicDecoderOutput = collections.namedtuple("BasicDecoderOutput", ("rnn_output", "sample_id"))
BeamSearchDecoderOutput = collections.namedtuple("BeamSearchDecoderOutput", ("scores", "predicted_ids", "parent_ids"))
FinalBeamSearchDecoderOutput = collections.namedtuple("FinalBeamSearchDecoderOutput",
                                                      ("predicted_ids", "beam_search_decoder_output"))
BeamSearchDecoderState = collections.namedtuple("BeamSearchDecoderState", (
    "cell_state", "log_probs", "finished", "lengths", "accumulated_attention_probs"))


class _NotProvided:
    """A result the shim does not compute: any use raises NotImplementedError naming it."""

    def __init__(self, what):
        self._what = what

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise unsupported(self._what)

    def __iter__(self):
        raise unsupported(self._what)

    def __repr__(self):
        return f"<not computed by the varscope playground: {self._what}>"


def _embedding(embedding, who):
    if callable(embedding) and not isinstance(embedding, Tensor) and not hasattr(embedding, "_value_handle"):
        raise unsupported(f"tf.contrib.seq2seq.{who}(embedding=<callable>) (pass the embedding matrix)")
    return as_tensor(embedding)


def _check_layer(output_layer):
    if output_layer is not None and not isinstance(output_layer, Dense):
        raise TypeError(f"output_layer must be a Layer, received: {type(output_layer)}")


class TrainingHelper:
    """Feeds the ground-truth inputs [B, T, D] for sequence_length steps."""

    def __init__(self, inputs, sequence_length, time_major=False, name=None):
        if time_major:
            raise unsupported("tf.contrib.seq2seq.TrainingHelper(time_major=True)")
        self._inputs = as_tensor(inputs)
        self._length = as_tensor(sequence_length, "int32")
        self._handle = own(self, call(vs.Helper.training, self._inputs._handle, self._length._handle))


class GreedyEmbeddingHelper:
    """Feeds back the argmax token's embedding, from start_tokens until end_token."""

    def __init__(self, embedding, start_tokens, end_token):
        self._embedding = _embedding(embedding, "GreedyEmbeddingHelper")
        self._start = as_tensor(start_tokens, "int32")
        self._handle = own(self, call(vs.Helper.greedyEmbedding, self._embedding._handle, self._start._handle,
                                      int(end_token)))


class BasicDecoder:
    def __init__(self, cell, helper, initial_state, output_layer=None):
        if not isinstance(cell, RNNCell):
            raise TypeError(f"cell must be an RNNCell, received: {type(cell)}")
        if not isinstance(helper, (TrainingHelper, GreedyEmbeddingHelper)):
            raise unsupported(f"tf.contrib.seq2seq.BasicDecoder with helper {type(helper).__name__}")
        _check_layer(output_layer)
        self._refs = (cell, helper, output_layer)
        self._cell = cell
        self._helper = helper
        keep = []
        init = _bridge.state_to_js(initial_state, keep)
        self._handle = own(self, call(vs.BasicDecoder.create, cell._handle, helper._handle, init,
                                      None if output_layer is None else output_layer._handle))

    def _decode(self, opts):
        r = call(self._handle.decode, opts)
        outputs = BasicDecoderOutput(Tensor(r.rnnOutput), Tensor(r.sampleId))
        state = _attention_wrapper.with_alignment_history(
            self._cell, _bridge.state_from_js(r.finalState), r.alignmentHistory,
            f"dynamic_decode with a {type(self._helper).__name__}")
        return outputs, state, Tensor(r.lengths)


class BeamSearchDecoder:
    def __init__(self, cell, embedding, start_tokens, end_token, initial_state, beam_width, output_layer=None,
                 length_penalty_weight=0.0, coverage_penalty_weight=0.0, reorder_tensor_arrays=True):
        if not isinstance(cell, RNNCell):
            raise TypeError(f"cell must be an RNNCell, received: {type(cell)}")
        if coverage_penalty_weight:
            raise unsupported("tf.contrib.seq2seq.BeamSearchDecoder(coverage_penalty_weight=...)")
        _check_layer(output_layer)
        self._refs = (cell, output_layer)
        emb = _embedding(embedding, "BeamSearchDecoder")
        start = as_tensor(start_tokens, "int32")
        keep = []
        init = _bridge.state_to_js(initial_state, keep)
        self._handle = own(self, call(vs.BeamSearchDecoder.create, cell._handle, emb._handle, start._handle,
                                      int(end_token), init, int(beam_width),
                                      None if output_layer is None else output_layer._handle,
                                      options(lengthPenaltyWeight=float(length_penalty_weight))))

    def _decode(self, opts):
        r = call(self._handle.decode, opts)
        ids = Tensor(r.predictedIds)
        # varscope keeps the ids after gather_tree only: the per-step (un-gathered) ids TF puts in
        # beam_search_decoder_output.predicted_ids are not computed, so that field refuses use.
        step_ids = _NotProvided("beam_search_decoder_output.predicted_ids (the per-step ids before gather_tree)")
        outputs = FinalBeamSearchDecoderOutput(
            ids, BeamSearchDecoderOutput(Tensor(r.scores), step_ids, Tensor(r.parentIds)))
        # TF's BeamSearchDecoderState: the final beams' log_probs [B, K] and lengths [B, K] (int32 here);
        # varscope keeps hypotheses, not the beams' final cell states and finished flags.
        lengths = Tensor(r.lengths)  # one owner per JS handle (each Tensor deletes its handle once)
        state = BeamSearchDecoderState(
            _NotProvided("final_state.cell_state of dynamic_decode with a BeamSearchDecoder"),
            Tensor(r.finalLogProbs),
            _NotProvided("final_state.finished of dynamic_decode with a BeamSearchDecoder"),
            lengths, ())
        return outputs, state, lengths


def dynamic_decode(decoder, output_time_major=False, impute_finished=False, maximum_iterations=None,
                   parallel_iterations=32, swap_memory=False, scope=None):
    """(final_outputs, final_state, final_sequence_lengths), batch-major; variables under
    <scope or 'decoder'>/decoder/... when the scope is opened here."""
    if not isinstance(decoder, (BasicDecoder, BeamSearchDecoder)):
        raise TypeError(f"Expected decoder to be type Decoder, but saw: {decoder}")
    if output_time_major:
        raise unsupported("tf.contrib.seq2seq.dynamic_decode(output_time_major=True)")
    if scope is not None and not isinstance(scope, str):
        raise unsupported("tf.contrib.seq2seq.dynamic_decode(scope=<VariableScope>) (pass the scope's name)")
    if maximum_iterations is not None:
        maximum_iterations = int(maximum_iterations)
    return decoder._decode(options(maximumIterations=maximum_iterations, imputeFinished=bool(impute_finished),
                                   scope=scope))


def tile_batch(t, multiplier, name=None):
    """Repeats each batch entry multiplier times: [B, ...] -> [B * multiplier, ...], every leaf of a
    state structure (LSTMStateTuple, tuples of states)."""
    if isinstance(t, dict):
        raise unsupported("tf.contrib.seq2seq.tile_batch over a dict")
    if isinstance(t, (list, tuple)):
        keep = []
        return _bridge.state_from_js(call(vs.tileBatchState, _bridge.state_to_js(t, keep), int(multiplier)))
    x = as_tensor(t)
    return Tensor(call(vs.tileBatch, x._handle, int(multiplier)))


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise unsupported(f"tf.contrib.seq2seq.{name}")
