// Numerics checked against independent code (tests/README.md says which oracle
// made each golden file): Dense, softmax/log_softmax and the TF-layout GRU against
// float64 NumPy references (tests/data/numerics_golden.json, tools/gen-numerics-golden.py),
// the TF-layout GRU also against TensorFlow.js's tf.layers.gru (gru_tfjs_golden.json),
// and the reset-after GRU against real torch.nn.GRU float32 outputs. Bounds come
// from float32 error analysis (gamma_k below). Plus the fast GRU step against a
// plain reference built from value ops, op-level unit tests, and layer naming/sharing rules.
#define BOOST_TEST_MODULE numerics
#include "support/boost_test.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <string>
#include <vector>

import varscope;
import varscope.testing;  // test hooks (modules/testing.cppm)
#include "support/compare.hpp"
#include "numerics_golden.hpp"  // generated: kNumericsGolden
#include "gru_tfjs_golden.hpp"  // generated: kGruTfjsGolden

using namespace varscope;
using nlohmann::json;
namespace tt = boost::test_tools;

namespace {

struct FreshGraph {
  Graph graph;
  DefaultGraphGuard session{graph};
};

Tensor tensor_from(const json& j) {
  const auto dims = j.at("shape").get<std::vector<std::int64_t>>();
  return Tensor(Shape(dims), j.at("data").get<std::vector<float>>());
}
Tensor ints_from(const json& j) {
  return Tensor(Shape(j.at("shape").get<std::vector<std::int64_t>>()), j.at("data").get<std::vector<std::int32_t>>());
}

// Unit roundoff of float32 and Higham's gamma_k = k u / (1 - k u): the bound on the
// relative error of a k-term float32 dot product / sum in any order (with or without FMA):
// |fl(sum a_i b_i) - sum a_i b_i| <= gamma_k * sum |a_i b_i|.
constexpr double kU = 0x1p-24;
constexpr double gamma_k(double k) { return k * kU / (1 - k * kU); }

// GRU bound: 1e-6 relative (absolute below 1), for float32 GRU values against the
// float64 reference, TF.js and nn.GRU. Measured worst: 1.2e-7 (nn.GRU), 8.9e-8 (TF.js),
// 7.5e-8 (NumPy), logged with --log_level=message. Per step the pre-activations are
// dot products of length D + H + 1 <= 11 (gamma_11 = 6.6e-7 relative to sum |a_i b_i|),
// squashed by sigmoid (slope <= 1/4) and tanh (<= 1) and mixed by a convex combination
// that does not amplify state errors, over T <= 5 steps: a handful of u per step. 1e-6
// is ~8x the measured worst and 10x tighter than the old 1e-5; a wrong gate order,
// bias or mask is off by > 1e-2.
constexpr double kGruBound = 1e-6;

// ExactProduct / exact_product / error_over_bound: tests/support/compare.hpp (NaN-safe).
using compare::error_over_bound;
using compare::exact_product;
using compare::ExactProduct;

// Worst |got - want| / max(1, |want|) (relative, absolute near 0); checked against `bound`.
// The measured worst is logged (--log_level=message) so bounds can be re-derived.
// A NaN or an infinity on either side makes `worst` NaN / inf, so the check fails
// (compare::worst_relative; tests/compare_self_test.cpp).
double check_close(const Tensor& got, const Tensor& want, const std::string& what, double bound) {
  double worst = 0;
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST_REQUIRE(got.shape() == want.shape());
    worst = compare::worst_relative(got, want);
    BOOST_TEST_MESSAGE(what << ": worst relative error " << worst << " (bound " << bound << ")");
    BOOST_TEST(worst <= bound);
  }
  return worst;
}

Activation activation_from(const std::string& s) {
  if (s == "relu") return Activation::relu;
  if (s == "tanh") return Activation::tanh;
  if (s == "sigmoid") return Activation::sigmoid;
  return Activation::linear;
}

const json& golden() {
  static const json j = json::parse(kNumericsGolden);
  return j;
}

}  // namespace

// ---------------------------------------------------------------- against PyTorch / TF.js
BOOST_AUTO_TEST_SUITE(golden_data)

BOOST_FIXTURE_TEST_CASE(dense_matches_float64_numpy_reference, FreshGraph) {
  // Oracle: y = act(x @ kernel + bias) in float64 NumPy, rounded to float32.
  BOOST_TEST_REQUIRE(golden().at("dense").size() >= 4u);
  for (const auto& c : golden().at("dense")) {
    const bool use_bias = c.at("use_bias").get<bool>();
    const Tensor x = tensor_from(c.at("x")), kernel = tensor_from(c.at("kernel"));
    const Tensor y = tensor_from(c.at("y"));
    const std::optional<Tensor> bias = use_bias ? std::optional(tensor_from(c.at("bias"))) : std::nullopt;
    Dense layer(c.at("units").get<std::int64_t>(),
                {.activation = activation_from(c.at("activation")),
                 .use_bias = use_bias,
                 .kernel_initializer = constant_initializer(kernel),
                 .bias_initializer = bias ? std::optional(constant_initializer(*bias)) : std::nullopt});
    const Tensor got = layer(x);
    // Per element: the float32 product and bias add (k + 1 terms) err by at most
    // gamma_{k+1} * (sum_i |x_i w_ij| + |b_j|); relu is exact and tanh / sigmoid are
    // 1-Lipschitz, evaluated to a few ulp (<= 4u |y|); the golden value is the float64
    // result rounded to float32 (<= u |y|).
    const std::int64_t rows = x.shape()[0], k = x.shape()[1], n = kernel.shape()[1];
    double worst_ratio = 0;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < n; ++j) {
        double sum_abs = bias ? std::abs(double(bias->data<float>()[j])) : 0.0;
        for (std::int64_t i = 0; i < k; ++i)
          sum_abs += std::abs(double(x.data<float>()[r * k + i]) * kernel.data<float>()[i * n + j]);
        const double want = y.data<float>()[r * n + j];
        const double bound = gamma_k(double(k + 1)) * sum_abs + 5 * kU * std::abs(want);
        const double err = std::abs(double(got.data<float>()[r * n + j]) - want);
        worst_ratio = std::max(worst_ratio, err / bound);
        BOOST_TEST(err <= bound, c.at("name").get<std::string>() << " [" << r << ", " << j << "]: error " << err
                                                                 << " > bound " << bound);
      }
    BOOST_TEST_MESSAGE(c.at("name").get<std::string>() << ": worst error / bound = " << worst_ratio);
  }
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax_match_float64_numpy_reference) {
  // Oracle: the stable float64 forms, rounded to float32. For a row of n logits the
  // float32 sum of n exps errs by gamma_n relative; exp, log and the division add a few
  // ulp each: softmax is within gamma_{n+4} relative; log_softmax = (x - max) - log(sum)
  // within gamma_{n+4} * max(1, |want|) (the rows here have |x - max| <= 2000 and the
  // subtraction x - max is exact by Sterbenz or rounds once).
  for (const auto& c : golden().at("softmax")) {
    const Tensor logits = tensor_from(c.at("logits"));
    const double n = double(logits.shape()[logits.shape().rank() - 1]);
    check_close(softmax(logits), tensor_from(c.at("softmax")), c.at("name").get<std::string>() + " softmax",
                gamma_k(n + 4));
    check_close(log_softmax(logits), tensor_from(c.at("log_softmax")),
                c.at("name").get<std::string>() + " log_softmax", gamma_k(n + 4));
  }
}

namespace {
RNNResult run_tf_gru(const json& c) {
  GRUCell cell(c.at("units").get<std::int64_t>(), "cell");
  {
    auto scope = variable_scope("golden");
    cell.build(c.at("input_dim").get<std::int64_t>());
  }
  const auto vars = cell.variables();
  vars[0].assign(tensor_from(c.at("gates_kernel")));
  vars[1].assign(tensor_from(c.at("gates_bias")));
  vars[2].assign(tensor_from(c.at("candidate_kernel")));
  vars[3].assign(tensor_from(c.at("candidate_bias")));
  return dynamic_rnn(cell, tensor_from(c.at("inputs")),
                     {.sequence_length = ints_from(c.at("sequence_length")),
                      .initial_state = tensor_from(c.at("initial_state")),
                      .scope = "golden"});
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(tf_layout_gru_matches_float64_reference_and_tfjs, FreshGraph) {
  const json tfjs = json::parse(kGruTfjsGolden);
  BOOST_TEST_REQUIRE(golden().at("gru_tf").size() == 3u);
  for (const auto& c : golden().at("gru_tf")) {
    Graph g;
    auto use = g.as_default();
    const auto result = run_tf_gru(c);
    const std::string name = c.at("name");
    // Oracle 1: float64 NumPy implementation of SPEC section 5 (tools/gen-numerics-golden.py).
    check_close(result.outputs, tensor_from(c.at("outputs")), name + " outputs vs float64 NumPy reference", kGruBound);
    check_close(result.final_state, tensor_from(c.at("final_state")), name + " final_state vs float64 NumPy reference",
                kGruBound);
    bool found = false;
    for (const auto& t : tfjs.at("cases")) {
      if (t.at("name") != name) continue;
      found = true;
      // Oracle 2: TensorFlow.js 4.22 tf.layers.gru (Keras layout, converted weights).
      check_close(result.outputs, tensor_from(t.at("outputs")), name + " outputs vs TF.js", kGruBound);
      check_close(result.final_state, tensor_from(t.at("final_state")), name + " final_state vs TF.js", kGruBound);
    }
    BOOST_TEST(found, "TF.js case " << name);
  }
}

BOOST_FIXTURE_TEST_CASE(tf_layout_gru_matches_tfs_own_literal_test_values, FreshGraph) {
  // Oracle: TensorFlow 1.x's own numbers, from rnn_cell_test.py testGRUCell: kernels from the
  // scope initializer constant 0.5, default biases (gates 1.0, candidate 0.0), state [[0.1, 0.1]].
  // TF prints 6 significant digits: |got - TF| <= 5e-7 (the printing) + 1e-6 (the GRU bound).
  struct Case {
    std::string scope;
    std::vector<float> x;
    float want;
  };
  for (const Case& c : {Case{"root", {1, 1}, 0.175991f}, Case{"other", {1, 1, 1}, 0.156736f}}) {
    auto s = variable_scope(c.scope, {.initializer = constant_initializer(0.5)});
    GRUCell cell(2);
    const auto n = static_cast<std::int64_t>(c.x.size());
    const Tensor h = cell(Tensor(Shape{1, n}, c.x), Tensor(Shape{1, 2}, std::vector<float>{0.1f, 0.1f})).output;
    for (const float got : h.data<float>()) BOOST_TEST(std::abs(double(got) - c.want) <= 5e-7 + kGruBound, c.scope << ": " << got);
  }
}

BOOST_FIXTURE_TEST_CASE(reset_after_gru_matches_real_torch_nn_gru, FreshGraph) {
  BOOST_TEST_REQUIRE(golden().at("gru_torch").size() == 2u);
  for (const auto& c : golden().at("gru_torch")) {
    Graph g;
    auto use = g.as_default();
    ResetAfterGRUCell cell(c.at("units").get<std::int64_t>(), "gru");
    cell.build(c.at("input_dim").get<std::int64_t>());
    const auto vars = cell.variables();
    vars[0].assign(tensor_from(c.at("weight_ih")));
    vars[1].assign(tensor_from(c.at("weight_hh")));
    vars[2].assign(tensor_from(c.at("bias_ih")));
    vars[3].assign(tensor_from(c.at("bias_hh")));
    const auto result = dynamic_rnn(cell, tensor_from(c.at("inputs")),
                                    {.sequence_length = ints_from(c.at("sequence_length")),
                                     .initial_state = tensor_from(c.at("initial_state"))});
    // Oracle: real torch.nn.GRU (float32) outputs.
    check_close(result.outputs, tensor_from(c.at("outputs")), c.at("name").get<std::string>() + " outputs vs nn.GRU",
                kGruBound);
    check_close(result.final_state, tensor_from(c.at("final_state")), c.at("name").get<std::string>() + " h_n vs nn.GRU",
                kGruBound);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- fast path vs plain reference
BOOST_AUTO_TEST_SUITE(reference_paths)

// The GRU math written with value ops only, exactly as SPEC section 5 states it.
Tensor reference_gru_step(const GRUCell& cell, const Tensor& x, const Tensor& h) {
  const auto v = cell.variables();
  const std::int64_t H = cell.state_size();
  const Tensor value = sigmoid(bias_add(matmul(concat({x, h}, 1), v[0].value()), v[1].value()));
  const auto ru = split(value, {H, H}, 1);
  const Tensor c = tanh(bias_add(matmul(concat({x, multiply(ru[0], h)}, 1), v[2].value()), v[3].value()));
  // h' = u*h + (1-u)*c
  const Tensor one_minus_u = add(multiply(ru[1], fill(ru[1].shape(), -1.0f)), fill(ru[1].shape(), 1.0f));
  return add(multiply(ru[1], h), multiply(one_minus_u, c));
}

BOOST_FIXTURE_TEST_CASE(fast_gru_step_equals_plain_reference, FreshGraph) {
  GRUCell cell(16, "cell");
  const Tensor x = random_normal({5, 7});
  Tensor h = random_normal({5, 16});
  for (int t = 0; t < 4; ++t) {
    const Tensor fast = cell(x, h).output;
    const Tensor ref = reference_gru_step(cell, x, h);
    BOOST_TEST(max_abs_diff(fast, ref) <= kGruBound);
    h = fast;
  }
}

// The RNNCell split-step API: project_inputs for all N = B*T rows at once, then step()
// per time step on strided views with a reused Workspace, must give what operator()
// gives step by step (bit for bit: the same kernels) and what the value-op reference
// gives (GRUCell; within the 1e-6 GRU bound).
template <class Cell>
void check_split_step(Cell& cell, bool with_reference) {
  constexpr std::int64_t B = 3, T = 4, D = 5;
  const Tensor x = random_normal({B, T, D});
  const Tensor h0 = random_normal({B, cell.state_size()});
  (void)cell(reshape(slice(x, {0, 0, 0}, {B, 1, D}), Shape{B, D}), h0);  // builds the variables
  const std::int64_t H = cell.state_size(), P = cell.projection_size();
  BOOST_TEST(cell.built());
  BOOST_TEST(cell.output_size() == H);
  Tensor projected(DType::float32, Shape{B, T, P});
  cell.project_inputs(ConstMatrixView{x.data<float>().data(), B * T, D, D},
                      MatrixView{projected.data<float>().data(), B * T, P, P});
  Workspace workspace;
  Tensor h = h0, next(DType::float32, Shape{B, H});
  for (std::int64_t t = 0; t < T; ++t) {
    const Tensor x_t = reshape(slice(x, {0, t, 0}, {B, 1, D}), Shape{B, D});
    Tensor output(DType::float32, Shape{B, H});
    cell.step({.projection = time_step(std::as_const(projected), t),
               .state = as_matrix(std::as_const(h)),
               .state_out = as_matrix(next),
               .output = as_matrix(output)},
              workspace);
    const auto [by_call, state_by_call] = cell(x_t, h);
    BOOST_TEST(next.bitwise_equal(state_by_call), "t=" << t);
    BOOST_TEST(output.bitwise_equal(by_call), "t=" << t);  // a GRU's output is its new state
    if (with_reference) {
      if constexpr (std::is_same_v<Cell, GRUCell>) {
        const Tensor ref = reference_gru_step(cell, x_t, h);
        BOOST_TEST(max_abs_diff(next, ref) <= kGruBound, "t=" << t << " " << max_abs_diff(next, ref));
      }
    }
    h = next;
    next = Tensor(DType::float32, Shape{B, H});
  }
  // The same as dynamic_rnn, which uses this API.
  const auto rnn = dynamic_rnn(cell, x, {.initial_state = h0, .scope = ""});
  BOOST_TEST(rnn.final_state.leaf().bitwise_equal(h));
}

BOOST_FIXTURE_TEST_CASE(split_step_api_equals_calling_the_cell, FreshGraph) {
  GRUCell gru(6, "gru");
  BOOST_TEST(gru.projection_size() == 18);
  check_split_step(gru, true);
  ResetAfterGRUCell torch_gru(7, "torch_gru");
  BOOST_TEST(torch_gru.projection_size() == 21);
  check_split_step(torch_gru, false);
}

BOOST_FIXTURE_TEST_CASE(dynamic_rnn_equals_stepping_the_cell_by_hand, FreshGraph) {
  GRUCell cell(8, "cell");
  const Tensor inputs = random_normal({3, 6, 4});
  const Tensor lengths(Shape{3}, std::vector<std::int32_t>{6, 3, 0});
  const auto result = dynamic_rnn(cell, inputs, {.sequence_length = lengths, .scope = "enc"});
  Tensor h = cell.zero_state(3);
  for (std::int64_t t = 0; t < 6; ++t) {
    const Tensor x_t = reshape(slice(inputs, {0, t, 0}, {3, 1, 4}), Shape{3, 4});
    const Tensor next = reference_gru_step(cell, x_t, h);
    const Tensor out_t = reshape(slice(result.outputs, {0, t, 0}, {3, 1, 8}), Shape{3, 8});
    for (std::int64_t b = 0; b < 3; ++b) {
      const bool active = t < lengths.data<std::int32_t>()[b];
      for (std::int64_t j = 0; j < 8; ++j) {
        const float want = active ? next.data<float>()[b * 8 + j] : 0.0f;
        BOOST_TEST(std::abs(out_t.data<float>()[b * 8 + j] - want) <= kGruBound);
        if (active) h.data<float>()[b * 8 + j] = next.data<float>()[b * 8 + j];
      }
    }
  }
  BOOST_TEST(max_abs_diff(result.final_state, h) <= kGruBound);
  // Length 0: the final state is the initial (zero) state.
  for (std::int64_t j = 0; j < 8; ++j) BOOST_TEST(result.final_state.leaf().data<float>()[2 * 8 + j] == 0.0f);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- ops
BOOST_AUTO_TEST_SUITE(ops)

Tensor f(Shape s, std::vector<float> v) { return Tensor(s, std::move(v)); }
Tensor i32(Shape s, std::vector<std::int32_t> v) { return Tensor(s, std::move(v)); }
std::vector<float> values(const Tensor& t) { auto d = t.data<float>(); return {d.begin(), d.end()}; }
std::vector<std::int32_t> ints(const Tensor& t) { auto d = t.data<std::int32_t>(); return {d.begin(), d.end()}; }

BOOST_AUTO_TEST_CASE(matmul_with_transposes) {
  const Tensor a = f({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = f({3, 2}, {7, 8, 9, 10, 11, 12});
  BOOST_TEST(values(matmul(a, b)) == (std::vector<float>{58, 64, 139, 154}), tt::per_element());
  BOOST_TEST(values(matmul(b, a, true, true)) == (std::vector<float>{58, 139, 64, 154}), tt::per_element());
  BOOST_TEST(values(matmul(a, a, false, true)) == (std::vector<float>{14, 32, 32, 77}), tt::per_element());
  BOOST_TEST(values(matmul(a, a, true, false))[0] == 17.0f);
  BOOST_CHECK_THROW((void)matmul(a, a), ShapeMismatchError);
  BOOST_CHECK_THROW((void)matmul(a, i32({3, 1}, {1, 2, 3})), DTypeMismatchError);
}

BOOST_AUTO_TEST_CASE(fast_matmul_kernels_equal_the_reference_loop) {
  // Row counts around the 4-row blocks and the small/Eigen threshold; column
  // counts around the 16-wide blocks; strided views (row_stride > cols).
  Graph g;
  auto use = g.as_default();
  for (std::int64_t m : {1, 2, 3, 4, 5, 7, 8, 16, 31, 32, 33, 64}) {
    for (std::int64_t n : {1, 15, 16, 17, 40}) {
      const std::int64_t k = 37;
      const Tensor a = random_normal({m, k + 3});
      const Tensor b = random_normal({k, n});
      const ConstMatrixView av(a.data<float>().data(), m, k, k + 3);  // strided: skips 3 columns
      Tensor fast(DType::float32, Shape{m, n}), ref(DType::float32, Shape{m, n}), eig(DType::float32, Shape{m, n});
      // Without accumulate the old contents are never read (NaN would leak through).
      for (auto& x : fast.data<float>()) x = std::numeric_limits<float>::quiet_NaN();
      matmul_into(av, as_matrix(b), as_matrix(fast));
      testing::matmul_reference_into(av, as_matrix(b), as_matrix(ref));
      testing::matmul_eigen_into(av, as_matrix(b), as_matrix(eig));
      BOOST_TEST_CONTEXT("m=" << m << " n=" << n) {
        // Each result is a k-term float32 dot product: within gamma_k * S_ij of the exact
        // product P (any summation order, FMA or not). Accumulate adds onto the old values
        // (either fl(old + fl(a b)) or a (k+1)-term sum starting at old): within
        // (3 gamma_{k+1} + 2.1 u) S_ij of 2 P. See packed_matmul_equals_the_reference_loop.
        const ExactProduct e = exact_product(av, as_matrix(b));
        BOOST_TEST(error_over_bound(as_matrix(std::as_const(fast)), e, 1.0, gamma_k(k)) <= 1.0);
        BOOST_TEST(error_over_bound(as_matrix(std::as_const(ref)), e, 1.0, gamma_k(k)) <= 1.0);
        BOOST_TEST(error_over_bound(as_matrix(std::as_const(eig)), e, 1.0, gamma_k(k)) <= 1.0);
        matmul_into(av, as_matrix(b), as_matrix(fast), true);
        BOOST_TEST(error_over_bound(as_matrix(std::as_const(fast)), e, 2.0, 3 * gamma_k(k + 1) + 2.1 * kU) <= 1.0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(transposed_matmul_kernels_are_within_float32_error_of_the_exact_product) {
  // a^T b and a b^T (the gradients' products: dK = x^T dz, dx = dz K^T), strided
  // operands and output, with and without accumulate; checked against the exact
  // product of explicitly transposed copies.
  Graph g;
  auto use = g.as_default();
  for (std::int64_t m : {1, 7, 64}) {
    for (std::int64_t n : {1, 17, 40}) {
      for (std::int64_t k : {1, 37, 300}) {
        BOOST_TEST_CONTEXT("m=" << m << " n=" << n << " k=" << k) {
          const Tensor at = random_normal({k, m + 2});  // a^T stored [k, m], strided
          const Tensor b = random_normal({k, n});
          const Tensor bt = random_normal({n, k + 1});  // b^T stored [n, k], strided
          const ConstMatrixView atv(at.data<float>().data(), k, m, m + 2);
          const ConstMatrixView btv(bt.data<float>().data(), n, k, k + 1);
          Tensor a(DType::float32, Shape{m, k}), b2(DType::float32, Shape{k, n});  // explicit transposes
          for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t l = 0; l < k; ++l) a.data<float>()[i * k + l] = atv.data[l * atv.row_stride + i];
          for (std::int64_t l = 0; l < k; ++l)
            for (std::int64_t j = 0; j < n; ++j) b2.data<float>()[l * n + j] = btv.data[j * btv.row_stride + l];
          Tensor out(DType::float32, Shape{m, n + 3});
          for (auto& x : out.data<float>()) x = std::numeric_limits<float>::quiet_NaN();
          const MatrixView ov{out.data<float>().data(), m, n, n + 3};
          const ConstMatrixView got{ov.data, m, n, n + 3};
          // out = a^T b (old contents never read), then += a^T b.
          const ExactProduct e1 = exact_product(as_matrix(a), as_matrix(b));
          matmul_transposed_a_into(atv, as_matrix(b), ov);
          BOOST_TEST(error_over_bound(got, e1, 1.0, gamma_k(k)) <= 1.0);
          matmul_transposed_a_into(atv, as_matrix(b), ov, true);
          BOOST_TEST(error_over_bound(got, e1, 2.0, 3 * gamma_k(k + 1) + 2.1 * kU) <= 1.0);
          BOOST_TEST(std::isnan(ov.data[n]));  // the stride gap is never written
          // out = a b^T with a [m, k] and b^T stored [n, k].
          const ExactProduct e2 = exact_product(as_matrix(a), as_matrix(b2));
          matmul_transposed_b_into(as_matrix(a), btv, ov);
          BOOST_TEST(error_over_bound(got, e2, 1.0, gamma_k(k)) <= 1.0);
          matmul_transposed_b_into(as_matrix(a), btv, ov, true);
          BOOST_TEST(error_over_bound(got, e2, 2.0, 3 * gamma_k(k + 1) + 2.1 * kU) <= 1.0);
        }
      }
    }
  }
  Tensor out(DType::float32, Shape{2, 3});
  const Tensor a = random_normal({4, 2}), b = random_normal({5, 3});
  BOOST_CHECK_THROW(matmul_transposed_a_into(as_matrix(a), as_matrix(b), as_matrix(out)), ShapeMismatchError);
  BOOST_CHECK_THROW(matmul_transposed_b_into(as_matrix(a), as_matrix(b), as_matrix(out)), ShapeMismatchError);
}

BOOST_AUTO_TEST_CASE(packed_matmul_equals_the_reference_loop) {
  // Rows around the 6-row blocks, columns around the 16-wide panels, depth
  // across the 512 depth blocks; strided a and out; accumulate; NaN-filled out.
  Graph g;
  auto use = g.as_default();
  // 1 or 2 rows left after the 6-row blocks (m = 1, 2, 7, 8, 13, 14) over 6 or more full panels
  // (n = 96, 100) run packed_block_wide, 3 or 6 panels at a time.
  for (std::int64_t m : {1, 2, 5, 6, 7, 8, 12, 13, 14, 64}) {
    for (std::int64_t n : {1, 15, 16, 17, 40, 96, 100}) {
      for (std::int64_t k : {1, 37, 700}) {
        const Tensor a = random_normal({m, k + 3});
        const Tensor b = random_normal({k, n});
        const ConstMatrixView av(a.data<float>().data(), m, k, k + 3);
        const PackedMatrix packed(as_matrix(b));
        Tensor fast(DType::float32, Shape{m, n + 2}), ref(DType::float32, Shape{m, n});
        for (auto& x : fast.data<float>()) x = std::numeric_limits<float>::quiet_NaN();
        const MatrixView fv{fast.data<float>().data(), m, n, n + 2};  // strided output
        matmul_packed_into(av, packed, fv);
        testing::matmul_reference_into(av, as_matrix(b), as_matrix(ref));
        BOOST_TEST_CONTEXT("m=" << m << " n=" << n << " k=" << k) {
          // Float32 error analysis (Higham, Accuracy and Stability, 3.1): a k-term dot product
          // computed in float32 in any order, with or without FMA, is within gamma_k * S_ij of
          // the exact P_ij, gamma_k = k u / (1 - k u), u = 2^-24, S_ij = sum_l |a_il b_lj|.
          // Checked against P in double, for the packed kernel and the reference loop alike.
          // (The old bound, 1e-3 sqrt(k) absolute, allowed 6e-3 at k = 37 where this allows
          // ~1e-4; it is a worst case, so measured errors sit at ~1e-2 (k = 37) to ~1e-3
          // (k = 700) of it: rounding errors add up like sqrt(k), not k.)
          const ExactProduct e = exact_product(av, as_matrix(b));
          const ConstMatrixView got{fv.data, m, n, n + 2};
          const double ratio = error_over_bound(got, e, 1.0, gamma_k(k));
          BOOST_TEST(ratio <= 1.0, "worst error / bound " << ratio);
          BOOST_TEST(error_over_bound(as_matrix(std::as_const(ref)), e, 1.0, gamma_k(k)) <= 1.0);
          BOOST_TEST_MESSAGE("m=" << m << " n=" << n << " k=" << k << ": packed error / bound " << ratio);
          BOOST_TEST(std::isnan(fv.data[n]));  // the stride gap is never written
          // accumulate: out = old + a b, within (3 gamma_{k+1} + 2.1 u) S of 2 P (either
          // fl(old + fl(a b)): 2 gamma_k S + u |out|, or a (k+1)-term sum from old:
          // gamma_k S + gamma_{k+1} (|old| + S)).
          matmul_packed_into(av, packed, fv, true);
          const double ratio2 = error_over_bound(got, e, 2.0, 3 * gamma_k(k + 1) + 2.1 * kU);
          BOOST_TEST(ratio2 <= 1.0, "accumulate: worst error / bound " << ratio2);
        }
      }
    }
  }
  const Tensor b = random_normal({4, 3}), a = random_normal({2, 5});
  Tensor out(DType::float32, Shape{2, 3});
  BOOST_CHECK_THROW(matmul_packed_into(as_matrix(a), PackedMatrix(as_matrix(b)), as_matrix(out)), ShapeMismatchError);
}

BOOST_AUTO_TEST_CASE(packed_weights_transposed_rows_equal_the_exact_product_and_see_assigns) {
  // PackedWeights::matmul_transposed_into(x, w, row_begin, rows): x @ w[rows]^T, the GRU and
  // LSTM backward's per-step product, packed once per version of w. Checked against the exact
  // product with the part transposed by hand, with accumulate, a strided output, and after an
  // assign (a stale packed copy would still give the old weights' product).
  Graph g;
  auto use = g.as_default();
  const std::int64_t R = 45, N = 37, row_begin = 13, rows = 20, B = 7;
  Variable w(random_normal({R, N}), "w");
  const Tensor x = random_normal({B, N});
  PackedWeights packed;
  auto check = [&](const char* when) {
    Tensor part_t(DType::float32, Shape{N, rows});
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < N; ++j)
        part_t.data<float>()[j * rows + i] = w.value().data<float>()[(row_begin + i) * N + j];
    const ExactProduct e = exact_product(as_matrix(x), as_matrix(part_t));
    Tensor out(DType::float32, Shape{B, rows + 3});
    for (auto& v : out.data<float>()) v = std::numeric_limits<float>::quiet_NaN();
    const MatrixView ov{out.data<float>().data(), B, rows, rows + 3};
    packed.matmul_transposed_into(as_matrix(x), w, row_begin, rows, ov);
    const ConstMatrixView got{ov.data, B, rows, rows + 3};
    BOOST_TEST(error_over_bound(got, e, 1.0, gamma_k(N)) <= 1.0, when);
    BOOST_TEST(std::isnan(ov.data[rows]), when);  // the stride gap is never written
    packed.matmul_transposed_into(as_matrix(x), w, row_begin, rows, ov, /*accumulate=*/true);
    BOOST_TEST(error_over_bound(got, e, 2.0, 3 * gamma_k(N + 1) + 2.1 * kU) <= 1.0, when);
  };
  check("first use");
  check("packed copy reused");
  w.assign(random_normal({R, N}));
  check("after assign");
  Tensor out(DType::float32, Shape{B, rows});
  BOOST_CHECK_THROW(packed.matmul_transposed_into(as_matrix(x), w, 30, rows, as_matrix(out)), ShapeMismatchError);
}

BOOST_AUTO_TEST_CASE(dense_repacks_its_kernel_after_assign) {
  // Natively Dense runs on a packed copy of its kernel; an assign must be seen
  // by the next call (checked against a fresh product).
  Graph g;
  auto use = g.as_default();
  Dense layer(20, {.use_bias = false, .name = "proj"});
  const Tensor x = random_normal({17, 30});
  const Tensor first = layer(x);
  BOOST_TEST(max_abs_diff(first, matmul(x, layer.kernel().value())) < 1e-4f);
  layer.kernel().assign(random_normal({30, 20}));
  const Tensor second = layer(x);
  BOOST_TEST(max_abs_diff(second, matmul(x, layer.kernel().value())) < 1e-4f);
  BOOST_TEST(max_abs_diff(first, second) > 0.1f);
}

BOOST_AUTO_TEST_CASE(recurrent_kernels_stay_packed_at_many_rows_after_an_update) {
  // A recurrence at batch 64+ right after its weights changed (every step of training):
  // the cells' recurrent kernels are PackedWeights::EveryStep, so each step's product runs
  // on the one packed copy instead of going to OpenBLAS (which packs the weights again on
  // every call). Only the one-shot input projections over all steps may go to BLAS: the
  // count of BLAS products must not grow with the number of steps. (In wasm there is no BLAS:
  // both counts are 0.)
  Graph g(11);
  auto use = g.as_default();
  constexpr std::int64_t B = 64, D = 24, H = 32;
  GRUCell gru(H, "gru");
  LSTMCell lstm(H, {.name = "lstm"});
  const auto blas_products_of = [&](auto& cell, std::int64_t steps) {
    const Tensor x = random_normal({B, steps, D});
    (void)dynamic_rnn(cell, x, {.scope = ""});  // built and packed
    for (const Variable& v : cell.variables()) v.assign(v.value() * 0.5f);  // an update: packed copies are stale
    const std::int64_t before = testing::blas_products_started();
    (void)dynamic_rnn(cell, x, {.scope = ""});
    return testing::blas_products_started() - before;
  };
  const auto check = [&](auto& cell, const char* name) {
    const std::int64_t short_run = blas_products_of(cell, 3), long_run = blas_products_of(cell, 12);
    BOOST_TEST(short_run == long_run, name << ": BLAS products " << short_run << " for 3 steps, " << long_run << " for 12");
  };
  check(gru, "GRUCell");
  check(lstm, "LSTMCell");
}

BOOST_AUTO_TEST_CASE(dense_over_many_rows_packs_weights_that_stay_put) {
  // A Dense over 64+ rows hands its first product to OpenBLAS (one product: packing would not
  // pay), then packs its kernel if it is used again unchanged (a decoder's output layer over
  // batch x beam rows, every step) and keeps using the packed copy. A kernel that changes
  // between uses (a training step's output layer) goes to OpenBLAS every time and is never
  // packed. Results equal a fresh product either way. (In wasm there is no BLAS: counts are 0.)
  Graph g(5);
  auto use = g.as_default();
  Dense decoder_layer(40, {.use_bias = false, .name = "out"}), trained_layer(40, {.use_bias = false, .name = "trained"});
  const Tensor x = random_normal({96, 30});
  // (The reference products go to BLAS themselves, so they are taken outside the counts.)
  const auto blas_products_in = [](const std::function<void()>& f) {
    const std::int64_t before = testing::blas_products_started();
    f();
    return testing::blas_products_started() - before;
  };
  std::vector<Tensor> ys;
  const std::int64_t decoder_calls = blas_products_in([&] {
    for (int i = 0; i < 4; ++i) ys.push_back(decoder_layer(x));
  });
  for (const Tensor& y : ys) BOOST_TEST(max_abs_diff(y, matmul(x, decoder_layer.kernel().value())) < 1e-4f);
  ys.clear();
  const std::int64_t trained_calls = blas_products_in([&] {
    for (int i = 0; i < 4; ++i) {
      ys.push_back(trained_layer(x));
      trained_layer.kernel().assign(trained_layer.kernel().value() * 0.5f);
    }
  });
  BOOST_TEST(max_abs_diff(ys.back(), matmul(x, trained_layer.kernel().value() * 2.0f)) < 1e-4f);
#ifndef __EMSCRIPTEN__
  BOOST_TEST(decoder_calls == 1, "a kernel used again unchanged is packed after its first product (" << decoder_calls
                                                                                                    << " BLAS products)");
  BOOST_TEST(trained_calls == 4, "a kernel that changes between uses stays on BLAS (" << trained_calls << ")");
#else
  BOOST_TEST(decoder_calls + trained_calls == 0);
#endif
}

BOOST_AUTO_TEST_CASE(packed_weights_over_many_rows_switching_row_ranges_stay_exact) {
  // One PackedWeights used for two row ranges of a weight in turn, with 64+ rows: whichever
  // path each product takes (OpenBLAS, a fresh packed copy, a cached one), it must be the
  // product with the rows asked for, never a packed copy of the other range.
  Graph g(9);
  auto use = g.as_default();
  Variable w = get_variable("w", {.initializer = random_normal({40, 24})});
  const Tensor x = random_normal({70, 20});
  PackedWeights packed;
  const ConstMatrixView all = as_matrix(w.value());
  for (const std::int64_t row_begin : {0, 0, 20, 20, 20, 0, 0, 0, 20, 20}) {
    Tensor got(DType::float32, Shape{70, 24}), want(DType::float32, Shape{70, 24});
    packed.matmul_into(as_matrix(x), w, row_begin, 20, as_matrix(got));
    testing::matmul_reference_into(as_matrix(x), ConstMatrixView(all.data + row_begin * all.row_stride, 20, 24, all.row_stride),
                                   as_matrix(want));
    BOOST_TEST(max_abs_diff(got, want) < 1e-4f, "rows from " << row_begin);
  }
}

BOOST_AUTO_TEST_CASE(reset_after_gru_sees_assigned_weights) {
  // The cell runs on packed transposes of weight_ih / weight_hh: assigning new
  // values after a first run must give what a cell assigned before running gives.
  const Tensor x = [] {
    Graph g(3);
    auto use = g.as_default();
    return random_normal({5, 4, 6});
  }();
  std::vector<Tensor> fresh;
  {
    Graph g(7);
    auto use = g.as_default();
    for (const Shape& s : {Shape{12, 6}, Shape{12, 4}, Shape{12}, Shape{12}}) fresh.push_back(random_normal(s));
  }
  Tensor before, after;
  {
    Graph g(1);
    auto use = g.as_default();
    ResetAfterGRUCell cell(4, "gru");
    before = dynamic_rnn(cell, x).outputs;  // builds the cell (and packs its weights)
    const auto vars = cell.variables();
    for (std::size_t i = 0; i < vars.size(); ++i) vars[i].assign(fresh[i]);
    after = dynamic_rnn(cell, x).outputs;
  }
  // Reference: the same math with the fresh weights, through the unpacked ops.
  Tensor ref(DType::float32, Shape{5, 4, 4});
  {
    const auto& wih = fresh[0].data<float>();
    const auto& whh = fresh[1].data<float>();
    const auto& bih = fresh[2].data<float>();
    const auto& bhh = fresh[3].data<float>();
    for (int b = 0; b < 5; ++b) {
      std::vector<double> h(4, 0.0);
      for (int t = 0; t < 4; ++t) {
        std::vector<double> gi(12), gh(12);
        for (int o = 0; o < 12; ++o) {
          gi[o] = bih[o];
          gh[o] = bhh[o];
          for (int k = 0; k < 6; ++k) gi[o] += double(wih[o * 6 + k]) * x.data<float>()[(b * 4 + t) * 6 + k];
          for (int k = 0; k < 4; ++k) gh[o] += double(whh[o * 4 + k]) * h[k];
        }
        std::vector<double> next(4);
        for (int u = 0; u < 4; ++u) {
          const double r = 1 / (1 + std::exp(-(gi[u] + gh[u])));
          const double z = 1 / (1 + std::exp(-(gi[4 + u] + gh[4 + u])));
          const double n = std::tanh(gi[8 + u] + r * gh[8 + u]);
          next[u] = (1 - z) * n + z * h[u];
        }
        h = next;
        for (int u = 0; u < 4; ++u) ref.data<float>()[(b * 4 + t) * 4 + u] = static_cast<float>(h[u]);
      }
    }
  }
  BOOST_TEST(max_abs_diff(after, ref) <= kGruBound);
  BOOST_TEST(max_abs_diff(before, after) > 1e-2f);
}

BOOST_AUTO_TEST_CASE(concat_split_slice_roundtrip) {
  const Tensor a = f({2, 2}, {1, 2, 3, 4});
  const Tensor b = f({2, 1}, {5, 6});
  const Tensor c = concat({a, b}, -1);
  BOOST_TEST(values(c) == (std::vector<float>{1, 2, 5, 3, 4, 6}), tt::per_element());
  const auto parts = split(c, {2, 1}, 1);
  BOOST_TEST(parts[0].bitwise_equal(a));
  BOOST_TEST(parts[1].bitwise_equal(b));
  BOOST_TEST(values(concat({a, a}, 0)) == (std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4}), tt::per_element());
  BOOST_TEST(values(slice(c, {1, 1}, {1, -1})) == (std::vector<float>{4, 6}), tt::per_element());
  BOOST_CHECK_THROW((void)concat({a, f({3, 1}, {1, 2, 3})}, 1), ShapeMismatchError);
  BOOST_CHECK_THROW((void)slice(c, {0, 2}, {1, 2}), InvalidArgumentError);
  BOOST_CHECK_THROW((void)split(c, {1, 1}, 1), ShapeMismatchError);
}

BOOST_AUTO_TEST_CASE(gather_names_the_bad_id_and_position) {
  const Tensor params = f({3, 2}, {0, 1, 10, 11, 20, 21});
  BOOST_TEST(values(embedding_lookup(params, i32({2, 2}, {2, 0, 1, 1}))) ==
                 (std::vector<float>{20, 21, 0, 1, 10, 11, 10, 11}),
             tt::per_element());
  BOOST_TEST(embedding_lookup(params, i32({2, 2}, {2, 0, 1, 1})).shape() == (Shape{2, 2, 2}));
  try {
    (void)embedding_lookup(params, i32({2, 2}, {0, 1, 3, 0}));
    BOOST_FAIL("expected an error");
  } catch (const InvalidArgumentError& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("id 3 at position [1, 0]") != std::string::npos, m);
    BOOST_TEST(m.find("[0, 3)") != std::string::npos, m);
  }
}

BOOST_AUTO_TEST_CASE(gather_picks_rows_for_any_index_shape) {
  // params [3, 2, 2]: row r holds 100 r + 0..3.
  std::vector<float> p(12);
  for (int i = 0; i < 12; ++i) p[i] = float(100 * (i / 4) + i % 4);
  const Tensor params = f({3, 2, 2}, p);
  const Tensor g = gather(params, i32({2, 1}, {2, 0}));
  BOOST_TEST(g.shape() == (Shape{2, 1, 2, 2}));  // indices.shape + params.shape[1:]
  BOOST_TEST(values(g) == (std::vector<float>{200, 201, 202, 203, 0, 1, 2, 3}), tt::per_element());
  BOOST_TEST(gather(params, i32({}, {1})).shape() == (Shape{2, 2}));  // scalar index: one row
  BOOST_TEST(values(gather(params, i32({}, {1}))) == (std::vector<float>{100, 101, 102, 103}), tt::per_element());
  BOOST_TEST(gather(params, i32({0}, {})).shape() == (Shape{0, 2, 2}));
  // int32 params, repeated ids
  BOOST_TEST(ints(gather(i32({3}, {7, 8, 9}), i32({4}, {2, 2, 0, 1}))) == (std::vector<std::int32_t>{9, 9, 7, 8}),
             tt::per_element());
  BOOST_TEST(gather(params, i32({2}, {1, 2})).bitwise_equal(embedding_lookup(params, i32({2}, {1, 2}))));
  BOOST_CHECK_THROW((void)gather(params, i32({1}, {-1})), InvalidArgumentError);
  BOOST_CHECK_THROW((void)gather(params, f({1}, {0})), DTypeMismatchError);
  BOOST_CHECK_THROW((void)gather(f({}, {1}), i32({1}, {0})), ShapeMismatchError);
}

// TF's `tensor * number` in the tensor's dtype: tf.ones([3], tf.int32) * 7 is [7 7 7];
// int32 wraps like TF's multiply; a fractional or out-of-range factor for int32 is refused.
BOOST_AUTO_TEST_CASE(tensor_times_scalar_keeps_the_dtype) {
  const auto lengths = ones({3}, DType::int32) * 7;
  BOOST_TEST((lengths.dtype() == DType::int32));
  BOOST_TEST((lengths.shape() == Shape{3}));
  for (auto v : lengths.data<std::int32_t>()) BOOST_TEST(v == 7);
  const Tensor big(Shape{2}, std::vector<std::int32_t>{0x40000000, -3});
  const auto wrapped = big * 4;
  BOOST_TEST(wrapped.data<std::int32_t>()[0] == 0);  // 2^32 wraps to 0
  BOOST_TEST(wrapped.data<std::int32_t>()[1] == -12);
  const Tensor x(Shape{2, 2}, std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f});
  const auto y = 0.5 * x;
  const std::vector<float> expected{0.5f, -1.0f, 0.25f, 1.5f};
  BOOST_TEST(std::vector<float>(y.data<float>().begin(), y.data<float>().end()) == expected, tt::per_element());
  BOOST_CHECK_EXCEPTION((void)(lengths * 1.5), InvalidArgumentError, [](const InvalidArgumentError& e) {
    return std::string(e.what()) ==
           "multiply: scalar 1.500000 cannot multiply an int32 tensor [3]; use a whole number in int32 range, or a "
           "float32 tensor for a fractional factor";
  });
  BOOST_CHECK_THROW((void)(lengths * 4294967296.0), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(relu_clamps_negatives_only) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor r = relu(f({2, 3}, {-2.5f, -0.0f, 0.0f, 1e-30f, 3.0f, inf}));
  BOOST_TEST(r.shape() == (Shape{2, 3}));
  BOOST_TEST(values(r) == (std::vector<float>{0, 0, 0, 1e-30f, 3, inf}), tt::per_element());
  BOOST_TEST(values(relu(f({1}, {-inf}))) == (std::vector<float>{0}), tt::per_element());
  BOOST_CHECK_THROW((void)relu(i32({1}, {1})), DTypeMismatchError);
}

BOOST_AUTO_TEST_CASE(in_place_kernels_equal_the_value_ops) {
  // bias_add_into / sigmoid_into / tanh_into / apply_activation on a strided view
  // (3 of every 5 columns) against bias_add / sigmoid / tanh / relu on tensors.
  Graph g(4);
  auto use = g.as_default();
  const Tensor x = random_normal({4, 3}, 0.0f, 3.0f), bias = random_normal({3});
  const auto on_view = [&](auto&& op) {
    Tensor wide = fill({4, 5}, 99.0f);
    for (std::int64_t r = 0; r < 4; ++r)
      for (std::int64_t c = 0; c < 3; ++c) wide.data<float>()[r * 5 + c] = x.data<float>()[r * 3 + c];
    op(MatrixView{wide.data<float>().data(), 4, 3, 5});
    std::vector<float> out;
    for (std::int64_t r = 0; r < 4; ++r) {
      for (std::int64_t c = 0; c < 3; ++c) out.push_back(wide.data<float>()[r * 5 + c]);
      for (std::int64_t c = 3; c < 5; ++c) BOOST_TEST(wide.data<float>()[r * 5 + c] == 99.0f);  // gap untouched
    }
    return out;
  };
  BOOST_TEST(on_view([&](MatrixView v) { bias_add_into(v, bias.data<float>()); }) == values(bias_add(x, bias)),
             tt::per_element());
  // The fast sigmoid / tanh may differ from the value ops by rounding only: a few ulp of 1.
  const auto close = [](const std::vector<float>& a, const std::vector<float>& b) {
    return compare::max_abs_error(a, b) <= 4 * 0x1p-24;  // NaN / inf: false
  };
  BOOST_TEST(close(on_view([](MatrixView v) { sigmoid_into(v); }), values(sigmoid(x))));
  BOOST_TEST(close(on_view([](MatrixView v) { tanh_into(v); }), values(tanh(x))));
  BOOST_TEST(on_view([](MatrixView v) { apply_activation(Activation::relu, v); }) == values(relu(x)), tt::per_element());
  BOOST_TEST(on_view([](MatrixView v) { apply_activation(Activation::linear, v); }) == values(x), tt::per_element());
  BOOST_TEST(close(on_view([](MatrixView v) { apply_activation(Activation::tanh, v); }), values(tanh(x))));
  BOOST_TEST(close(on_view([](MatrixView v) { apply_activation(Activation::sigmoid, v); }), values(sigmoid(x))));
  BOOST_TEST(activation_name(Activation::linear) == "linear");
  BOOST_TEST(activation_name(Activation::relu) == "relu");
  BOOST_TEST(activation_name(Activation::tanh) == "tanh");
  BOOST_TEST(activation_name(Activation::sigmoid) == "sigmoid");
}

BOOST_AUTO_TEST_CASE(where_reductions_argmax) {
  const Tensor a = f({3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor b = f({3, 2}, {-1, -2, -3, -4, -5, -6});
  BOOST_TEST(values(where(i32({3}, {1, 0, 1}), a, b)) == (std::vector<float>{1, 2, -3, -4, 5, 6}), tt::per_element());
  BOOST_TEST(values(reduce_sum(a, 0)) == (std::vector<float>{9, 12}), tt::per_element());
  BOOST_TEST(values(reduce_sum(a, 1)) == (std::vector<float>{3, 7, 11}), tt::per_element());
  BOOST_TEST(values(reduce_max(b, -1)) == (std::vector<float>{-1, -3, -5}), tt::per_element());
  BOOST_TEST(ints(argmax(f({2, 3}, {1, 3, 3, 2, 2, 0}), 1)) == (std::vector<std::int32_t>{1, 0}), tt::per_element());
  BOOST_CHECK_THROW((void)reduce_sum(a, 2), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(top_k_sorted_and_stable_on_ties) {
  const auto r = top_k(f({2, 5}, {1, 5, 3, 5, 0, 2, 2, 2, 9, 2}), 3);
  BOOST_TEST(values(r.values) == (std::vector<float>{5, 5, 3, 9, 2, 2}), tt::per_element());
  BOOST_TEST(ints(r.indices) == (std::vector<std::int32_t>{1, 3, 2, 3, 0, 1}), tt::per_element());
  BOOST_CHECK_THROW((void)top_k(f({1, 2}, {1, 2}), 3), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(softmax_is_stable_for_huge_logits) {
  const Tensor s = softmax(f({1, 3}, {1000, 1000, -1000}));
  BOOST_TEST(values(s) == (std::vector<float>{0.5f, 0.5f, 0.0f}), tt::per_element());
  const Tensor l = log_softmax(f({1, 2}, {-1000, 0}));
  BOOST_TEST(l.data<float>()[0] == -1000.0f);
  BOOST_TEST(std::isfinite(l.data<float>()[1]));
}

BOOST_AUTO_TEST_CASE(tile_vs_tile_batch_order) {
  const Tensor x = f({2, 1}, {1, 2});
  BOOST_TEST(values(tile(x, {3, 1})) == (std::vector<float>{1, 2, 1, 2, 1, 2}), tt::per_element());
  BOOST_TEST(values(tile_batch(x, 3)) == (std::vector<float>{1, 1, 1, 2, 2, 2}), tt::per_element());
  BOOST_TEST(tile_batch(f({2, 2, 1}, {1, 2, 3, 4}), 2).shape() == (Shape{4, 2, 1}));
  BOOST_CHECK_THROW((void)tile_batch(x, 0), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(views_alias_without_copies) {
  Tensor seq = f({2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const MatrixView step1 = time_step(seq, 1);
  BOOST_TEST(step1.rows == 2);
  BOOST_TEST(step1.data == seq.data<float>().data() + 2);
  BOOST_TEST(step1.data[step1.row_stride] == 8.0f);  // row 1 of step 1
  step1.data[0] = 42.0f;
  BOOST_TEST(seq.data<float>()[2] == 42.0f);
  BOOST_CHECK_THROW((void)time_step(seq, 3), InvalidArgumentError);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- layer naming and sharing
BOOST_AUTO_TEST_SUITE(layer_rules)

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& v : global_variables()) out.push_back(v.name());
  return out;
}

BOOST_FIXTURE_TEST_CASE(unnamed_dense_layers_are_numbered_per_parent, FreshGraph) {
  const Tensor x = ones({1, 3});
  (void)dense(x, 2);
  (void)dense(x, 2);
  {
    auto s = variable_scope("block");
    (void)dense(x, 2, {.use_bias = false});
  }
  BOOST_TEST(names() == (std::vector<std::string>{"dense/kernel:0", "dense/bias:0", "dense_1/kernel:0",
                                                  "dense_1/bias:0", "block/dense/kernel:0"}),
             tt::per_element());
}

BOOST_FIXTURE_TEST_CASE(repeated_explicit_name_without_reuse_is_an_error, FreshGraph) {
  const Tensor x = ones({1, 3});
  (void)dense(x, 2, {.name = "d"});
  BOOST_CHECK_THROW(dense(x, 2, {.name = "d"}), AlreadyExistsError);
  const Tensor shared = dense(x, 2, {.name = "d", .reuse = Reuse::True});
  BOOST_TEST(global_variables().size() == 2u);
  BOOST_TEST(shared.bitwise_equal(dense(x, 2, {.name = "d", .reuse = AUTO_REUSE})));
}

BOOST_FIXTURE_TEST_CASE(built_layer_reuses_its_weights_anywhere, FreshGraph) {
  Dense layer(4, {.name = "proj"});
  const Tensor x = random_normal({2, 3});
  Tensor first;
  {
    auto s = variable_scope("a");
    first = layer(x);
  }
  {
    auto s = variable_scope("somewhere_else");
    BOOST_TEST(layer(x).bitwise_equal(first));
  }
  BOOST_TEST(layer.scope().name() == "a/proj");
  BOOST_TEST(names() == (std::vector<std::string>{"a/proj/kernel:0", "a/proj/bias:0"}), tt::per_element());
  BOOST_CHECK_THROW((void)layer(random_normal({2, 5})), ShapeMismatchError);
}

BOOST_FIXTURE_TEST_CASE(layer_errors_name_the_layer_that_created_the_variable, FreshGraph) {
  const Tensor x = ones({1, 3});
  { auto s = variable_scope("net"); (void)dense(x, 2, {.name = "dense_a"}); }
  auto s = variable_scope("net");
  try {
    (void)dense(x, 2, {.name = "dense_a"});
    BOOST_FAIL("expected AlreadyExistsError");
  } catch (const AlreadyExistsError& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("first created: by Dense 'net/dense_a'") != std::string::npos, m);
  }
}

BOOST_FIXTURE_TEST_CASE(gru_cell_variable_names_and_defaults, FreshGraph) {
  GRUCell cell(3, "cell");
  (void)dynamic_rnn(cell, ones({2, 4, 5}), {.scope = "encoder"});
  BOOST_TEST(names() == (std::vector<std::string>{"encoder/cell/gates/kernel:0", "encoder/cell/gates/bias:0",
                                                  "encoder/cell/candidate/kernel:0", "encoder/cell/candidate/bias:0"}),
             tt::per_element());
  const auto v = cell.variables();
  BOOST_TEST(v[0].shape() == (Shape{8, 6}));
  for (float b : v[1].value().data<float>()) BOOST_TEST(b == 1.0f);  // gates bias starts at 1
  for (float b : v[3].value().data<float>()) BOOST_TEST(b == 0.0f);
  GRUCell unnamed(3);
  (void)unnamed(ones({1, 2}), unnamed.zero_state(1));
  BOOST_TEST(unnamed.scope().name() == "gru_cell");
}

BOOST_FIXTURE_TEST_CASE(dynamic_rnn_rejects_bad_lengths_and_states, FreshGraph) {
  GRUCell cell(3);
  BOOST_CHECK_THROW((void)dynamic_rnn(cell, ones({2, 4, 5}), {.sequence_length = Tensor(Shape{2}, std::vector<std::int32_t>{4, 5})}),
                    InvalidArgumentError);
  BOOST_CHECK_THROW((void)dynamic_rnn(cell, ones({2, 4, 5}), {.initial_state = ones({3, 3})}), ShapeMismatchError);
  BOOST_CHECK_THROW((void)dynamic_rnn(cell, ones({2, 4}), {}), ShapeMismatchError);
}

BOOST_AUTO_TEST_SUITE_END()
