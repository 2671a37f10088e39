// libFuzzer target for the decoding API: arbitrary sizes, shapes, sequence
// lengths, token ids, beam widths, maximum iterations, length-penalty values and
// options go into BasicDecoder (training and greedy helpers), BeamSearchDecoder,
// dynamic_decode, dynamic_rnn, tile_batch and gather_tree. Every input must
// either decode or raise a varscope::Error — never crash, hang, or trip ASan /
// UBSan. Built by the `fuzz` preset; CTest runs it for a bounded time.
//
// maximum_iterations is always given (bounded): without it, a greedy or beam
// decoder whose model never emits end_token decodes forever, in TF as here.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <limits>
#include <vector>

import varscope;

using namespace varscope;

namespace {

// A dimension that is usually valid and sometimes 0 or negative.
std::int64_t dim(FuzzedDataProvider& in, std::int64_t hi) { return in.ConsumeIntegralInRange<std::int64_t>(-1, hi); }

Shape shape_near(FuzzedDataProvider& in, std::vector<std::int64_t> dims) {
  // Mostly the right shape; sometimes one dimension off, or a rank off.
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
      if (!dims.empty()) dims[in.ConsumeIntegralInRange<std::size_t>(0, dims.size() - 1)] += in.ConsumeBool() ? 1 : -1;
      break;
    case 1:
      if (!dims.empty()) dims.pop_back();
      break;
    case 2: dims.push_back(in.ConsumeIntegralInRange<std::int64_t>(0, 3)); break;
    default: break;
  }
  for (auto& d : dims) d = std::max<std::int64_t>(d, 0);
  return Shape(std::move(dims));
}

Tensor floats(FuzzedDataProvider& in, const Shape& shape) {
  Tensor t(DType::float32, shape);
  for (auto& v : t.data<float>()) {
    switch (in.ConsumeIntegralInRange<int>(0, 15)) {
      case 0: v = std::numeric_limits<float>::quiet_NaN(); break;
      case 1: v = std::numeric_limits<float>::infinity(); break;
      case 2: v = 1e30f; break;
      default: v = in.ConsumeFloatingPointInRange<float>(-3.0f, 3.0f);
    }
  }
  return t;
}

Tensor ints(FuzzedDataProvider& in, const Shape& shape, std::int32_t lo, std::int32_t hi) {
  Tensor t(DType::int32, shape);
  for (auto& v : t.data<std::int32_t>())
    v = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::int32_t>(lo, hi) : in.ConsumeIntegral<std::int32_t>();
  return t;
}

// Sometimes the wrong dtype altogether.
Tensor maybe_wrong_dtype(FuzzedDataProvider& in, Tensor t) {
  if (in.ConsumeIntegralInRange<int>(0, 15) != 0) return t;
  return t.dtype() == DType::float32 ? Tensor(DType::int32, t.shape()) : Tensor(DType::float32, t.shape());
}

float penalty(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: return std::numeric_limits<float>::quiet_NaN();
    case 1: return -1.0f;
    case 2: return std::numeric_limits<float>::infinity();
    default: return in.ConsumeFloatingPointInRange<float>(0.0f, 3.0f);
  }
}

void run(FuzzedDataProvider& in) {
  const std::int64_t V = dim(in, 24), E = dim(in, 6), H = dim(in, 6), B = dim(in, 4), T = dim(in, 6);
  if (V <= 0 || E <= 0 || H <= 0) {
    // Invalid layer sizes must be refused at construction or first call.
    Graph graph;
    auto use = graph.as_default();
    GRUCell cell(H);
    Dense out(V);
    (void)out(cell(Tensor(DType::float32, Shape{1, std::max<std::int64_t>(E, 1)}), cell.zero_state(1)).output);
    return;
  }
  Graph graph(in.ConsumeIntegral<std::uint8_t>());
  auto use = graph.as_default();
  GRUCell cell(H, "cell");
  Dense out(V, {.use_bias = in.ConsumeBool(), .name = "out"});
  const Tensor embedding = maybe_wrong_dtype(in, floats(in, shape_near(in, {V, E})));
  const std::int64_t max_iter = in.ConsumeIntegralInRange<std::int64_t>(-2, 12);
  const std::int32_t end_token = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::int32_t>(0, static_cast<std::int32_t>(V) - 1)
                                                  : in.ConsumeIntegral<std::int32_t>();
  const std::int64_t Bc = std::max<std::int64_t>(B, 0), Tc = std::max<std::int64_t>(T, 0);

  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: {  // teacher forcing through BasicDecoder + TrainingHelper
      TrainingHelper helper(maybe_wrong_dtype(in, floats(in, shape_near(in, {Bc, Tc, E}))),
                            maybe_wrong_dtype(in, ints(in, shape_near(in, {Bc}), -1, static_cast<std::int32_t>(Tc) + 1)));
      BasicDecoder decoder(cell, helper, floats(in, shape_near(in, {Bc, H})),
                           in.ConsumeBool() ? OptionalLayer(out) : std::nullopt);
      (void)dynamic_decode(decoder, {.maximum_iterations = max_iter, .impute_finished = in.ConsumeBool()});
      break;
    }
    case 1: {  // greedy
      GreedyEmbeddingHelper helper(embedding, maybe_wrong_dtype(in, ints(in, shape_near(in, {Bc}), 0, V - 1)), end_token);
      BasicDecoder decoder(cell, helper, floats(in, shape_near(in, {Bc, H})),
                           in.ConsumeBool() ? OptionalLayer(out) : std::nullopt);
      (void)dynamic_decode(decoder, {.maximum_iterations = max_iter, .impute_finished = in.ConsumeBool()});
      break;
    }
    case 2: {  // beam search
      const std::int64_t K = in.ConsumeIntegralInRange<std::int64_t>(-1, 8);
      BeamSearchOptions options;
      options.beam_width = K;
      options.length_penalty_weight = penalty(in);
      options.length_penalty = in.ConsumeBool() ? LengthPenalty::gnmt : LengthPenalty::plain;
      options.min_length = in.ConsumeIntegralInRange<std::int64_t>(-2, 10);
      options.num_hypotheses = in.ConsumeIntegralInRange<std::int64_t>(-1, 9);
      const Tensor state = floats(in, shape_near(in, {Bc * std::max<std::int64_t>(K, 1), H}));
      BeamSearchDecoder decoder(cell, embedding, maybe_wrong_dtype(in, ints(in, shape_near(in, {Bc}), 0, V - 1)),
                                end_token, state, options, in.ConsumeBool() ? OptionalLayer(out) : std::nullopt);
      (void)dynamic_decode(decoder, {.maximum_iterations = max_iter});
      break;
    }
    case 3: {  // the encoder side
      const Tensor x = maybe_wrong_dtype(in, floats(in, shape_near(in, {Bc, Tc, E})));
      DynamicRNNOptions options;
      if (in.ConsumeBool()) options.sequence_length = ints(in, shape_near(in, {Bc}), -1, static_cast<std::int32_t>(Tc) + 1);
      if (in.ConsumeBool()) options.initial_state = floats(in, shape_near(in, {Bc, H}));
      options.scope = "encoder";
      auto result = dynamic_rnn(cell, x, options);
      (void)tile_batch(result.final_state, in.ConsumeIntegralInRange<std::int64_t>(-1, 4));
      break;
    }
    default: {  // gather_tree
      const std::int64_t K = in.ConsumeIntegralInRange<std::int64_t>(0, 4);
      const Shape s = shape_near(in, {Bc, Tc, K});
      (void)gather_tree(ints(in, s, -1, static_cast<std::int32_t>(V)), ints(in, shape_near(in, {Bc, Tc, K}), -1, 4),
                        ints(in, shape_near(in, {Bc}), -1, static_cast<std::int32_t>(Tc) + 1), end_token);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  try {
    run(in);
  } catch (const varscope::Error&) {
    // Rejected with a typed error: the expected outcome for bad input.
  }
  return 0;
}
