// BasicLSTMCell and LSTMCell (modules/lstm.cppm) against two independent references:
//   * tests/data/tf_lstm_golden.json, float64 code written from TF 1.15's
//     BasicLSTMCell.call / LSTMCell.call and dynamic_rnn, with float64 PyTorch autograd
//     for the gradients (tools/gen-tf-lstm-golden.py; regenerate with
//     `/usr/bin/python3 tools/gen-tf-lstm-golden.py`). Random, non-uniform weights and
//     ragged lengths [5, 3, 0, 1]: a swapped gate order or an [h, x] concat moves the
//     outputs by > 0.1 there (the generator checks it), which TF's all-0.5 literal tests
//     cannot see.
//   * TF's own rnn_cell_test.py literals (and the values ../shared/SPEC-cells-state.md §6a
//     derives for its literal-free tests), with TF's names for the tests.
#define BOOST_TEST_MODULE lstm
#include "support/boost_test.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tf_lstm_golden.hpp"  // generated: kTfLstmGolden (tests/data/tf_lstm_golden.json)

import varscope;
#include "support/compare.hpp"
#include "support/golden.hpp"

using namespace varscope;
using namespace golden_data;
using Json = nlohmann::ordered_json;  // keeps the golden's key order: TF's creation order of the params

namespace {

struct Fresh {
  Graph graph{3};
  DefaultGraphGuard use{graph};
};

const Json& golden() {
  static const Json j = Json::parse(kTfLstmGolden);
  return j;
}

// Forward: |got - want| / max(1, |want|); gradients: relative to the tensor's scale.
// Measured worst (--log_level=message) is printed per tensor.
constexpr double kForwardBound = 1e-6;  // measured worst 1.8e-7
constexpr double kGradBound = 5e-6;  // measured worst 6.2e-7 (d w_o_diag, peepholes)

Tensor sum_of_product(const Tensor& a, const Tensor& r) { return reduce_sum(reshape(multiply(a, r), Shape{-1}), 0); }

// One golden group of a single LSTM cell under dynamic_rnn(scope="rnn"): the cell's
// variable names must be the golden's (TF's), then its values are assigned by name and
// the forward values and d L / d (every variable, the inputs, both initial-state leaves)
// compared, L = sum(R_out * outputs) + sum(R_c * c) + sum(R_h * h).
template <class MakeCell>
void check_single_cell_group(const std::string& group, MakeCell make_cell) {
  const auto& c = golden().at(group);
  Fresh g;
  auto x = Variable(golden_tensor(c.at("inputs")), "inputs");
  auto c0 = Variable(golden_tensor(c.at("initial_state").at("c")), "c0");
  auto h0 = Variable(golden_tensor(c.at("initial_state").at("h")), "h0");
  const Tensor lengths = golden_ints(c.at("sequence_length"));
  auto cell = make_cell(c.at("config"));
  auto run = [&] {
    return dynamic_rnn(cell, x.value(),
                       {.sequence_length = lengths, .initial_state = LSTMStateTuple{c0.value(), h0.value()}});
  };
  (void)run();  // builds the variables under rnn/
  const auto vars = cell.variables();
  std::vector<std::string> want_names;
  for (const auto& [name, value] : c.at("params").items()) want_names.push_back(name);
  std::vector<std::string> got_names;
  for (const auto& v : vars) got_names.push_back(v.op_name());
  BOOST_TEST(got_names == want_names, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(vars.size(), want_names.size());
  for (std::size_t i = 0; i < vars.size(); ++i) vars[i].assign(golden_tensor(c.at("params").at(want_names[i])));

  std::vector<Variable> sources = vars;
  sources.insert(sources.end(), {x, c0, h0});
  RNNResult result;
  Tensor loss;
  std::vector<std::optional<Tensor>> grads;
  {
    GradientTape tape;
    result = run();
    const LSTMStateTuple s = LSTMStateTuple::from(result.final_state);
    loss = add(add(sum_of_product(result.outputs, golden_tensor(c.at("r_outputs"))),
                   sum_of_product(s.c, golden_tensor(c.at("r_final_state").at("c")))),
               sum_of_product(s.h, golden_tensor(c.at("r_final_state").at("h"))));
    grads = tape.gradient(loss, sources);
  }
  BOOST_TEST((result.final_state.kind() == NestKind::lstm_state_tuple));
  const LSTMStateTuple s = LSTMStateTuple::from(result.final_state);
  check_golden(result.outputs, c.at("outputs"), group + " outputs", kForwardBound, false);
  check_golden(s.c, c.at("final_state").at("c"), group + " final c", kForwardBound, false);
  check_golden(s.h, c.at("final_state").at("h"), group + " final h", kForwardBound, false);
  BOOST_TEST(compare::within(loss.item<float>(), c.at("loss").get<double>(), 1e-6, 0.0),  // a float32 sum of ~100 terms
             group << " loss " << loss.item<float>() << " vs " << c.at("loss").get<double>());
  for (std::size_t i = 0; i < want_names.size(); ++i)
    check_golden(grads[i], c.at("grads").at(want_names[i]), group + " d/d " + want_names[i], kGradBound, true);
  const std::size_t n = want_names.size();
  check_golden(grads[n], c.at("grads").at("inputs"), group + " d/d inputs", kGradBound, true);
  check_golden(grads[n + 1], c.at("grads").at("initial_state/c"), group + " d/d initial c", kGradBound, true);
  check_golden(grads[n + 2], c.at("grads").at("initial_state/h"), group + " d/d initial h", kGradBound, true);
}

// A MultiRNNCell group ((c0, h0), (c1, h1)) under dynamic_rnn(scope="rnn"): names,
// forward and every gradient, as check_single_cell_group.
void check_multi_cell_group(const std::string& group, RNNCell& cell) {
  const auto& c = golden().at(group);
  auto x = Variable(golden_tensor(c.at("inputs")), "inputs");
  const std::vector<std::string> leaves = {"0/c", "0/h", "1/c", "1/h"};
  std::vector<Variable> init;
  for (const auto& k : leaves) init.push_back(Variable(golden_tensor(c.at("initial_state").at(k)), "s" + std::to_string(init.size())));
  const Tensor lengths = golden_ints(c.at("sequence_length"));
  auto run = [&] {
    const State s0 = State::tuple({LSTMStateTuple{init[0].value(), init[1].value()},
                                   LSTMStateTuple{init[2].value(), init[3].value()}});
    return dynamic_rnn(cell, x.value(), {.sequence_length = lengths, .initial_state = s0});
  };
  (void)run();
  const auto vars = cell.gradient_variables();
  std::vector<std::string> want_names;
  for (const auto& [name, value] : c.at("params").items()) want_names.push_back(name);
  BOOST_TEST(names_of(vars) == want_names, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(vars.size(), want_names.size());
  for (std::size_t i = 0; i < vars.size(); ++i) vars[i].assign(golden_tensor(c.at("params").at(want_names[i])));
  std::vector<Variable> sources = vars;
  sources.push_back(x);
  sources.insert(sources.end(), init.begin(), init.end());
  RNNResult result;
  Tensor loss;
  std::vector<std::optional<Tensor>> grads;
  {
    GradientTape tape;
    result = run();
    loss = sum_of_product(result.outputs, golden_tensor(c.at("r_outputs")));
    const auto flat = nest::flatten(result.final_state);
    for (std::size_t i = 0; i < leaves.size(); ++i)
      loss = add(loss, sum_of_product(*flat[i], golden_tensor(c.at("r_final_state").at(leaves[i]))));
    grads = tape.gradient(loss, sources);
  }
  BOOST_TEST(result.final_state.structure() == "(LSTMStateTuple(c, h), LSTMStateTuple(c, h))");
  check_golden(result.outputs, c.at("outputs"), group + " outputs", kForwardBound, false);
  const auto flat = nest::flatten(result.final_state);
  for (std::size_t i = 0; i < leaves.size(); ++i)
    check_golden(*flat[i], c.at("final_state").at(leaves[i]), group + " final " + leaves[i], kForwardBound, false);
  BOOST_TEST(compare::within(loss.item<float>(), c.at("loss").get<double>(), 1e-6, 0.0),
             group << " loss " << loss.item<float>() << " vs " << c.at("loss").get<double>());
  const std::size_t n = want_names.size();
  for (std::size_t i = 0; i < n; ++i)
    check_golden(grads[i], c.at("grads").at(want_names[i]), group + " d/d " + want_names[i], kGradBound, true);
  check_golden(grads[n], c.at("grads").at("inputs"), group + " d/d inputs", kGradBound, true);
  for (std::size_t i = 0; i < leaves.size(); ++i)
    check_golden(grads[n + 1 + i], c.at("grads").at("initial_state/" + leaves[i]),
                 group + " d/d initial " + leaves[i], kGradBound, true);
}

LSTMCell lstm_from_config(const Json& config) {
  LSTMCellOptions o;
  o.use_peepholes = config.value("use_peepholes", false);
  if (!config.at("cell_clip").is_null()) o.cell_clip = config.at("cell_clip").get<float>();
  if (!config.at("num_proj").is_null()) o.num_proj = config.at("num_proj").get<std::int64_t>();
  if (!config.at("proj_clip").is_null()) o.proj_clip = config.at("proj_clip").get<float>();
  o.forget_bias = config.at("forget_bias").get<float>();
  return LSTMCell(config.at("H").get<std::int64_t>(), o);
}

float at(const Tensor& t, std::int64_t i) { return t.data<float>()[static_cast<std::size_t>(i)]; }

}  // namespace

BOOST_AUTO_TEST_SUITE(tf_lstm_golden)

BOOST_AUTO_TEST_CASE(basic_lstm_cell_ragged_forward_and_gradients) {
  check_single_cell_group("basic_lstm", [](const Json& config) {
    return BasicLSTMCell(config.at("H").get<std::int64_t>(), config.at("forget_bias").get<float>());
  });
}

BOOST_AUTO_TEST_CASE(lstm_cell_with_peepholes) { check_single_cell_group("lstm_peephole", lstm_from_config); }

BOOST_AUTO_TEST_CASE(lstm_cell_with_projection) { check_single_cell_group("lstm_proj", lstm_from_config); }

// Peepholes, cell_clip and proj_clip at once; the generator checks that some but not
// all entries of c and of the projection are clipped.
BOOST_AUTO_TEST_CASE(lstm_cell_with_peepholes_cell_clip_projection_and_proj_clip) {
  check_single_cell_group("lstm_peephole_clip_proj", lstm_from_config);
}

// Two stacked BasicLSTMCells: rnn/multi_rnn_cell/cell_<i>/basic_lstm_cell/..., the
// state ((c0, h0), (c1, h1)), layer 1's input-half weights trained from its saved inputs.
BOOST_AUTO_TEST_CASE(multi_rnn_cell_of_two_basic_lstm_cells) {
  Fresh g;
  const std::int64_t H = golden().at("multi_rnn_2x_lstm").at("config").at("H").get<std::int64_t>();
  BasicLSTMCell l0(H), l1(H);
  MultiRNNCell cell({l0, l1});
  check_multi_cell_group("multi_rnn_2x_lstm", cell);
}

// The nmt decoder's shape: layer 1 residual (its output = its input + the LSTM's output).
BOOST_AUTO_TEST_CASE(multi_rnn_cell_with_a_residual_layer) {
  Fresh g;
  const std::int64_t H = golden().at("residual_multi").at("config").at("H").get<std::int64_t>();
  BasicLSTMCell l0(H), l1(H);
  ResidualWrapper r1(l1);
  MultiRNNCell cell({l0, r1});
  check_multi_cell_group("residual_multi", cell);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- TF's rnn_cell_test.py

BOOST_AUTO_TEST_SUITE(RNNCellTest)

// testBasicLSTMCell, second part: scope "other", BasicLSTMCell(2, state_is_tuple=False),
// x [[1, 1, 1]], m 0.1 * ones([1, 4]). TF asserts no numbers; SPEC §6a derives
// c = 0.85993134, h = 0.57926975 (every kernel 0.5, bias 0).
BOOST_AUTO_TEST_CASE(testBasicLSTMCell_other_scope) {
  Fresh g;
  auto other = variable_scope("other", {.initializer = constant_initializer(0.5)});
  BasicLSTMCell cell(2, 1.0f, /*state_is_tuple=*/false);
  BOOST_TEST(cell.state_size().is_leaf());
  BOOST_TEST(cell.state_size().leaf() == 4);
  const auto [h, m] = cell(ones({1, 3}), fill({1, 4}, 0.1f));
  BOOST_TEST(m.leaf().shape() == (Shape{1, 4}));
  for (std::int64_t j = 0; j < 2; ++j) {
    BOOST_TEST(std::abs(at(m, j) - 0.85993134f) <= 1e-6f, "c " << at(m, j));
    BOOST_TEST(std::abs(at(m, 2 + j) - 0.57926975f) <= 1e-6f, "h " << at(m, 2 + j));
    BOOST_TEST(at(h, j) == at(m, 2 + j));  // the output is the new h
  }
  BOOST_TEST(names_of(global_variables()) ==
                 (std::vector<std::string>{"other/basic_lstm_cell/kernel", "other/basic_lstm_cell/bias"}),
             boost::test_tools::per_element());
}

// testLSTMCell: LSTMCell(8, num_proj=6, forget_bias=1.0, state_is_tuple=False), batch 3,
// x [[1,1],[2,2],[3,3]], m 0.1 * ones([3, 14]). TF checks the shapes and that the rows
// differ; SPEC §6a derives the values (every column of a row equal).
BOOST_AUTO_TEST_CASE(testLSTMCell) {
  Fresh g;
  auto root = variable_scope("root", {.initializer = constant_initializer(0.5)});
  LSTMCell cell(8, {.num_proj = 6, .forget_bias = 1.0f, .state_is_tuple = false});
  const Tensor x(Shape{3, 2}, std::vector<float>{1, 1, 2, 2, 3, 3});
  const auto [output, state] = cell(x, fill({3, 14}, 0.1f));
  BOOST_TEST(output.shape() == (Shape{3, 6}));
  BOOST_TEST(state.leaf().shape() == (Shape{3, 14}));
  const float want_c[] = {0.76805991f, 0.98722999f, 1.06046973f};
  const float want_out[] = {2.02996863f, 2.74909385f, 3.03156073f};
  for (std::int64_t r = 0; r < 3; ++r) {
    for (std::int64_t j = 0; j < 8; ++j)
      BOOST_TEST(std::abs(at(state, r * 14 + j) - want_c[r]) <= 2e-6f, "row " << r << " c " << at(state, r * 14 + j));
    for (std::int64_t k = 0; k < 6; ++k) {
      BOOST_TEST(std::abs(at(output, r * 6 + k) - want_out[r]) <= 4e-6f, "row " << r << " out " << at(output, r * 6 + k));
      BOOST_TEST(at(state, r * 14 + 8 + k) == at(output, r * 6 + k));  // h = m, the projection
    }
  }
}

// testLSTMCellVariables: the names TF creates (and nothing else).
BOOST_AUTO_TEST_CASE(testLSTMCellVariables) {
  Fresh g;
  auto root = variable_scope("root", {.initializer = constant_initializer(0.5)});
  LSTMCell cell(8, {.num_proj = 6, .state_is_tuple = false});
  (void)cell(ones({1, 2}), cell.zero_state(1));
  BOOST_TEST(names_of(global_variables()) ==
                 (std::vector<std::string>{"root/lstm_cell/kernel", "root/lstm_cell/bias",
                                           "root/lstm_cell/projection/kernel"}),
             boost::test_tools::per_element());
  BOOST_TEST(cell.variables()[0].shape() == (Shape{2 + 6, 32}));  // [input + num_proj, 4 * num_units]
  BOOST_TEST(cell.variables()[2].shape() == (Shape{8, 6}));
}

// testBasicLSTMCellStateTupleType: state_size is an LSTMStateTuple; a regular tuple in
// gives an LSTMStateTuple out.
BOOST_AUTO_TEST_CASE(testBasicLSTMCellStateTupleType) {
  Fresh g;
  BasicLSTMCell cell(2);
  BOOST_TEST((cell.state_size().kind() == NestKind::lstm_state_tuple));
  BOOST_TEST(cell.state_size().structure() == "LSTMStateTuple(c, h)");
  const State regular = State::tuple({fill({1, 2}, 0.1f), fill({1, 2}, 0.1f)});
  const auto [h, state] = cell(ones({1, 3}), LSTMStateTuple::from(regular));
  BOOST_TEST((state.kind() == NestKind::lstm_state_tuple));
  // A plain 2-tuple is not an LSTMStateTuple for the cell (TF's check_types): the message says so.
  try {
    (void)cell(ones({1, 3}), regular);
    BOOST_FAIL("expected InvalidArgumentError");
  } catch (const InvalidArgumentError& e) {
    BOOST_TEST(std::string(e.what()).find("LSTMStateTuple") != std::string::npos, e.what());
  }
}

// testBasicLSTMCell: MultiRNNCell of two BasicLSTMCell(2, state_is_tuple=False), the
// multi cell not a tuple either: m = 0.1 * ones([1, 8]) laid out [c0, h0, c1, h1]. TF's
// literals (atol/rtol 1e-2 there, 1e-6 here).
BOOST_AUTO_TEST_CASE(testBasicLSTMCell) {
  Fresh g;
  auto root = variable_scope("root", {.initializer = constant_initializer(0.5)});
  BasicLSTMCell a(2, 1.0f, false), b(2, 1.0f, false);
  MultiRNNCell cell({a, b}, /*state_is_tuple=*/false);
  const auto [out, m] = cell(ones({1, 2}), fill({1, 8}, 0.1f));
  const float want[] = {0.68967271f, 0.68967271f, 0.44848421f, 0.44848421f,
                        0.39897051f, 0.39897051f, 0.24024698f, 0.24024698f};
  for (std::int64_t j = 0; j < 8; ++j) BOOST_TEST(std::abs(at(m, j) - want[j]) <= 1e-6f, j << ": " << at(m, j));
  for (std::int64_t j = 0; j < 2; ++j) BOOST_TEST(std::abs(at(out, j) - 0.24024698f) <= 1e-6f);
  BOOST_TEST(names_of(global_variables()) ==
                 (std::vector<std::string>{"root/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
                                           "root/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
                                           "root/multi_rnn_cell/cell_1/basic_lstm_cell/kernel",
                                           "root/multi_rnn_cell/cell_1/basic_lstm_cell/bias"}),
             boost::test_tools::per_element());
}

// testBasicLSTMCellWithStateTuple: the same layers, MultiRNNCell(state_is_tuple=True), a
// tuple of two [1, 4] states.
BOOST_AUTO_TEST_CASE(testBasicLSTMCellWithStateTuple) {
  Fresh g;
  auto root = variable_scope("root", {.initializer = constant_initializer(0.5)});
  BasicLSTMCell a(2, 1.0f, false), b(2, 1.0f, false);
  MultiRNNCell cell({a, b});
  const auto [out, m] = cell(ones({1, 2}), State::tuple({fill({1, 4}, 0.1f), fill({1, 4}, 0.1f)}));
  BOOST_TEST(m.structure() == "(tensor, tensor)");
  const float mem0[] = {0.68967271f, 0.68967271f, 0.44848421f, 0.44848421f};
  const float mem1[] = {0.39897051f, 0.39897051f, 0.24024698f, 0.24024698f};
  for (std::int64_t j = 0; j < 4; ++j) {
    BOOST_TEST(std::abs(at(m[0], j) - mem0[j]) <= 1e-6f);
    BOOST_TEST(std::abs(at(m[1], j) - mem1[j]) <= 1e-6f);
  }
  for (std::int64_t j = 0; j < 2; ++j) BOOST_TEST(std::abs(at(out, j) - 0.24024698f) <= 1e-6f);
}

// testMultiRNNCell: two GRUCell(2), state_is_tuple=False -> [[0.175991]*2, [0.13248]*2]; 8 weights.
BOOST_AUTO_TEST_CASE(testMultiRNNCell) {
  Fresh g;
  auto root = variable_scope("root", {.initializer = constant_initializer(0.5)});
  GRUCell a(2), b(2);
  MultiRNNCell cell({a, b}, /*state_is_tuple=*/false);
  const auto [out, m] = cell(ones({1, 2}), fill({1, 4}, 0.1f));
  for (std::int64_t j = 0; j < 2; ++j) {
    BOOST_TEST(std::abs(at(m, j) - 0.175991f) <= 1e-6f);
    BOOST_TEST(std::abs(at(m, 2 + j) - 0.132480172f) <= 1e-6f);
  }
  BOOST_TEST(global_variables().size() == 8u);
}

// testMultiRNNCellWithStateTuple: the same with ((0.1, 0.1), (0.1, 0.1)); a non-tuple
// state is refused ("Expected state ... a tuple" in TF; here the structures are named).
BOOST_AUTO_TEST_CASE(testMultiRNNCellWithStateTuple) {
  Fresh g;
  auto root = variable_scope("root", {.initializer = constant_initializer(0.5)});
  GRUCell a(2), b(2);
  MultiRNNCell cell({a, b});
  const auto [out, m] = cell(ones({1, 2}), State::tuple({fill({1, 2}, 0.1f), fill({1, 2}, 0.1f)}));
  for (std::int64_t j = 0; j < 2; ++j) {
    BOOST_TEST(std::abs(at(m[0], j) - 0.175991f) <= 1e-6f);
    BOOST_TEST(std::abs(at(m[1], j) - 0.132480172f) <= 1e-6f);
  }
  try {
    (void)cell(ones({1, 2}), fill({1, 4}, 0.1f));
    BOOST_FAIL("expected InvalidArgumentError");
  } catch (const InvalidArgumentError& e) {
    BOOST_TEST(std::string(e.what()).find("(size, size)") != std::string::npos, e.what());
  }
}

// testResidualWrapper: GRUCell(3) with kernel and bias initializers 0.5: the wrapped
// output is the plain output + the inputs, the state unchanged (SPEC §6a derives 0.19101717).
BOOST_AUTO_TEST_CASE(testResidualWrapper) {
  Fresh g;
  auto root = variable_scope("root");
  GRUCell base(3, "", constant_initializer(0.5), constant_initializer(0.5));
  ResidualWrapper wrapped(base);
  const Tensor x = ones({1, 3});
  const Tensor m = fill({1, 3}, 0.1f);
  const auto [g_plain, s_plain] = base(x, m);
  const auto [g_res, s_res] = wrapped(x, m);
  for (std::int64_t j = 0; j < 3; ++j) {
    BOOST_TEST(std::abs(at(g_plain, j) - 0.19101717f) <= 1e-6f);
    BOOST_TEST(at(g_res, j) == at(g_plain, j) + 1.0f);
  }
  BOOST_TEST(s_res.leaf().bitwise_equal(s_plain.leaf()));
  BOOST_TEST(global_variables().size() == 4u);  // no extra level, no extra variables
}

// testResidualWrapperWithSlice: 5-wide inputs, residual_fn = lambda i, o: i[:, :3] + o:
// g_res == g + [1, 1, 1], the state unchanged. A slice that does not fit is refused.
BOOST_AUTO_TEST_CASE(testResidualWrapperWithSlice) {
  Fresh g;
  auto root = variable_scope("root");
  GRUCell base(3, "", constant_initializer(0.5), constant_initializer(0.5));
  ResidualWrapper wrapped(base, {.input_slice_begin = 0});
  const Tensor x = ones({1, 5});
  const Tensor m = fill({1, 3}, 0.1f);
  const auto [g_plain, s_plain] = base(x, m);
  const auto [g_res, s_res] = wrapped(x, m);
  for (std::int64_t j = 0; j < 3; ++j) BOOST_TEST(at(g_res, j) == at(g_plain, j) + 1.0f);
  BOOST_TEST(s_res.leaf().bitwise_equal(s_plain.leaf()));
  BOOST_TEST(global_variables().size() == 4u);

  // The slice starts where it is told: inputs [0, 10, 20, 30, 40] with begin 2 add [20, 30, 40].
  ResidualWrapper shifted(base, {.input_slice_begin = 2});
  const Tensor xi(Shape{1, 5}, std::vector<float>{0, 10, 20, 30, 40});
  const auto [gp, sp] = base(xi, m);
  const auto [gs, ss] = shifted(xi, m);
  for (std::int64_t j = 0; j < 3; ++j) BOOST_TEST(at(gs, j) == at(gp, j) + 10.0f * static_cast<float>(j + 2));

  ResidualWrapper too_far(base, {.input_slice_begin = 3});  // [3, 6) of 5 columns
  BOOST_CHECK_EXCEPTION((void)too_far(x, m), ShapeMismatchError, [](const ShapeMismatchError& e) {
    const std::string w = e.what();
    return w.find("[3, 6)") != std::string::npos && w.find("choose input_slice_begin in [0, 2]") != std::string::npos;
  });
  ResidualWrapper whole(base);  // TF's default residual_fn needs equal depths
  BOOST_CHECK_THROW((void)whole(x, m), ShapeMismatchError);
}

// testBasicLSTMCellDimension0Error: a state whose batch differs from the input's.
BOOST_AUTO_TEST_CASE(testBasicLSTMCellDimension0Error) {
  Fresh g;
  BasicLSTMCell cell(2, 1.0f, /*state_is_tuple=*/false);
  try {
    (void)cell(ones({1, 3}), fill({2, 4}, 0.1f));  // batch 1 vs 2
    BOOST_FAIL("expected ShapeMismatchError");
  } catch (const ShapeMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find("[1, 4]") != std::string::npos, e.what());
  }
}

// testBasicLSTMCellStateSizeError: a state of 3 * units instead of 2 * units.
BOOST_AUTO_TEST_CASE(testBasicLSTMCellStateSizeError) {
  Fresh g;
  BasicLSTMCell cell(2, 1.0f, /*state_is_tuple=*/false);
  BOOST_CHECK_THROW((void)cell(ones({1, 3}), fill({1, 6}, 0.1f)), ShapeMismatchError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(LSTMTest)

// testCellClipping: peepholes with cell_clip = 0.0 make every output exactly 0.
BOOST_AUTO_TEST_CASE(testCellClipping) {
  Fresh g;
  LSTMCell cell(4, {.use_peepholes = true, .cell_clip = 0.0f, .initializer = random_uniform_initializer(-0.1, 0.1, 19)});
  const Tensor x = random_normal({3, 5, 2}, 0.0f, 1.0f, 7);
  const auto r = dynamic_rnn(cell, x);
  for (const float v : r.outputs.data<float>()) BOOST_TEST(v == 0.0f);
}

// DropoutWrapperTest's fixture with every keep probability 1 (testDropoutWrapperKeepAll):
// LSTMCell(3, initializer=constant 0.5) under dynamic_rnn, x [[2,2,2]] then [[1,1,1]],
// state LSTMStateTuple(0.1, 0.1): TF's literals 0.751109, 0.895509, c 1.949385.
BOOST_AUTO_TEST_CASE(dropout_wrapper_fixture_keep_all_literals) {
  Fresh g;
  LSTMCell cell(3, {.initializer = constant_initializer(0.5)});
  const Tensor x(Shape{1, 2, 3}, std::vector<float>{2, 2, 2, 1, 1, 1});
  const auto r = dynamic_rnn(cell, x, {.initial_state = LSTMStateTuple{fill({1, 3}, 0.1f), fill({1, 3}, 0.1f)}});
  const LSTMStateTuple s = LSTMStateTuple::from(r.final_state);
  for (std::int64_t j = 0; j < 3; ++j) {
    BOOST_TEST(std::abs(at(r.outputs, j) - 0.75110877f) <= 1e-6f);
    BOOST_TEST(std::abs(at(r.outputs, 3 + j) - 0.89550886f) <= 1e-6f);
    BOOST_TEST(std::abs(at(s.c, j) - 1.94938485f) <= 2e-6f);
    BOOST_TEST(at(s.h, j) == at(r.outputs, 3 + j));  // final h = output[1]
  }
}

// testBasicLSTMCellInterchangeWithLSTMCell (rnn_test.py): LSTMCell(n, name="basic_lstm_cell")
// has BasicLSTMCell's names and shapes, so one restores the other's checkpoint.
BOOST_AUTO_TEST_CASE(testBasicLSTMCellInterchangeWithLSTMCell) {
  std::string saved;
  {
    Fresh g;
    auto s = variable_scope("root");
    BasicLSTMCell basic(4);
    basic.build(3);
    basic.variables()[1].assign(fill({16}, 10.0f));
    saved = save_to_string(global_variables());
  }
  Fresh g;
  auto root = variable_scope("root");
  LSTMCell lstm(4, {.name = "basic_lstm_cell"});
  lstm.build(3);
  (void)restore_from_string(g.graph, saved);
  for (const float v : lstm.variables()[1].value().data<float>()) BOOST_TEST(v == 10.0f);
  BOOST_TEST(lstm.variables()[0].op_name() == "root/basic_lstm_cell/kernel");
}

// Options TF accepts silently but that do nothing, or values that can't be right, are refused.
BOOST_AUTO_TEST_CASE(bad_options_are_refused_with_the_fix) {
  Fresh g;
  BOOST_CHECK_THROW(LSTMCell(0), InvalidArgumentError);
  BOOST_CHECK_THROW(LSTMCell(4, {.num_proj = 0}), InvalidArgumentError);
  try {
    LSTMCell cell(4, {.proj_clip = 1.0f});
    BOOST_FAIL("expected InvalidArgumentError");
  } catch (const InvalidArgumentError& e) {
    BOOST_TEST(std::string(e.what()).find("set num_proj") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(LSTMCell(4, {.cell_clip = -1.0f}), InvalidArgumentError);
}

BOOST_AUTO_TEST_SUITE_END()
