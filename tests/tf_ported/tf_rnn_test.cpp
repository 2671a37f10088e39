// Ports of TensorFlow 1.15's RNN tests:
//   tensorflow/contrib/rnn/python/kernel_tests/core_rnn_cell_test.py (RNNCellTest.testGRUCell)
//   tensorflow/python/kernel_tests/rnn_cell_test.py (RNNTest, GRUTest)
//   tensorflow/python/kernel_tests/rnn_test.py (RNNTest: testInvalidDtype,
//     testBatchSizeFromInput, testCellsBuild's GRUCell lines; suite RnnTestPy)
// Case names are TF's method names; skipped cases and reasons are in
// tests/tf_ported/README.md.
#define BOOST_TEST_MODULE tf_rnn
#include "support/boost_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

import varscope;
#include "tf_ported/support.hpp"

using namespace varscope;

namespace {

using tf_ported::FreshGraph;
using tf_ported::names;

// TF's Plus1RNNCell (rnn_test.py): output = input + 1, new state = state + 1. Its
// output is not its state, so testDynamicCalculation checks both rules: outputs
// (input + 1) zero past a row's length, the state frozen at step length - 1.
class Plus1RNNCell : public RNNCell {
 public:
  [[nodiscard]] StateSize state_size() const override { return 5; }
  [[nodiscard]] std::int64_t output_size() const override { return 5; }
  void build(std::int64_t input_dim) override { input_dim_ = input_dim; }
  [[nodiscard]] bool built() const override { return input_dim_ >= 0; }
  [[nodiscard]] std::int64_t projection_size() const override { return 5; }
  void project_inputs(ConstMatrixView x, MatrixView out) const override {
    for (std::int64_t r = 0; r < out.rows; ++r)
      for (std::int64_t c = 0; c < out.cols; ++c) out.data[r * out.row_stride + c] = x.data[r * x.row_stride + c];
  }
  void step(const StepArgs& a, Workspace&) const override {
    for (std::int64_t r = 0; r < a.state.rows; ++r)
      for (std::int64_t c = 0; c < a.state.cols; ++c) {
        a.state_out.data[r * a.state_out.row_stride + c] = a.state.data[r * a.state.row_stride + c] + 1.f;
        a.output.data[r * a.output.row_stride + c] = a.projection.data[r * a.projection.row_stride + c] + 1.f;
      }
  }

 private:
  std::int64_t input_dim_ = -1;
};

float at(const Tensor& t, std::int64_t b, std::int64_t i, std::int64_t j) {
  const auto& d = t.shape().dims();
  return t.data<float>()[static_cast<std::size_t>((b * d[1] + i) * d[2] + j)];
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(RNNCellTest, FreshGraph)

// core_rnn_cell_test.py: TF's literal numbers for GRUCell(2) with every kernel
// from constant_initializer(0.5) (biases keep GRUCell's own 1.0 / 0.0).
BOOST_AUTO_TEST_CASE(testGRUCell) {
  {
    auto root = variable_scope("root", {.initializer = constant_initializer(0.5)});
    const Tensor x(Shape{1, 2}, std::vector<float>{1.f, 1.f});
    const Tensor m(Shape{1, 2}, std::vector<float>{0.1f, 0.1f});
    GRUCell cell(2);
    const auto [g, new_m] = cell(x, m);
    BOOST_TEST(g.shape() == (Shape{1, 2}));
    BOOST_TEST(g.bitwise_equal(new_m));  // a GRU's output is its new state
    // Smoke test (TF's assertAllClose: rtol = atol = 1e-6)
    for (float v : g.data<float>()) BOOST_TEST(std::abs(v - 0.175991f) <= 1e-6f + 1e-6f * 0.175991f);
    BOOST_TEST(names(global_variables()) ==
                   (std::vector<std::string>{"root/gru_cell/gates/kernel:0", "root/gru_cell/gates/bias:0",
                                             "root/gru_cell/candidate/kernel:0", "root/gru_cell/candidate/bias:0"}),
               boost::test_tools::per_element());
  }
  auto other = variable_scope("other", {.initializer = constant_initializer(0.5)});
  const Tensor x(Shape{1, 3}, std::vector<float>{1.f, 1.f, 1.f});  // Test GRUCell with input_size != num_units.
  const Tensor m(Shape{1, 2}, std::vector<float>{0.1f, 0.1f});
  GRUCell cell(2);
  const Tensor g = cell(x, m).output;
  for (float v : g.data<float>()) BOOST_TEST(std::abs(v - 0.156736f) <= 1e-6f + 1e-6f * 0.156736f);
  BOOST_TEST(cell.variables()[0].shape() == (Shape{5, 4}));  // [input + units, 2 * units]
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(RNNTest, FreshGraph)

BOOST_AUTO_TEST_CASE(testInvalidSequenceLengthShape) {
  // TF's static_rnn half has no counterpart; dynamic_rnn(sequence_length=[[4]])
  // must fail with "must be a vector".
  Plus1RNNCell cell;
  const Tensor inputs = ones({3, 1, 4});
  const Tensor bad(Shape{1, 1}, std::vector<std::int32_t>{4});
  BOOST_CHECK_THROW((void)dynamic_rnn(cell, inputs, {.sequence_length = bad}), ShapeMismatchError);
}

BOOST_AUTO_TEST_CASE(testDynamicCalculation) {
  // TF runs this through static_rnn(sequence_length=...), whose semantics
  // dynamic_rnn shares; varscope has dynamic_rnn only.
  Plus1RNNCell cell;
  const std::int64_t batch_size = 2, input_size = 5, max_length = 8;
  const Tensor inputs = random_normal({batch_size, max_length, input_size}, 0.f, 1.f, 23489);
  const Tensor sequence_length(Shape{2}, std::vector<std::int32_t>{2, 3});
  RNNResult result;
  {
    auto scope = variable_scope("drop_scope");
    result = dynamic_rnn(cell, inputs, {.sequence_length = sequence_length});
  }
  BOOST_TEST(result.outputs.shape() == (Shape{batch_size, max_length, input_size}));
  for (std::int64_t j = 0; j < input_size; ++j) {
    // outputs are fully calculated for t = 0, 1 (input + 1)
    for (std::int64_t t = 0; t < 2; ++t)
      for (std::int64_t b = 0; b < 2; ++b) BOOST_TEST(at(result.outputs, b, t, j) == at(inputs, b, t, j) + 1.f);
    // outputs at t = 2 are zero for entry 0, calculated for entry 1
    BOOST_TEST(at(result.outputs, 0, 2, j) == 0.f);
    BOOST_TEST(at(result.outputs, 1, 2, j) == at(inputs, 1, 2, j) + 1.f);
    // outputs at t = 3+ are zero
    for (std::int64_t t = 3; t < max_length; ++t)
      for (std::int64_t b = 0; b < 2; ++b) BOOST_TEST(at(result.outputs, b, t, j) == 0.f);
  }
  // the final states are:
  //  entry 0: the values from the calculation at t=1
  //  entry 1: the values from the calculation at t=2
  const auto state = result.final_state.leaf().data<float>();
  for (std::int64_t j = 0; j < input_size; ++j) {
    BOOST_TEST(state[static_cast<std::size_t>(j)] == 1.f * (1 + 1));
    BOOST_TEST(state[static_cast<std::size_t>(input_size + j)] == 1.f * (2 + 1));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(GRUTest, FreshGraph)

BOOST_AUTO_TEST_CASE(testDynamic) {
  // TF only runs the graph (np.random lengths in [0, time_steps)); the
  // sequence_length contract is asserted here: zero outputs past a row's length,
  // final state = output at length - 1, or the zero initial state for length 0.
  // Batch major ([B, T, D]) where TF passes time_major=True.
  const std::int64_t time_steps = 8, num_units = 3, input_size = 5, batch_size = 4;
  const Tensor input_values = random_normal({batch_size, time_steps, input_size}, 0.f, 1.f, 23489);
  const std::vector<std::int32_t> lengths{0, 3, 7, 5};
  GRUCell cell(num_units);
  RNNResult result;
  {
    auto scope = variable_scope("dynamic_scope");
    result = dynamic_rnn(cell, input_values, {.sequence_length = Tensor(Shape{batch_size}, lengths)});
  }
  BOOST_TEST(result.outputs.shape() == (Shape{batch_size, time_steps, num_units}));
  BOOST_TEST(result.final_state.leaf().shape() == (Shape{batch_size, num_units}));
  const auto state = result.final_state.leaf().data<float>();
  for (std::int64_t b = 0; b < batch_size; ++b) {
    const std::int64_t len = lengths[static_cast<std::size_t>(b)];
    for (std::int64_t t = len; t < time_steps; ++t)
      for (std::int64_t j = 0; j < num_units; ++j) BOOST_TEST(at(result.outputs, b, t, j) == 0.f);
    for (std::int64_t j = 0; j < num_units; ++j) {
      const float expected = len == 0 ? 0.f : at(result.outputs, b, len - 1, j);
      BOOST_TEST(state[static_cast<std::size_t>(b * num_units + j)] == expected);
    }
  }
  // The rows' steps are independent of the other rows' lengths: the full-length
  // run agrees with the masked one inside each length.
  Graph g;
  auto use = g.as_default();
  GRUCell same(num_units, "", constant_initializer(0.25));
  GRUCell same_masked(num_units, "", constant_initializer(0.25));
  const RNNResult full = dynamic_rnn(same, input_values);
  const RNNResult masked =
      dynamic_rnn(same_masked, input_values, {.sequence_length = Tensor(Shape{batch_size}, lengths), .scope = "rnn_1"});
  for (std::int64_t b = 0; b < batch_size; ++b)
    for (std::int64_t t = 0; t < lengths[static_cast<std::size_t>(b)]; ++t)
      for (std::int64_t j = 0; j < num_units; ++j) BOOST_TEST(at(full.outputs, b, t, j) == at(masked.outputs, b, t, j));
}

// _testScope: every variable lives under the prefix: an outer scope object,
// a scope name, or the default "rnn".
BOOST_AUTO_TEST_CASE(testDynamicScope) {
  const std::int64_t time_steps = 8, num_units = 3, input_size = 5, batch_size = 2;
  const Tensor sequence_length(Shape{batch_size}, std::vector<std::int32_t>{5, 2});
  // factory(scope): dynamic_rnn(..., scope=scope); scope=None is dynamic_rnn's
  // default, i.e. DynamicRNNOptions::scope left as it is.
  auto factory = [&](const std::optional<std::string>& scope) {
    const Tensor concat_inputs = random_normal({batch_size, time_steps, input_size}, 0.f, 1.f, 7);
    GRUCell cell(num_units);
    DynamicRNNOptions options{.sequence_length = sequence_length};
    if (scope) options.scope = *scope;
    return dynamic_rnn(cell, concat_inputs, options);
  };
  auto test_scope = [&](const std::optional<std::string>& prefix, bool use_outer_scope) {
    Graph graph;
    auto use = graph.as_default();
    if (use_outer_scope) {
      auto scope = variable_scope(*prefix);
      (void)factory("");  // scope=scope: the current scope object
    } else {
      (void)factory(prefix);
    }
    // check that all the variables names starts with the proper scope.
    const auto all_vars = names(global_variables());
    const std::string expected = prefix.value_or("rnn") + "/";  // prefix = prefix or "rnn"
    const auto scope_vars =
        std::count_if(all_vars.begin(), all_vars.end(), [&](const std::string& n) { return n.starts_with(expected); });
    BOOST_TEST(all_vars.size() == 4u);
    BOOST_TEST(static_cast<std::size_t>(scope_vars) == all_vars.size());
  };
  test_scope("prefix", true);
  test_scope("prefix", false);
  test_scope(std::nullopt, false);  // prefix=None: dynamic_rnn's default scope, "rnn"
}

BOOST_AUTO_TEST_SUITE_END()

// tensorflow/python/kernel_tests/rnn_test.py, class RNNTest (a second RNNTest in TF; the
// suite is named after the file here, as rnn_cell_test.py's RNNTest is above).
BOOST_FIXTURE_TEST_SUITE(RnnTestPy, FreshGraph)

BOOST_AUTO_TEST_CASE(testInvalidDtype) {
  // inputs = placeholder(int32, shape=(3, 4, 5)); of TF's cells (BasicRNNCell, GRUCell,
  // BasicLSTMCell, LSTMCell) varscope has GRUCell. TF builds it with dtype=int32 and
  // dynamic_rnn raises ValueError "RNN cell only supports floating"; a varscope cell has
  // no dtype= (cells are float32), and dynamic_rnn refuses the int32 inputs with a
  // DTypeMismatchError before the cell creates anything.
  const Tensor inputs = Tensor(DType::int32, Shape{3, 4, 5});
  GRUCell cell(2);
  try {
    (void)dynamic_rnn(cell, inputs);
    BOOST_FAIL("expected DTypeMismatchError");
  } catch (const DTypeMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find("inputs must be float32") != std::string::npos, e.what());
  }
  BOOST_TEST(!cell.built());
  BOOST_TEST(global_variables().empty());
}

BOOST_AUTO_TEST_CASE(testBatchSizeFromInput) {
  Plus1RNNCell cell;
  // With static batch size (the "without static batch size" half uses placeholders of
  // unknown batch: eager tensors always have one).
  const Tensor inputs = zeros({3, 4, 5});
  const Tensor initial_state = zeros({3, 5});
  // - Without initial_state
  RNNResult r = dynamic_rnn(cell, inputs);
  BOOST_TEST(r.outputs.shape()[0] == 3);
  BOOST_TEST(r.final_state.leaf().shape()[0] == 3);
  // - With initial_state
  r = dynamic_rnn(cell, inputs, {.initial_state = initial_state});
  BOOST_TEST(r.outputs.shape()[0] == 3);
  BOOST_TEST(r.final_state.leaf().shape()[0] == 3);
}

// _assert_cell_builds(cell_class, dtype, batch_size, in_size, out_size): build the cell
// for (batch_size, in_size), call it on zeros from its initial state, and the output is
// [batch_size, out_size].
void assert_cell_builds(std::int64_t batch_size, std::int64_t in_size, std::int64_t out_size) {
  GRUCell cell(out_size);
  cell.build(in_size);  // cell.build(TensorShape((batch_size, in_size)))
  const State state_output = cell.zero_state(batch_size);  // get_initial_state(batch_size=...)
  const Tensor cell_output = cell(zeros({batch_size, in_size}), state_output).output;
  BOOST_TEST(cell_output.shape() == (Shape{batch_size, out_size}));
}

BOOST_AUTO_TEST_CASE(testCellsBuild) {
  // TF's GRUCell lines: _assert_cell_builds(GRUCell, f32, 5, 7, 3) and the same with
  // f64 (no float64 in varscope, D3: the f32 line only). BasicRNNCell, BasicLSTMCell
  // and LSTMCell do not exist in varscope.
  assert_cell_builds(5, 7, 3);
}

BOOST_AUTO_TEST_SUITE_END()
