// DropoutWrapper (modules/wrappers.cppm) against TF's DropoutWrapperTest literals
// (rnn_cell_test.py @v1.15, ../shared/SPEC-cells-state.md §6b) and against oracles that
// need no trust in the wrapper: the bare cell's values (output dropout can only zero or
// scale them by 1/keep; an LSTM's c is never dropped), and, for input dropout, a brute force
// over every mask of a 3-wide input. Gradients are in grad_test (suite dropout).
#define BOOST_TEST_MODULE dropout
#include "support/boost_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

import varscope;
#include "support/compare.hpp"

using namespace varscope;

namespace {

struct Fresh {
  Graph graph{3};
  DefaultGraphGuard use{graph};
};

float at(const Tensor& t, std::int64_t i) { return t.data<float>()[static_cast<std::size_t>(i)]; }

// TF's fixture: dynamic_rnn(DropoutWrapper(LSTMCell(3, initializer=constant 0.5), **kw)),
// x [[2,2,2]] then [[1,1,1]] (T = 2, B = 1), state LSTMStateTuple(0.1, 0.1).
RNNResult tf_fixture(const DropoutWrapperOptions& opts) {
  LSTMCell cell(3, {.initializer = constant_initializer(0.5)});
  DropoutWrapper wrapper(cell, opts);
  const Tensor x(Shape{1, 2, 3}, std::vector<float>{2, 2, 2, 1, 1, 1});
  return dynamic_rnn(wrapper, x, {.initial_state = LSTMStateTuple{fill({1, 3}, 0.1f), fill({1, 3}, 0.1f)}});
}

constexpr float kTrueOutput0 = 0.751109f, kTrueOutput1 = 0.895509f, kTrueFinalC = 1.949385f;

Tensor random_input(const Shape& s, std::uint64_t seed) { return random_normal(s, 0.0f, 1.0f, seed); }

}  // namespace

BOOST_AUTO_TEST_SUITE(DropoutWrapperTest)

// testDropoutWrapperKeepAllConstantInput / testDropoutWrapperKeepAll: every keep 1 builds
// no dropout: TF's literals, bit for bit the bare cell, and the bare cell's names (the
// wrapper adds no scope level).
BOOST_AUTO_TEST_CASE(testDropoutWrapperKeepAll) {
  Fresh g;
  const auto r = tf_fixture({});
  const LSTMStateTuple s = LSTMStateTuple::from(r.final_state);
  for (std::int64_t j = 0; j < 3; ++j) {
    BOOST_TEST(std::abs(at(r.outputs, j) - kTrueOutput0) <= 1e-5f);
    BOOST_TEST(std::abs(at(r.outputs, 3 + j) - kTrueOutput1) <= 1e-5f);
    BOOST_TEST(std::abs(at(s.c, j) - kTrueFinalC) <= 1e-5f);
    BOOST_TEST(at(s.h, j) == at(r.outputs, 3 + j));
  }
  std::vector<std::string> names;
  for (const auto& v : global_variables()) names.push_back(v.op_name());
  BOOST_TEST(names == (std::vector<std::string>{"rnn/lstm_cell/kernel", "rnn/lstm_cell/bias"}),
             boost::test_tools::per_element());

  Fresh h;
  LSTMCell cell(3, {.initializer = constant_initializer(0.5)});
  const Tensor x(Shape{1, 2, 3}, std::vector<float>{2, 2, 2, 1, 1, 1});
  const auto bare = dynamic_rnn(cell, x, {.initial_state = LSTMStateTuple{fill({1, 3}, 0.1f), fill({1, 3}, 0.1f)}});
  BOOST_TEST(max_abs_diff(bare.outputs, r.outputs) == 0.0f);
}

// testDropoutWrapperKeepNoOutput: output keep 1e-6 zeroes the outputs; the state is whole.
BOOST_AUTO_TEST_CASE(testDropoutWrapperKeepNoOutput) {
  Fresh g;
  const auto r = tf_fixture({.output_keep_prob = 1e-6f, .seed = 1});
  const LSTMStateTuple s = LSTMStateTuple::from(r.final_state);
  for (const float v : r.outputs.data<float>()) BOOST_TEST(v == 0.0f);
  for (std::int64_t j = 0; j < 3; ++j) {
    BOOST_TEST(std::abs(at(s.c, j) - kTrueFinalC) <= 1e-5f);
    BOOST_TEST(std::abs(at(s.h, j) - kTrueOutput1) <= 1e-5f);
  }
}

// testDropoutWrapperKeepNoStateExceptLSTMCellMemory: state keep 1e-6 drops h after step 0
// but never c: output[0] is the true one, the final h is 0, the final c is 1.713925.
BOOST_AUTO_TEST_CASE(testDropoutWrapperKeepNoStateExceptLSTMCellMemory) {
  Fresh g;
  const auto r = tf_fixture({.state_keep_prob = 1e-6f, .seed = 1});
  const LSTMStateTuple s = LSTMStateTuple::from(r.final_state);
  for (std::int64_t j = 0; j < 3; ++j) {
    BOOST_TEST(std::abs(at(r.outputs, j) - kTrueOutput0) <= 1e-5f);
    BOOST_TEST(at(s.h, j) == 0.0f);
    BOOST_TEST(std::abs(at(s.c, j) - 1.713925f) <= 1e-5f);
  }
}

// testDropoutWrapperKeepNoInput: with the inputs dropped everything moves by > 1e-4.
BOOST_AUTO_TEST_CASE(testDropoutWrapperKeepNoInput) {
  Fresh g;
  const auto r = tf_fixture({.input_keep_prob = 1e-6f, .seed = 1});
  const LSTMStateTuple s = LSTMStateTuple::from(r.final_state);
  for (std::int64_t j = 0; j < 3; ++j) {
    BOOST_TEST(std::abs(at(r.outputs, j) - kTrueOutput0) > 1e-4f);
    BOOST_TEST(std::abs(at(r.outputs, 3 + j) - kTrueOutput1) > 1e-4f);
    BOOST_TEST(std::abs(at(s.c, j) - kTrueFinalC) > 1e-4f);
  }
}

// testDropoutWrapperWithSeed: the same seed reproduces the masks (in a new graph with the
// same graph seed); another seed gives others.
BOOST_AUTO_TEST_CASE(testDropoutWrapperWithSeed) {
  const auto run = [](std::uint64_t seed) {
    Fresh g;
    LSTMCell cell(8, {.initializer = constant_initializer(0.5)});
    DropoutWrapper w(cell, {.input_keep_prob = 0.5f, .output_keep_prob = 0.5f, .state_keep_prob = 0.5f, .seed = seed});
    return dynamic_rnn(w, fill({4, 5, 6}, 1.0f)).outputs;
  };
  BOOST_TEST(max_abs_diff(run(7), run(7)) == 0.0f);
  BOOST_TEST(max_abs_diff(run(7), run(8)) > 0.1f);
}

// testDropoutWrapperRecurrentOutput / ...StateInputAndOutput: variational masks are the same
// at every time step and for every batch row (constant inputs make every row and step see
// the same values, so only the masks could differ), and a non-variational wrapper's are not.
BOOST_AUTO_TEST_CASE(testDropoutWrapperRecurrentOutput) {
  const auto zero_patterns = [](bool variational) {
    Fresh g;
    LSTMCell cell(16, {.initializer = constant_initializer(0.5)});
    DropoutWrapper w(cell, {.output_keep_prob = 0.5f, .variational_recurrent = variational, .seed = 5});
    const Tensor out = dynamic_rnn(w, fill({3, 4, 2}, 1.0f)).outputs;  // [B, T, 16]
    std::set<std::vector<bool>> patterns;
    for (std::int64_t row = 0; row < 3 * 4; ++row) {
      std::vector<bool> zero;
      for (std::int64_t j = 0; j < 16; ++j) zero.push_back(at(out, row * 16 + j) == 0.0f);
      patterns.insert(zero);
    }
    return patterns;
  };
  const auto variational = zero_patterns(true);
  BOOST_TEST(variational.size() == 1u);
  const std::vector<bool> only = *variational.begin();
  BOOST_TEST(std::count(only.begin(), only.end(), true) > 0);  // something was dropped
  BOOST_TEST(zero_patterns(false).size() > 1u);
}

BOOST_AUTO_TEST_CASE(testDropoutWrapperRecurrentStateInputAndOutput) {
  Fresh g;
  GRUCell cell(12);
  DropoutWrapper w(cell, {.input_keep_prob = 0.5f, .output_keep_prob = 0.5f, .state_keep_prob = 0.5f,
                          .variational_recurrent = true, .seed = 6});
  const Tensor x = fill({4, 6, 5}, 0.3f);  // identical rows: the masks alone could make them differ
  const auto r = dynamic_rnn(w, x);
  for (std::int64_t b = 1; b < 4; ++b)
    for (std::int64_t k = 0; k < 6 * 12; ++k) BOOST_TEST(at(r.outputs, b * 72 + k) == at(r.outputs, k));
  for (std::int64_t b = 1; b < 4; ++b)
    for (std::int64_t j = 0; j < 12; ++j) BOOST_TEST(at(r.final_state, b * 12 + j) == at(r.final_state, j));
}

// testDropoutWrapperProperties / testDropoutWrapperZeroState: sizes and zero_state pass through.
BOOST_AUTO_TEST_CASE(testDropoutWrapperProperties) {
  Fresh g;
  BasicLSTMCell cell(10);
  DropoutWrapper w(cell, {.output_keep_prob = 0.5f});
  BOOST_TEST(w.state_size().structure() == cell.state_size().structure());
  BOOST_TEST(w.output_size() == 10);
  const State z = w.zero_state(3);
  BOOST_TEST((z.kind() == NestKind::lstm_state_tuple));
  BOOST_TEST(max_abs_diff(LSTMStateTuple::from(z).c, zeros({3, 10})) == 0.0f);
}

BOOST_AUTO_TEST_CASE(keep_probability_out_of_range_is_a_typed_error) {
  Fresh g;
  GRUCell cell(2);
  for (const float bad : {0.0f, -0.5f, 1.5f, std::nanf("")}) {
    BOOST_CHECK_EXCEPTION(DropoutWrapper(cell, {.state_keep_prob = bad}), InvalidArgumentError,
                          [](const InvalidArgumentError& e) {
                            const std::string m = e.what();
                            return m.find("state_keep_prob must be in (0, 1]") != std::string::npos &&
                                   m.find("1.0 turns this dropout off") != std::string::npos;
                          });
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(oracles)

// Output dropout leaves the recurrence alone: the final state is the bare cell's, bit for
// bit, and each output is 0 or exactly 2x the bare one (keep 0.5); about half are dropped,
// with a fresh mask at every step.
BOOST_AUTO_TEST_CASE(output_dropout_zeroes_or_scales_the_bare_outputs) {
  Fresh g;
  const Tensor x = random_input({4, 6, 5}, 1);
  const Tensor lengths(Shape{4}, std::vector<std::int32_t>{6, 6, 6, 6});
  LSTMCell cell(8, {.initializer = random_uniform_initializer(-0.5, 0.5, 2)});
  const auto bare = dynamic_rnn(cell, x, {.sequence_length = lengths});
  DropoutWrapper w(cell, {.output_keep_prob = 0.5f, .seed = 3});
  const auto r = dynamic_rnn(w, x, {.sequence_length = lengths});
  BOOST_TEST(max_abs_diff(LSTMStateTuple::from(r.final_state).c, LSTMStateTuple::from(bare.final_state).c) == 0.0f);
  BOOST_TEST(max_abs_diff(LSTMStateTuple::from(r.final_state).h, LSTMStateTuple::from(bare.final_state).h) == 0.0f);
  std::int64_t dropped = 0;
  std::set<std::vector<bool>> step_patterns;
  for (std::int64_t row = 0; row < 4 * 6; ++row) {
    std::vector<bool> pattern;
    for (std::int64_t j = 0; j < 8; ++j) {
      const float got = at(r.outputs, row * 8 + j), want = at(bare.outputs, row * 8 + j);
      BOOST_TEST((got == 0.0f || got == 2.0f * want), "output " << row * 8 + j << ": " << got << " vs bare " << want);
      dropped += got == 0.0f;
      pattern.push_back(got == 0.0f);
    }
    step_patterns.insert(pattern);
  }
  BOOST_TEST(dropped > 192 * 3 / 10);
  BOOST_TEST(dropped < 192 * 7 / 10);
  BOOST_TEST(step_patterns.size() > 12u);
}

// State dropout never touches an LSTM's c, in a stack too: one step from the same state,
// every c equals the bare cell's and every h is 0 or 2x the bare one.
BOOST_AUTO_TEST_CASE(state_dropout_keeps_every_c_of_a_stack) {
  Fresh g;
  BasicLSTMCell l0(6), l1(6);
  MultiRNNCell stack({l0, l1});
  const Tensor x = random_input({5, 4}, 4);
  const State s0 = State::tuple({LSTMStateTuple{random_input({5, 6}, 5), random_input({5, 6}, 6)},
                                 LSTMStateTuple{random_input({5, 6}, 7), random_input({5, 6}, 8)}});
  const auto bare = stack(x, s0);
  DropoutWrapper w(stack, {.state_keep_prob = 0.5f, .seed = 9});
  const auto out = w(x, s0);
  BOOST_TEST(max_abs_diff(out.output, bare.output) == 0.0f);  // the output is not the state
  std::vector<bool> want_columns;  // ((c, h), (c, h)): only the h columns drop
  for (int layer = 0; layer < 2; ++layer)
    for (int k = 0; k < 12; ++k) want_columns.push_back(k >= 6);
  BOOST_TEST(w.state_dropped_columns() == want_columns, boost::test_tools::per_element());
  std::int64_t dropped = 0;
  for (std::size_t layer = 0; layer < 2; ++layer) {
    const LSTMStateTuple got = LSTMStateTuple::from(out.state[layer]), want = LSTMStateTuple::from(bare.state[layer]);
    BOOST_TEST(max_abs_diff(got.c, want.c) == 0.0f);
    for (std::int64_t k = 0; k < 30; ++k) {
      const float h = at(got.h, k), wh = at(want.h, k);
      BOOST_TEST((h == 0.0f || h == 2.0f * wh));
      dropped += h == 0.0f;
    }
  }
  BOOST_TEST(dropped > 10);
  BOOST_TEST(dropped < 50);
}

// Input dropout: for each row, exactly one of the 8 masks of a 3-wide input, applied to the
// inputs of the bare cell, gives the wrapper's output and state.
BOOST_AUTO_TEST_CASE(input_dropout_matches_one_mask_by_brute_force) {
  Fresh g;
  LSTMCell cell(4, {.initializer = random_uniform_initializer(-1.0, 1.0, 10)});
  const std::int64_t B = 16;
  const Tensor x = random_input({B, 3}, 11);
  const State s0 = LSTMStateTuple{random_input({B, 4}, 12), random_input({B, 4}, 13)};
  DropoutWrapper w(cell, {.input_keep_prob = 0.5f, .seed = 14});
  const auto out = w(x, s0);
  std::set<int> masks_seen;
  for (std::int64_t b = 0; b < B; ++b) {
    const Tensor xb = slice(x, {b, 0}, {1, 3});
    const State sb = LSTMStateTuple{slice(LSTMStateTuple::from(s0).c, {b, 0}, {1, 4}),
                                    slice(LSTMStateTuple::from(s0).h, {b, 0}, {1, 4})};
    int matches = 0;
    for (int m = 0; m < 8; ++m) {
      std::vector<float> scale{m & 1 ? 2.0f : 0.0f, m & 2 ? 2.0f : 0.0f, m & 4 ? 2.0f : 0.0f};
      const auto ref = cell(multiply(xb, Tensor(Shape{1, 3}, scale)), sb);
      if (max_abs_diff(ref.output, slice(out.output, {b, 0}, {1, 4})) <= 1e-6f &&
          max_abs_diff(LSTMStateTuple::from(ref.state).c, slice(LSTMStateTuple::from(out.state).c, {b, 0}, {1, 4})) <=
              1e-6f) {
        ++matches;
        masks_seen.insert(m);
      }
    }
    BOOST_TEST(matches == 1, "row " << b << ": " << matches << " of the 8 masks reproduce the wrapper");
  }
  BOOST_TEST(masks_seen.size() >= 3u);  // the masks differ between rows
}

BOOST_AUTO_TEST_SUITE_END()
