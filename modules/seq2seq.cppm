// varscope:seq2seq — decoders that share one set of weights (SPEC section 6):
// TrainingHelper / GreedyEmbeddingHelper + BasicDecoder, BeamSearchDecoder,
// SampleEmbeddingHelper, dynamic_decode, gather_tree, and decoding as
// strategies (GreedySearch / BeamSearch / SamplingSearch, decode()).
//
// Shape of the API (after CTranslate2's decoding.h): the decoder objects hold
// what TF's constructors take; every beam option lives in one struct,
// BeamSearchOptions (sane defaults); dynamic_decode(decoder, DecodeOptions)
// takes what TF's dynamic_decode takes (maximum_iterations, impute_finished,
// scope) for either decoder and runs the loop inside `variable_scope(scope,
// default "decoder")`; results are structs. BeamSearchResult adds, beyond TF,
// hypotheses per batch row sorted best-first with their ids (trimmed at the end
// token), lengths and scores. Output layers are optional references, never
// nullable pointers.
module;
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>
export module varscope:seq2seq;
import :errors;
import :tensor;
import :init;
import :store;
import :scope;
import :kernels;
import :ops;
import :layers;
import :nest;
import :rnn;

export namespace varscope {

/// Teacher forcing: step t feeds inputs[:, t]; a row is finished after step
/// t when t + 1 >= its length (finished at the start when the length is 0).
class TrainingHelper {
 public:
  /// inputs float32 [B, T, D]; sequence_length int32 [B] with values in [0, T].
  TrainingHelper(Tensor inputs, Tensor sequence_length);
  [[nodiscard]] const Tensor& inputs() const noexcept { return inputs_; }
  [[nodiscard]] const std::vector<std::int32_t>& lengths() const noexcept { return lengths_; }

 private:
  Tensor inputs_;
  std::vector<std::int32_t> lengths_;
};

/// The embedding a decoder feeds its ids through (TF's `embedding` argument), held without
/// copying where it can be: a Variable is read in place (its current value, what TF code
/// passes: `embedding = tf.get_variable("embedding", [V, D])`), a std::shared_ptr<const Tensor>
/// is shared, and a Tensor is moved in (an lvalue Tensor is copied: a [32000, 512] table is
/// 64 MB per decoder built, so pass the Variable, or std::move the tensor).
class EmbeddingParams {
 public:
  EmbeddingParams(Tensor embedding);                         // NOLINT: implicit, as TF takes any tensor
  EmbeddingParams(const Variable& embedding);                // NOLINT
  EmbeddingParams(std::shared_ptr<const Tensor> embedding);  // NOLINT
  /// A tensor the caller keeps alive for as long as the decoder or helper exists (decode() and
  /// the search strategies pass their `embedding` argument this way).
  [[nodiscard]] static EmbeddingParams borrowed(const Tensor& embedding);
  static EmbeddingParams borrowed(const Tensor&& embedding) = delete;  // a temporary would dangle
  [[nodiscard]] const Tensor& tensor() const noexcept { return *tensor_; }

 private:
  std::shared_ptr<const Tensor> tensor_;
};

/// Greedy generation: feeds embedding[previous argmax]; finished once the
/// argmax is end_token.
class GreedyEmbeddingHelper {
 public:
  /// embedding float32 [V, D]; start_tokens int32 [B] in [0, V); end_token in [0, V).
  GreedyEmbeddingHelper(EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token);
  [[nodiscard]] const Tensor& embedding() const noexcept { return embedding_.tensor(); }
  [[nodiscard]] const Tensor& start_tokens() const noexcept { return start_tokens_; }
  [[nodiscard]] std::int32_t end_token() const noexcept { return end_token_; }

 private:
  EmbeddingParams embedding_;
  Tensor start_tokens_;
  std::int32_t end_token_;
};

/// SampleEmbeddingHelper's options beyond TF's arguments: top-k sampling.
struct SamplingOptions {
  /// TF's softmax_temperature: logits are divided by it before the softmax (> 0, finite);
  /// below 1 sharpens the distribution, above 1 flattens it.
  float softmax_temperature = 1.0f;
  /// Sample among the k largest logits only (ties: the lower id); 0 = the whole vocabulary,
  /// 1 = argmax (greedy). At most the vocabulary size.
  std::int64_t top_k = 0;
  /// Op seed: with it the draws are a function of (graph seed, seed) only, natively and in
  /// WebAssembly alike; without it, the default graph's next op seed at construction.
  std::optional<std::uint64_t> seed;
};

/// tf.contrib.seq2seq.SampleEmbeddingHelper: feeds embedding[sample], the sample drawn from
/// softmax(logits / softmax_temperature) (optionally among the top_k logits only); finished
/// once the sample is end_token. The draws use varscope's seeded Rng and IEEE-only
/// arithmetic (no libm exp), so for the same logits a seed gives the same ids natively and in
/// WebAssembly (a model's logits agree between the builds to float rounding, so a draw that lands
/// within rounding of a boundary between two tokens may still differ).
/// The seed is resolved at construction; every dynamic_decode with this helper replays the
/// same stream (a deliberate difference from TF's stateful op: build a new helper, or pass
/// another seed, for other samples).
class SampleEmbeddingHelper {
 public:
  /// TF's constructor, argument for argument:
  /// `SampleEmbeddingHelper(embedding, start_tokens, end_token, softmax_temperature, seed)`.
  SampleEmbeddingHelper(EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token,
                        std::optional<float> softmax_temperature = std::nullopt,
                        std::optional<std::uint64_t> seed = std::nullopt);
  /// With every sampling option (top_k too): `SampleEmbeddingHelper(e, start, end, {.top_k = 5, .seed = 1})`.
  SampleEmbeddingHelper(EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token, SamplingOptions options);
  [[nodiscard]] const Tensor& embedding() const noexcept { return embedding_.tensor(); }
  [[nodiscard]] const Tensor& start_tokens() const noexcept { return start_tokens_; }
  [[nodiscard]] std::int32_t end_token() const noexcept { return end_token_; }
  [[nodiscard]] const SamplingOptions& options() const noexcept { return options_; }
  /// The resolved seed of the draws (see SamplingOptions::seed).
  [[nodiscard]] std::uint64_t resolved_seed() const noexcept { return resolved_seed_; }

 private:
  EmbeddingParams embedding_;
  Tensor start_tokens_;
  std::int32_t end_token_;
  SamplingOptions options_;
  std::uint64_t resolved_seed_ = 0;
};

using Helper = std::variant<TrainingHelper, GreedyEmbeddingHelper, SampleEmbeddingHelper>;

/// A decoder's output layer (TF's `output_layer=`): a Dense the decoder
/// references (pass the layer itself), or std::nullopt for none — the cell's
/// outputs are then the logits. A temporary Dense does not bind.
using OptionalLayer = std::optional<std::reference_wrapper<Dense>>;

/// tf.contrib.seq2seq.BasicDecoder: a step is the cell, then the output layer
/// (logits), then the helper's sample and next inputs. The cell and layer are
/// referenced, not owned: the same objects (or others sharing their variables)
/// can serve several decoders.
class BasicDecoder {
 public:
  /// `initial_state` has the cell's state structure (a tensor [B, H] for a GRU, an
  /// LSTMStateTuple, a tuple per layer), every leaf [B, size].
  BasicDecoder(RNNCell& cell, Helper helper, State initial_state, OptionalLayer output_layer = std::nullopt);
  [[nodiscard]] RNNCell& cell() const noexcept { return *cell_; }
  [[nodiscard]] const Helper& helper() const noexcept { return helper_; }
  [[nodiscard]] const State& initial_state() const noexcept { return initial_state_; }
  [[nodiscard]] OptionalLayer output_layer() const noexcept { return output_layer_; }
  [[nodiscard]] std::int64_t batch_size() const noexcept { return batch_; }

 private:
  RNNCell* cell_;
  Helper helper_;
  State initial_state_;
  OptionalLayer output_layer_;
  std::int64_t batch_ = 0;
};

/// How a beam's score is normalised by its length.
enum class LengthPenalty : std::uint8_t {
  gnmt,   ///< TF / GNMT: ((5 + len) / 6)^alpha
  plain,  ///< len^alpha
};

/// Every option of a beam search in one place (CTranslate2's DecodingOptions,
/// TF's BeamSearchDecoder arguments). The loop's own arguments —
/// maximum_iterations, impute_finished, scope — are dynamic_decode's
/// (DecodeOptions), shared with BasicDecoder, as in TF. The BeamSearchDecoder
/// constructor checks them: an out-of-range field is an InvalidArgumentError
/// naming the field, its value and the allowed range.
struct BeamSearchOptions {
  /// K, the beams kept per batch row (>= 1); 1 is greedy search.
  std::int64_t beam_width = 1;
  /// alpha (>= 0); 0 disables the penalty.
  float length_penalty_weight = 0.0f;
  LengthPenalty length_penalty = LengthPenalty::gnmt;
  /// end_token is not allowed before a beam has this many tokens (>= 0).
  std::int64_t min_length = 0;
  /// Hypotheses returned per batch row, in [0, beam_width]; 0 = beam_width.
  std::int64_t num_hypotheses = 0;
};

/// tf.contrib.seq2seq.BeamSearchDecoder (TF 1.6+ semantics) plus options TF lacks.
/// initial_state must be tiled: every leaf [batch * beam_width, size] (see tile_batch), and so
/// must an attention cell's memory (ShapeMismatchError naming setup_memory(tile_batch(...))).
/// Each step every state leaf is reordered by the beams' parents (TF's gather).
class BeamSearchDecoder {
 public:
  /// TF's constructor, argument for argument:
  /// `BeamSearchDecoder(cell, embedding, start_tokens, end_token, initial_state,
  ///                    beam_width, output_layer, length_penalty_weight)`.
  BeamSearchDecoder(RNNCell& cell, EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token,
                    State initial_state, std::int64_t beam_width, OptionalLayer output_layer = std::nullopt,
                    float length_penalty_weight = 0.0f);
  /// Every beam option in one struct:
  /// `BeamSearchDecoder(cell, embedding, start, end, tiled, {.beam_width = 4, .num_hypotheses = 2}, layer)`.
  BeamSearchDecoder(RNNCell& cell, EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token,
                    State initial_state, BeamSearchOptions options, OptionalLayer output_layer = std::nullopt);

  [[nodiscard]] RNNCell& cell() const noexcept { return *cell_; }
  [[nodiscard]] const Tensor& embedding() const noexcept { return embedding_.tensor(); }
  [[nodiscard]] const Tensor& start_tokens() const noexcept { return start_tokens_; }
  [[nodiscard]] std::int32_t end_token() const noexcept { return end_token_; }
  [[nodiscard]] const State& initial_state() const noexcept { return initial_state_; }
  [[nodiscard]] std::int64_t beam_width() const noexcept { return options_.beam_width; }
  [[nodiscard]] std::int64_t batch_size() const noexcept { return start_tokens_.shape()[0]; }
  [[nodiscard]] OptionalLayer output_layer() const noexcept { return output_layer_; }
  [[nodiscard]] const BeamSearchOptions& options() const noexcept { return options_; }

 private:
  RNNCell* cell_;
  EmbeddingParams embedding_;
  Tensor start_tokens_;
  std::int32_t end_token_;
  State initial_state_;
  OptionalLayer output_layer_;
  BeamSearchOptions options_;
};

/// Keyword arguments of dynamic_decode (TF's), for BasicDecoder and
/// BeamSearchDecoder alike; what a beam search does per step is the decoder's
/// BeamSearchOptions.
struct DecodeOptions {
  /// Stop after this many steps (required for helpers/decoders that may never finish).
  std::optional<std::int64_t> maximum_iterations;
  /// Zero the outputs and copy the state through for rows already finished.
  bool impute_finished = false;
  /// Variable scope of the decoding loop (default "decoder").
  std::string scope = "decoder";
};

/// dynamic_decode(BasicDecoder) result.
struct BasicDecodeResult {
  Tensor rnn_output;   ///< [B, T, V] logits (or cell outputs without an output layer)
  Tensor sample_id;    ///< [B, T] int32
  State final_state;   ///< the cell's state structure, [B, size] leaves
  Tensor lengths;      ///< [B] int32; counts the step that finished the row
  /// With an AttentionWrapper(alignment_history = true) and the GreedyEmbeddingHelper: every
  /// step's alignments, time major [T, B, T_mem] (TF's alignment_history.stack()). Empty
  /// otherwise; the TrainingHelper's loop does not record them.
  Tensor alignment_history;
};

/// One finished hypothesis of a batch row.
struct Hypothesis {
  std::vector<std::int32_t> ids;  ///< tokens, ending before the first end token
  std::int64_t length = 0;        ///< decoded steps, counting the end-token step
  float score = 0.0f;             ///< log_prob / length penalty (what beams are ranked by)
  float log_prob = 0.0f;          ///< sum of token log-probabilities
  /// With an attention cell (AttentionWrapper): the alignments over the memory that produced
  /// each token, [length, T_mem] (the end-token step included), backtracked through the
  /// beam's parents (TF 1.8+'s reorder of alignment_history; CTranslate2's return_attention).
  /// Empty for a cell without attention.
  Tensor alignments;
};

/// dynamic_decode(BeamSearchDecoder) result.
struct BeamSearchResult {
  Tensor predicted_ids;  ///< [B, T, K] int32 after gather_tree; beam 0 best; end_token after the first end
  Tensor scores;         ///< [B, T, K] step scores (TF's beam_search_decoder_output.scores)
  Tensor parent_ids;     ///< [B, T, K] int32
  Tensor final_log_probs;  ///< [B, K]
  Tensor lengths;          ///< [B, K] int32 (counting the end step)
  /// Per batch row, best first, BeamSearchOptions::num_hypotheses of them (0: beam_width).
  std::vector<std::vector<Hypothesis>> hypotheses;
};

BasicDecodeResult dynamic_decode(BasicDecoder& decoder, DecodeOptions options = {});
BeamSearchResult dynamic_decode(BeamSearchDecoder& decoder, DecodeOptions options = {});

// ---------------------------------------------------------------- decoding as strategies
//
// CTranslate2's shape (decoding.h): one options struct with defaults, a search strategy per
// way of decoding — greedy, beam, sampling — all over the same decoder step (embedding ->
// cell -> output layer), one result type with hypotheses best first and their scores.
// `decode(cell, embedding, start_tokens, end_token, state, options, layer)` picks the
// strategy from the options; the strategies run TF's decoders (BasicDecoder with a
// Greedy / SampleEmbeddingHelper, BeamSearchDecoder), so their results are those decoders'.

/// Every decoding option in one place, with CTranslate2's defaults (greedy search).
struct DecodingOptions {
  /// Beams kept per batch row (>= 1); 1 is greedy (or sampling, see sampling_topk).
  std::int64_t beam_width = 1;
  /// Length penalty weight alpha (>= 0); 0 disables it. Greedy and sampled hypotheses are
  /// scored with it too.
  float length_penalty_weight = 0.0f;
  LengthPenalty length_penalty = LengthPenalty::gnmt;
  /// end_token is not allowed before this many tokens (>= 0): beam search only (beam_width 1 allowed).
  std::int64_t min_length = 0;
  /// Hypotheses returned per batch row, in [0, beam_width]; 0 = beam_width (greedy and
  /// sampling return one).
  std::int64_t num_hypotheses = 0;
  /// CTranslate2's sampling_topk: 1 = argmax (greedy / beam search); 0 = sample from the whole
  /// vocabulary; k > 1 = sample among the k best tokens. Sampling needs beam_width 1.
  std::int64_t sampling_topk = 1;
  /// Sampling: logits are divided by this before the softmax (> 0, finite).
  float sampling_temperature = 1.0f;
  /// Sampling: the op seed (SamplingOptions::seed); nullopt = the default graph's next op seed.
  std::optional<std::uint64_t> seed;
  /// dynamic_decode's: stop after this many steps (>= 0).
  std::optional<std::int64_t> maximum_iterations;
  /// dynamic_decode's: the decoding loop's variable scope.
  std::string scope = "decoder";
};

/// How a front end names DecodingOptions' fields in its messages: the CLI says "--beam",
/// the browser page "beam", the decoders their own argument names (the defaults).
struct DecodingOptionNames {
  std::string_view who = {};  ///< message prefix ("BeamSearchDecoder"); empty: none
  std::string_view beam_width = "beam_width";
  std::string_view length_penalty_weight = "length_penalty_weight";
  std::string_view length_penalty = "length_penalty";
  std::string_view min_length = "min_length";
  std::string_view num_hypotheses = "num_hypotheses";
  std::string_view sampling_topk = "sampling_topk";
  std::string_view sampling_temperature = "sampling_temperature";
  std::string_view maximum_iterations = "maximum_iterations";
};

/// Bounds a front end adds to the library's own (a page caps the beam to stay responsive).
struct DecodingLimits {
  std::int64_t max_beam_width = std::numeric_limits<std::int64_t>::max();
  float max_length_penalty_weight = std::numeric_limits<float>::infinity();
  /// Smallest num_hypotheses accepted: 0 (= all beams) for the library, 1 for a front end
  /// whose "n best" has no "all".
  std::int64_t min_num_hypotheses = 0;
};

/// The one check of decoding arguments (the decoders' constructors, the CLI and the browser
/// bindings all call it): throws InvalidArgumentError naming the field as `names` spell it,
/// its value and the allowed range, e.g. "--n-best 3 must be in [1, --beam = 2]". Checks:
/// beam_width >= 1; num_hypotheses in [min_num_hypotheses, beam_width]; min_length >= 0;
/// length_penalty_weight >= 0 (not NaN); length_penalty a LengthPenalty; sampling_topk >= 0;
/// sampling_temperature > 0 and finite; sampling (sampling_topk != 1) with beam_width 1 and
/// min_length 0; maximum_iterations >= 0.
void check_decoding_options(const DecodingOptions& options, const DecodingOptionNames& names = {},
                            const DecodingLimits& limits = {});

/// What every strategy returns.
struct DecodingResult {
  /// Per batch row, best first: num_hypotheses of them for beam search (0: beam_width),
  /// one for greedy search and sampling. score = log_prob / length penalty; log_prob is under
  /// the model's softmax (temperature 1) for every strategy.
  std::vector<std::vector<Hypothesis>> hypotheses;
};

/// A way of searching over the decoder step (CTranslate2's SearchStrategy). The cell, output
/// layer and embedding are the decoders'; `initial_state` is untiled, every leaf [B, size]
/// (BeamSearch tiles it; an attention cell's memory must already fit, see the decoders).
class SearchStrategy {
 public:
  explicit SearchStrategy(DecodingOptions options) : options_(std::move(options)) {}
  virtual ~SearchStrategy() = default;
  SearchStrategy(const SearchStrategy&) = default;
  SearchStrategy& operator=(const SearchStrategy&) = default;
  /// "greedy", "beam" or "sampling".
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  [[nodiscard]] virtual DecodingResult search(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                              std::int32_t end_token, const State& initial_state,
                                              OptionalLayer output_layer) const = 0;
  [[nodiscard]] const DecodingOptions& options() const noexcept { return options_; }

 private:
  DecodingOptions options_;
};

/// Argmax at every step: BasicDecoder + GreedyEmbeddingHelper (min_length must be 0).
class GreedySearch final : public SearchStrategy {
 public:
  explicit GreedySearch(DecodingOptions options = {});
  [[nodiscard]] std::string_view name() const noexcept override { return "greedy"; }
  [[nodiscard]] DecodingResult search(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                      std::int32_t end_token, const State& initial_state,
                                      OptionalLayer output_layer) const override;
};

/// TF's beam search: BeamSearchDecoder on the state tiled beam_width times.
class BeamSearch final : public SearchStrategy {
 public:
  explicit BeamSearch(DecodingOptions options = {});
  [[nodiscard]] std::string_view name() const noexcept override { return "beam"; }
  [[nodiscard]] DecodingResult search(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                      std::int32_t end_token, const State& initial_state,
                                      OptionalLayer output_layer) const override;
};

/// Random sampling (top-k, temperature, seed): BasicDecoder + SampleEmbeddingHelper.
class SamplingSearch final : public SearchStrategy {
 public:
  explicit SamplingSearch(DecodingOptions options = {});
  [[nodiscard]] std::string_view name() const noexcept override { return "sampling"; }
  [[nodiscard]] DecodingResult search(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                      std::int32_t end_token, const State& initial_state,
                                      OptionalLayer output_layer) const override;
};

/// The strategy the options ask for (checked first): sampling_topk != 1 -> SamplingSearch;
/// else beam_width > 1 or min_length > 0 -> BeamSearch; else GreedySearch.
[[nodiscard]] std::unique_ptr<SearchStrategy> make_search_strategy(const DecodingOptions& options);

/// CTranslate2's decode(): make_search_strategy(options)->search(...).
/// `decode(cell, embedding, start_tokens, end_token, state, {.sampling_topk = 0, .seed = 7}, layer)`.
[[nodiscard]] DecodingResult decode(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                    std::int32_t end_token, const State& initial_state,
                                    const DecodingOptions& options = {}, OptionalLayer output_layer = std::nullopt);

/// tf.contrib.seq2seq.gather_tree over [B, T, K] step_ids / parent_ids (batch
/// major): backtracks parents from step max_sequence_lengths[b] - 1; positions
/// from there on, and after the first end token, are end_token. A parent
/// outside [0, K) is an InvalidArgumentError naming it.
[[nodiscard]] Tensor gather_tree(const Tensor& step_ids, const Tensor& parent_ids,
                                 const Tensor& max_sequence_lengths, std::int32_t end_token);

/// The length penalty lp(len) that a beam's log-probability is divided by.
[[nodiscard]] float length_penalty(LengthPenalty kind, float alpha, std::int64_t length);

}  // namespace varscope
