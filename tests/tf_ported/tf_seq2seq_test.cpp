// Port of TensorFlow 1.15's
// tensorflow/contrib/seq2seq/python/kernel_tests/beam_search_ops_test.py
// (GatherTreeTest). TF writes its literal arrays batch major and transposes
// them to time major (_transpose_batch_time); varscope's gather_tree is batch
// major, so the literals are used exactly as TF writes them.
#define BOOST_TEST_MODULE tf_seq2seq
#include "support/boost_test.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

import varscope;

using namespace varscope;

namespace {

Tensor ints(const Shape& shape, std::vector<std::int32_t> values) { return Tensor(shape, values); }

std::vector<std::int32_t> values_of(const Tensor& t) {
  const auto d = t.data<std::int32_t>();
  return {d.begin(), d.end()};
}

}  // namespace

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
