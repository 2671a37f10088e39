// Implementation of varscope:seq2seq — the decoding loops. Buffers are sized
// before the first step and reused; nothing is allocated per step (per-step
// outputs go into vectors reserved for maximum_iterations steps).
module;
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>
module varscope;
#include "validate.hpp"
#include "state_checks.hpp"

namespace varscope {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// TF's step log-prob of a finished beam's tokens other than end_token
// (beam_search_decoder.py _mask_probs: `off_value=probs.dtype.min`).
constexpr float kMaskedLogProb = std::numeric_limits<float>::lowest();

std::vector<std::int32_t> int_vector(const Tensor& t) {
  const auto d = t.data<std::int32_t>();
  return {d.begin(), d.end()};
}

void require_tokens(const char* who, const Tensor& tokens, std::int64_t vocab, const char* what) {
  validate::require_tensor(who, what, tokens, DType::int32, {"batch"});
  const auto d = tokens.data<std::int32_t>();
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d[i] < 0 || d[i] >= vocab)
      throw InvalidArgumentError(std::string(who) + ": " + what + "[" + std::to_string(i) + "] = " +
                                 std::to_string(d[i]) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

void require_end_token(const char* who, std::int32_t end_token, std::int64_t vocab) {
  if (end_token < 0 || end_token >= vocab)
    throw InvalidArgumentError(std::string(who) + ": end_token " + std::to_string(end_token) +
                               " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

void require_embedding(const char* who, const Tensor& embedding) {
  validate::require_tensor(who, "embedding", embedding, DType::float32, {"vocab", "depth"});
  if (embedding.shape()[0] < 1)
    throw ShapeMismatchError(std::string(who) + ": embedding must be float32 [vocab, depth] with vocab >= 1, got " +
                             validate::describe(embedding));
}

// Copies embedding rows for `ids` into a [n, D] buffer.
void embed_into(const Tensor& embedding, const std::int32_t* ids, std::int64_t n, float* out) {
  const std::int64_t d = embedding.shape()[1];
  const float* table = embedding.data<float>().data();
  for (std::int64_t i = 0; i < n; ++i) std::memcpy(out + i * d, table + ids[i] * d, sizeof(float) * d);
}

// Log-softmax of each row in place (stable).
// Per row of logits: the max m and l = log(sum(exp(x - m))), so that
// log_softmax(x)[v] == (x[v] - m) - l is computed where it is read, without
// writing a normalised copy of a [rows, vocab] block every step.
// Rows are independent, so they are spread over the threads (same bits for any count).
void log_softmax_offsets(const float* data, std::int64_t rows, std::int64_t cols, float* row_max, float* row_lse) {
  parallel_for(rows, 20.0 * double(rows) * double(cols), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const Eigen::Map<const Eigen::ArrayXf> x(data + r * cols, cols);
      const float m = x.maxCoeff();
      row_max[r] = m;
      row_lse[r] = std::log((x - m).exp().sum());
    }
  });
}

// The first n rows of a [rows, cols] buffer.
MatrixView first_rows(Tensor& t, std::int64_t n) {
  const MatrixView all = as_matrix(t);
  return {all.data, n, all.cols, all.row_stride};
}

// One decoder step for n rows fed token `ids`: embedding -> cell -> output layer.
// Writes the new packed state into `next` [n, S], the cell output into `output`
// [n, O] and the logits into `logits` [n, V]; without a layer the cell writes its
// output straight into `logits` (O == V). All buffers are caller-owned and reused.
// `rows`: which beam each row is (an attention cell reads that beam's memory row); empty: row i.
void decode_step(const RNNCell& cell, OptionalLayer layer, const Tensor& embedding, const std::int32_t* ids,
                 std::int64_t n, Tensor& inputs, Tensor& projection, Tensor& state, Tensor& next, Tensor& output,
                 Tensor& logits, Workspace& workspace, std::span<const std::int64_t> rows = {}) {
  embed_into(embedding, ids, n, inputs.data<float>().data());
  cell.project_inputs(first_rows(inputs, n), first_rows(projection, n));
  cell.step({.projection = first_rows(projection, n),
             .state = first_rows(state, n),
             .state_out = first_rows(next, n),
             .output = layer ? first_rows(output, n) : first_rows(logits, n),
             .rows = rows},
            workspace);
  if (layer) layer->get().apply_into(first_rows(output, n), first_rows(logits, n));
}

// Shared setup of both decoders: enter the scope, build the cell and the layer.
std::int64_t build_for_decoding(RNNCell& cell, OptionalLayer layer, std::int64_t input_dim) {
  cell.build(input_dim);
  if (!layer) return cell.output_size();
  layer->get().build(cell.output_size());
  return layer->get().units();
}

}  // namespace

float length_penalty(LengthPenalty kind, float alpha, std::int64_t length) {
  if (alpha == 0.0f) return 1.0f;
  const double len = static_cast<double>(length);
  return static_cast<float>(kind == LengthPenalty::gnmt ? std::pow((5.0 + len) / 6.0, alpha) : std::pow(len, alpha));
}

// ---------------------------------------------------------------- decoding arguments, checked once

namespace {
std::string prefixed(const DecodingOptionNames& names, const std::string& message) {
  return names.who.empty() ? message : std::string(names.who) + ": " + message;
}
std::string str(std::string_view v) { return std::string(v); }
}  // namespace

void check_decoding_options(const DecodingOptions& o, const DecodingOptionNames& n, const DecodingLimits& limits) {
  auto fail = [&](const std::string& message) { throw InvalidArgumentError(prefixed(n, message)); };
  const bool capped = limits.max_beam_width != std::numeric_limits<std::int64_t>::max();
  if (o.beam_width < 1 || o.beam_width > limits.max_beam_width)
    fail(str(n.beam_width) + " " + std::to_string(o.beam_width) +
         (capped ? " must be in [1, " + std::to_string(limits.max_beam_width) + "]" : " must be >= 1"));
  if (o.num_hypotheses < limits.min_num_hypotheses || o.num_hypotheses > o.beam_width)
    fail(str(n.num_hypotheses) + " " + std::to_string(o.num_hypotheses) + " must be in [" +
         std::to_string(limits.min_num_hypotheses) + ", " + str(n.beam_width) + " = " + std::to_string(o.beam_width) +
         "]");
  if (o.min_length < 0) fail(str(n.min_length) + " " + std::to_string(o.min_length) + " must be >= 0");
  if (!(o.length_penalty_weight >= 0.0f && o.length_penalty_weight <= limits.max_length_penalty_weight))
    fail(str(n.length_penalty_weight) + " " + std::to_string(o.length_penalty_weight) +
         (std::isinf(limits.max_length_penalty_weight)
              ? std::string(" must be >= 0")
              : " must be in [0, " + std::to_string(limits.max_length_penalty_weight) + "]"));
  if (o.length_penalty != LengthPenalty::gnmt && o.length_penalty != LengthPenalty::plain)
    fail(str(n.length_penalty) + " " + std::to_string(static_cast<int>(o.length_penalty)) +
         " is not a LengthPenalty (use LengthPenalty::gnmt or LengthPenalty::plain)");
  if (o.sampling_topk < 0)
    fail(str(n.sampling_topk) + " " + std::to_string(o.sampling_topk) +
         " must be >= 0 (0 = the whole vocabulary, 1 = argmax)");
  if (!(o.sampling_temperature > 0.0f) || std::isinf(o.sampling_temperature))
    fail(str(n.sampling_temperature) + " " + std::to_string(o.sampling_temperature) +
         " must be > 0 and finite (1 = the model's softmax)");
  if (o.sampling_topk != 1 && o.beam_width != 1)
    fail("sampling (" + str(n.sampling_topk) + " " + std::to_string(o.sampling_topk) + ") needs " +
         str(n.beam_width) + " 1, got " + std::to_string(o.beam_width) + ": sample or search, not both");
  if (o.sampling_topk != 1 && o.min_length != 0)
    fail("sampling (" + str(n.sampling_topk) + " " + std::to_string(o.sampling_topk) + ") does not take " +
         str(n.min_length) + " (got " + std::to_string(o.min_length) + "); use beam search for a minimum length");
  if (o.maximum_iterations && *o.maximum_iterations < 0)
    fail(str(n.maximum_iterations) + " " + std::to_string(*o.maximum_iterations) + " must be >= 0");
}

namespace {

// exp(x) with IEEE +, -, *, / and ldexp only (no libm exp, no FMA contraction), so the
// sampler's weights are bit-identical natively and in WebAssembly. x <= 0 here (logit - max);
// relative error ~1e-16.
double deterministic_exp(double x) noexcept {
#pragma clang fp contract(off)
  if (std::isnan(x)) return x;
  if (x < -745.2) return 0.0;
  constexpr double kInvLn2 = 1.44269504088896340736, kLn2Hi = 6.93147180369123816490e-01,
                   kLn2Lo = 1.90821492927058770002e-10;
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;  // |r| <= ln2 / 2 (+ rounding)
  double term = 1.0, sum = 1.0;
  for (int i = 1; i <= 17; ++i) {  // r^18 / 18! < 1e-22 for |r| <= 0.35
    term = term * r / i;
    sum = sum + term;
  }
  return std::ldexp(sum, static_cast<int>(k));
}

// Draws token ids from softmax(logits / temperature), among the top_k logits (0: all),
// with varscope's counter-based Rng: a seed gives the same ids on every platform.
class CategoricalSampler {
 public:
  CategoricalSampler(const SamplingOptions& options, std::uint64_t seed, std::int64_t vocab)
      : rng_(seed), temperature_(options.softmax_temperature), top_k_(options.top_k), vocab_(vocab) {
    order_.resize(static_cast<std::size_t>(vocab));
    weights_.resize(static_cast<std::size_t>(vocab));
  }

  std::int32_t sample(const float* logits) {
#pragma clang fp contract(off)
    const std::int64_t V = vocab_;
    const std::int64_t k = top_k_ == 0 || top_k_ >= V ? V : top_k_;
    for (std::int64_t v = 0; v < V; ++v) order_[v] = static_cast<std::int32_t>(v);
    if (k < V) {
      // The k largest logits (ties: the lower id; a strict total order, so the set does not
      // depend on the sort's algorithm), then back in id order.
      std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), [&](std::int32_t a, std::int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
      });
      std::sort(order_.begin(), order_.begin() + k);
    }
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < k; ++i) m = std::max(m, static_cast<double>(logits[order_[i]]));
    const double t = temperature_;
    double total = 0.0;
    for (std::int64_t i = 0; i < k; ++i) {
      weights_[i] = deterministic_exp((static_cast<double>(logits[order_[i]]) - m) / t);
      total = total + weights_[i];
    }
    // A 53-bit uniform in [0, 1), scaled to the total weight: the first id whose running sum
    // passes it.
    const double u = static_cast<double>(rng_.next_u64() >> 11) * 0x1p-53;
    const double target = u * total;
    double running = 0.0;
    std::int64_t last = -1;
    for (std::int64_t i = 0; i < k; ++i) {
      if (weights_[i] <= 0.0) continue;
      running = running + weights_[i];
      last = i;
      if (target < running) return order_[i];
    }
    return order_[last >= 0 ? last : 0];  // rounding at the top end (or all weights 0: NaN logits)
  }

 private:
  Rng rng_;
  double temperature_;
  std::int64_t top_k_, vocab_;
  std::vector<std::int32_t> order_;
  std::vector<double> weights_;
};

}  // namespace

// ---------------------------------------------------------------- helpers and decoders

TrainingHelper::TrainingHelper(Tensor inputs, Tensor sequence_length) : inputs_(std::move(inputs)) {
  validate::require_tensor("TrainingHelper", "inputs", inputs_, DType::float32, {"batch", "time", "depth"});
  const std::int64_t B = inputs_.shape()[0], T = inputs_.shape()[1];
  validate::require_tensor("TrainingHelper", "sequence_length", sequence_length, DType::int32, {B},
                           "one length per batch row");
  lengths_ = int_vector(sequence_length);
  for (std::size_t b = 0; b < lengths_.size(); ++b)
    if (lengths_[b] < 0 || lengths_[b] > T)
      throw InvalidArgumentError("TrainingHelper: sequence_length[" + std::to_string(b) + "] = " +
                                 std::to_string(lengths_[b]) + " is outside [0, " + std::to_string(T) + "]");
}

EmbeddingParams::EmbeddingParams(Tensor embedding) : tensor_(std::make_shared<const Tensor>(std::move(embedding))) {}

EmbeddingParams::EmbeddingParams(const Variable& embedding) {
  // The variable's value lives in its node, which a copy of the handle keeps alive; assign()
  // replaces the value in place, so the pointer always reads the current one.
  auto handle = std::make_shared<const Variable>(embedding);
  tensor_ = std::shared_ptr<const Tensor>(handle, &handle->value());
}

EmbeddingParams::EmbeddingParams(std::shared_ptr<const Tensor> embedding) : tensor_(std::move(embedding)) {
  if (!tensor_) throw InvalidArgumentError("EmbeddingParams: the shared embedding is null; pass a tensor");
}

EmbeddingParams EmbeddingParams::borrowed(const Tensor& embedding) {
  return EmbeddingParams(std::shared_ptr<const Tensor>(std::shared_ptr<const Tensor>(), &embedding));
}

GreedyEmbeddingHelper::GreedyEmbeddingHelper(EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token)
    : embedding_(std::move(embedding)), start_tokens_(std::move(start_tokens)), end_token_(end_token) {
  require_embedding("GreedyEmbeddingHelper", embedding_.tensor());
  require_tokens("GreedyEmbeddingHelper", start_tokens_, embedding_.tensor().shape()[0], "start_tokens");
  require_end_token("GreedyEmbeddingHelper", end_token_, embedding_.tensor().shape()[0]);
}

SampleEmbeddingHelper::SampleEmbeddingHelper(EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token,
                                             std::optional<float> softmax_temperature,
                                             std::optional<std::uint64_t> seed)
    : SampleEmbeddingHelper(std::move(embedding), std::move(start_tokens), end_token,
                            SamplingOptions{.softmax_temperature = softmax_temperature.value_or(1.0f), .seed = seed}) {}

SampleEmbeddingHelper::SampleEmbeddingHelper(EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token,
                                             SamplingOptions options)
    : embedding_(std::move(embedding)), start_tokens_(std::move(start_tokens)), end_token_(end_token),
      options_(options) {
  const char* who = "SampleEmbeddingHelper";
  require_embedding(who, embedding_.tensor());
  require_tokens(who, start_tokens_, embedding_.tensor().shape()[0], "start_tokens");
  require_end_token(who, end_token_, embedding_.tensor().shape()[0]);
  check_decoding_options({.sampling_topk = options_.top_k, .sampling_temperature = options_.softmax_temperature},
                         {.who = who, .sampling_topk = "top_k", .sampling_temperature = "softmax_temperature"});
  if (options_.top_k > embedding_.tensor().shape()[0])
    throw InvalidArgumentError(std::string(who) + ": top_k " + std::to_string(options_.top_k) +
                               " is larger than the vocabulary (" + std::to_string(embedding_.tensor().shape()[0]) +
                               " embedding rows); use 0 for the whole vocabulary");
  Graph& graph = get_default_graph();
  resolved_seed_ = options_.seed ? explicit_seed(graph.seed(), *options_.seed) : graph.next_op_seed();
}

BasicDecoder::BasicDecoder(RNNCell& cell, Helper helper, State initial_state, OptionalLayer output_layer)
    : cell_(&cell), helper_(std::move(helper)), initial_state_(std::move(initial_state)), output_layer_(output_layer) {
  batch_ = std::visit(
      [](const auto& h) -> std::int64_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(h)>, TrainingHelper>)
          return h.inputs().shape()[0];
        else
          return h.start_tokens().shape()[0];
      },
      helper_);
  detail::require_state("BasicDecoder", "initial_state", initial_state_, cell.state_size(), batch_,
                        "batch of the helper, state size of the cell");
  if (const auto memory_batch = cell.constant_batch(); memory_batch && *memory_batch != batch_)
    throw ShapeMismatchError("BasicDecoder: the cell's attention memory (" + cell.describe_constants() + ") has batch " +
                             std::to_string(*memory_batch) + " but the helper has " + std::to_string(batch_) +
                             " rows; bind the mechanism to this batch's memory (setup_memory(memory, lengths)), "
                             "untiled (tile_batch is for the BeamSearchDecoder)");
}

BeamSearchDecoder::BeamSearchDecoder(RNNCell& cell, EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token,
                                     State initial_state, std::int64_t beam_width, OptionalLayer output_layer,
                                     float length_penalty_weight)
    : BeamSearchDecoder(cell, std::move(embedding), std::move(start_tokens), end_token, std::move(initial_state),
                        BeamSearchOptions{.beam_width = beam_width, .length_penalty_weight = length_penalty_weight},
                        output_layer) {}

BeamSearchDecoder::BeamSearchDecoder(RNNCell& cell, EmbeddingParams embedding, Tensor start_tokens, std::int32_t end_token,
                                     State initial_state, BeamSearchOptions options, OptionalLayer output_layer)
    : cell_(&cell),
      embedding_(std::move(embedding)),
      start_tokens_(std::move(start_tokens)),
      end_token_(end_token),
      initial_state_(std::move(initial_state)),
      output_layer_(output_layer),
      options_(options) {
  const std::int64_t beam_width = options_.beam_width;
  require_embedding("BeamSearchDecoder", embedding_.tensor());
  check_decoding_options({.beam_width = options_.beam_width,
                          .length_penalty_weight = options_.length_penalty_weight,
                          .length_penalty = options_.length_penalty,
                          .min_length = options_.min_length,
                          .num_hypotheses = options_.num_hypotheses},
                         {.who = "BeamSearchDecoder"});
  require_tokens("BeamSearchDecoder", start_tokens_, embedding_.tensor().shape()[0], "start_tokens");
  require_end_token("BeamSearchDecoder", end_token_, embedding_.tensor().shape()[0]);
  const std::int64_t batch = start_tokens_.shape()[0];
  detail::require_state("BeamSearchDecoder", "initial_state", initial_state_, cell.state_size(), "batch * beam_width",
                        "state size of the cell");
  // Every leaf must be tiled (TF gathers each by the beams' parents).
  const auto leaves = nest::flatten(initial_state_);
  if (const std::int64_t rows = leaves[0]->shape()[0]; rows != batch * beam_width) {
    std::string fix = "tile it with tile_batch(state, " + std::to_string(beam_width) + ")";
    throw ShapeMismatchError("BeamSearchDecoder: initial_state has " + std::to_string(rows) +
                             " rows but batch " + std::to_string(batch) + " x beam_width " +
                             std::to_string(beam_width) + " = " + std::to_string(batch * beam_width) +
                             " are needed: " + fix);
  }
  if (const auto memory_batch = cell.constant_batch(); memory_batch && *memory_batch != batch * beam_width)
    throw ShapeMismatchError(
        "BeamSearchDecoder: the cell's attention memory (" + cell.describe_constants() + ") has batch " +
        std::to_string(*memory_batch) + " but the decoder has " + std::to_string(batch) + " * " +
        std::to_string(beam_width) + " = " + std::to_string(batch * beam_width) +
        " rows. You may need to tile your memory input via the tf.contrib.seq2seq.tile_batch function with argument "
        "multiple=beam_width: mechanism.setup_memory(tile_batch(memory, " + std::to_string(beam_width) +
        "), tile_batch(memory_sequence_length, " + std::to_string(beam_width) + "))");
}

// ---------------------------------------------------------------- dynamic_decode(BasicDecoder)

namespace {
// Checks the options and enters TF's `variable_scope(scope, default_name="decoder")`.
VariableScopeGuard enter_decode_scope(const DecodeOptions& options) {
  if (options.maximum_iterations && *options.maximum_iterations < 0)
    throw InvalidArgumentError("dynamic_decode: maximum_iterations " + std::to_string(*options.maximum_iterations) +
                               " must be >= 0");
  return options.scope.empty() ? variable_scope(std::nullopt, {.default_name = "decoder"})
                               : variable_scope(options.scope);
}
}  // namespace

BasicDecodeResult dynamic_decode(BasicDecoder& decoder, DecodeOptions options) {
  auto scope = enter_decode_scope(options);
  const Graph::ReadingGuard reading(get_default_graph());  // writes elsewhere wait for it (hot reload)
  RNNCell& cell = decoder.cell();
  const StateSize size = cell.state_size();
  const std::int64_t B = decoder.batch_size(), S = flat_size(size);
  const std::int64_t max_iter = options.maximum_iterations.value_or(std::numeric_limits<std::int64_t>::max());

  std::vector<std::uint8_t> finished(static_cast<std::size_t>(B));
  std::vector<std::int32_t> lengths(static_cast<std::size_t>(B), 0);

  if (const auto* training = std::get_if<TrainingHelper>(&decoder.helper())) {
    // Teacher forcing: every step's input is known, so the input half of the cell
    // runs for all steps at once (the recurrence loop dynamic_rnn runs) and the
    // output layer once over all outputs.
    const Tensor& inputs = training->inputs();
    const std::int64_t V = build_for_decoding(cell, decoder.output_layer(), inputs.shape()[2]);
    const auto& len = training->lengths();
    // The loop length: until every row is finished (or maximum_iterations). A row is
    // finished from step len[b] on; with impute_finished it then emits zeros and keeps
    // its state (active = min(len, steps)); without it every row steps to the end and
    // emits, like TF's loop (active = steps).
    std::int64_t steps = 0;
    for (std::int64_t b = 0; b < B; ++b) steps = std::max<std::int64_t>(steps, len[b]);
    steps = std::min(steps, max_iter);
    std::vector<std::int64_t> active(static_cast<std::size_t>(B), steps);
    for (std::int64_t b = 0; b < B; ++b) {
      lengths[b] = static_cast<std::int32_t>(std::min<std::int64_t>(len[b], steps));
      if (options.impute_finished) active[b] = lengths[b];
    }
    Tensor cell_outputs(DType::float32, Shape{B, steps, cell.output_size()});
    State final_state = detail::run_recorded_recurrence(cell, inputs, &decoder.initial_state(),
                                                        "BasicDecoder: initial_state", active, steps, cell_outputs);
    Tensor logits = decoder.output_layer() ? decoder.output_layer()->get()(cell_outputs) : cell_outputs;
    Tensor sample_id = steps > 0 ? argmax(logits, -1) : Tensor(DType::int32, Shape{B, 0});
    // Rows past a finished row's length (impute_finished) emitted zeros: logits and ids 0.
    std::vector<std::uint8_t> emitted_zero(static_cast<std::size_t>(B * steps), 0);
    bool any_zeroed = false;
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t t = active[b]; t < steps; ++t) {
        emitted_zero[b * steps + t] = 1;
        std::fill_n(logits.data<float>().data() + (b * steps + t) * V, V, 0.0f);
        sample_id.data<std::int32_t>()[b * steps + t] = 0;
        any_zeroed = true;
      }
    if (any_zeroed)
      // The imputed rows are constants: their gradient stops here.
      record_in_place(logits, [&] {
        return [emitted_zero, V](BackwardContext& ctx) {
          Tensor g = ctx.take_output_grad(0);
          for (std::size_t i = 0; i < emitted_zero.size(); ++i)
            if (emitted_zero[i]) std::fill_n(g.data<float>().data() + static_cast<std::int64_t>(i) * V, V, 0.0f);
          ctx.accumulate_input(0, std::move(g));
        };
      });
    return {std::move(logits), std::move(sample_id), std::move(final_state),
            Tensor(Shape{B}, TensorStorage<std::int32_t>(lengths.begin(), lengths.end()))};
  }

  // Greedy / sampling: each step feeds the embedding of the previous step's pick — the argmax
  // (GreedyEmbeddingHelper) or a draw from the softmax (SampleEmbeddingHelper).
  const auto* greedy = std::get_if<GreedyEmbeddingHelper>(&decoder.helper());
  const auto* sampling = std::get_if<SampleEmbeddingHelper>(&decoder.helper());
  const Tensor& embedding = greedy ? greedy->embedding() : sampling->embedding();
  const Tensor& start_tokens = greedy ? greedy->start_tokens() : sampling->start_tokens();
  const std::int32_t end_token = greedy ? greedy->end_token() : sampling->end_token();
  const std::int64_t D = embedding.shape()[1];
  const std::int64_t V = build_for_decoding(cell, decoder.output_layer(), D);
  if (V > embedding.shape()[0])
    throw ShapeMismatchError("dynamic_decode: the decoder emits " + std::to_string(V) +
                             " logits per step but the embedding has only " + std::to_string(embedding.shape()[0]) +
                             " rows to feed them back");
  const std::int64_t P = cell.projection_size(), O = cell.output_size();
  Tensor inputs(DType::float32, Shape{B, D});
  Tensor projection(DType::float32, Shape{B, P});
  Tensor state(DType::float32, Shape{B, S}), next(DType::float32, Shape{B, S});
  pack_state(decoder.initial_state(), size, as_matrix(state), "BasicDecoder: initial_state");
  Tensor output(DType::float32, Shape{B, decoder.output_layer() ? O : 0});
  Tensor logits_t(DType::float32, Shape{B, V});
  Workspace workspace;
  std::vector<std::int32_t> ids = int_vector(start_tokens);
  std::optional<CategoricalSampler> sampler;
  if (sampling) sampler.emplace(sampling->options(), sampling->resolved_seed(), V);
  std::vector<float> all_logits;
  std::vector<std::int32_t> all_ids;
  if (options.maximum_iterations) {
    all_logits.reserve(static_cast<std::size_t>(*options.maximum_iterations * B * V));
    all_ids.reserve(static_cast<std::size_t>(*options.maximum_iterations * B));
  }
  // An attention cell's alignments per step, [T][B][T_mem], when it asked for their history.
  const auto align = cell.alignment_columns();
  const bool history = align && align->history;
  std::vector<float> all_alignments;
  if (history && options.maximum_iterations)
    all_alignments.reserve(static_cast<std::size_t>(*options.maximum_iterations * B * align->width));
  std::int64_t t = 0;
  auto all_finished = [&] { return std::all_of(finished.begin(), finished.end(), [](auto f) { return f != 0; }); };
  while (!all_finished() && t < max_iter) {
    decode_step(cell, decoder.output_layer(), embedding, ids.data(), B, inputs, projection, state, next, output,
                logits_t, workspace);
    if (history)
      for (std::int64_t b = 0; b < B; ++b) {
        const float* a = next.data<float>().data() + b * S + align->offset;
        all_alignments.insert(all_alignments.end(), a, a + align->width);
      }
    for (std::int64_t b = 0; b < B; ++b) {
      const float* row = logits_t.data<float>().data() + b * V;
      const auto best =
          sampler ? sampler->sample(row) : static_cast<std::int32_t>(std::max_element(row, row + V) - row);
      const bool zero = options.impute_finished && finished[b];
      if (zero) std::memcpy(next.data<float>().data() + b * S, state.data<float>().data() + b * S, sizeof(float) * S);
      for (std::int64_t v = 0; v < V; ++v) all_logits.push_back(zero ? 0.0f : row[v]);
      all_ids.push_back(zero ? 0 : best);
      if (!finished[b]) lengths[b] = static_cast<std::int32_t>(t + 1);
      finished[b] = finished[b] || best == end_token || t + 1 >= max_iter;
      ids[b] = best;
    }
    std::swap(state, next);
    ++t;
  }
  // all_* are [T, B, ...]; results are batch major.
  Tensor rnn_output(DType::float32, Shape{B, t, V});
  Tensor sample_id(DType::int32, Shape{B, t});
  for (std::int64_t s = 0; s < t; ++s)
    for (std::int64_t b = 0; b < B; ++b) {
      std::memcpy(rnn_output.data<float>().data() + (b * t + s) * V, all_logits.data() + (s * B + b) * V,
                  sizeof(float) * V);
      sample_id.data<std::int32_t>()[b * t + s] = all_ids[s * B + b];
    }
  Tensor alignment_history;
  if (history)
    alignment_history = Tensor(Shape{t, B, align->width}, TensorStorage<float>(all_alignments.begin(), all_alignments.end()));
  return {std::move(rnn_output), std::move(sample_id), unpack_state(as_matrix(std::as_const(state)), size),
          Tensor(Shape{B}, TensorStorage<std::int32_t>(lengths.begin(), lengths.end())), std::move(alignment_history)};
}

// ---------------------------------------------------------------- gather_tree

Tensor gather_tree(const Tensor& step_ids, const Tensor& parent_ids, const Tensor& max_sequence_lengths,
                   std::int32_t end_token) {
  validate::require_tensor("gather_tree", "step_ids", step_ids, DType::int32, {"batch", "time", "beam"});
  const std::int64_t B = step_ids.shape()[0], T = step_ids.shape()[1], K = step_ids.shape()[2];
  validate::require_tensor("gather_tree", "parent_ids", parent_ids, DType::int32, {B, T, K}, "the shape of step_ids");
  validate::require_tensor("gather_tree", "max_sequence_lengths", max_sequence_lengths, DType::int32, {B},
                           "one length per batch row");
  const auto ids = step_ids.data<std::int32_t>();
  const auto parents = parent_ids.data<std::int32_t>();
  const auto max_len = max_sequence_lengths.data<std::int32_t>();
  auto at = [&](std::int64_t b, std::int64_t t, std::int64_t k) { return (b * T + t) * K + k; };
  Tensor out(Shape{B, T, K}, TensorStorage<std::int32_t>(static_cast<std::size_t>(B * T * K), end_token));
  auto beams = out.data<std::int32_t>();
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t len = std::min<std::int64_t>(max_len[b], T);
    if (len <= 0) continue;
    for (std::int64_t k = 0; k < K; ++k) {
      beams[at(b, len - 1, k)] = ids[at(b, len - 1, k)];
      std::int32_t parent = parents[at(b, len - 1, k)];
      for (std::int64_t t = len - 2; t >= 0; --t) {
        if (parent < 0 || parent >= K)
          throw InvalidArgumentError("gather_tree: parent id " + std::to_string(parent) +
                                     " at (batch, time, beam) == (" + std::to_string(b) + ", " + std::to_string(t) +
                                     ", " + std::to_string(k) + ") is outside [0, " + std::to_string(K) +
                                     "): the parent_ids of step " + std::to_string(t + 1) +
                                     " must name beams of the previous step");
        beams[at(b, t, k)] = ids[at(b, t, parent)];
        parent = parents[at(b, t, parent)];
      }
      bool done = false;  // after the first end token, everything is end_token
      for (std::int64_t t = 0; t < len; ++t) {
        if (done) beams[at(b, t, k)] = end_token;
        else if (beams[at(b, t, k)] == end_token) done = true;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- dynamic_decode(BeamSearchDecoder)
//
// The loop in named steps over a BeamState (the shape of CTranslate2's
// BeamSearch::decode):
//   step_live_beams     embedding -> cell -> output layer -> log-softmax, for the unfinished beams only;
//   select_top_k        per batch row, the K best of the K * V continuations under TF's rules;
//   reorder_by_parents  the K new beams take their parent's state, log-prob, finished flag and length;
//   finalize            gather_tree over the recorded steps, then the hypotheses best-first.

namespace {

// One continuation of a batch row: beam k extended with token v is index k * V + v.
struct Candidate {
  float score;
  std::int64_t index;
};

// "a is better than b": higher score, then lower index (TF's top_k order).
bool better(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

// The beams of every batch row, flattened [B * K]: beam k of row b is index
// b * K + k. reorder_by_parents writes the next step's values into the next_*
// buffers; advance() swaps them in. Sized once; nothing is allocated per step.
struct BeamState {
  std::int64_t batch = 0, beam_width = 0, state_size = 0;  // state_size: S, the packed width
  Tensor cell_state;                  // [B * K, S]: every state leaf side by side (nest::flatten order)
  std::vector<float> log_probs;       // sum of token log-probabilities (unpenalised); -inf: never live
  std::vector<std::uint8_t> finished; // emitted end_token (or never live)
  std::vector<std::int32_t> lengths;  // decoded steps, counting the end-token step
  std::vector<std::int32_t> ids;      // the token each beam feeds at the next step
  Tensor next_cell_state;
  std::vector<float> next_log_probs;
  std::vector<std::uint8_t> next_finished;
  std::vector<std::int32_t> next_lengths;

  [[nodiscard]] std::int64_t beams() const noexcept { return batch * beam_width; }
  [[nodiscard]] bool all_finished() const {
    return std::all_of(finished.begin(), finished.end(), [](auto f) { return f != 0; });
  }
  void advance() noexcept {
    std::swap(log_probs, next_log_probs);
    std::swap(finished, next_finished);
    std::swap(lengths, next_lengths);
    std::swap(cell_state, next_cell_state);
  }
};

// TF's start: beam 0 of each row is live with log-prob 0 and feeds its start
// token; beams 1..K-1 are finished with -inf, so the first top-K picks K
// continuations of beam 0 alone.
BeamState initial_beam_state(const BeamSearchDecoder& decoder) {
  BeamState s;
  s.batch = decoder.batch_size();
  s.beam_width = decoder.beam_width();
  const StateSize size = decoder.cell().state_size();
  s.state_size = flat_size(size);
  const auto N = static_cast<std::size_t>(s.beams());
  const std::int64_t K = s.beam_width;
  s.cell_state = Tensor(DType::float32, Shape{s.beams(), s.state_size});
  pack_state(decoder.initial_state(), size, as_matrix(s.cell_state), "BeamSearchDecoder: initial_state");
  s.next_cell_state = Tensor(DType::float32, Shape{s.beams(), s.state_size});
  s.log_probs.assign(N, kNegInf);
  s.next_log_probs.resize(N);
  s.finished.assign(N, 1);
  s.next_finished.resize(N);
  s.lengths.assign(N, 0);
  s.next_lengths.resize(N);
  s.ids.resize(N);
  for (std::int64_t b = 0; b < s.batch; ++b) {
    s.log_probs[b * K] = 0.0f;
    s.finished[b * K] = 0;
    std::fill_n(s.ids.begin() + b * K, K, decoder.start_tokens().data<std::int32_t>()[b]);
  }
  return s;
}

// What step_live_beams computes for one step, in buffers reused across steps.
// Only unfinished beams need the cell and the logits: a finished beam extends
// with end_token alone at no cost, and its state is never read again. At the
// first step this skips the K - 1 not-yet-live beams of every batch row.
struct LiveStep {
  std::vector<std::int64_t> live;    // unfinished beams, in index order
  std::vector<std::int64_t> row_of;  // beam -> its row of `logits` (-1: finished)
  std::vector<std::int32_t> live_ids;
  Tensor inputs, projection, output, logits;  // [B*K, D], [B*K, P], [B*K, O], [B*K, V]; the first live.size() rows are used
  // log_softmax(logits[r])[v] == (logits[r][v] - row_max[r]) - row_lse[r], computed where it is read.
  std::vector<float> row_max, row_lse;
  Tensor live_state, live_next;  // [B*K, S] scratch for a partly finished batch
  Tensor cell_next;              // [B*K, S]: live beams' new state, finished beams' old one
  Workspace workspace;
  std::int64_t vocab = 0;

  // output_size 0: the cell writes its output into `logits` (no output layer).
  LiveStep(std::int64_t beams, std::int64_t depth, std::int64_t projection_size, std::int64_t state_size,
           std::int64_t output_size, std::int64_t vocab_size)
      : row_of(static_cast<std::size_t>(beams), -1),
        live_ids(static_cast<std::size_t>(beams)),
        inputs(DType::float32, Shape{beams, depth}),
        projection(DType::float32, Shape{beams, projection_size}),
        output(DType::float32, Shape{beams, output_size}),
        logits(DType::float32, Shape{beams, vocab_size}),
        row_max(static_cast<std::size_t>(beams)),
        row_lse(static_cast<std::size_t>(beams)),
        live_state(DType::float32, Shape{beams, state_size}),
        live_next(DType::float32, Shape{beams, state_size}),
        cell_next(DType::float32, Shape{beams, state_size}),
        vocab(vocab_size) {
    live.reserve(static_cast<std::size_t>(beams));
  }
};

// The unfinished beams of `s`, in index order, and each beam's row of step.logits.
void collect_live(const BeamState& s, LiveStep& step) {
  step.live.clear();
  for (std::int64_t i = 0; i < s.beams(); ++i) {
    step.row_of[i] = s.finished[i] ? -1 : static_cast<std::int64_t>(step.live.size());
    if (!s.finished[i]) step.live.push_back(i);
  }
}

// Step 1: the cell, the output layer and the log-softmax offsets for every
// unfinished beam of `s`; finished beams keep their state in cell_next.
void step_live_beams(const RNNCell& cell, OptionalLayer layer, const Tensor& embedding, BeamState& s, LiveStep& step) {
  const std::int64_t N = s.beams(), H = s.state_size;
  collect_live(s, step);
  const auto n_live = static_cast<std::int64_t>(step.live.size());
  if (n_live == N) {  // row_of is the identity
    decode_step(cell, layer, embedding, s.ids.data(), N, step.inputs, step.projection, s.cell_state, step.cell_next,
                step.output, step.logits, step.workspace);
  } else {
    float* ls = step.live_state.data<float>().data();
    for (std::int64_t j = 0; j < n_live; ++j) {
      step.live_ids[j] = s.ids[step.live[j]];
      std::memcpy(ls + j * H, s.cell_state.data<float>().data() + step.live[j] * H, sizeof(float) * H);
    }
    decode_step(cell, layer, embedding, step.live_ids.data(), n_live, step.inputs, step.projection, step.live_state,
                step.live_next, step.output, step.logits, step.workspace, step.live);
    // Finished beams keep their state; live ones take the new one.
    std::memcpy(step.cell_next.data<float>().data(), s.cell_state.data<float>().data(), sizeof(float) * N * H);
    for (std::int64_t j = 0; j < n_live; ++j)
      std::memcpy(step.cell_next.data<float>().data() + step.live[j] * H, step.live_next.data<float>().data() + j * H,
                  sizeof(float) * H);
  }
  log_softmax_offsets(step.logits.data<float>().data(), n_live, step.vocab, step.row_max.data(), step.row_lse.data());
}

// Step 2: the K best continuations of batch row b, best first, into `heap`
// (TF's rules): score = (log-prob + step log-prob) / lp(length + 1); a finished
// beam extends with end_token at no cost and no added length, its other tokens
// at float32 lowest (TF's mask, kMaskedLogProb); end_token scores with
// lp(length) and is -inf before min_length; ties go to the lower index k * V + v.
void select_top_k(const BeamState& s, const LiveStep& step, std::int64_t b, const BeamSearchOptions& opt,
                  std::int32_t end, std::vector<Candidate>& heap) {
  const std::int64_t K = s.beam_width, V = step.vocab;
  const float alpha = opt.length_penalty_weight;
  const float* lp = step.logits.data<float>().data();  // row row_of[beam] holds beam's logits
  heap.clear();
  auto consider = [&](float score, std::int64_t index) {
    const Candidate c{score, index};
    if (static_cast<std::int64_t>(heap.size()) < K) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), better);  // worst candidate on top
    } else if (better(c, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = c;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  };
  for (std::int64_t k = 0; k < K; ++k) {
    const std::int64_t beam = b * K + k;
    const float base = s.log_probs[beam];
    if (s.finished[beam]) {
      // A finished beam extends with end_token at no cost; its other tokens get
      // TF's masked log-prob, float32 lowest (_mask_probs' `probs.dtype.min`:
      // finite, not -inf), so they score (base + lowest) / lp(length) — far below
      // any real candidate, above every -inf one. They matter only when fewer than
      // K candidates are finite (K > V). All of them share one score, so in index
      // order the first that does not enter the heap ends the scan.
      const float lp = length_penalty(opt.length_penalty, alpha, s.lengths[beam]);
      consider(base / lp, k * V + end);
      const float masked_score = (base + kMaskedLogProb) / lp;
      for (std::int64_t v = 0; v < V; ++v) {
        if (v == end) continue;
        const Candidate c{masked_score, k * V + v};
        if (static_cast<std::int64_t>(heap.size()) == K && !better(c, heap.front())) break;
        consider(c.score, c.index);
      }
      continue;
    }
    const float lp_cont = length_penalty(opt.length_penalty, alpha, s.lengths[beam] + 1);
    const float lp_end = length_penalty(opt.length_penalty, alpha, s.lengths[beam]);
    const bool end_allowed = s.lengths[beam] >= opt.min_length;
    const std::int64_t r = step.row_of[beam];
    const float* row = lp + r * V;
    const float m = step.row_max[r], l = step.row_lse[r];
    const float scale = lp_cont == 1.0f ? 1.0f : 1.0f / lp_cont;
    auto exact = [&](std::int64_t v) {
      if (v == end) {
        consider(end_allowed ? (base + ((row[v] - m) - l)) / lp_end : kNegInf, k * V + v);
        return;
      }
      const float score = (base + ((row[v] - m) - l)) * scale;
      // Later candidates lose ties (higher index), so "not better than the
      // worst kept" is a cheap rejection once K candidates are held.
      if (static_cast<std::int64_t>(heap.size()) == K && !(score > heap.front().score)) return;
      consider(score, k * V + v);
    };
    // A logit at or below `floor` cannot beat the worst kept candidate: the
    // inverse of the score formula, lowered by a margin far above float
    // rounding, so the exact test above still decides every close case.
    auto floor_for_heap = [&] {
      if (static_cast<std::int64_t>(heap.size()) < K) return kNegInf;
      const float x = (heap.front().score / scale - base) + m + l;
      return x - (std::abs(x) + std::abs(m) + std::abs(l) + std::abs(base) + 1.0f) * 1e-4f;
    };
    float floor = floor_for_heap();
    constexpr std::int64_t kBlock = 16;
    std::int64_t v = 0;
    for (; v + kBlock <= V; v += kBlock) {
      bool any = end >= v && end < v + kBlock;
      for (std::int64_t j = 0; j < kBlock; ++j) any |= row[v + j] > floor;  // vectorised scan
      if (!any) continue;
      for (std::int64_t j = 0; j < kBlock; ++j) exact(v + j);
      floor = floor_for_heap();
    }
    for (; v < V; ++v) exact(v);
  }
  std::sort_heap(heap.begin(), heap.end(), better);  // best first
}

// Per-step outputs, time major [T][B][K]: the chosen token, its parent beam, its score.
struct StepRecord {
  std::vector<std::int32_t> words, parents;
  std::vector<float> scores;
  std::int64_t steps = 0;
  // An attention cell's alignments: per step and beam (after the reorder) the alignments of
  // the step that chose its word, [T][B*K][align_width]; align_width 0: none recorded.
  std::vector<float> alignments;
  std::int64_t align_offset = 0, align_width = 0;
};

// Step 3: beam j of row b becomes selected[j]: word = index % V continues
// parent = index / V, whose cell state, finished flag, length and
// (unpenalised) log-prob it takes into the next_* buffers (plus the word's
// log-prob: TF's masked one, 0 or kMaskedLogProb, after a finished parent);
// the step's word, parent and score are recorded.
void reorder_by_parents(BeamState& s, const LiveStep& step, std::int64_t b, const std::vector<Candidate>& selected,
                        const BeamSearchOptions& opt, std::int32_t end, StepRecord& record) {
  const std::int64_t K = s.beam_width, V = step.vocab, H = s.state_size;
  const float* lp = step.logits.data<float>().data();
  for (std::int64_t j = 0; j < K; ++j) {
    const Candidate& c = selected[static_cast<std::size_t>(j)];
    const auto parent = static_cast<std::int32_t>(c.index / V);
    const auto word = static_cast<std::int32_t>(c.index % V);
    const std::int64_t from = b * K + parent, to = b * K + j;
    const bool was_finished = s.finished[from] != 0;
    const bool end_blocked = !was_finished && word == end && s.lengths[from] < opt.min_length;
    const std::int64_t r = step.row_of[from];
    s.next_log_probs[to] = was_finished ? (word == end ? s.log_probs[from] : s.log_probs[from] + kMaskedLogProb)
                           : end_blocked ? kNegInf
                                         : s.log_probs[from] + ((lp[r * V + word] - step.row_max[r]) - step.row_lse[r]);
    s.next_finished[to] = was_finished || word == end;
    s.next_lengths[to] = s.lengths[from] + (was_finished ? 0 : 1);
    std::memcpy(s.next_cell_state.data<float>().data() + to * H, step.cell_next.data<float>().data() + from * H,
                sizeof(float) * H);
    if (record.align_width > 0) {
      const float* a = step.cell_next.data<float>().data() + from * H + record.align_offset;
      record.alignments.insert(record.alignments.end(), a, a + record.align_width);
    }
    record.words.push_back(word);
    record.parents.push_back(parent);
    record.scores.push_back(c.score);
    s.ids[to] = word;
  }
}

// Step 4: the recorded steps batch major, gather_tree from each row's longest
// beam, and per row the first `keep` beams (already best first) as hypotheses.
BeamSearchResult finalize(const BeamState& s, const StepRecord& record, std::int32_t end, std::int64_t keep) {
  const std::int64_t B = s.batch, K = s.beam_width, N = s.beams(), t = record.steps;
  BeamSearchResult result;
  Tensor words(DType::int32, Shape{B, t, K}), parents(DType::int32, Shape{B, t, K});
  result.scores = Tensor(DType::float32, Shape{B, t, K});
  for (std::int64_t step = 0; step < t; ++step)
    for (std::int64_t i = 0; i < N; ++i) {
      const std::int64_t b = i / K, k = i % K;
      const std::int64_t dst = (b * t + step) * K + k, src = step * N + i;
      words.data<std::int32_t>()[dst] = record.words[src];
      parents.data<std::int32_t>()[dst] = record.parents[src];
      result.scores.data<float>()[dst] = record.scores[src];
    }
  std::vector<std::int32_t> max_len(static_cast<std::size_t>(B), 0);
  for (std::int64_t i = 0; i < N; ++i) max_len[i / K] = std::max(max_len[i / K], s.lengths[i]);
  result.predicted_ids = gather_tree(words, parents, Tensor(Shape{B}, max_len), end);
  result.parent_ids = std::move(parents);
  result.final_log_probs = Tensor(Shape{B, K}, TensorStorage<float>(s.log_probs.begin(), s.log_probs.end()));
  result.lengths = Tensor(Shape{B, K}, TensorStorage<std::int32_t>(s.lengths.begin(), s.lengths.end()));
  result.hypotheses.resize(static_cast<std::size_t>(B));
  for (std::int64_t b = 0; b < B; ++b) {
    result.hypotheses[b].reserve(static_cast<std::size_t>(keep));
    for (std::int64_t k = 0; k < keep; ++k) {
      Hypothesis h;
      h.ids.reserve(static_cast<std::size_t>(t));  // one allocation per hypothesis, whatever the length
      for (std::int64_t step = 0; step < t; ++step) {
        const std::int32_t id = result.predicted_ids.data<std::int32_t>()[(b * t + step) * K + k];
        if (id == end) break;
        h.ids.push_back(id);
      }
      h.length = s.lengths[b * K + k];
      h.log_prob = s.log_probs[b * K + k];
      if (record.align_width > 0 && t > 0) {
        // Backtrack the beam through its parents (gather_tree's walk), then keep its first `length` steps.
        const std::int64_t W = record.align_width;
        std::vector<float> rows(static_cast<std::size_t>(t * W));
        std::int64_t beam = k;
        for (std::int64_t step = t; step-- > 0;) {
          const std::int64_t i = step * N + b * K + beam;
          std::memcpy(rows.data() + step * W, record.alignments.data() + i * W, sizeof(float) * W);
          beam = record.parents[i];
        }
        const std::int64_t len = std::min<std::int64_t>(h.length, t);
        h.alignments = Tensor(Shape{len, W}, TensorStorage<float>(rows.begin(), rows.begin() + len * W));
      }
      h.score = t > 0 ? result.scores.data<float>()[(b * t + t - 1) * K + k] : 0.0f;
      result.hypotheses[b].push_back(std::move(h));
    }
  }
  return result;
}

}  // namespace

BeamSearchResult dynamic_decode(BeamSearchDecoder& decoder, DecodeOptions options) {
  auto scope = enter_decode_scope(options);
  const Graph::ReadingGuard reading(get_default_graph());  // writes elsewhere wait for it (hot reload)
  RNNCell& cell = decoder.cell();
  const Tensor& embedding = decoder.embedding();
  const std::int64_t V = build_for_decoding(cell, decoder.output_layer(), embedding.shape()[1]);
  const std::int32_t end = decoder.end_token();
  if (V > embedding.shape()[0] || end >= V)
    throw ShapeMismatchError("BeamSearchDecoder: the decoder emits " + std::to_string(V) +
                             " logits per step; the embedding has " + std::to_string(embedding.shape()[0]) +
                             " rows and end_token is " + std::to_string(end) + " (both must fit)");
  const BeamSearchOptions& opt = decoder.options();
  const std::int64_t max_iter = options.maximum_iterations.value_or(std::numeric_limits<std::int64_t>::max());

  BeamState beams = initial_beam_state(decoder);
  LiveStep step(beams.beams(), embedding.shape()[1], cell.projection_size(), beams.state_size,
                decoder.output_layer() ? cell.output_size() : 0, V);
  StepRecord record;
  if (const auto align = cell.alignment_columns()) {
    record.align_offset = align->offset;
    record.align_width = align->width;
  }
  if (options.maximum_iterations) {
    const auto capacity = static_cast<std::size_t>(*options.maximum_iterations * beams.beams());
    record.words.reserve(capacity);
    record.parents.reserve(capacity);
    record.scores.reserve(capacity);
    record.alignments.reserve(capacity * static_cast<std::size_t>(record.align_width));
  }
  // One candidate list per batch row: the rows' top-K scans are independent and run on the
  // threads; the reorder that records them runs in row order after.
  std::vector<std::vector<Candidate>> selected(static_cast<std::size_t>(beams.batch));
  for (auto& row : selected) row.reserve(static_cast<std::size_t>(beams.beam_width));
  while (!beams.all_finished() && record.steps < max_iter) {
    step_live_beams(cell, decoder.output_layer(), embedding, beams, step);
    parallel_for(beams.batch, 2.0 * double(beams.beams()) * double(V), [&](std::int64_t begin, std::int64_t end_row) {
      for (std::int64_t b = begin; b < end_row; ++b) select_top_k(beams, step, b, opt, end, selected[b]);
    });
    for (std::int64_t b = 0; b < beams.batch; ++b) reorder_by_parents(beams, step, b, selected[b], opt, end, record);
    beams.advance();
    ++record.steps;
  }
  return finalize(beams, record, end, opt.num_hypotheses == 0 ? beams.beam_width : opt.num_hypotheses);
}

// ---------------------------------------------------------------- decoding as strategies

namespace {

// One hypothesis per row from a BasicDecoder's result: the ids before the first end token,
// the length (counting the end step), log_prob under the model's softmax, score with the
// length penalty, the alignments of an attention cell that kept their history.
DecodingResult hypotheses_of(const BasicDecodeResult& r, std::int32_t end, const DecodingOptions& o) {
  const std::int64_t B = r.sample_id.shape()[0], T = r.sample_id.shape()[1], V = r.rnn_output.shape()[2];
  const float* logits = r.rnn_output.data<float>().data();
  const auto ids = r.sample_id.data<std::int32_t>();
  const auto lengths = r.lengths.data<std::int32_t>();
  const bool alignments = r.alignment_history.shape().rank() == 3;
  const std::int64_t W = alignments ? r.alignment_history.shape()[2] : 0;
  DecodingResult result;
  result.hypotheses.resize(static_cast<std::size_t>(B));
  float row_max = 0.0f, row_lse = 0.0f;
  for (std::int64_t b = 0; b < B; ++b) {
    Hypothesis h;
    h.length = std::min<std::int64_t>(lengths[b], T);
    bool ended = false;
    for (std::int64_t t = 0; t < h.length; ++t) {
      const std::int32_t id = ids[b * T + t];
      const float* row = logits + (b * T + t) * V;
      log_softmax_offsets(row, 1, V, &row_max, &row_lse);
      h.log_prob += (row[id] - row_max) - row_lse;
      ended = ended || id == end;
      if (!ended) h.ids.push_back(id);
    }
    h.score = h.log_prob / length_penalty(o.length_penalty, o.length_penalty_weight, h.length);
    if (alignments) {
      std::vector<float> a(static_cast<std::size_t>(h.length * W));
      for (std::int64_t t = 0; t < h.length; ++t)
        std::memcpy(a.data() + t * W, r.alignment_history.data<float>().data() + (t * B + b) * W, sizeof(float) * W);
      h.alignments = Tensor(Shape{h.length, W}, TensorStorage<float>(a.begin(), a.end()));
    }
    result.hypotheses[b].push_back(std::move(h));
  }
  return result;
}

DecodeOptions loop_options(const DecodingOptions& o) {
  return {.maximum_iterations = o.maximum_iterations, .scope = o.scope};
}

}  // namespace

GreedySearch::GreedySearch(DecodingOptions options) : SearchStrategy(std::move(options)) {
  check_decoding_options(this->options(), {.who = "GreedySearch"});
  if (this->options().sampling_topk != 1 || this->options().min_length != 0 || this->options().beam_width != 1)
    throw InvalidArgumentError("GreedySearch: takes beam_width 1, sampling_topk 1 and min_length 0 (got " +
                               std::to_string(this->options().beam_width) + ", " +
                               std::to_string(this->options().sampling_topk) + ", " +
                               std::to_string(this->options().min_length) +
                               "); make_search_strategy(options) picks BeamSearch / SamplingSearch for the others");
}

DecodingResult GreedySearch::search(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                    std::int32_t end_token, const State& initial_state,
                                    OptionalLayer output_layer) const {
  BasicDecoder decoder(cell, GreedyEmbeddingHelper(EmbeddingParams::borrowed(embedding), start_tokens, end_token),
                       initial_state, output_layer);
  return hypotheses_of(dynamic_decode(decoder, loop_options(options())), end_token, options());
}

BeamSearch::BeamSearch(DecodingOptions options) : SearchStrategy(std::move(options)) {
  check_decoding_options(this->options(), {.who = "BeamSearch"});
  if (this->options().sampling_topk != 1)
    throw InvalidArgumentError("BeamSearch: sampling_topk " + std::to_string(this->options().sampling_topk) +
                               " must be 1 (beam search takes the best tokens); use SamplingSearch to sample");
}

DecodingResult BeamSearch::search(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                  std::int32_t end_token, const State& initial_state,
                                  OptionalLayer output_layer) const {
  const DecodingOptions& o = options();
  BeamSearchDecoder decoder(cell, EmbeddingParams::borrowed(embedding), start_tokens, end_token,
                            tile_batch(initial_state, o.beam_width),
                            BeamSearchOptions{.beam_width = o.beam_width,
                                              .length_penalty_weight = o.length_penalty_weight,
                                              .length_penalty = o.length_penalty,
                                              .min_length = o.min_length,
                                              .num_hypotheses = o.num_hypotheses},
                            output_layer);
  return {std::move(dynamic_decode(decoder, loop_options(o)).hypotheses)};
}

SamplingSearch::SamplingSearch(DecodingOptions options) : SearchStrategy(std::move(options)) {
  check_decoding_options(this->options(), {.who = "SamplingSearch"});
}

DecodingResult SamplingSearch::search(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                      std::int32_t end_token, const State& initial_state,
                                      OptionalLayer output_layer) const {
  const DecodingOptions& o = options();
  SampleEmbeddingHelper helper(EmbeddingParams::borrowed(embedding), start_tokens, end_token,
                               SamplingOptions{.softmax_temperature = o.sampling_temperature,
                                               .top_k = o.sampling_topk,
                                               .seed = o.seed});
  BasicDecoder decoder(cell, std::move(helper), initial_state, output_layer);
  return hypotheses_of(dynamic_decode(decoder, loop_options(o)), end_token, o);
}

std::unique_ptr<SearchStrategy> make_search_strategy(const DecodingOptions& options) {
  check_decoding_options(options);
  if (options.sampling_topk != 1) return std::make_unique<SamplingSearch>(options);
  if (options.beam_width > 1 || options.min_length > 0) return std::make_unique<BeamSearch>(options);
  return std::make_unique<GreedySearch>(options);
}

DecodingResult decode(RNNCell& cell, const Tensor& embedding, const Tensor& start_tokens, std::int32_t end_token,
                      const State& initial_state, const DecodingOptions& options, OptionalLayer output_layer) {
  return make_search_strategy(options)->search(cell, embedding, start_tokens, end_token, initial_state,
                                               output_layer);
}

}  // namespace varscope

// The test hook declared in modules/testing.cppm (module varscope.testing): one step of
// the loop above on given logits, TF's _beam_search_step(time, logits, next_cell_state,
// beam_state, batch_size, beam_width, end_token, length_penalty_weight). It runs the
// loop's own collect_live / log_softmax_offsets / select_top_k / reorder_by_parents /
// advance on a BeamState built from `beam_state`; only the cell is replaced by the
// given logits (read for the live beams, as step_live_beams computes them) and the
// given next_cell_state (TF's: the cell's new state of every beam). `extern "C++"`
// attaches it to the global module: not part of `import varscope;`.
extern "C++" {
#include "beam_step_hook.hpp"
namespace varscope::testing {

BeamStep beam_search_step(const Tensor& logits, const Tensor& next_cell_state, const BeamStepState& beam_state,
                          std::int32_t end_token, const BeamSearchOptions& options) {
  const char* who = "testing::beam_search_step";
  validate::require_tensor(who, "logits", logits, DType::float32, {"batch", "beam_width", "vocab"});
  const std::int64_t B = logits.shape()[0], K = logits.shape()[1], V = logits.shape()[2], N = B * K;
  if (K != options.beam_width)
    throw InvalidArgumentError(std::string(who) + ": logits have " + std::to_string(K) +
                               " beams, options.beam_width is " + std::to_string(options.beam_width));
  validate::require_tensor(who, "next_cell_state", next_cell_state, DType::float32, {N, "state"});
  const std::int64_t H = next_cell_state.shape()[1];
  validate::require_tensor(who, "cell_state", beam_state.cell_state, DType::float32, {N, H});
  validate::require_tensor(who, "log_probs", beam_state.log_probs, DType::float32, {B, K});
  validate::require_tensor(who, "finished", beam_state.finished, DType::int32, {B, K});
  validate::require_tensor(who, "lengths", beam_state.lengths, DType::int32, {B, K});
  require_end_token(who, end_token, V);

  BeamState s;
  s.batch = B;
  s.beam_width = K;
  s.state_size = H;
  s.cell_state = beam_state.cell_state;
  s.next_cell_state = Tensor(DType::float32, Shape{N, H});
  const auto log_probs = beam_state.log_probs.data<float>();
  s.log_probs.assign(log_probs.begin(), log_probs.end());
  s.next_log_probs.resize(static_cast<std::size_t>(N));
  for (const std::int32_t f : beam_state.finished.data<std::int32_t>()) s.finished.push_back(f != 0 ? 1 : 0);
  s.next_finished.resize(static_cast<std::size_t>(N));
  s.lengths = int_vector(beam_state.lengths);
  s.next_lengths.resize(static_cast<std::size_t>(N));
  s.ids.resize(static_cast<std::size_t>(N));

  LiveStep step(N, 1, 1, H, 0, V);
  collect_live(s, step);
  const auto n_live = static_cast<std::int64_t>(step.live.size());
  for (std::int64_t j = 0; j < n_live; ++j)
    std::memcpy(step.logits.data<float>().data() + j * V, logits.data<float>().data() + step.live[j] * V,
                sizeof(float) * V);
  log_softmax_offsets(step.logits.data<float>().data(), n_live, V, step.row_max.data(), step.row_lse.data());
  std::memcpy(step.cell_next.data<float>().data(), next_cell_state.data<float>().data(), sizeof(float) * N * H);

  StepRecord record;
  std::vector<Candidate> selected;
  for (std::int64_t b = 0; b < B; ++b) {
    select_top_k(s, step, b, options, end_token, selected);
    reorder_by_parents(s, step, b, selected, options, end_token, record);
  }
  s.advance();

  const Shape bk{B, K};
  BeamStep result;
  result.output.scores = Tensor(bk, TensorStorage<float>(record.scores.begin(), record.scores.end()));
  result.output.predicted_ids = Tensor(bk, TensorStorage<std::int32_t>(record.words.begin(), record.words.end()));
  result.output.parent_ids = Tensor(bk, TensorStorage<std::int32_t>(record.parents.begin(), record.parents.end()));
  result.next_state.cell_state = std::move(s.cell_state);
  result.next_state.log_probs = Tensor(bk, TensorStorage<float>(s.log_probs.begin(), s.log_probs.end()));
  result.next_state.finished = Tensor(bk, TensorStorage<std::int32_t>(s.finished.begin(), s.finished.end()));
  result.next_state.lengths = Tensor(bk, TensorStorage<std::int32_t>(s.lengths.begin(), s.lengths.end()));
  return result;
}

}  // namespace varscope::testing
}
