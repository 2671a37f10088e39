// Ports of TensorFlow 1.15's contrib/seq2seq kernel tests:
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
#include <string>
#include <vector>

import varscope;
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
  BOOST_TEST(step.final_state.shape() == (Shape{batch_size, cell_depth}));
  if (use_output_layer) {
    // The output layer was accessed
    BOOST_TEST(output_layer.scope().global_variables().size() == 1u);
  }
  const Tensor rnn_output = reshape(step.rnn_output, Shape{batch_size, expected_output_depth});
  BOOST_TEST(values_of(argmax(rnn_output, -1)) == values_of(reshape(step.sample_id, Shape{batch_size})),
             boost::test_tools::per_element());
  // What the step computed: the cell on inputs[:, 0] from the zero state, then the layer.
  Tensor expected = cell(at_time(inputs, 0), cell.zero_state(batch_size));
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
  const Tensor h1 = cell(embedding_lookup(embeddings, start_tokens), cell.zero_state(batch_size));
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
    const Tensor h2 = cell(next_inputs, h1);
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
