// Backward tests: every recorded op, layer, cell and recurrence against central
// finite differences, and the shared-variable rule (a variable used several
// times gets the SUM of the gradients of its uses) on the article's examples.
//
// Finite differences: the forward runs in float32 (the code under test), the
// projected loss L = sum(R * f()) for a fixed random R is accumulated in double,
// and dL/dw ~ (L(w + e) - L(w - e)) / 2e with e = 1e-2 on inputs of size ~1.
// Error budget: float32 rounding of N outputs (~6e-8 |y| each, random signs)
// gives ~6e-8 sqrt(N) in L, /2e -> < 1e-4 for N <= 1e3; the truncation error is
// e^2/6 |f'''| ~ 2e-5 for these smooth functions. The tolerance, 2e-3 absolute +
// 1e-2 relative, is 10x that budget, while a wrong derivative (a missing term, a
// wrong transpose or sign) is off by O(0.1) or more.
#define BOOST_TEST_MODULE grad
#include "support/boost_test.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "grad_golden.hpp"  // generated: kGradGolden (tests/data/grad_golden.json)
#include "tf_gru_golden.hpp"  // generated: kTfGruGolden (tests/data/tf_gru_golden.json)

import varscope;
import varscope.article;
#include "support/compare.hpp"
#include "support/golden.hpp"
#include "support/tf_gru_seq2seq_case.hpp"

using namespace varscope;
using namespace golden_data;

namespace {

constexpr float kEps = 1e-2f;
constexpr double kAbsTol = 2e-3, kRelTol = 1e-2;

// Deterministic values in [lo, hi], kept away from 0 by `gap` (relu's kink).
Tensor pattern(const Shape& shape, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f, float gap = 0.0f) {
  Tensor t(DType::float32, shape);
  std::uint32_t s = seed * 2654435761u + 12345u;
  for (auto& v : t.data<float>()) {
    s = s * 1664525u + 1013904223u;
    float u = lo + (hi - lo) * static_cast<float>(s >> 8) / static_cast<float>(1u << 24);
    if (gap > 0.0f && std::fabs(u) < gap) u = u < 0 ? -gap : gap;
    v = u;
  }
  return t;
}

Tensor ints(const Shape& s, std::vector<std::int32_t> v) { return Tensor(s, std::move(v)); }

double project(const Tensor& y, const Tensor& r) {
  double acc = 0.0;
  const auto a = y.data<float>();
  const auto b = r.data<float>();
  for (std::size_t i = 0; i < a.size(); ++i) acc += static_cast<double>(a[i]) * b[i];
  return acc;
}

// Checks the tape's gradients of sum(R * f()) for every element of every variable
// against central differences; returns the analytic gradients.
std::vector<std::optional<Tensor>> check_grads(const std::vector<Variable>& vars, const std::function<Tensor()>& f,
                                               const std::string& what) {
  Tensor r;
  {
    const Tensor y0 = f();
    r = pattern(y0.shape(), 99);
  }
  std::vector<std::optional<Tensor>> grads;
  {
    GradientTape tape;
    const Tensor y = f();
    grads = tape.gradient(y, vars, r);
  }
  for (std::size_t i = 0; i < vars.size(); ++i) {
    const Tensor original = vars[i].value();
    const std::int64_t n = original.size();
    for (std::int64_t j = 0; j < n; ++j) {
      Tensor plus = original, minus = original;
      plus.data<float>()[j] += kEps;
      minus.data<float>()[j] -= kEps;
      vars[i].assign(plus);
      const double lp = project(f(), r);
      vars[i].assign(minus);
      const double lm = project(f(), r);
      vars[i].assign(original);
      const double numeric = (lp - lm) / (2.0 * kEps);
      const double analytic = grads[i] ? grads[i]->data<float>()[j] : 0.0;
      // !within: a NaN or an infinity on either side fails (compare.hpp).
      if (!compare::within(analytic, numeric, kAbsTol, kRelTol)) {
        BOOST_ERROR(what << ": d/d " << vars[i].op_name() << "[" << j << "] analytic " << analytic << " vs numeric "
                         << numeric);
        return grads;  // one report per check is enough
      }
    }
  }
  return grads;
}

Variable var(const std::string& name, Tensor value) { return Variable(std::move(value), name); }

struct Fresh {
  Graph graph{3};
  DefaultGraphGuard use{graph};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ops)

BOOST_AUTO_TEST_CASE(matmul_every_transpose) {
  Fresh g;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      auto a = var("a", pattern(ta ? Shape{4, 3} : Shape{3, 4}, 1));
      auto b = var("b", pattern(tb ? Shape{5, 4} : Shape{4, 5}, 2));
      check_grads({a, b}, [&] { return matmul(a.value(), b.value(), ta, tb); },
                  "matmul ta=" + std::to_string(ta) + " tb=" + std::to_string(tb));
    }
}

BOOST_AUTO_TEST_CASE(elementwise_and_bias) {
  Fresh g;
  auto a = var("a", pattern({3, 4}, 3, -1.0f, 1.0f, 0.1f));
  auto b = var("b", pattern({3, 4}, 4));
  auto bias = var("bias", pattern({4}, 5));
  check_grads({a, b}, [&] { return add(a.value(), b.value()); }, "add");
  check_grads({a, bias}, [&] { return add(a.value(), bias.value()); }, "add (bias)");
  check_grads({a, bias}, [&] { return bias_add(a.value(), bias.value()); }, "bias_add");
  check_grads({a, b}, [&] { return multiply(a.value(), b.value()); }, "multiply");
  check_grads({a}, [&] { return multiply(a.value(), a.value()); }, "multiply (same input twice)");
  check_grads({a}, [&] { return a.value() * -2.5; }, "tensor * scalar");
  check_grads({a}, [&] { return 3.0 * a.value(); }, "scalar * tensor");
  check_grads({a}, [&] { return sigmoid(a.value()); }, "sigmoid");
  check_grads({a}, [&] { return tanh(a.value()); }, "tanh");
  check_grads({a}, [&] { return relu(a.value()); }, "relu");
}

BOOST_AUTO_TEST_CASE(concat_split_slice_reshape_reduce) {
  Fresh g;
  auto a = var("a", pattern({2, 3, 4}, 6));
  auto b = var("b", pattern({2, 2, 4}, 7));
  check_grads({a, b}, [&] { return concat({a.value(), b.value()}, 1); }, "concat axis 1");
  check_grads({a}, [&] { return concat({a.value(), a.value()}, -1); }, "concat of a with itself");
  check_grads({a}, [&] {
    auto parts = split(a.value(), {1, 3}, 2);
    return concat({tanh(parts[1]), parts[0]}, 2);
  }, "split");
  check_grads({a}, [&] { return slice(a.value(), {0, 1, 1}, {2, -1, 2}); }, "slice");
  check_grads({a}, [&] { return reshape(a.value(), Shape{6, -1}); }, "reshape");
  check_grads({a}, [&] { return reduce_sum(a.value(), 1); }, "reduce_sum axis 1");
  check_grads({a}, [&] { return reduce_sum(a.value(), -1); }, "reduce_sum axis -1");
  check_grads({a}, [&] { return reverse_sequence(a.value(), ints({4}, {3, 0, 2, 1}), 1, 2); },
              "reverse_sequence seq_axis 1 batch_axis 2");
  check_grads({a}, [&] { return reverse(a.value(), 1); }, "reverse axis 1");
}

BOOST_AUTO_TEST_CASE(gather_sums_repeated_rows) {
  Fresh g;
  auto table = var("embedding", pattern({5, 3}, 8));
  const auto ids = ints({2, 3}, {4, 1, 4, 0, 4, 1});
  auto grads = check_grads({table}, [&] { return embedding_lookup(table.value(), ids); }, "embedding_lookup");
  // Row 4 is used three times: its gradient is the sum of the three output rows' upstream gradients.
  GradientTape tape;
  auto y = gather(table.value(), ids);
  Tensor ones(DType::float32, y.shape());
  for (auto& v : ones.data<float>()) v = 1.0f;
  auto d = tape.gradient(y, {table}, ones)[0];
  BOOST_REQUIRE(d);
  BOOST_TEST(d->data<float>()[4 * 3] == 3.0f);
  BOOST_TEST(d->data<float>()[1 * 3] == 2.0f);
  BOOST_TEST(d->data<float>()[2 * 3] == 0.0f);
}

BOOST_AUTO_TEST_CASE(softmax_log_softmax_cross_entropy) {
  Fresh g;
  auto x = var("logits", pattern({3, 5}, 9, -2.0f, 2.0f));
  check_grads({x}, [&] { return softmax(x.value()); }, "softmax");
  check_grads({x}, [&] { return log_softmax(x.value()); }, "log_softmax");
  const auto labels = ints({3}, {4, 0, 2});
  check_grads({x}, [&] { return sparse_softmax_cross_entropy_with_logits(labels, x.value()); },
              "sparse_softmax_cross_entropy_with_logits");
}

BOOST_AUTO_TEST_CASE(sequence_loss_every_mode) {
  Fresh g;
  auto logits = var("logits", pattern({2, 3, 4}, 10, -2.0f, 2.0f));
  const auto targets = ints({2, 3}, {1, 3, 0, 2, 2, 1});
  const auto weights = Tensor(Shape{2, 3}, std::vector<float>{1.0f, 0.5f, 0.0f, 1.0f, 1.0f, 0.0f});
  const std::vector<std::pair<std::string, SequenceLossOptions>> modes = {
      {"default", {}},
      {"avg_t", {.average_across_timesteps = true, .average_across_batch = false}},
      {"avg_b", {.average_across_timesteps = false, .average_across_batch = true}},
      {"sum_t_b", {.average_across_timesteps = false, .average_across_batch = false, .sum_over_timesteps = true,
                   .sum_over_batch = true}},
      {"sum_t", {.average_across_timesteps = false, .average_across_batch = false, .sum_over_timesteps = true}},
      {"sum_b", {.average_across_timesteps = false, .average_across_batch = false, .sum_over_batch = true}},
      {"none", {.average_across_timesteps = false, .average_across_batch = false}},
  };
  for (const auto& [name, o] : modes)
    check_grads({logits}, [&, o = o] { return sequence_loss(logits.value(), targets, weights, o); },
                "sequence_loss " + name);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(layers_and_cells)

BOOST_AUTO_TEST_CASE(dense_each_activation) {
  for (auto act : {Activation::linear, Activation::tanh, Activation::sigmoid, Activation::relu}) {
    Fresh g;
    auto x = var("x", pattern({4, 3}, 11));
    Dense layer(5, {.activation = act, .name = "dense"});
    (void)layer(x.value());
    layer.kernel().assign(pattern({3, 5}, 12));
    layer.bias()->assign(pattern({5}, 13, -0.3f, 0.3f));
    check_grads({x, layer.kernel(), *layer.bias()}, [&] { return layer(x.value()); },
                "Dense " + std::string(activation_name(act)));
  }
}

BOOST_AUTO_TEST_CASE(dense_rank3_inputs) {
  Fresh g;
  auto x = var("x", pattern({2, 3, 4}, 14));
  Dense layer(3, {.use_bias = false, .name = "out"});
  check_grads({x, [&] { (void)layer(x.value()); return layer.kernel(); }()}, [&] { return layer(x.value()); },
              "Dense [B,T,D]");
}

BOOST_AUTO_TEST_CASE(gru_cell_step_tf_layout) {
  Fresh g;
  auto x = var("x", pattern({3, 4}, 15));
  auto h = var("h", pattern({3, 5}, 16));
  GRUCell cell(5, "gru");
  (void)cell(x.value(), h.value());
  cell.variables()[1].assign(pattern({10}, 17));  // non-trivial gate biases
  auto vars = cell.variables();
  vars.insert(vars.begin(), {x, h});
  check_grads(vars, [&] { return concat({cell(x.value(), h.value()).output, cell(x.value(), h.value()).state}, 1); },
              "GRUCell step (output and new state)");
}

// Saved and recomputed activations (in (-1, 1), or a clipped cell) may be a few float32 ulps
// (6e-8 each) apart; compare::max_abs_error is NaN or inf when either side is, failing the bound.
constexpr double kActivationsApart = 5e-7;

// A recorded GRU step saves its activations [r, u | c | r*h] (forward_saved_size) and the
// backward pass copies them; without `saved` (a wrapper that does not pass it on) they are
// recomputed from the states and projections. Both must give the same values up to rounding: the saved ones
// are the forward step's, the recomputed ones the same products on the same packed weights.
BOOST_AUTO_TEST_CASE(gru_saved_activations_equal_the_recomputed_ones) {
  Fresh g;
  const std::int64_t B = 7, D = 9, H = 20;  // 20: vector blocks and a remainder in every row
  GRUCell cell(H, "gru");
  (void)cell(pattern({B, D}, 21), pattern({B, H}, 22));
  cell.variables()[1].assign(pattern({2 * H}, 23));
  BOOST_TEST(cell.forward_saved_size() == 4 * H);
  BOOST_TEST(cell.backward_activation_size() == 4 * H);
  const Tensor x = pattern({B, D}, 24), h = pattern({B, H}, 25);
  Tensor projection(DType::float32, Shape{B, 3 * H}), state_out(DType::float32, Shape{B, H});
  Tensor saved(DType::float32, Shape{B, 4 * H}), recomputed(DType::float32, Shape{B, 4 * H});
  cell.project_inputs(as_matrix(x), as_matrix(projection));
  Workspace workspace;
  cell.step({.projection = as_matrix(projection), .state = as_matrix(h), .state_out = as_matrix(state_out),
             .output = MatrixView{}, .saved = as_matrix(saved)},
            workspace);
  cell.backward_activations(as_matrix(h), as_matrix(projection), ConstMatrixView(nullptr, B, 0, 0),
                            as_matrix(recomputed));
  // The recomputation may round a sigmoid or tanh differently in the last bit (Eigen's vector and
  // scalar paths split a row by its alignment, and the two buffers' rows are aligned differently).
  BOOST_TEST(compare::max_abs_error(saved.data<float>(), recomputed.data<float>()) <= kActivationsApart);
  // And the copy path hands back exactly what was saved.
  Tensor copied(DType::float32, Shape{B, 4 * H});
  cell.backward_activations(as_matrix(h), as_matrix(projection), as_matrix(std::as_const(saved)), as_matrix(copied));
  BOOST_TEST(copied.bitwise_equal(saved));
}

// The same for LSTMCell: a recorded step saves its activated gates (and, with num_proj, h before
// proj_clip); backward_activations rebuilds the rest elementwise. Clips (tight enough to act),
// peepholes and a projection, so every column of the activations is exercised.
BOOST_AUTO_TEST_CASE(lstm_saved_activations_equal_the_recomputed_ones) {
  Fresh g;
  const std::int64_t B = 5, D = 6, H = 20, R = 9;
  LSTMCell cell(H, {.use_peepholes = true, .cell_clip = 0.6f, .num_proj = R, .proj_clip = 0.3f, .name = "lstm"});
  cell.build(D);
  for (std::size_t i = 0; i < cell.variables().size(); ++i)  // peepholes and bias away from 0
    cell.variables()[i].assign(pattern(cell.variables()[i].shape(), 40 + static_cast<std::uint32_t>(i)));
  BOOST_TEST(cell.forward_saved_size() == 4 * H + R);
  const std::int64_t A = cell.backward_activation_size(), F = cell.forward_saved_size();
  const Tensor x = pattern({B, D}, 31), state = pattern({B, H + R}, 32, -2.0f, 2.0f);
  Tensor projection(DType::float32, Shape{B, 4 * H}), state_out(DType::float32, Shape{B, H + R});
  Tensor saved(DType::float32, Shape{B, F}), from_saved(DType::float32, Shape{B, A}), recomputed(DType::float32, Shape{B, A});
  cell.project_inputs(as_matrix(x), as_matrix(projection));
  Workspace workspace;
  cell.step({.projection = as_matrix(projection), .state = as_matrix(state), .state_out = as_matrix(state_out),
             .output = MatrixView{}, .saved = as_matrix(saved)},
            workspace);
  cell.backward_activations(as_matrix(state), as_matrix(projection), as_matrix(std::as_const(saved)),
                            as_matrix(from_saved));
  cell.backward_activations(as_matrix(state), as_matrix(projection), ConstMatrixView(nullptr, B, 0, 0),
                            as_matrix(recomputed));
  const auto a = from_saved.data<float>(), kept = saved.data<float>();
  std::int64_t clipped = 0, not_kept = 0;
  for (std::int64_t r = 0; r < B; ++r) {
    for (std::int64_t c = 0; c < H; ++c)  // c before the clip, outside [-0.6, 0.6] somewhere
      clipped += std::fabs(a[static_cast<std::size_t>(r * A + 4 * H + c)]) > 0.6f;
    for (std::int64_t c = 0; c < F; ++c)  // the gates and h before proj_clip are the step's own values
      not_kept += a[static_cast<std::size_t>(r * A + (c < 4 * H ? c : 7 * H + c - 4 * H))] !=
                  kept[static_cast<std::size_t>(r * F + c)];
  }
  BOOST_TEST(compare::max_abs_error(from_saved.data<float>(), recomputed.data<float>()) <= kActivationsApart);
  BOOST_TEST(not_kept == 0);
  BOOST_TEST(clipped > 0);
}

BOOST_AUTO_TEST_CASE(reset_after_gru_cell_step) {
  Fresh g;
  auto x = var("x", pattern({3, 4}, 18));
  auto h = var("h", pattern({3, 5}, 19));
  ResetAfterGRUCell cell(5, "gru");
  (void)cell(x.value(), h.value());
  auto vars = cell.variables();
  vars.insert(vars.begin(), {x, h});
  check_grads(vars, [&] { return concat({cell(x.value(), h.value()).output, cell(x.value(), h.value()).state}, 1); },
              "ResetAfterGRUCell step (output and new state)");
}

// outputs and final state as one tensor, so both receive an upstream gradient.
Tensor flat_rnn(const RNNResult& r) {
  return concat({reshape(r.outputs, Shape{-1}), reshape(r.final_state, Shape{-1})}, 0);
}

BOOST_AUTO_TEST_CASE(dynamic_rnn_ragged_lengths) {
  for (int reset_after = 0; reset_after < 2; ++reset_after) {
    Fresh g;
    auto x = var("x", pattern({3, 4, 2}, 20));
    auto h0 = var("h0", pattern({3, 3}, 21));
    const auto lengths = ints({3}, {4, 2, 0});
    std::unique_ptr<RNNCell> cell;
    if (reset_after)
      cell = std::make_unique<ResetAfterGRUCell>(3, "cell");
    else
      cell = std::make_unique<GRUCell>(3, "cell");
    auto run = [&] {
      return flat_rnn(dynamic_rnn(*cell, x.value(), {.sequence_length = lengths, .initial_state = h0.value()}));
    };
    (void)run();
    auto vars = cell->gradient_variables();
    vars.insert(vars.begin(), {x, h0});
    auto grads = check_grads(vars, run, reset_after ? "dynamic_rnn ResetAfterGRUCell" : "dynamic_rnn GRUCell");
    // Nothing flows from positions past a row's length: exactly zero, not just small.
    const auto dx = grads[0]->data<float>();
    for (std::int64_t b = 0; b < 3; ++b)
      for (std::int64_t t = 0; t < 4; ++t)
        if (t >= lengths.data<std::int32_t>()[b])
          for (std::int64_t d = 0; d < 2; ++d) BOOST_TEST(dx[(b * 4 + t) * 2 + d] == 0.0f);
    // Row 2 has length 0: its final state IS h0, so d final_state flows to h0 unchanged.
    BOOST_TEST(grads[1]->data<float>()[2 * 3] != 0.0f);
  }
}

BOOST_AUTO_TEST_CASE(training_decoder_teacher_forcing) {
  for (bool impute : {false, true}) {
    Fresh g;
    auto inputs = var("inputs", pattern({2, 3, 4}, 22));
    auto h0 = var("h0", pattern({2, 5}, 23));
    const auto lengths = ints({2}, {3, 1});
    GRUCell cell(5, "cell");
    Dense out(6, {.name = "out"});
    auto run = [&] {
      BasicDecoder decoder(cell, TrainingHelper(inputs.value(), lengths), h0.value(), out);
      auto r = dynamic_decode(decoder, {.impute_finished = impute});
      return concat({reshape(r.rnn_output, Shape{-1}), reshape(r.final_state, Shape{-1})}, 0);
    };
    (void)run();
    auto vars = cell.variables();
    vars.push_back(out.kernel());
    vars.push_back(*out.bias());
    vars.insert(vars.begin(), {inputs, h0});
    check_grads(vars, run, impute ? "BasicDecoder impute_finished" : "BasicDecoder");
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Golden gradients from PyTorch autograd (tools/gen-grad-golden.py): Embedding + nn.GRU
// (= ResetAfterGRUCell) over ragged lengths + Linear + cross-entropy over the valid
// tokens, plus sum(h_n * r) for the final-state path.
BOOST_AUTO_TEST_CASE(pytorch_autograd_golden) {
  const auto golden = nlohmann::json::parse(kGradGolden);
  auto to_tensor = [](const nlohmann::json& j, bool as_int = false) {
    std::vector<std::int64_t> dims = j["shape"].get<std::vector<std::int64_t>>();
    if (as_int) return Tensor(Shape(dims), j["data"].get<std::vector<std::int32_t>>());
    std::vector<float> v;
    for (double d : j["data"]) v.push_back(static_cast<float>(d));
    return Tensor(Shape(dims), v);
  };
  auto transpose = [](const Tensor& t) {
    const std::int64_t rows = t.shape()[0], cols = t.shape()[1];
    Tensor out(DType::float32, Shape{cols, rows});
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) out.data<float>()[j * rows + i] = t.data<float>()[i * cols + j];
    return out;
  };
  Fresh g;
  const auto& sizes = golden["sizes"];
  const std::int64_t V = sizes["V"], H = sizes["H"], B = sizes["B"], T = sizes["T"];
  const Tensor ids = to_tensor(golden["ids"], true), targets = to_tensor(golden["targets"], true);
  const Tensor lengths = to_tensor(golden["lengths"], true), r = to_tensor(golden["r"]);
  const auto& p = golden["params"];
  auto embedding = var("embedding", to_tensor(p["embedding"]));
  ResetAfterGRUCell cell(H, "gru");
  Dense linear(V, {.name = "linear"});
  Tensor weights(DType::float32, Shape{B, T});
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < lengths.data<std::int32_t>()[b]; ++t) weights.data<float>()[b * T + t] = 1.0f;
  auto model = [&] {
    auto rnn = dynamic_rnn(cell, embedding_lookup(embedding.value(), ids), {.sequence_length = lengths});
    auto ce = sequence_loss(linear(rnn.outputs), targets, weights);
    return add(ce, reduce_sum(reshape(multiply(rnn.final_state, r), Shape{-1}), 0));
  };
  (void)model();  // build, then load PyTorch's values (Linear.weight is [V, H]: Dense's kernel is its transpose)
  const auto cv = cell.variables();  // weight_ih, weight_hh, bias_ih, bias_hh
  cv[0].assign(to_tensor(p["weight_ih"]));
  cv[1].assign(to_tensor(p["weight_hh"]));
  cv[2].assign(to_tensor(p["bias_ih"]));
  cv[3].assign(to_tensor(p["bias_hh"]));
  linear.kernel().assign(transpose(to_tensor(p["linear_weight"])));
  linear.bias()->assign(to_tensor(p["linear_bias"]));
  std::vector<Variable> vars = {embedding, cv[0], cv[1], cv[2], cv[3], linear.kernel(), *linear.bias()};
  std::vector<std::optional<Tensor>> grads;
  Tensor loss;
  {
    GradientTape tape;
    loss = model();
    grads = tape.gradient(loss, vars);
  }
  BOOST_TEST(loss.data<float>()[0] == golden["loss"].get<double>(), boost::test_tools::tolerance(1e-5));
  const auto& gg = golden["grads"];
  const std::vector<Tensor> expected = {to_tensor(gg["embedding"]), to_tensor(gg["weight_ih"]),
                                        to_tensor(gg["weight_hh"]), to_tensor(gg["bias_ih"]),
                                        to_tensor(gg["bias_hh"]), transpose(to_tensor(gg["linear_weight"])),
                                        to_tensor(gg["linear_bias"])};
  for (std::size_t i = 0; i < vars.size(); ++i) {
    BOOST_REQUIRE(grads[i]);
    BOOST_REQUIRE(grads[i]->shape() == expected[i].shape());
    // NaN / inf in the gradient: worst is NaN / inf and fails (compare.hpp).
    const double worst = compare::worst_relative(*grads[i], expected[i]);
    BOOST_TEST(worst <= 2e-5, vars[i].op_name() << ": worst |varscope - torch| / max(1, |torch|) = " << worst);
  }
}

// ---------------------------------------------------------------- TF-layout GRUCell vs float64 TF math
// Golden data: tools/gen-tf-gru-golden.py, float64 code transcribed from TF 1.15's
// GRUCell.call / dynamic_rnn / contrib.seq2seq (TrainingHelper, BasicDecoder,
// dynamic_decode, sequence_loss), gradients by float64 PyTorch autograd; the generator
// checks its GRU against TF's literal test values and TensorFlow.js first.
//
// Tolerances. Forward values: kGruBound = 1e-6 relative (absolute below 1), derived in
// numerics_test (dot products of length <= D + H + 1 = 8 here, gamma_8 = 4.8e-7, sigmoid /
// tanh slopes <= 1, T = 5 steps of a convex state update; measured 1.8e-7). Gradients:
// 2e-5 relative to the tensor's scale max |g| (the number of the PyTorch golden above,
// which divides by max(1, |g|) instead; the gradients here are as small as 1e-2, so
// dividing by their own scale is the tighter check): each entry is a sum over the B*T <= 20 (step, row) pairs
// of products of backward factors that are themselves dot products of length <= 3H = 15
// along a chain of <= 9 steps (seq2seq: encoder 5 + decoder 4, softmax over V = 9);
// gamma_k with k ~ 20 + 9 * 15 ~ 160 gives ~1e-5 of the sum of |terms| as a worst case.
// Measured worst (--log_level=message): 1.4e-6 (d gates/bias of the asymmetric case,
// where the saturated gates make each entry a sum of cancelling terms), <= 3.6e-7
// elsewhere. A swapped [r|u], a wrong derivative or transpose is off by > 1e-2 (the
// generator asserts that the swap moves the outputs by > 0.1).
namespace {

constexpr double kGruForwardBound = 1e-6;
constexpr double kGruGradBound = 2e-5;

const nlohmann::json& tf_gru_golden_json() {
  static const nlohmann::json j = nlohmann::json::parse(kTfGruGolden);
  return j;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tf_gru_golden)

// TF's literal testGRUCell has all-0.5 kernels and equal gate biases, so r == u and a
// cell reading the gate columns as [u | r] passes it. Here the gate biases are +4 (r)
// and -4 (u) with random kernels: r ~ 0.98, u ~ 0.02, every unit different. Outputs,
// final state and d L / d (every variable, the inputs, the initial state) for
// L = sum(R_out * outputs) + sum(R_state * final_state), ragged lengths [5, 3, 0, 1].
BOOST_AUTO_TEST_CASE(asymmetric_gate_biases_forward_and_gradients) {
  const auto& c = tf_gru_golden_json().at("asymmetric_cell");
  Fresh g;
  const std::int64_t H = c.at("sizes").at("H");
  auto x = var("inputs", golden_tensor(c.at("inputs")));
  auto h0 = var("initial_state", golden_tensor(c.at("initial_state")));
  const Tensor lengths = golden_ints(c.at("sequence_length"));
  const Tensor r_out = golden_tensor(c.at("r_outputs")), r_state = golden_tensor(c.at("r_state"));
  GRUCell cell(H, "cell");
  auto run = [&] {
    return dynamic_rnn(cell, x.value(), {.sequence_length = lengths, .initial_state = h0.value(), .scope = "rnn"});
  };
  (void)run();  // builds rnn/cell/{gates,candidate}/{kernel,bias}; then TF's values by name
  const std::vector<std::string> names = {"gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"};
  const auto cv = cell.variables();
  BOOST_REQUIRE_EQUAL(cv.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    BOOST_REQUIRE_EQUAL(cv[i].op_name(), "rnn/cell/" + names[i]);
    cv[i].assign(golden_tensor(c.at("params").at(names[i])));
  }
  std::vector<Variable> vars = cv;
  vars.push_back(x);
  vars.push_back(h0);
  std::vector<std::optional<Tensor>> grads;
  RNNResult result;
  Tensor loss;
  {
    GradientTape tape;
    result = run();
    loss = add(reduce_sum(reshape(multiply(result.outputs, r_out), Shape{-1}), 0),
               reduce_sum(reshape(multiply(result.final_state, r_state), Shape{-1}), 0));
    grads = tape.gradient(loss, vars);
  }
  check_golden(result.outputs, c.at("outputs"), "outputs", kGruForwardBound, false);
  check_golden(result.final_state, c.at("final_state"), "final_state", kGruForwardBound, false);
  BOOST_TEST(compare::within(loss.data<float>()[0], c.at("loss").get<double>(), 0.0, kGruGradBound),
             "loss " << loss.data<float>()[0] << " vs " << c.at("loss").get<double>());
  for (std::size_t i = 0; i < names.size(); ++i)
    check_golden(grads[i], c.at("grads").at(names[i]), "d/d " + names[i], kGruGradBound, true);
  check_golden(grads[4], c.at("grads").at("inputs"), "d/d inputs", kGruGradBound, true);
  check_golden(grads[5], c.at("grads").at("initial_state"), "d/d initial_state", kGruGradBound, true);
}

// The TF-layout cell as the article (and `varscope train` on the dates task) trains it:
// the article's Seq2Seq training graph (article::seq2seq_train_outputs: shared embedding,
// GRUCell encoder under dynamic_rnn(scope='encoder') over ragged lengths, TrainingHelper +
// BasicDecoder with a bias-free Dense, dynamic_decode(scope='decoder')) + sequence_loss
// weighted 1 on each row's valid steps: the loss and d loss / d every trainable variable
// against float64 PyTorch autograd of TF's math, at the 2e-5 of the nn.GRU golden above
// (the TF-layout cell had finite differences at 2e-3 only).
BOOST_AUTO_TEST_CASE(article_seq2seq_gradients_match_float64_tf_math) {
  const auto& c = tf_gru_golden_json().at("seq2seq");
  Fresh g;
  const tf_gru_case::Seq2SeqCase seq2seq(c);
  // Builds encoder/... and decoder/decoder/...; then every variable gets TF's value by name.
  const auto vars = seq2seq.build_with_tf_values();
  std::vector<std::string> got_names;
  for (const auto& v : vars) got_names.push_back(v.op_name());
  BOOST_TEST(got_names == seq2seq.names, boost::test_tools::per_element());
  std::vector<std::optional<Tensor>> grads;
  Tensor loss;
  {
    GradientTape tape;
    loss = seq2seq.loss();
    grads = tape.gradient(loss, vars);
  }
  BOOST_TEST(compare::within(loss.data<float>()[0], c.at("loss").get<double>(), 0.0, kGruGradBound),
             "loss " << loss.data<float>()[0] << " vs " << c.at("loss").get<double>());
  for (std::size_t i = 0; i < vars.size(); ++i)
    check_golden(grads[i], c.at("grads").at(vars[i].op_name()), "d loss / d " + vars[i].op_name(), kGruGradBound,
                 true);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sharing)

// The article's feed-forward block (dense_a -> dense_b) shared in one scope and
// called on two inputs: the shared variables' gradient equals the sum of the
// gradients of two unshared copies holding the same values, one per input.
BOOST_AUTO_TEST_CASE(shared_feed_forward_is_the_sum_of_unshared_copies) {
  Fresh g;
  const Tensor x1 = pattern({2, 10}, 30), x2 = pattern({2, 10}, 31);
  // Outputs of ops run without a tape are not reads of anything.
  BOOST_TEST(tanh(x1).tape_id() == 0u);
  auto loss_of = [&](const Tensor& y1, const Tensor& y2) {
    return add(reduce_sum(reduce_sum(multiply(y1, pattern(y1.shape(), 32)), 1), 0),
               reduce_sum(reduce_sum(multiply(y2, pattern(y2.shape(), 33)), 1), 0));
  };
  // Build both networks once (variables are created lazily).
  {
    auto s = variable_scope("feed_forward_shared");
    (void)article::feed_forward(x1);
    s.reuse_variables();
    (void)article::feed_forward(x2);
  }
  {
    auto sx = variable_scope("feed_forward_x");
    (void)article::feed_forward(x1);
  }
  {
    auto sy = variable_scope("feed_forward_y");
    (void)article::feed_forward(x2);
  }
  const auto shared = trainable_variables("feed_forward_shared/");
  const auto copy_x = trainable_variables("feed_forward_x/");
  const auto copy_y = trainable_variables("feed_forward_y/");
  BOOST_REQUIRE_EQUAL(shared.size(), 4u);  // dense_a/kernel, dense_a/bias, dense_b/kernel, dense_b/bias
  for (std::size_t i = 0; i < 4; ++i) {
    copy_x[i].assign(shared[i].value());
    copy_y[i].assign(shared[i].value());
  }
  std::vector<std::optional<Tensor>> g_shared, g_unshared;
  {
    GradientTape tape;
    Tensor y1, y2;
    {
      // Re-entering the built block: the article's `scope.reuse_variables()` after the first call.
      auto s = variable_scope("feed_forward_shared", {.reuse = Reuse::True});
      y1 = article::feed_forward(x1);
      y2 = article::feed_forward(x2);
    }
    g_shared = tape.gradient(loss_of(y1, y2), shared);
  }
  {
    GradientTape tape;
    Tensor y1, y2;
    {
      auto sx = variable_scope("feed_forward_x", {.reuse = Reuse::True});
      y1 = article::feed_forward(x1);
    }
    {
      auto sy = variable_scope("feed_forward_y", {.reuse = Reuse::True});
      y2 = article::feed_forward(x2);
    }
    auto both = copy_x;
    both.insert(both.end(), copy_y.begin(), copy_y.end());
    g_unshared = tape.gradient(loss_of(y1, y2), both);
  }
  for (std::size_t i = 0; i < 4; ++i) {
    BOOST_REQUIRE(g_shared[i] && g_unshared[i] && g_unshared[i + 4]);
    const auto s = g_shared[i]->data<float>();
    const auto a = g_unshared[i]->data<float>();
    const auto b = g_unshared[i + 4]->data<float>();
    double worst = 0.0;
    for (std::size_t j = 0; j < s.size(); ++j) worst = compare::nan_max(worst, std::fabs(s[j] - (a[j] + b[j])));
    BOOST_TEST(worst <= 1e-5, shared[i].op_name() << ": |shared - (x + y)| = " << worst);
    // And each use really contributes (the sum is not just one of them).
    float diff = 0.0f;
    for (std::size_t j = 0; j < s.size(); ++j) diff = std::max(diff, std::fabs(s[j] - a[j]));
    BOOST_TEST(diff > 1e-3f);
  }
}

// The article's own shared block (same input twice) against its unshared block.
BOOST_AUTO_TEST_CASE(article_feed_forward_blocks) {
  Fresh g;
  const Tensor x = pattern({3, 10}, 34);
  (void)article::feed_forward_shared(x);
  (void)article::feed_forward_unshared(x);
  const auto shared = trainable_variables("feed_forward_shared/");
  const auto vx = trainable_variables("feed_forward_x/");
  const auto vy = trainable_variables("feed_forward_y/");
  for (std::size_t i = 0; i < shared.size(); ++i) {
    vx[i].assign(shared[i].value());
    vy[i].assign(shared[i].value());
  }
  auto total = [](const article::FeedForwardOutputs& o) {
    return add(reduce_sum(reduce_sum(o.outputs_x, 1), 0), reduce_sum(reduce_sum(tanh(o.outputs_y), 1), 0));
  };
  std::vector<std::optional<Tensor>> gs, gu;
  {
    GradientTape tape;
    auto again = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});  // the block is already built
    gs = tape.gradient(total(article::feed_forward_shared(x)), shared);
  }
  {
    // A second unshared build would make feed_forward_x_1: re-enter with reuse instead.
    GradientTape tape;
    article::FeedForwardOutputs o;
    {
      auto s = variable_scope("feed_forward_x", {.reuse = Reuse::True});
      o.outputs_x = article::feed_forward(x);
    }
    {
      auto s = variable_scope("feed_forward_y", {.reuse = Reuse::True});
      o.outputs_y = article::feed_forward(x);
    }
    auto both = vx;
    both.insert(both.end(), vy.begin(), vy.end());
    gu = tape.gradient(total(o), both);
  }
  for (std::size_t i = 0; i < shared.size(); ++i) {
    const auto s = gs[i]->data<float>();
    const auto a = gu[i]->data<float>();
    const auto b = gu[i + shared.size()]->data<float>();
    for (std::size_t j = 0; j < s.size(); ++j) BOOST_TEST(std::fabs(s[j] - (a[j] + b[j])) <= 1e-5f);
  }
}

// The decoder cell is shared across time steps: the fused BPTT gradient of its
// kernel equals the sum over steps of per-step copies (T cells with their own
// variables holding the same values, unrolled by hand).
BOOST_AUTO_TEST_CASE(cell_shared_across_time_steps) {
  Fresh g;
  constexpr std::int64_t B = 2, T = 3, D = 2, H = 3;
  const Tensor x = pattern({B, T, D}, 40);
  GRUCell shared(H, "shared");
  std::vector<std::unique_ptr<GRUCell>> steps;
  (void)dynamic_rnn(shared, x, {.scope = ""});
  for (std::int64_t t = 0; t < T; ++t) {
    steps.push_back(std::make_unique<GRUCell>(H, "step" + std::to_string(t)));
    (void)(*steps.back())(pattern({B, D}, 1), shared.zero_state(B));
    for (std::size_t i = 0; i < 4; ++i) steps.back()->variables()[i].assign(shared.variables()[i].value());
  }
  const Tensor r = pattern({B, T, H}, 41);
  std::vector<std::optional<Tensor>> gs;
  {
    GradientTape tape;
    auto out = dynamic_rnn(shared, x, {.scope = ""});
    gs = tape.gradient(out.outputs, shared.variables(), r);
  }
  std::vector<Variable> all;
  std::vector<std::optional<Tensor>> gu;
  {
    GradientTape tape;
    Tensor h = shared.zero_state(B);
    std::vector<Tensor> outs;
    for (std::int64_t t = 0; t < T; ++t) {
      Tensor x_t = reshape(slice(x, {0, t, 0}, {B, 1, D}), Shape{B, D});
      auto [output, state] = (*steps[t])(x_t, h);
      outs.push_back(reshape(output, Shape{B, 1, H}));
      h = state;
      for (const auto& v : steps[t]->variables()) all.push_back(v);
    }
    gu = tape.gradient(concat(outs, 1), all, r);
  }
  for (std::size_t i = 0; i < 4; ++i) {
    const auto s = gs[i]->data<float>();
    for (std::size_t j = 0; j < s.size(); ++j) {
      double sum = 0.0;
      for (std::int64_t t = 0; t < T; ++t) sum += gu[t * 4 + i]->data<float>()[j];
      BOOST_TEST(std::fabs(s[j] - sum) <= 1e-5, shared.variables()[i].op_name() << "[" << j << "]");
    }
  }
}

// The article's Seq2Seq shares one embedding between the encoder and the
// decoder: its gradient is the encoder's part plus the decoder's part, each
// measured on a separate copy of the embedding.
BOOST_AUTO_TEST_CASE(embedding_shared_by_encoder_and_decoder) {
  Fresh g;
  constexpr std::int64_t V = 7, E = 3, H = 4, B = 2, T = 3;
  const auto enc_ids = ints({B, T}, {3, 4, 5, 6, 3, 0});
  const auto enc_len = ints({B}, {3, 2});
  const auto dec_ids = ints({B, T}, {1, 3, 4, 1, 6, 6});
  const auto dec_len = ints({B}, {3, 2});
  const auto targets = ints({B, T}, {3, 4, 2, 6, 2, 0});
  const auto weights = Tensor(Shape{B, T}, std::vector<float>{1, 1, 1, 1, 1, 0});
  auto model = [&](const Variable& enc_embedding, const Variable& dec_embedding) {
    GRUCell enc_cell(H, "cell");
    auto enc = dynamic_rnn(enc_cell, embedding_lookup(enc_embedding.value(), enc_ids),
                           {.sequence_length = enc_len, .scope = "encoder"});
    GRUCell dec_cell(H, "cell");
    Dense out(V, {.use_bias = false, .name = "out_layer"});
    BasicDecoder decoder(dec_cell, TrainingHelper(embedding_lookup(dec_embedding.value(), dec_ids), dec_len),
                         enc.final_state, out);
    auto r = dynamic_decode(decoder, {.scope = "decoder"});
    return sequence_loss(r.rnn_output, targets, weights);
  };
  auto shared = var("embedding", pattern({V, E}, 50));
  auto enc_copy = var("embedding_enc", shared.value());
  auto dec_copy = var("embedding_dec", shared.value());
  {
    auto s = variable_scope("model", {.reuse = AUTO_REUSE});
    (void)model(shared, shared);
  }
  // All three runs reuse the same encoder/decoder variables (AUTO_REUSE).
  auto scoped = [&](const Variable& a, const Variable& b) {
    auto s = variable_scope("model", {.reuse = AUTO_REUSE});
    return model(a, b);
  };
  std::optional<Tensor> gs, ge, gd;
  {
    GradientTape tape;
    gs = tape.gradient(scoped(shared, shared), {shared})[0];
  }
  {
    GradientTape tape;
    auto both = tape.gradient(scoped(enc_copy, dec_copy), {enc_copy, dec_copy});
    ge = both[0];
    gd = both[1];
  }
  BOOST_REQUIRE(gs && ge && gd);
  double worst = 0.0;
  float enc_part = 0.0f, dec_part = 0.0f;
  for (std::int64_t i = 0; i < V * E; ++i) {
    worst = compare::nan_max(worst, std::fabs(gs->data<float>()[i] - (ge->data<float>()[i] + gd->data<float>()[i])));
    enc_part = std::max(enc_part, std::fabs(ge->data<float>()[i]));
    dec_part = std::max(dec_part, std::fabs(gd->data<float>()[i]));
  }
  BOOST_TEST(worst <= 1e-6);
  BOOST_TEST(enc_part > 1e-4f);  // both uses contribute
  BOOST_TEST(dec_part > 1e-4f);
  // Row 2 (EOS) is never an input: no gradient; row 3 is used by both.
  for (std::int64_t e = 0; e < E; ++e) BOOST_TEST(gs->data<float>()[2 * E + e] == 0.0f);
  // And the whole model against finite differences.
  check_grads({shared}, [&] { return scoped(shared, shared); }, "seq2seq loss wrt the shared embedding");
}

BOOST_AUTO_TEST_SUITE_END()

// DropoutWrapper (modules/wrappers.cppm): gradients flow through the masks drawn in the
// forward pass. A fresh wrapper with an explicit seed draws the same masks (call numbers
// restart at 0), so each f() below is a deterministic function of the variables and central
// differences apply to non-variational dropout too.
BOOST_AUTO_TEST_SUITE(dropout)

BOOST_AUTO_TEST_CASE(lstm_input_state_output_dropout_ragged) {
  Fresh g;
  auto x = var("x", pattern({3, 4, 3}, 120));
  auto c0 = var("c0", pattern({3, 5}, 121));
  auto h0 = var("h0", pattern({3, 5}, 122));
  const Tensor lengths = ints({3}, {4, 2, 0});
  LSTMCell cell(5, {.use_peepholes = true, .initializer = random_uniform_initializer(-0.5, 0.5, 7)});
  const DropoutWrapperOptions opts{.input_keep_prob = 0.6f, .output_keep_prob = 0.7f, .state_keep_prob = 0.8f,
                                   .seed = 11};
  auto f = [&] {
    DropoutWrapper w(cell, opts);
    const auto r = dynamic_rnn(w, x.value(), {.sequence_length = lengths,
                                              .initial_state = LSTMStateTuple{c0.value(), h0.value()}});
    const LSTMStateTuple s = LSTMStateTuple::from(r.final_state);
    return concat({reshape(r.outputs, Shape{-1}), reshape(s.c, Shape{-1}), reshape(s.h, Shape{-1})}, 0);
  };
  (void)f();  // builds rnn/lstm_cell/*
  // The masks are really there (and the same in every f()): dropout changes the result.
  {
    const auto bare = dynamic_rnn(cell, x.value(), {.sequence_length = lengths,
                                                    .initial_state = LSTMStateTuple{c0.value(), h0.value()}});
    const Tensor a = f();
    BOOST_TEST(max_abs_diff(reshape(bare.outputs, Shape{-1}), slice(a, {0}, {bare.outputs.size()})) > 0.1);
    BOOST_TEST(max_abs_diff(a, f()) == 0.0);
  }
  std::vector<Variable> vars = cell.variables();
  vars.insert(vars.end(), {x, c0, h0});
  check_grads(vars, f, "DropoutWrapper(LSTMCell) input/state/output dropout");
}

// Dropout inside a stack: layer 1's input dropout sees layer 0's output at every step
// (MultiRNNCell projects it per step, and again for every step at once in the backward).
BOOST_AUTO_TEST_CASE(stacked_dropout_layers_gru_over_lstm) {
  Fresh g;
  auto x = var("x", pattern({2, 3, 4}, 130));
  BasicLSTMCell bottom(4);
  GRUCell top(3);
  auto f = [&] {
    DropoutWrapper d0(bottom, {.output_keep_prob = 0.75f, .state_keep_prob = 0.6f, .seed = 3});
    DropoutWrapper d1(top, {.input_keep_prob = 0.5f, .state_keep_prob = 0.7f, .seed = 4});
    MultiRNNCell stack({d0, d1});
    const auto r = dynamic_rnn(stack, x.value(), {.sequence_length = ints({2}, {3, 2})});
    return concat({reshape(r.outputs, Shape{-1}), reshape(r.final_state[1].leaf(), Shape{-1})}, 0);
  };
  (void)f();
  std::vector<Variable> vars = bottom.variables();
  for (const auto& v : top.variables()) vars.push_back(v);
  vars.push_back(x);
  check_grads(vars, f, "MultiRNNCell(DropoutWrapper(BasicLSTMCell), DropoutWrapper(GRUCell))");
}

BOOST_AUTO_TEST_CASE(variational_gru_all_three) {
  Fresh g;
  auto x = var("x", pattern({3, 4, 2}, 140));
  GRUCell cell(4);
  DropoutWrapper w(cell, {.input_keep_prob = 0.5f, .output_keep_prob = 0.6f, .state_keep_prob = 0.7f,
                          .variational_recurrent = true, .seed = 9});
  // Variational masks are fixed at build: the same wrapper gives the same function.
  auto f = [&] { return dynamic_rnn(w, x.value(), {.sequence_length = ints({3}, {4, 1, 3})}).outputs; };
  (void)f();
  std::vector<Variable> vars = cell.variables();
  vars.push_back(x);
  check_grads(vars, f, "DropoutWrapper(GRUCell) variational");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(residual)

// ResidualWrapper with an input slice (gnmt_residual_fn's shape) on top of a stack: d inputs
// gets d output only in the sliced columns, plus what flows through the cells.
BOOST_AUTO_TEST_CASE(residual_slice_in_a_stack) {
  Fresh g;
  auto x = var("x", pattern({2, 3, 5}, 150));
  BasicLSTMCell bottom(4);
  GRUCell top(3);
  ResidualWrapper res(top, {.input_slice_begin = 1});  // adds bottom's output columns [1, 4)
  MultiRNNCell stack({bottom, res});
  auto f = [&] { return dynamic_rnn(stack, x.value(), {.sequence_length = ints({2}, {3, 2})}).outputs; };
  (void)f();
  std::vector<Variable> vars = bottom.variables();
  for (const auto& v : top.variables()) vars.push_back(v);
  vars.push_back(x);
  check_grads(vars, f, "MultiRNNCell(BasicLSTMCell, ResidualWrapper(GRUCell, slice [1, 4)))");
  // And as the bottom layer, where d inputs leaves the loop: x's columns [2, 5) get the residual.
  GRUCell first(3);
  ResidualWrapper res0(first, {.input_slice_begin = 2});
  check_grads({x}, [&] { return dynamic_rnn(res0, x.value(), {.scope = "res0"}).outputs; },
              "ResidualWrapper(GRUCell, slice [2, 5)) d inputs");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tape)

BOOST_AUTO_TEST_CASE(no_tape_records_nothing_and_unconnected_is_none) {
  Fresh g;
  auto a = var("a", pattern({2, 2}, 60));
  auto b = var("b", pattern({2, 2}, 61));
  const Tensor y0 = matmul(a.value(), a.value());
  BOOST_TEST(y0.tape_id() == 0u);  // no active tape
  GradientTape tape;
  const Tensor y = tanh(a.value());
  const Tensor copy = b.value();  // a copy of a variable's value is still a read of it
  BOOST_TEST(copy.tape_id() == b.read_id());
  const Tensor z = sigmoid(copy);  // but an op's output is not, even when it started as a copy
  BOOST_TEST(z.tape_id() != b.read_id());
  auto grads = tape.gradient(y, {a, b});
  BOOST_TEST(grads[0].has_value());
  BOOST_TEST(!grads[1].has_value());  // TF's None for an unconnected variable
  BOOST_CHECK_THROW((void)tape.gradient(y, {a}), InvalidArgumentError);  // not persistent
}

// Every op's output is untracked unless the op records it (record_op resets it), so an
// op applied to a COPY of a tracked value (a variable read keeps its read id) never
// returns that value's id: without a tape the output is untracked, under a tape it is
// the op's own entry (or untracked for where / tile_batch, which have no gradient here).
BOOST_AUTO_TEST_CASE(every_op_output_is_untracked_unless_recorded) {
  Fresh g;
  auto v = var("x", pattern({2, 3}, 70));
  const Tensor ones(Shape{3}, std::vector<float>{1.0f, 1.0f, 1.0f});
  const Tensor ones23(Shape{2, 3}, std::vector<float>(6, 1.0f));
  Dense dense_layer(3, {.use_bias = true, .name = "tape_dense"});
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    bool differentiable = true;
  };
  const std::vector<Case> cases = {
      {"matmul", [](const Tensor& x) { return matmul(x, x, false, true); }},
      {"add", [](const Tensor& x) { return add(x, x); }},
      {"bias_add", [&](const Tensor& x) { return bias_add(x, ones); }},
      {"x * 1.0", [](const Tensor& x) { return x * 1.0; }},
      {"multiply", [&](const Tensor& x) { return multiply(x, ones23); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"relu", [](const Tensor& x) { return relu(x); }},
      {"concat of one part", [](const Tensor& x) { return concat({x}, 0); }},
      {"slice of everything", [](const Tensor& x) { return slice(x, {0, 0}, {2, 3}); }},
      {"gather of every row", [](const Tensor& x) { return gather(x, ints({2}, {0, 1})); }},
      {"reduce_sum", [](const Tensor& x) { return reduce_sum(x, 0); }},
      {"softmax", [](const Tensor& x) { return softmax(x); }},
      {"log_softmax", [](const Tensor& x) { return log_softmax(x); }},
      {"reshape to its own shape", [](const Tensor& x) { return reshape(x, Shape{2, 3}); }},
      {"reverse_sequence with lengths 0 (a copy)",
       [](const Tensor& x) { return reverse_sequence(x, ints({2}, {0, 0}), 1, 0); }},
      {"reverse", [](const Tensor& x) { return reverse(x, 0); }},
      {"Dense", [&](const Tensor& x) { return dense_layer(x); }},
      {"sparse_softmax_cross_entropy_with_logits",
       [](const Tensor& x) { return sparse_softmax_cross_entropy_with_logits(ints({2}, {0, 2}), x); }},
      {"sequence_loss",
       [](const Tensor& x) {
         return sequence_loss(reshape(x, Shape{1, 2, 3}), ints({1, 2}, {1, 2}), Tensor(Shape{1, 2}, std::vector<float>{1, 1}));
       }},
      {"where", [](const Tensor& x) { return where(ints({2}, {1, 0}), x, x); }, false},
      {"tile_batch by 1", [](const Tensor& x) { return tile_batch(x, 1); }, false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("op " << c.name) {
      const Tensor read = v.value();  // a copy that still carries the variable's read id
      BOOST_TEST(read.tape_id() == v.read_id());
      BOOST_TEST(c.op(read).tape_id() == 0u);  // no tape: untracked
      GradientTape tape;
      const Tensor copy = v.value();
      const Tensor y = c.op(copy);
      BOOST_TEST(y.tape_id() != v.read_id());
      if (c.differentiable) {
        BOOST_TEST(y.tape_id() != 0u);  // recorded
        BOOST_TEST(tape.entries() >= 1u);
      } else {
        BOOST_TEST(y.tape_id() == 0u);
        BOOST_TEST(tape.entries() == 0u);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(nested_tapes_are_refused_and_stop_recording_pauses) {
  Fresh g;
  auto a = var("a", pattern({2}, 62));
  GradientTape tape;
  BOOST_CHECK_THROW(GradientTape inner, InvalidArgumentError);
  Tensor y;
  {
    StopRecording pause;
    y = tanh(a.value());
  }
  BOOST_TEST(y.tape_id() == 0u);
  BOOST_TEST(!tape.gradient(y, {a})[0].has_value());
}

BOOST_AUTO_TEST_CASE(non_trainable_variables_are_not_watched_unless_asked) {
  Fresh g;
  auto frozen = Variable(pattern({2}, 63), "frozen", /*trainable=*/false);
  {
    GradientTape tape;
    auto y = tanh(frozen.value());
    BOOST_TEST(!tape.gradient(y, {frozen})[0].has_value());
  }
  {
    GradientTape tape;
    tape.watch(frozen);
    auto y = tanh(frozen.value());
    BOOST_TEST(tape.gradient(y, {frozen})[0].has_value());
  }
}

BOOST_AUTO_TEST_CASE(gradient_with_respect_to_watched_tensors) {
  Fresh g;
  Tensor x = pattern({3}, 64);
  GradientTape tape;
  tape.watch(x);
  auto y = multiply(x, x);
  auto d = tape.gradient(y, std::vector<const Tensor*>{&x})[0];
  BOOST_REQUIRE(d);
  for (int i = 0; i < 3; ++i) BOOST_TEST(d->data<float>()[i] == 2.0f * x.data<float>()[i]);
}

BOOST_AUTO_TEST_SUITE_END()
