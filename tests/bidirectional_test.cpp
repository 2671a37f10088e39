// reverse_sequence / reverse (modules/ops.cppm) and bidirectional_dynamic_rnn (modules/rnn.cppm):
//   * tests/data/tf_lstm_golden.json's `bidirectional_lstm` group: float64 code written from
//     TF 1.15's bidirectional_dynamic_rnn and BasicLSTMCell.call, float64 PyTorch autograd for the
//     gradients (tools/gen-tf-lstm-golden.py). Random weights for fw and bw, ragged lengths
//     [5, 3, 0, 1], random initial states for both directions.
//   * TF's own properties (rnn_cell_test.py / core_rnn_test.py BidirectionalRNNTest):
//     testBidirectionalDynamicRNN (fw at t == bw at len-1-t, exactly) and
//     testBidirectionalDynamicRNNScope.
//   * reverse_sequence: the api_def's examples, tf.reverse_sequence's docstring example,
//     reverse_sequence_op_test.py's _testBasic (batch_axis 2, seq_axis 0), the gradient, and
//     every error message.
#define BOOST_TEST_MODULE bidirectional
#include "support/boost_test.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tf_lstm_golden.hpp"  // generated: kTfLstmGolden (tests/data/tf_lstm_golden.json)

import varscope;
#include "support/compare.hpp"
#include "support/golden.hpp"
#include "support/error_message.hpp"

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

// Forward: |got - want| / max(1, |want|); gradients: relative to the tensor's scale (lstm_test's bounds).
// Measured worst (--log_level=message) is printed per tensor.
constexpr double kForwardBound = 1e-6;  // measured worst 1.2e-7 (final fw/c)
constexpr double kGradBound = 5e-6;     // measured worst 1.2e-7 (d initial fw/c, d bw kernel)

Tensor sum_of_product(const Tensor& a, const Tensor& r) { return reduce_sum(reshape(multiply(a, r), Shape{-1}), 0); }

Tensor ints(Shape shape, std::vector<std::int32_t> v) { return Tensor(std::move(shape), std::move(v)); }
Tensor floats(Shape shape, std::vector<float> v) { return Tensor(std::move(shape), std::move(v)); }

// 0, 1, 2, ... in `shape` (float32 or int32).
Tensor iota(const Shape& shape, DType dtype) {
  Tensor t(dtype, shape);
  if (dtype == DType::float32) {
    auto d = t.data<float>();
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<float>(i);
  } else {
    auto d = t.data<std::int32_t>();
    for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::int32_t>(i);
  }
  return t;
}

// Row-major flat index of a multi-index.
std::int64_t flat(const Shape& s, const std::vector<std::int64_t>& idx) {
  std::int64_t f = 0;
  for (std::size_t a = 0; a < s.rank(); ++a) f = f * s[a] + idx[a];
  return f;
}

// The api_def's definition, written independently of the op: for every element, along seq_axis,
// position k < len[b] reads position len[b] - 1 - k of the same row; the rest is copied.
template <class T>
void check_reversed(const Tensor& got, const Tensor& x, const std::vector<std::int32_t>& lengths, std::size_t seq_axis,
                    std::size_t batch_axis) {
  BOOST_TEST_REQUIRE(got.shape() == x.shape());
  BOOST_TEST_REQUIRE((got.dtype() == x.dtype()));
  const Shape& s = x.shape();
  std::vector<std::int64_t> idx(s.rank(), 0);
  int bad = 0;
  for (std::int64_t i = 0; i < x.size(); ++i) {
    std::int64_t rest = i;
    for (std::size_t a = s.rank(); a-- > 0;) {
      idx[a] = rest % s[a];
      rest /= s[a];
    }
    auto src = idx;
    const std::int64_t len = lengths[static_cast<std::size_t>(idx[batch_axis])];
    if (idx[seq_axis] < len) src[seq_axis] = len - 1 - idx[seq_axis];
    if (got.data<T>()[static_cast<std::size_t>(i)] != x.data<T>()[static_cast<std::size_t>(flat(s, src))]) ++bad;
  }
  BOOST_TEST(bad == 0, bad << " elements differ from the api_def's definition");
}

bool has(const std::string& message, const std::string& part) { return message.find(part) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------- reverse_sequence / reverse

BOOST_AUTO_TEST_SUITE(ReverseSequenceTest)

// tf.reverse_sequence's docstring: x = [[1, 2, 3, 4], [5, 6, 7, 8]], seq_lengths [3, 2],
// seq_axis 1, batch_axis 0 -> [[3, 2, 1, 4], [6, 5, 7, 8]].
BOOST_AUTO_TEST_CASE(docstring_example_int32) {
  const Tensor out = reverse_sequence(ints({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), ints({2}, {3, 2}), 1, 0);
  BOOST_TEST((out.dtype() == DType::int32));
  BOOST_TEST(out.bitwise_equal(ints({2, 4}, {3, 2, 1, 4, 6, 5, 7, 8})));
}

// api_def_ReverseSequence.pbtxt, first example: batch_dim 0, seq_dim 1, input.dims (4, 8, ...),
// seq_lengths [7, 2, 3, 5]; float32 here, with a trailing depth 2.
BOOST_AUTO_TEST_CASE(api_def_example_batch_0_seq_1_float32) {
  const Tensor x = iota(Shape{4, 8, 2}, DType::float32);
  const std::vector<std::int32_t> lengths = {7, 2, 3, 5};
  const Tensor out = reverse_sequence(x, ints({4}, lengths), 1, 0);
  check_reversed<float>(out, x, lengths, 1, 0);
  // Spot values: row 1 (length 2) swaps its first two steps and copies the rest.
  BOOST_TEST(out.data<float>()[flat(x.shape(), {1, 0, 1})] == x.data<float>()[flat(x.shape(), {1, 1, 1})]);
  BOOST_TEST(out.data<float>()[flat(x.shape(), {1, 2, 0})] == x.data<float>()[flat(x.shape(), {1, 2, 0})]);
  // Negative axes count from the end: the same op.
  BOOST_TEST(reverse_sequence(x, ints({4}, lengths), -2, -3).bitwise_equal(out));
}

// api_def, second example: batch_dim 2, seq_dim 0, input.dims (8, ?, 4, ...),
// seq_lengths [7, 2, 3, 5]; int32 here, ? = 3 and a trailing depth 2.
BOOST_AUTO_TEST_CASE(api_def_example_batch_2_seq_0_int32) {
  const Tensor x = iota(Shape{8, 3, 4, 2}, DType::int32);
  const std::vector<std::int32_t> lengths = {7, 2, 3, 5};
  const Tensor out = reverse_sequence(x, ints({4}, lengths), 0, 2);
  check_reversed<std::int32_t>(out, x, lengths, 0, 2);
  // output[0:7, :, 0] = input[6::-1, :, 0]; output[7, :, 0] = input[7, :, 0].
  BOOST_TEST(out.data<std::int32_t>()[flat(x.shape(), {0, 1, 0, 1})] ==
             x.data<std::int32_t>()[flat(x.shape(), {6, 1, 0, 1})]);
  BOOST_TEST(out.data<std::int32_t>()[flat(x.shape(), {7, 2, 0, 0})] ==
             x.data<std::int32_t>()[flat(x.shape(), {7, 2, 0, 0})]);
}

// reverse_sequence_op_test.py _testBasic (float32, and int32 for testInt32Basic): x =
// arange(1, 25).reshape(3, 2, 4, 1, 1) with axes 0 and 2 swapped, seq_lengths [3, 0, 4],
// seq_axis 0, batch_axis 2; truth written out before the same swap.
BOOST_AUTO_TEST_CASE(testBasic_batch_axis_2_seq_axis_0) {
  const std::vector<float> orig = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                   13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
  const std::vector<float> truth_orig = {3,  2,  1,  4,  7,  6,  5,  8,  9,  10, 11, 12,
                                         13, 14, 15, 16, 20, 19, 18, 17, 24, 23, 22, 21};
  // [3, 2, 4] -> transpose [2, 1, 0] -> [4, 2, 3], plus two unit axes.
  const auto swap = [](const std::vector<float>& v) {
    std::vector<float> out(24);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j)
        for (int k = 0; k < 4; ++k) out[(k * 2 + j) * 3 + i] = v[(i * 2 + j) * 4 + k];
    return out;
  };
  const Shape shape{4, 2, 3, 1, 1};
  const Tensor x = floats(shape, swap(orig));
  const Tensor out = reverse_sequence(x, ints({3}, {3, 0, 4}), 0, 2);
  BOOST_TEST(out.bitwise_equal(floats(shape, swap(truth_orig))));
  // testInt32Basic: the same values as int32.
  std::vector<std::int32_t> xi, ti;
  for (float v : swap(orig)) xi.push_back(static_cast<std::int32_t>(v));
  for (float v : swap(truth_orig)) ti.push_back(static_cast<std::int32_t>(v));
  BOOST_TEST(reverse_sequence(ints(shape, xi), ints({3}, {3, 0, 4}), 0, 2).bitwise_equal(ints(shape, ti)));
}

// Lengths 0 and the full length: nothing moves / the whole row reverses (tf.reverse).
BOOST_AUTO_TEST_CASE(length_zero_copies_and_full_length_is_reverse) {
  const Tensor x = iota(Shape{3, 5, 2}, DType::float32);
  BOOST_TEST(reverse_sequence(x, ints({3}, {0, 0, 0}), 1, 0).bitwise_equal(x));
  BOOST_TEST(reverse_sequence(x, ints({3}, {5, 5, 5}), 1, 0).bitwise_equal(reverse(x, 1)));
  BOOST_TEST(reverse(reverse(x, 1), 1).bitwise_equal(x));
}

// tf.reverse(x, axis=[a]) on int32 for each axis, negative included.
BOOST_AUTO_TEST_CASE(reverse_int32_each_axis) {
  const Tensor x = ints({2, 3}, {1, 2, 3, 4, 5, 6});
  BOOST_TEST(reverse(x, 1).bitwise_equal(ints({2, 3}, {3, 2, 1, 6, 5, 4})));
  BOOST_TEST(reverse(x, -1).bitwise_equal(ints({2, 3}, {3, 2, 1, 6, 5, 4})));
  BOOST_TEST(reverse(x, 0).bitwise_equal(ints({2, 3}, {4, 5, 6, 1, 2, 3})));
  BOOST_TEST(reverse(ints({3}, {7, 8, 9}), 0).bitwise_equal(ints({3}, {9, 8, 7})));
}

// The op is a permutation within each row, so d sum(R * reverse_sequence(x)) / dx is exactly
// reverse_sequence(R) with the same lengths (TF's _ReverseSequenceGrad); the same for reverse.
BOOST_AUTO_TEST_CASE(gradient_is_the_reversed_gradient) {
  Fresh g;
  auto x = Variable(iota(Shape{3, 2, 4}, DType::float32), "x");  // batch_axis 2 is not 0: [time, ?, batch]
  Tensor r(DType::float32, Shape{3, 2, 4});
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto& v : r.data<float>()) v = u(rng);
  const Tensor lengths = ints({4}, {3, 0, 2, 1});
  std::vector<std::optional<Tensor>> grads;
  {
    GradientTape tape;
    const Tensor loss = add(sum_of_product(reverse_sequence(x.value(), lengths, 0, 2), r),
                            sum_of_product(reverse(x.value(), 1), r));
    grads = tape.gradient(loss, {x});
  }
  BOOST_TEST_REQUIRE(grads[0].has_value());
  const Tensor want = add(reverse_sequence(r, lengths, 0, 2), reverse(r, 1));
  BOOST_TEST(grads[0]->bitwise_equal(want));
  // Not recorded without a tape, and the int32 form is never tracked.
  BOOST_TEST(reverse_sequence(x.value(), lengths, 0, 2).tape_id() == 0u);
}

BOOST_AUTO_TEST_CASE(errors_name_the_offending_value) {
  const Tensor x = iota(Shape{4, 8, 2}, DType::float32);
  const Tensor lens = ints({4}, {7, 2, 3, 5});
  std::string m = message_of<InvalidArgumentError>([&] { (void)reverse_sequence(x, lens, 3, 0); });
  BOOST_TEST(has(m, "reverse_sequence: seq_axis 3 is out of range for input float32 [4, 8, 2] (rank 3); use an "
                    "axis in [-3, 2]"),
             m);
  m = message_of<InvalidArgumentError>([&] { (void)reverse_sequence(x, lens, 1, -4); });
  BOOST_TEST(has(m, "batch_axis -4 is out of range"), m);
  m = message_of<InvalidArgumentError>([&] { (void)reverse_sequence(x, lens, 1, -2); });
  BOOST_TEST(has(m, "reverse_sequence: seq_axis 1 and batch_axis -2 are both axis 1 of input float32 [4, 8, 2]; "
                    "they must differ"),
             m);
  m = message_of<InvalidArgumentError>([&] { (void)reverse_sequence(x, ints({4}, {7, -1, 3, 5}), 1, 0); });
  BOOST_TEST(has(m, "reverse_sequence: seq_lengths[1] = -1 is outside [0, 8]"), m);
  m = message_of<InvalidArgumentError>([&] { (void)reverse_sequence(x, ints({4}, {7, 2, 9, 5}), 1, 0); });
  BOOST_TEST(has(m, "seq_lengths[2] = 9 is outside [0, 8] (dimension 1, the seq_axis, of input float32 [4, 8, 2])"),
             m);
  m = message_of<ShapeMismatchError>([&] { (void)reverse_sequence(x, ints({3}, {7, 2, 3}), 1, 0); });
  BOOST_TEST(has(m, "reverse_sequence: seq_lengths must be int32 [4], got int32 [3]; one length per entry along "
                    "batch_axis 0 of input float32 [4, 8, 2]"),
             m);
  m = message_of<ShapeMismatchError>([&] { (void)reverse_sequence(x, ints({4, 1}, {7, 2, 3, 5}), 1, 0); });
  BOOST_TEST(has(m, "got int32 [4, 1]"), m);
  m = message_of<DTypeMismatchError>([&] { (void)reverse_sequence(x, floats({4}, {7, 2, 3, 5}), 1, 0); });
  BOOST_TEST(has(m, "seq_lengths must be int32 [4], got float32 [4]"), m);
  m = message_of<ShapeMismatchError>([&] { (void)reverse_sequence(ints({3}, {1, 2, 3}), ints({3}, {1, 1, 1}), 0, 0); });
  BOOST_TEST(has(m, "input must have rank >= 2 (a batch axis and a sequence axis), got int32 [3]"), m);
  m = message_of<InvalidArgumentError>([&] { (void)reverse(x, 3); });
  BOOST_TEST(has(m, "reverse: axis 3 is out of range for input float32 [4, 8, 2] (rank 3); use an axis in [-3, 2]"),
             m);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- the golden

BOOST_AUTO_TEST_SUITE(tf_lstm_golden)

// bidirectional_dynamic_rnn(BasicLSTMCell(4), BasicLSTMCell(4)) with lengths [5, 3, 0, 1] and
// random initial states for both directions: TF's variable names, then the values assigned by
// name; outputs, both final states, L = sum(R * outputs_fw) + sum(R * outputs_bw) + sum(R * leaf)
// over fw/c, fw/h, bw/c, bw/h, and dL / d (every variable, the inputs, the four initial leaves).
BOOST_AUTO_TEST_CASE(bidirectional_lstm_ragged_forward_and_gradients) {
  const auto& c = golden().at("bidirectional_lstm");
  Fresh g;
  const auto& init = c.at("initial_state");
  auto x = Variable(golden_tensor(c.at("inputs")), "inputs");
  auto fw_c0 = Variable(golden_tensor(init.at("fw/c")), "fw_c0");
  auto fw_h0 = Variable(golden_tensor(init.at("fw/h")), "fw_h0");
  auto bw_c0 = Variable(golden_tensor(init.at("bw/c")), "bw_c0");
  auto bw_h0 = Variable(golden_tensor(init.at("bw/h")), "bw_h0");
  const Tensor lengths = golden_ints(c.at("sequence_length"));
  const auto H = c.at("config").at("H").get<std::int64_t>();
  const auto forget_bias = c.at("config").at("forget_bias").get<float>();
  BasicLSTMCell cell_fw(H, forget_bias), cell_bw(H, forget_bias);
  auto run = [&] {
    return bidirectional_dynamic_rnn(cell_fw, cell_bw, x.value(),
                                     {.sequence_length = lengths,
                                      .initial_state_fw = LSTMStateTuple{fw_c0.value(), fw_h0.value()},
                                      .initial_state_bw = LSTMStateTuple{bw_c0.value(), bw_h0.value()}});
  };
  (void)run();  // builds the variables under bidirectional_rnn/{fw,bw}/
  std::vector<Variable> vars = cell_fw.variables();
  for (const auto& v : cell_bw.variables()) vars.push_back(v);
  std::vector<std::string> want_names;
  for (const auto& [name, value] : c.at("params").items()) want_names.push_back(name);
  BOOST_TEST(names_of(vars) == want_names, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(vars.size(), want_names.size());
  for (std::size_t i = 0; i < vars.size(); ++i) vars[i].assign(golden_tensor(c.at("params").at(want_names[i])));

  std::vector<Variable> sources = vars;
  sources.insert(sources.end(), {x, fw_c0, fw_h0, bw_c0, bw_h0});
  const auto& r_state = c.at("r_final_state");
  std::optional<BidirectionalRNNResult> result;
  Tensor loss;
  std::vector<std::optional<Tensor>> grads;
  {
    GradientTape tape;
    result = run();
    const auto& [outputs, states] = *result;
    const LSTMStateTuple fw = LSTMStateTuple::from(states[0]);
    const LSTMStateTuple bw = LSTMStateTuple::from(states[1]);
    loss = add(add(sum_of_product(outputs.first, golden_tensor(c.at("r_outputs_fw"))),
                   sum_of_product(outputs.second, golden_tensor(c.at("r_outputs_bw")))),
               add(add(sum_of_product(fw.c, golden_tensor(r_state.at("fw/c"))),
                       sum_of_product(fw.h, golden_tensor(r_state.at("fw/h")))),
                   add(sum_of_product(bw.c, golden_tensor(r_state.at("bw/c"))),
                       sum_of_product(bw.h, golden_tensor(r_state.at("bw/h"))))));
    grads = tape.gradient(loss, sources);
  }
  const auto& [outputs, states] = *result;
  BOOST_TEST((states.kind() == NestKind::tuple));
  BOOST_TEST_REQUIRE(states.size() == 2u);
  BOOST_TEST((states[0].kind() == NestKind::lstm_state_tuple));
  BOOST_TEST((states[1].kind() == NestKind::lstm_state_tuple));
  const LSTMStateTuple fw = LSTMStateTuple::from(states[0]);
  const LSTMStateTuple bw = LSTMStateTuple::from(states[1]);
  const auto& want = c.at("final_state");
  check_golden(outputs.first, c.at("outputs_fw"), "outputs_fw", kForwardBound, false);
  check_golden(outputs.second, c.at("outputs_bw"), "outputs_bw", kForwardBound, false);
  check_golden(fw.c, want.at("fw/c"), "final fw/c", kForwardBound, false);
  check_golden(fw.h, want.at("fw/h"), "final fw/h", kForwardBound, false);
  check_golden(bw.c, want.at("bw/c"), "final bw/c", kForwardBound, false);
  check_golden(bw.h, want.at("bw/h"), "final bw/h", kForwardBound, false);
  const double loss_error = std::abs(loss.item<float>() - c.at("loss").get<double>());
  BOOST_TEST_MESSAGE("loss: absolute error " << loss_error);
  BOOST_TEST(compare::within(loss.item<float>(), c.at("loss").get<double>(), 1e-6, 0.0),  // a float32 sum of ~220 terms
             "loss " << loss.item<float>() << " vs " << c.at("loss").get<double>());
  for (std::size_t i = 0; i < want_names.size(); ++i)
    check_golden(grads[i], c.at("grads").at(want_names[i]), "d/d " + want_names[i], kGradBound, true);
  const std::size_t n = want_names.size();
  const char* leaves[] = {"inputs", "initial_state/fw/c", "initial_state/fw/h", "initial_state/bw/c",
                          "initial_state/bw/h"};
  for (std::size_t i = 0; i < 5; ++i)
    check_golden(grads[n + i], c.at("grads").at(leaves[i]), std::string("d/d ") + leaves[i], kGradBound, true);
  // Edge case 4 (SPEC-cells-state): bw outputs are 0 at t >= len (row 2 has length 0, row 3 length 1),
  // and the bw state of a length-0 row is its initial state.
  const auto ob = outputs.second.data<float>();
  for (std::int64_t t = 1; t < 5; ++t)
    for (std::int64_t k = 0; k < H; ++k) BOOST_TEST(ob[static_cast<std::size_t>((3 * 5 + t) * H + k)] == 0.0f);
  for (std::int64_t k = 0; k < H; ++k) {
    BOOST_TEST(bw.h.data<float>()[static_cast<std::size_t>(2 * H + k)] ==
               bw_h0.value().data<float>()[static_cast<std::size_t>(2 * H + k)]);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- TF's BidirectionalRNNTest

BOOST_AUTO_TEST_SUITE(BidirectionalRNNTest)

namespace {

// _createBidirectionalDynamicRNN's set-up: batch 2, max_length 8, input_size 5; every time step
// is fed the same input (one placeholder), and here bw gets fw's weights (TF: the same seeded
// initializer). Then fw's output at t is bw's at len-1-t, exactly, and state_fw == state_bw.
template <class MakeCell>
void check_fw_is_reversed_bw(MakeCell make_cell, bool use_sequence_length) {
  Fresh g;
  const std::int64_t B = 2, T = 8, D = 5;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor x(DType::float32, Shape{B, T, D});
  std::vector<float> row(static_cast<std::size_t>(B * D));
  for (auto& v : row) v = u(rng);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t d = 0; d < D; ++d)
        x.data<float>()[static_cast<std::size_t>((b * T + t) * D + d)] = row[static_cast<std::size_t>(b * D + d)];
  const std::vector<std::int32_t> lens = use_sequence_length ? std::vector<std::int32_t>{2, 3}
                                                             : std::vector<std::int32_t>{8, 8};
  auto cell_fw = make_cell(), cell_bw = make_cell();
  BidirectionalRNNOptions options;
  if (use_sequence_length) options.sequence_length = ints({B}, lens);
  (void)bidirectional_dynamic_rnn(cell_fw, cell_bw, x, options);
  const auto fw_vars = cell_fw.variables(), bw_vars = cell_bw.variables();
  BOOST_REQUIRE_EQUAL(fw_vars.size(), bw_vars.size());
  for (std::size_t i = 0; i < fw_vars.size(); ++i) bw_vars[i].assign(fw_vars[i].value());

  auto [outputs, states] = bidirectional_dynamic_rnn(cell_fw, cell_bw, x, options);
  const std::int64_t O = outputs.first.shape()[2];
  BOOST_TEST(outputs.first.shape() == (Shape{B, T, O}));
  BOOST_TEST(outputs.second.shape() == (Shape{B, T, O}));
  // TF concatenates them (tf.concat(outputs, 2)) and compares depth k with depth O + k.
  const Tensor both = concat({outputs.first, outputs.second}, 2);
  const auto o = both.data<float>();
  const auto at = [&](std::int64_t b, std::int64_t t, std::int64_t k) {
    return o[static_cast<std::size_t>((b * T + t) * 2 * O + k)];
  };
  int mismatches = 0, nonzero_padding = 0;
  bool fw_varies = false;
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t len = lens[static_cast<std::size_t>(b)];
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t k = 0; k < O; ++k) {
        if (t < len) {
          if (at(b, t, k) != at(b, len - 1 - t, O + k)) ++mismatches;  // assertEqual: exact
          if (t > 0 && at(b, t, k) != at(b, 0, k)) fw_varies = true;
        } else if (at(b, t, k) != 0.0f || at(b, t, O + k) != 0.0f) {
          ++nonzero_padding;
        }
      }
  }
  BOOST_TEST(mismatches == 0, mismatches << " fw outputs differ from the bw output at len-1-t");
  BOOST_TEST(nonzero_padding == 0);
  BOOST_TEST(fw_varies, "the outputs must change over time for the check to mean something");
  // state_fw == state_bw (TF: assertAllClose; here exact, every leaf).
  BOOST_TEST_REQUIRE(states.size() == 2u);
  const auto fw_leaves = nest::flatten(states[0]);
  const auto bw_leaves = nest::flatten(states[1]);
  BOOST_REQUIRE_EQUAL(fw_leaves.size(), bw_leaves.size());
  for (std::size_t i = 0; i < fw_leaves.size(); ++i) BOOST_TEST(fw_leaves[i]->bitwise_equal(*bw_leaves[i]));
}

GRUCell make_gru() { return GRUCell(3); }
// TF's: LSTMCell(num_units=3, use_peepholes=True, state_is_tuple=...).
LSTMCell make_lstm_tuple() { return LSTMCell(3, {.use_peepholes = true}); }
LSTMCell make_lstm_concat() { return LSTMCell(3, {.use_peepholes = true, .state_is_tuple = false}); }

}  // namespace

BOOST_AUTO_TEST_CASE(testBidirectionalDynamicRNN_gru) {
  for (bool use_sequence_length : {true, false}) {
    BOOST_TEST_CONTEXT("use_sequence_length " << use_sequence_length) {
      check_fw_is_reversed_bw(make_gru, use_sequence_length);
    }
  }
}

BOOST_AUTO_TEST_CASE(testBidirectionalDynamicRNN_lstm) {
  for (bool use_sequence_length : {true, false})
    for (bool state_is_tuple : {true, false}) {
      BOOST_TEST_CONTEXT("use_sequence_length " << use_sequence_length << ", state_is_tuple " << state_is_tuple) {
        check_fw_is_reversed_bw(state_is_tuple ? make_lstm_tuple : make_lstm_concat, use_sequence_length);
      }
    }
}

// Without sequence_length the padding is reversed to the front of the bw pass (SPEC §3b): bw at
// t reads steps T-1 down to t, padding included. With lengths it reads len-1 down to t only.
BOOST_AUTO_TEST_CASE(without_sequence_length_bw_reads_the_padding_first) {
  Fresh g;
  Tensor x(DType::float32, Shape{1, 3, 1});
  // Step 0 is the token; steps 1, 2 are padding (non-zero: from zeros, zero inputs keep a GRU at 0).
  x.data<float>()[0] = 1.0f;
  x.data<float>()[1] = x.data<float>()[2] = -0.7f;
  GRUCell fw(2), bw(2);
  auto [with_lengths, s1] = bidirectional_dynamic_rnn(fw, bw, x, {.sequence_length = ints({1}, {1})});
  auto [whole, s2] = bidirectional_dynamic_rnn(fw, bw, x);
  // With length 1, bw at t=0 has read the token only: one bw step from zeros (a [1, 1] product
  // instead of the loop's [B*T, 1]: equal to rounding).
  const auto [one_step, unused] = bw(reshape(slice(x, {0, 0, 0}, {1, 1, 1}), Shape{1, 1}), bw.zero_state(1));
  (void)unused;
  BOOST_TEST(max_abs_diff(slice(with_lengths.second, {0, 0, 0}, {1, 1, 2}), reshape(one_step, Shape{1, 1, 2})) <=
             1e-6f);
  // Without, bw at t=0 has read two padding steps first: a different value.
  BOOST_TEST(
      !slice(whole.second, {0, 0, 0}, {1, 1, 2}).bitwise_equal(slice(with_lengths.second, {0, 0, 0}, {1, 1, 2})));
  // The bw final state is its output at t=0 (after reading the first token), in both cases.
  BOOST_TEST(reshape(s1[1], Shape{1, 1, 2}).bitwise_equal(slice(with_lengths.second, {0, 0, 0}, {1, 1, 2})));
  BOOST_TEST(reshape(s2[1], Shape{1, 1, 2}).bitwise_equal(slice(whole.second, {0, 0, 0}, {1, 1, 2})));
}

// testBidirectionalDynamicRNNScope (_testScope): every variable starts with the prefix, whether
// the scope is given as an entered scope object (here: entered, and scope "" = the current one),
// as a string, or not at all ("bidirectional_rnn/").
BOOST_AUTO_TEST_CASE(testBidirectionalDynamicRNNScope) {
  const Tensor x(DType::float32, Shape{2, 8, 5});
  const auto run = [&](const std::string& scope) {
    LSTMCell fw(3, {.use_peepholes = true}), bw(3, {.use_peepholes = true});
    (void)bidirectional_dynamic_rnn(fw, bw, x, {.scope = scope});
  };
  const auto all_start_with = [](const std::string& prefix) {
    const auto names = names_of(global_variables());
    BOOST_TEST(names.size() == 10u);  // 5 per direction: kernel, bias, three peepholes
    for (const auto& n : names) BOOST_TEST(n.rfind(prefix + "/", 0) == 0u, n << " is not under " << prefix << "/");
  };
  {
    Fresh g;  // use_outer_scope=True
    {
      auto scope = variable_scope("prefix");
      run("");
    }
    all_start_with("prefix");
  }
  {
    Fresh g;  // use_outer_scope=False
    run("prefix");
    all_start_with("prefix");
  }
  {
    Fresh g;  // prefix=None
    LSTMCell fw(3, {.use_peepholes = true}), bw(3, {.use_peepholes = true});
    (void)bidirectional_dynamic_rnn(fw, bw, x);
    all_start_with("bidirectional_rnn");
    // SPEC-cells-state §3b: fw/bw re-entered as scope objects, no extra "rnn" level.
    BOOST_TEST(names_of(global_variables()) ==
                   (std::vector<std::string>{
                       "bidirectional_rnn/fw/lstm_cell/kernel", "bidirectional_rnn/fw/lstm_cell/bias",
                       "bidirectional_rnn/fw/lstm_cell/w_f_diag", "bidirectional_rnn/fw/lstm_cell/w_i_diag",
                       "bidirectional_rnn/fw/lstm_cell/w_o_diag", "bidirectional_rnn/bw/lstm_cell/kernel",
                       "bidirectional_rnn/bw/lstm_cell/bias", "bidirectional_rnn/bw/lstm_cell/w_f_diag",
                       "bidirectional_rnn/bw/lstm_cell/w_i_diag", "bidirectional_rnn/bw/lstm_cell/w_o_diag"}),
               boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(errors_name_the_function) {
  Fresh g;
  GRUCell fw(2), bw(2);
  const Tensor x(DType::float32, Shape{2, 3, 1});
  std::string m = message_of<InvalidArgumentError>(
      [&] { (void)bidirectional_dynamic_rnn(fw, bw, x, {.sequence_length = ints({2}, {1, 4})}); });
  BOOST_TEST(has(m, "bidirectional_dynamic_rnn: sequence_length[1] = 4 is outside [0, 3]"), m);
  m = message_of<ShapeMismatchError>(
      [&] { (void)bidirectional_dynamic_rnn(fw, bw, x, {.sequence_length = ints({3}, {1, 1, 1})}); });
  BOOST_TEST(has(m, "bidirectional_dynamic_rnn: sequence_length must be int32 [2], got int32 [3]"), m);
  m = message_of<ShapeMismatchError>(
      [&] { (void)bidirectional_dynamic_rnn(fw, bw, Tensor(DType::float32, Shape{2, 3})); });
  BOOST_TEST(has(m, "bidirectional_dynamic_rnn: inputs must be float32 [batch, time, depth], got float32 [2, 3]"), m);
  m = message_of<ShapeMismatchError>([&] {
    (void)bidirectional_dynamic_rnn(fw, bw, x, {.initial_state_bw = Tensor(DType::float32, Shape{2, 3})});
  });
  BOOST_TEST(has(m, "bidirectional_dynamic_rnn: initial_state_bw must be float32 [2, 2], got float32 [2, 3]"), m);
}

BOOST_AUTO_TEST_SUITE_END()
