// Ports of TensorFlow 1.15's contrib/seq2seq kernel tests:
//   beam_search_decoder_test.py (TestGatherTree, TestBeamStep, TestLargeBeamStep):
//     TF calls its internal _beam_search_step(time, logits, next_cell_state,
//     beam_state, batch_size, beam_width, end_token, length_penalty_weight) on
//     hand-made logits; varscope's counterpart is the decoder's own step on given
//     logits, reached through varscope::testing::beam_search_step (module
//     varscope.testing, modules/src/seq2seq.cpp). TF's expected ids, parents,
//     lengths and finished flags are literals, copied as TF writes them; its
//     expected log_probs are "state log_probs[parent] + log_softmax(logits)[parent,
//     word]", recomputed here in double (TF compares with assertAllEqual against its
//     own float32 log_softmax; here within the float32 error bound, see below).
//   beam_search_ops_test.py (GatherTreeTest). TF writes its literal arrays batch
//     major and transposes them to time major (_transpose_batch_time); varscope's
//     gather_tree is batch major, so the literals are used exactly as TF writes them.
//   basic_decoder_test.py (BasicDecoderTest): TF calls decoder.initialize() and
//     decoder.step() once; varscope exposes the loop only, so one step is
//     dynamic_decode(maximum_iterations = 1) and the next inputs are observed
//     through step 2. TF's LSTMCell is a GRUCell here (varscope's cell).
#define BOOST_TEST_MODULE tf_seq2seq
#include "support/boost_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

import varscope;
import varscope.testing;
#include "tf_ported/support.hpp"

using namespace varscope;

namespace {

Tensor ints(const Shape& shape, std::vector<std::int32_t> values) { return Tensor(shape, values); }

std::vector<std::int32_t> values_of(const Tensor& t) {
  const auto d = t.data<std::int32_t>();
  return {d.begin(), d.end()};
}

using tf_ported::FreshGraph;

// x[:, t] of a [B, T, D] tensor, as [B, D].
Tensor at_time(const Tensor& x, std::int64_t t) {
  return reshape(slice(x, {0, t, 0}, {-1, 1, -1}), Shape{x.shape()[0], x.shape()[2]});
}

// assertAllClose with rtol = atol = 1e-5.
bool all_close(const Tensor& a, const Tensor& b) { return tf_ported::all_close(a, b, 1e-5f); }

void test_step_with_training_helper(bool use_output_layer) {
  const std::vector<std::int32_t> sequence_length{3, 4, 3, 1, 0};
  const std::int64_t batch_size = 5, max_time = 8, input_depth = 7, cell_depth = 10, output_layer_depth = 3;
  const Tensor inputs = random_normal({batch_size, max_time, input_depth}, 0.f, 1.f, 11);
  GRUCell cell(cell_depth);
  Dense output_layer(output_layer_depth, {.use_bias = false});
  const std::int64_t expected_output_depth = use_output_layer ? output_layer_depth : cell_depth;
  BasicDecoder my_decoder(cell, TrainingHelper(inputs, Tensor(Shape{batch_size}, sequence_length)),
                          cell.zero_state(batch_size), use_output_layer ? OptionalLayer(output_layer) : std::nullopt);
  const BasicDecodeResult step = dynamic_decode(my_decoder, {.maximum_iterations = 1});
  BOOST_TEST(step.rnn_output.shape() == (Shape{batch_size, 1, expected_output_depth}));
  BOOST_TEST(step.sample_id.shape() == (Shape{batch_size, 1}));
  BOOST_TEST((step.sample_id.dtype() == DType::int32));
  BOOST_TEST(step.final_state.leaf().shape() == (Shape{batch_size, cell_depth}));
  if (use_output_layer) {
    // The output layer was accessed
    BOOST_TEST(output_layer.scope().global_variables().size() == 1u);
  }
  const Tensor rnn_output = reshape(step.rnn_output, Shape{batch_size, expected_output_depth});
  BOOST_TEST(values_of(argmax(rnn_output, -1)) == values_of(reshape(step.sample_id, Shape{batch_size})),
             boost::test_tools::per_element());
  // What the step computed: the cell on inputs[:, 0] from the zero state, then the layer.
  Tensor expected = cell(at_time(inputs, 0), cell.zero_state(batch_size)).output;
  if (use_output_layer) expected = output_layer(expected);
  BOOST_TEST(all_close(rnn_output, expected));
  // first_finished [F, F, F, F, T] and step_finished [F, F, F, T, T], seen over
  // the whole decode: each row finishes after its length.
  const BasicDecodeResult full = dynamic_decode(my_decoder, {.scope = "decoder_full"});
  BOOST_TEST(values_of(full.lengths) == sequence_length, boost::test_tools::per_element());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(BasicDecoderTest, FreshGraph)

BOOST_AUTO_TEST_CASE(testStepWithTrainingHelperNoOutputLayer) { test_step_with_training_helper(false); }

BOOST_AUTO_TEST_CASE(testStepWithTrainingHelperWithOutputLayer) { test_step_with_training_helper(true); }

BOOST_AUTO_TEST_CASE(testStepWithGreedyEmbeddingHelper) {
  const std::int64_t batch_size = 5, vocabulary_size = 7, input_depth = 10;
  const std::int64_t cell_depth = vocabulary_size;  // cell's logits must match vocabulary size
  const Tensor start_tokens(Shape{batch_size}, std::vector<std::int32_t>{3, 0, 6, 2, 5});
  const std::int32_t end_token = 1;
  const Tensor embeddings = random_normal({vocabulary_size, input_depth}, 0.f, 1.f, 12);
  GRUCell cell(vocabulary_size);
  BasicDecoder my_decoder(cell, GreedyEmbeddingHelper(embeddings, start_tokens, end_token),
                          cell.zero_state(batch_size));
  const BasicDecodeResult two = dynamic_decode(my_decoder, {.maximum_iterations = 2});
  BOOST_TEST_REQUIRE(two.rnn_output.shape()[1] >= 1);
  const std::int64_t steps = two.rnn_output.shape()[1];
  const Tensor step0 = at_time(two.rnn_output, 0);
  BOOST_TEST(step0.shape() == (Shape{batch_size, cell_depth}));
  // first inputs: embeddings[start_tokens] from the zero state
  const Tensor h1 = cell(embedding_lookup(embeddings, start_tokens), cell.zero_state(batch_size)).output;
  BOOST_TEST(all_close(step0, h1));
  const std::vector<std::int32_t> expected_sample_ids = values_of(argmax(step0, -1));
  std::vector<std::int32_t> sample_ids;
  for (std::int64_t b = 0; b < batch_size; ++b)
    sample_ids.push_back(two.sample_id.data<std::int32_t>()[static_cast<std::size_t>(b * steps)]);
  BOOST_TEST(sample_ids == expected_sample_ids, boost::test_tools::per_element());
  // expected_step_finished = (expected_sample_ids == end_token): a row that
  // sampled the end token has length 1.
  for (std::int64_t b = 0; b < batch_size; ++b)
    if (expected_sample_ids[static_cast<std::size_t>(b)] == end_token)
      BOOST_TEST(two.lengths.data<std::int32_t>()[static_cast<std::size_t>(b)] == 1);
  // expected_step_next_inputs = embeddings[expected_sample_ids]: step 2 ran the
  // cell on them (there is a step 2 unless every row sampled the end token).
  if (std::any_of(expected_sample_ids.begin(), expected_sample_ids.end(),
                  [&](std::int32_t id) { return id != end_token; }))
    BOOST_TEST(steps == 2);
  if (steps == 2) {
    const Tensor next_inputs =
        embedding_lookup(embeddings, Tensor(Shape{batch_size}, expected_sample_ids));
    const Tensor h2 = cell(next_inputs, h1).output;
    const Tensor step1 = at_time(two.rnn_output, 1);
    for (std::int64_t b = 0; b < batch_size; ++b) {
      if (expected_sample_ids[static_cast<std::size_t>(b)] == end_token) continue;
      BOOST_TEST(all_close(slice(step1, {b, 0}, {1, -1}), slice(h2, {b, 0}, {1, -1})));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(GatherTreeTest)

BOOST_AUTO_TEST_CASE(testGatherTreeOne) {
  // (max_time = 4, batch_size = 1, beams = 3)
  const std::int32_t end_token = 10;
  const Tensor step_ids = ints({1, 4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1});
  const Tensor parent_ids = ints({1, 4, 3}, {0, 0, 0, 0, 1, 1, 2, 1, 2, -1, -1, -1});
  const Tensor max_sequence_lengths = ints({1}, {3});
  const std::vector<std::int32_t> expected_result{2, 2, 2, 6, 5, 6, 7, 8, 9, 10, 10, 10};
  const Tensor beams = gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token);
  BOOST_TEST(beams.shape() == (Shape{1, 4, 3}));
  BOOST_TEST(values_of(beams) == expected_result, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(testBadParentValuesOnCPU) {
  // (batch_size = 1, max_time = 4, beams = 3)
  // bad parent in beam 1 time 1
  const std::int32_t end_token = 10;
  const Tensor step_ids = ints({1, 4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1});
  const Tensor parent_ids = ints({1, 4, 3}, {0, 0, 0, 0, -1, 1, 2, 1, 2, -1, -1, -1});
  const Tensor max_sequence_lengths = ints({1}, {3});
  try {
    (void)gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token);
    BOOST_FAIL("expected InvalidArgumentError");
  } catch (const InvalidArgumentError& e) {
    // TF: r"parent id -1 at \(batch, time, beam\) == \(0, 0, 1\)"
    BOOST_TEST(std::string(e.what()).find("parent id -1 at (batch, time, beam) == (0, 0, 1)") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_CASE(testGatherTreeBatch) {
  const std::int64_t batch_size = 10, beam_width = 15, max_time = 8;
  const std::vector<std::int32_t> max_sequence_lengths{0, 1, 2, 4, 7, 8, 9, 10, 11, 0};
  const std::int32_t end_token = 5;
  // np.random.randint(0, high=end_token + 1) and (0, high=beam_width - 1); batch major here.
  Rng rng(23489);
  std::vector<std::int32_t> step_ids(static_cast<std::size_t>(batch_size * max_time * beam_width));
  std::vector<std::int32_t> parent_ids(step_ids.size());
  for (auto& v : step_ids) v = static_cast<std::int32_t>(rng.next_u64() % (end_token + 1));
  for (auto& v : parent_ids) v = static_cast<std::int32_t>(rng.next_u64() % (beam_width - 1));
  const Shape shape{batch_size, max_time, beam_width};
  const Tensor beams = gather_tree(Tensor(shape, step_ids), Tensor(shape, parent_ids),
                                   Tensor(Shape{batch_size}, max_sequence_lengths), end_token);
  BOOST_TEST(beams.shape() == shape);
  const auto value = beams.data<std::int32_t>();
  auto at = [&](std::int64_t b, std::int64_t t, std::int64_t k) {
    return value[static_cast<std::size_t>((b * max_time + t) * beam_width + k)];
  };
  for (std::int64_t b = 0; b < batch_size; ++b) {
    // Past max_sequence_lengths[b], we emit all end tokens.
    for (std::int64_t t = std::min<std::int64_t>(max_sequence_lengths[static_cast<std::size_t>(b)], max_time);
         t < max_time; ++t)
      for (std::int64_t k = 0; k < beam_width; ++k) BOOST_TEST(at(b, t, k) == end_token);
  }
  for (std::int64_t b = 0; b < batch_size; ++b)
    for (std::int64_t k = 0; k < beam_width; ++k) {
      std::vector<std::int32_t> v;
      for (std::int64_t t = 0; t < max_time; ++t) v.push_back(at(b, t, k));
      const auto found = std::find(v.begin(), v.end(), end_token);
      if (found == v.end()) continue;
      BOOST_TEST(std::count(v.begin(), v.end(), -1) == 0);
      // If an end_token is found, everything before it should be a valid id
      // and everything after it should be end_token.
      for (auto it = v.begin(); it != found; ++it) BOOST_TEST(*it >= 0);
      for (auto it = found + 1; it != v.end(); ++it) BOOST_TEST(*it == end_token);
    }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- beam_search_decoder_test.py

namespace {

using varscope::testing::BeamStep;
using varscope::testing::BeamStepState;

// The float32 unit roundoff and gamma_k = k u / (1 - k u) (tests/README.md).
constexpr double kU = 1.0 / 16777216.0;
constexpr double gamma_k(int k) { return k * kU / (1.0 - k * kU); }

// TF's logits_ = np.full([batch_size, beam_width, vocab_size], 0.0001), then the
// entries each test sets (logits_[b, k, v] = ...), converted to float32.
struct Logits {
  std::int64_t B, K, V;
  std::vector<float> values;
  Logits(std::int64_t b, std::int64_t k, std::int64_t v)
      : B(b), K(k), V(v), values(static_cast<std::size_t>(b * k * v), 0.0001f) {}
  float& at(std::int64_t b, std::int64_t k, std::int64_t v) {
    return values[static_cast<std::size_t>((b * K + k) * V + v)];
  }
  [[nodiscard]] float get(std::int64_t b, std::int64_t k, std::int64_t v) const {
    return values[static_cast<std::size_t>((b * K + k) * V + v)];
  }
  [[nodiscard]] Tensor tensor() const { return Tensor(Shape{B, K, V}, values); }
  // log_probs_[b, k, v] = nn_ops.log_softmax(logits)[b, k, v], in double:
  // x - max - log(sum(exp(x - max))).
  [[nodiscard]] double log_softmax(std::int64_t b, std::int64_t k, std::int64_t v) const {
    double m = -std::numeric_limits<double>::infinity();
    for (std::int64_t w = 0; w < V; ++w) m = std::max(m, double(get(b, k, w)));
    double sum = 0.0;
    for (std::int64_t w = 0; w < V; ++w) sum += std::exp(double(get(b, k, w)) - m);
    return double(get(b, k, v)) - m - std::log(sum);
  }
  // |float32 result - exact| for base + log_softmax(x)[v], as varscope (and TF)
  // compute it: d = x_v - m, l = log(sum_w exp(x_w - m)), (d - l), base + (d - l).
  // Each of d, the V arguments x_w - m, the V exps (<= 2 ulp each), the V - 1
  // additions, the log (<= 1 ulp), the subtraction and the addition rounds once,
  // at most 4V + 4 relative errors of u on quantities bounded by
  // S = |base| + 2 * max|x| + V (an exponent argument's error u |x_w - m| turns into
  // that relative error of the sum, and log turns the sum's relative error into an
  // absolute one). Bound: gamma_{4V+4} * S.
  [[nodiscard]] double bound(std::int64_t b, std::int64_t k, double base) const {
    double max_abs = 0.0;
    for (std::int64_t w = 0; w < V; ++w) max_abs = std::max(max_abs, std::abs(double(get(b, k, w))));
    return gamma_k(static_cast<int>(4 * V + 4)) * (std::abs(base) + 2.0 * max_abs + double(V));
  }
};

// TF's _length_penalty: ((5 + len) / 6)^alpha, written out (not varscope's length_penalty()).
double tf_length_penalty(double len, double alpha) { return std::pow((5.0 + len) / 6.0, alpha); }

Tensor ints2(std::int64_t rows, std::int64_t cols, std::vector<std::int32_t> v) { return Tensor(Shape{rows, cols}, v); }
Tensor floats2(std::int64_t rows, std::int64_t cols, std::vector<float> v) { return Tensor(Shape{rows, cols}, v); }

float fat(const Tensor& t, std::int64_t b, std::int64_t k) {
  return t.data<float>()[static_cast<std::size_t>(b * t.shape()[1] + k)];
}
std::int32_t iat(const Tensor& t, std::int64_t b, std::int64_t k) {
  return t.data<std::int32_t>()[static_cast<std::size_t>(b * t.shape()[1] + k)];
}

// TF's log_softmax(ones([batch_size, beam_width])): -log(beam_width) in every entry.
Tensor uniform_log_probs(std::int64_t batch_size, std::int64_t beam_width) {
  return Tensor(Shape{batch_size, beam_width},
                std::vector<float>(static_cast<std::size_t>(batch_size * beam_width),
                                   static_cast<float>(-std::log(double(beam_width)))));
}

// One expected next log_prob: state log_probs[b][parent] + log_probs_[b, parent, word]
// (TF's expected_log_probs[b][j] += log_probs_[b, parent, word]), within the bound.
void check_log_prob(const BeamStep& step, const BeamStepState& state, const Logits& logits, std::int64_t b,
                    std::int64_t j, std::int64_t parent, std::int64_t word) {
  const double base = fat(state.log_probs, b, parent);
  const double expected = base + logits.log_softmax(b, parent, word);
  const double got = fat(step.next_state.log_probs, b, j);
  BOOST_TEST(std::abs(got - expected) <= logits.bound(b, parent, base),
             "log_probs[" << b << "][" << j << "] = " << got << ", expected " << expected);
}

}  // namespace

namespace {

// TF's beam_search_decoder.gather_tree_from_array(t, parent_ids, sequence_length) (the
// Python wrapper TF's decoder uses to reorder per-beam arrays, e.g. attention history),
// line for line over varscope's gather_tree, batch major ([B, T, K] where TF is time
// major): gather_tree over beam ids (step_ids[b, t, k] = k, end_token = beam_width + 1,
// max_sequence_lengths = max over beams of sequence_length), beam k's own steps past
// sequence_length[b][k] keep beam k (sequence_mask / where), then
// out[b, t, k] = t[b, t, sorted_beam_ids[b, t, k]] (gather_nd).
std::vector<std::int32_t> gather_tree_from_array(const std::vector<std::int32_t>& array, const Tensor& parent_ids,
                                                 const std::vector<std::vector<std::int32_t>>& sequence_length) {
  const std::int64_t B = parent_ids.shape()[0], T = parent_ids.shape()[1], K = parent_ids.shape()[2];
  std::vector<std::int32_t> beam_ids(static_cast<std::size_t>(B * T * K));
  for (std::size_t i = 0; i < beam_ids.size(); ++i) beam_ids[i] = static_cast<std::int32_t>(i % K);
  std::vector<std::int32_t> max_sequence_lengths;
  for (const auto& lengths : sequence_length) max_sequence_lengths.push_back(*std::max_element(lengths.begin(), lengths.end()));
  const Tensor sorted_beam_ids =
      gather_tree(Tensor(Shape{B, T, K}, beam_ids), parent_ids, Tensor(Shape{B}, max_sequence_lengths),
                  static_cast<std::int32_t>(K + 1));
  std::vector<std::int32_t> ordered(array.size());
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t k = 0; k < K; ++k) {
        const auto i = static_cast<std::size_t>((b * T + t) * K + k);
        const bool in_bound = t < sequence_length[static_cast<std::size_t>(b)][static_cast<std::size_t>(k)];
        const std::int32_t beam = in_bound ? sorted_beam_ids.data<std::int32_t>()[i] : static_cast<std::int32_t>(k);
        ordered[i] = array[static_cast<std::size_t>((b * T + t) * K + beam)];
      }
  return ordered;
}

}  // namespace

// class TestGatherTree: "Tests the gather_tree function."
BOOST_AUTO_TEST_SUITE(TestGatherTree)

BOOST_AUTO_TEST_CASE(test_gather_tree) {
  // (max_time = 3, batch_size = 2, beam_width = 3)
  // TF creates (batch_size, max_time, beam_width) arrays and transposes them to
  // time major; varscope's gather_tree is batch major: the arrays as TF writes them.
  const Tensor predicted_ids =
      ints({2, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, /**/ 2, 3, 4, 5, 6, 7, 8, 9, 10});
  const Tensor parent_ids = ints({2, 3, 3}, {0, 0, 0, 0, 1, 1, 2, 1, 2, /**/ 0, 0, 0, 1, 2, 0, 2, 1, 1});
  // sequence_lengths is shaped (batch_size = 3)
  const Tensor max_sequence_lengths = ints({2}, {3, 3});
  const std::vector<std::int32_t> expected_result{2, 2, 2, 6, 5, 6, 7, 8, 9, /**/ 2, 4, 4, 7, 6, 6, 8, 9, 10};
  const Tensor res = gather_tree(predicted_ids, parent_ids, max_sequence_lengths, /*end_token=*/11);
  BOOST_TEST(res.shape() == (Shape{2, 3, 3}));
  BOOST_TEST(values_of(res) == expected_result, boost::test_tools::per_element());
}

// _test_gather_tree_from_array(depth_ndims=0, merged_batch_beam=False). TF's arrays
// are written (batch, time, beam) and transposed to time major: used as written.
// Batch 0's parents at time 3 are -1: past its longest beam (3), never read.
BOOST_AUTO_TEST_CASE(test_gather_tree_from_array_scalar) {
  const std::vector<std::int32_t> array{1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0,  //
                                        2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0};
  const Tensor parent_ids = ints({2, 4, 3}, {0, 0, 0, 0, 1, 1, 2, 1, 2, -1, -1, -1,  //
                                             0, 0, 0, 1, 1, 0, 2, 0, 1, 0, 1, 0});
  const std::vector<std::int32_t> expected_array{2, 2, 2, 6, 5, 6, 7, 8, 9, 0, 0, 0,  //
                                                 2, 3, 2, 7, 5, 7, 8, 9, 8, 11, 12, 0};
  const std::vector<std::vector<std::int32_t>> sequence_length{{3, 3, 3}, {4, 4, 3}};
  BOOST_TEST(gather_tree_from_array(array, parent_ids, sequence_length) == expected_array,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(test_gather_tree_from_array_complex_trajectory) {
  // Max. time = 7, batch = 1, beam = 5. TF's arrays are [time][batch = 1][beam]: with one
  // batch row that is also the batch-major layout.
  const std::vector<std::int32_t> array{25, 12, 114, 89, 97,  //
                                        9,  91, 64,  11, 162,  //
                                        34, 34, 34,  34, 34,  //
                                        2,  4,  2,   2,  4,  //
                                        2,  3,  6,   2,  2,  //
                                        2,  2,  2,   3,  2,  //
                                        2,  2,  2,   2,  2};
  const Tensor parent_ids = ints({1, 7, 5}, {0, 0, 0, 0, 0,  //
                                             0, 0, 0, 0, 0,  //
                                             0, 1, 2, 3, 4,  //
                                             0, 0, 1, 2, 1,  //
                                             0, 1, 1, 2, 3,  //
                                             0, 1, 3, 1, 2,  //
                                             0, 1, 2, 3, 4});
  const std::vector<std::int32_t> expected_array{25, 25, 25, 25, 25,  //
                                                 9,  9,  91, 9,  9,  //
                                                 34, 34, 34, 34, 34,  //
                                                 2,  4,  2,  4,  4,  //
                                                 2,  3,  6,  3,  6,  //
                                                 2,  2,  2,  3,  2,  //
                                                 2,  2,  2,  2,  2};
  const std::vector<std::vector<std::int32_t>> sequence_length{{4, 6, 4, 7, 6}};
  BOOST_TEST(gather_tree_from_array(array, parent_ids, sequence_length) == expected_array,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// class TestBeamStep: "Tests a single step of beam search."
// setUp: batch_size = 2, beam_width = 3, vocab_size = 5, end_token = 0,
// length_penalty_weight = 0.6 (coverage_penalty_weight = 0.0: varscope has none).
BOOST_AUTO_TEST_SUITE(TestBeamStep)

constexpr std::int64_t kBatch = 2, kBeam = 3, kVocab = 5;
constexpr std::int32_t kEnd = 0;
constexpr float kAlpha = 0.6f;
const BeamSearchOptions kOptions{.beam_width = kBeam, .length_penalty_weight = kAlpha};

BOOST_AUTO_TEST_CASE(test_step) {
  // dummy_cell_state = zeros([batch_size, beam_width]): its values do not matter to
  // TF. Here each beam's state is its own index, so the gather by parent is visible
  // (an addition to TF's asserts, below).
  std::vector<float> cell(static_cast<std::size_t>(kBatch * kBeam));
  for (std::size_t i = 0; i < cell.size(); ++i) cell[i] = static_cast<float>(i);
  const Tensor dummy_cell_state(Shape{kBatch * kBeam, 1}, cell);
  const BeamStepState beam_state{.cell_state = dummy_cell_state,
                                 .log_probs = uniform_log_probs(kBatch, kBeam),
                                 .finished = ints2(kBatch, kBeam, {0, 0, 0, 0, 0, 0}),
                                 .lengths = ints2(kBatch, kBeam, {2, 2, 2, 2, 2, 2})};
  Logits logits_(kBatch, kBeam, kVocab);
  logits_.at(0, 0, 2) = 1.9f;
  logits_.at(0, 0, 3) = 2.1f;
  logits_.at(0, 1, 3) = 3.1f;
  logits_.at(0, 1, 4) = 0.9f;
  logits_.at(1, 0, 1) = 0.5f;
  logits_.at(1, 1, 2) = 2.7f;
  logits_.at(1, 2, 2) = 10.0f;
  logits_.at(1, 2, 3) = 0.2f;

  const BeamStep step =
      varscope::testing::beam_search_step(logits_.tensor(), dummy_cell_state, beam_state, kEnd, kOptions);
  const auto& outputs_ = step.output;
  const auto& next_state_ = step.next_state;

  BOOST_TEST(values_of(outputs_.predicted_ids) == (std::vector<std::int32_t>{3, 3, 2, 2, 2, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(values_of(outputs_.parent_ids) == (std::vector<std::int32_t>{1, 0, 0, 2, 1, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(values_of(next_state_.lengths) == (std::vector<std::int32_t>{3, 3, 3, 3, 3, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(values_of(next_state_.finished) == (std::vector<std::int32_t>{0, 0, 0, 0, 0, 0}),
             boost::test_tools::per_element());

  // expected_log_probs: state_.log_probs[0][[1, 0, 0]], state_.log_probs[1][[2, 1, 0]]  (0 --> 1)
  check_log_prob(step, beam_state, logits_, 0, 0, 1, 3);  // += log_probs_[0, 1, 3]
  check_log_prob(step, beam_state, logits_, 0, 1, 0, 3);  // += log_probs_[0, 0, 3]
  check_log_prob(step, beam_state, logits_, 0, 2, 0, 2);  // += log_probs_[0, 0, 2]
  check_log_prob(step, beam_state, logits_, 1, 0, 2, 2);  // += log_probs_[1, 2, 2]
  check_log_prob(step, beam_state, logits_, 1, 1, 1, 2);  // += log_probs_[1, 1, 2]
  check_log_prob(step, beam_state, logits_, 1, 2, 0, 1);  // += log_probs_[1, 0, 1]

  // Not asserted by TF's test: outputs.scores = next log_probs / lp(3) (no end token
  // chosen: every length grows to 3), and next_cell_state gathered by parent_ids.
  const double lp3 = tf_length_penalty(3, kAlpha);
  for (std::int64_t b = 0; b < kBatch; ++b)
    for (std::int64_t j = 0; j < kBeam; ++j) {
      const double expected = fat(next_state_.log_probs, b, j) / lp3;
      BOOST_TEST(std::abs(fat(outputs_.scores, b, j) - expected) <= 1e-5 * std::abs(expected),
                 "scores[" << b << "][" << j << "]");
      BOOST_TEST(next_state_.cell_state.data<float>()[static_cast<std::size_t>(b * kBeam + j)] ==
                 static_cast<float>(b * kBeam + iat(outputs_.parent_ids, b, j)));
    }
}

BOOST_AUTO_TEST_CASE(test_step_with_eos) {
  const Tensor dummy_cell_state = zeros({kBatch * kBeam, 1});
  const BeamStepState beam_state{.cell_state = dummy_cell_state,
                                 .log_probs = uniform_log_probs(kBatch, kBeam),
                                 .finished = ints2(kBatch, kBeam, {0, 1, 0, 0, 0, 1}),
                                 .lengths = ints2(kBatch, kBeam, {2, 1, 2, 2, 2, 1})};
  Logits logits_(kBatch, kBeam, kVocab);
  logits_.at(0, 0, 2) = 1.9f;
  logits_.at(0, 0, 3) = 2.1f;
  logits_.at(0, 1, 3) = 3.1f;
  logits_.at(0, 1, 4) = 0.9f;
  logits_.at(1, 0, 1) = 0.5f;
  logits_.at(1, 1, 2) = 5.7f;  // why does this not work when it's 2.7?
  logits_.at(1, 2, 2) = 1.0f;
  logits_.at(1, 2, 3) = 0.2f;

  const BeamStep step =
      varscope::testing::beam_search_step(logits_.tensor(), dummy_cell_state, beam_state, kEnd, kOptions);
  const auto& outputs_ = step.output;
  const auto& next_state_ = step.next_state;

  BOOST_TEST(values_of(outputs_.parent_ids) == (std::vector<std::int32_t>{1, 0, 0, 1, 2, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(values_of(outputs_.predicted_ids) == (std::vector<std::int32_t>{0, 3, 2, 2, 0, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(values_of(next_state_.lengths) == (std::vector<std::int32_t>{1, 3, 3, 3, 1, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(values_of(next_state_.finished) == (std::vector<std::int32_t>{1, 0, 0, 0, 1, 0}),
             boost::test_tools::per_element());

  // expected_log_probs: state_.log_probs[0][[1, 0, 0]], state_.log_probs[1][[1, 2, 0]];
  // the finished beams' entries ([0][0] from beam 1, [1][1] from beam 2) stay as they
  // were (TF's _mask_probs gives end_token log-prob 0 there): exactly.
  BOOST_TEST(fat(next_state_.log_probs, 0, 0) == fat(beam_state.log_probs, 0, 1));
  check_log_prob(step, beam_state, logits_, 0, 1, 0, 3);  // += log_probs_[0, 0, 3]
  check_log_prob(step, beam_state, logits_, 0, 2, 0, 2);  // += log_probs_[0, 0, 2]
  check_log_prob(step, beam_state, logits_, 1, 0, 1, 2);  // += log_probs_[1, 1, 2]
  BOOST_TEST(fat(next_state_.log_probs, 1, 1) == fat(beam_state.log_probs, 1, 2));
  check_log_prob(step, beam_state, logits_, 1, 2, 0, 1);  // += log_probs_[1, 0, 1]

  // Not asserted by TF's test: a finished beam's end token is scored with its
  // unchanged length (TF's lengths_to_add is 0 there): log_prob / lp(1) = log_prob.
  BOOST_TEST(fat(outputs_.scores, 0, 0) == fat(beam_state.log_probs, 0, 1));
  BOOST_TEST(fat(outputs_.scores, 1, 1) == fat(beam_state.log_probs, 1, 2));
}

BOOST_AUTO_TEST_SUITE_END()

// class TestLargeBeamStep: "Tests a single step of beam search in such case that
// beam size is larger than vocabulary size." batch_size = 2, beam_width = 8,
// vocab_size = 5, end_token = 0, length_penalty_weight = 0.6.
BOOST_AUTO_TEST_SUITE(TestLargeBeamStep)

BOOST_AUTO_TEST_CASE(test_step) {
  constexpr std::int64_t batch_size = 2, beam_width = 8, vocab_size = 5;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  // get_probs(): "this simulates the initialize method in BeamSearchDecoder":
  // 0 for beam 0, -inf for the others; _finished: all but beam 0; _lengths: 2 for
  // beam 0, 0 for the others.
  std::vector<float> log_probs(batch_size * beam_width, neg_inf);
  std::vector<std::int32_t> finished(batch_size * beam_width, 1), lengths(batch_size * beam_width, 0);
  for (std::int64_t b = 0; b < batch_size; ++b) {
    log_probs[static_cast<std::size_t>(b * beam_width)] = 0.0f;
    finished[static_cast<std::size_t>(b * beam_width)] = 0;
    lengths[static_cast<std::size_t>(b * beam_width)] = 2;
  }
  const Tensor dummy_cell_state = zeros({batch_size * beam_width, 1});
  const BeamStepState beam_state{.cell_state = dummy_cell_state,
                                 .log_probs = floats2(batch_size, beam_width, log_probs),
                                 .finished = ints2(batch_size, beam_width, finished),
                                 .lengths = ints2(batch_size, beam_width, lengths)};
  Logits logits_(batch_size, beam_width, vocab_size);
  logits_.at(0, 0, 2) = 1.9f;
  logits_.at(0, 0, 3) = 2.1f;
  logits_.at(0, 1, 3) = 3.1f;
  logits_.at(0, 1, 4) = 0.9f;
  logits_.at(1, 0, 1) = 0.5f;
  logits_.at(1, 1, 2) = 2.7f;
  logits_.at(1, 2, 2) = 10.0f;
  logits_.at(1, 2, 3) = 0.2f;

  const BeamStep step = varscope::testing::beam_search_step(
      logits_.tensor(), dummy_cell_state, beam_state, /*end_token=*/0,
      {.beam_width = beam_width, .length_penalty_weight = 0.6f});
  const auto& outputs_ = step.output;
  const auto& next_state_ = step.next_state;

  BOOST_TEST(iat(outputs_.predicted_ids, 0, 0) == 3);
  BOOST_TEST(iat(outputs_.predicted_ids, 0, 1) == 2);
  BOOST_TEST(iat(outputs_.predicted_ids, 1, 0) == 1);
  for (std::int64_t b = 0; b < batch_size; ++b) {
    for (std::int64_t k = beam_width - 3; k < beam_width; ++k) {
      BOOST_TEST(fat(next_state_.log_probs, b, k) == neg_inf);  // log_probs[:, -3:] == -inf
      BOOST_TEST(iat(next_state_.lengths, b, k) == 0);          // lengths[:, -3:] == 0
    }
    for (std::int64_t k = 0; k < beam_width - 3; ++k) {
      BOOST_TEST(fat(next_state_.log_probs, b, k) > neg_inf);  // (log_probs[:, :-3] > -inf).all()
      BOOST_TEST(iat(next_state_.lengths, b, k) > 0);          // (lengths[:, :-3] > 0).all()
    }
    // Not asserted by TF's test: the last 3 beams are the -inf candidates of lowest
    // index (nn_ops.top_k puts equal values lower index first): beam 1's tokens 0, 1, 2.
    for (std::int64_t k = beam_width - 3; k < beam_width; ++k) {
      BOOST_TEST(iat(outputs_.parent_ids, b, k) == 1);
      BOOST_TEST(iat(outputs_.predicted_ids, b, k) == k - (beam_width - 3));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// class BeamSearchDecoderTest: _testDynamicDecodeRNN(time_major=False,
// has_attention=False), a smoke test of shapes. TF's LSTMCell(cell_depth) is a
// GRUCell here; `cell.zero_state(batch_size * beam_width)` as TF's initial state.
BOOST_FIXTURE_TEST_SUITE(BeamSearchDecoderTest, FreshGraph)

BOOST_AUTO_TEST_CASE(testDynamicDecodeRNNBatchMajorNoAttention) {
  const std::vector<std::int32_t> decoder_sequence_length{2, 0, 1, 2, 3};
  const std::int64_t batch_size = 5, cell_depth = 9, vocab_size = 20, embedding_dim = 50, beam_width = 3;
  const std::int32_t end_token = vocab_size - 1, start_token = 0;
  const std::int64_t max_out = *std::max_element(decoder_sequence_length.begin(), decoder_sequence_length.end());
  Dense output_layer(vocab_size, {.use_bias = true});
  const Tensor embedding = random_normal({vocab_size, embedding_dim}, 0.f, 1.f, 13);
  GRUCell cell(cell_depth);
  const Tensor cell_state = cell.zero_state(batch_size * beam_width);
  BeamSearchDecoder bsd(cell, embedding, Tensor(Shape{batch_size}, std::vector<std::int32_t>(batch_size, start_token)),
                        end_token, cell_state, beam_width, output_layer, /*length_penalty_weight=*/0.0f);
  const BeamSearchResult final_outputs = dynamic_decode(bsd, {.maximum_iterations = max_out});
  const auto lengths = final_outputs.lengths.data<std::int32_t>();
  BOOST_TEST(final_outputs.lengths.shape() == (Shape{batch_size, beam_width}));  // final_sequence_lengths
  const std::int64_t max_sequence_length = *std::max_element(lengths.begin(), lengths.end());
  // A smoke test
  BOOST_TEST(final_outputs.scores.shape() == (Shape{batch_size, max_sequence_length, beam_width}));
  BOOST_TEST(final_outputs.predicted_ids.shape() == (Shape{batch_size, max_sequence_length, beam_width}));
  BOOST_TEST(max_sequence_length <= max_out);
}

BOOST_AUTO_TEST_SUITE_END()

// Not TF test cases: TF 1.15's rule for the other tokens of a finished beam, read from
// tensorflow/contrib/seq2seq/python/ops/beam_search_decoder.py and worked out by hand.
// _mask_probs replaces a finished beam's step log-probs by 0 for end_token and by
// `probs.dtype.min` (float32 lowest, -3.4028235e38: finite, not -inf) for every other
// token; total_probs = log_probs + that; those lengths do not grow
// (lengths_to_add is 0 for finished beams); scores = total_probs / lp(length). So when
// fewer than beam_width candidates are finite (beam_width > vocab_size, TF's
// TestLargeBeamStep case), top_k takes a finished beam's other tokens before any -inf
// candidate, ranked by lowest / lp(length), and the new beam carries log_prob + lowest.
BOOST_AUTO_TEST_SUITE(TfBeamStepRules)

constexpr float kLowest = std::numeric_limits<float>::lowest();

// A state the decoder reaches (beam_width 4 > vocab 2, one beam finished at step 1):
// beam 0 finished (log_prob -1.5, length 2), beam 1 live (-2.0, length 2, logits
// [0.3, -0.2]), beams 2, 3 never live (-inf, finished, length 0); end_token 0.
// TF: candidates (index k * V + v) 0: end of beam 0, -1.5 / lp(2); 1: beam 0's other
// token, (-1.5 + lowest) / lp(2) = lowest / lp(2); 2: -2 + log_softmax[0] over lp(2);
// 3: -2 + log_softmax[1] over lp(3); 4..7: -inf. top_k: 0, 2, 3, 1.
BOOST_AUTO_TEST_CASE(finished_beam_other_tokens_are_lowest_not_minus_infinity) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const BeamStepState state{.cell_state = zeros({4, 1}),
                            .log_probs = floats2(1, 4, {-1.5f, -2.0f, neg_inf, neg_inf}),
                            .finished = ints2(1, 4, {1, 0, 1, 1}),
                            .lengths = ints2(1, 4, {2, 2, 0, 0})};
  Logits logits(1, 4, 2);
  logits.at(0, 1, 0) = 0.3f;
  logits.at(0, 1, 1) = -0.2f;
  const BeamStep step = varscope::testing::beam_search_step(logits.tensor(), zeros({4, 1}), state, 0,
                                                            {.beam_width = 4, .length_penalty_weight = 0.6f});
  BOOST_TEST(values_of(step.output.parent_ids) == (std::vector<std::int32_t>{0, 1, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(values_of(step.output.predicted_ids) == (std::vector<std::int32_t>{0, 0, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(values_of(step.next_state.finished) == (std::vector<std::int32_t>{1, 1, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(values_of(step.next_state.lengths) == (std::vector<std::int32_t>{2, 3, 3, 2}), boost::test_tools::per_element());
  BOOST_TEST(fat(step.next_state.log_probs, 0, 0) == -1.5f);
  check_log_prob(step, state, logits, 0, 1, 1, 0);
  check_log_prob(step, state, logits, 0, 2, 1, 1);
  // float32(-1.5 + lowest) == lowest: the copy of beam 0 carries TF's masked total.
  BOOST_TEST(fat(step.next_state.log_probs, 0, 3) == kLowest);
  const double lp2 = tf_length_penalty(2, 0.6), lp3 = tf_length_penalty(3, 0.6);
  const double expected_scores[] = {-1.5 / lp2, (-2.0 + logits.log_softmax(0, 1, 0)) / lp2,
                                    (-2.0 + logits.log_softmax(0, 1, 1)) / lp3, double(kLowest) / lp2};
  for (std::int64_t j = 0; j < 4; ++j)
    BOOST_TEST(std::abs(fat(step.output.scores, 0, j) - expected_scores[j]) <= 1e-6 * std::abs(expected_scores[j]),
               "scores[0][" << j << "] = " << fat(step.output.scores, 0, j) << ", expected " << expected_scores[j]);
}

// The other tokens of two finished beams compete by lowest / lp(length): the longer
// beam's (larger lp) are less negative and come first. Beams 0 (-1.5, length 2) and
// 1 (-2.0, length 3) finished, beam 2 never live; end_token 0, vocab 2, alpha 0.6.
// Candidates 0: -1.5 / lp(2); 1: lowest / lp(2); 2: -2 / lp(3); 3: lowest / lp(3);
// 4, 5: -inf. top_k: 0, 2, 3.
BOOST_AUTO_TEST_CASE(finished_beams_other_tokens_rank_by_their_length_penalty) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const BeamStepState state{.cell_state = zeros({3, 1}),
                            .log_probs = floats2(1, 3, {-1.5f, -2.0f, neg_inf}),
                            .finished = ints2(1, 3, {1, 1, 1}),
                            .lengths = ints2(1, 3, {2, 3, 0})};
  const BeamStep step = varscope::testing::beam_search_step(Logits(1, 3, 2).tensor(), zeros({3, 1}), state, 0,
                                                            {.beam_width = 3, .length_penalty_weight = 0.6f});
  BOOST_TEST(values_of(step.output.parent_ids) == (std::vector<std::int32_t>{0, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(values_of(step.output.predicted_ids) == (std::vector<std::int32_t>{0, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(values_of(step.next_state.lengths) == (std::vector<std::int32_t>{2, 3, 3}), boost::test_tools::per_element());
  BOOST_TEST(values_of(step.next_state.finished) == (std::vector<std::int32_t>{1, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(fat(step.next_state.log_probs, 0, 0) == -1.5f);
  BOOST_TEST(fat(step.next_state.log_probs, 0, 1) == -2.0f);
  BOOST_TEST(fat(step.next_state.log_probs, 0, 2) == kLowest);
}

// Through dynamic_decode: with beam_width 8 over a vocabulary of 3, slots are filled by
// finished beams' other tokens. TF gives those copies log_prob + lowest, so the
// hypotheses that look real (score and log_prob above -1e30) are distinct token
// sequences; a copy carrying its parent's log_prob would show up as a duplicate.
BOOST_AUTO_TEST_CASE(copies_of_finished_beams_never_pass_for_real_hypotheses) {
  FreshGraph fresh;
  constexpr std::int64_t V = 3, D = 3, H = 5, K = 8, B = 2;
  constexpr std::int32_t end_token = 1;
  const Tensor embedding = random_normal({V, D}, 0.0f, 1.5f, 5);
  GRUCell cell(H);
  Dense out(V, {.kernel_initializer = random_normal_initializer(0.0f, 2.0f, 9)});
  BeamSearchDecoder decoder(cell, embedding, ints({B}, {0, 0}), end_token, tile_batch(random_normal({B, H}, 0.f, 1.f, 3), K),
                            {.beam_width = K, .length_penalty_weight = 0.6f}, out);
  const BeamSearchResult r = dynamic_decode(decoder, {.maximum_iterations = 6});
  int real = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<std::int32_t>> seen;
    for (const Hypothesis& h : r.hypotheses[static_cast<std::size_t>(b)]) {
      BOOST_TEST(((h.score > -1e30f) == (h.log_prob > -1e30f)), "score " << h.score << " log_prob " << h.log_prob);
      if (h.score <= -1e30f) continue;
      ++real;
      BOOST_TEST(std::count(seen.begin(), seen.end(), h.ids) == 0, "batch " << b << ": a duplicate hypothesis");
      seen.push_back(h.ids);
    }
  }
  BOOST_TEST(real > 0);
}

BOOST_AUTO_TEST_SUITE_END()
