// Training tests: sequence_loss values and errors, GradientDescent and Adam
// against float64 references written from TF 1.x's kernels, slot and
// non-slot variable names, global_step, clip_by_global_norm, minimize inside a
// reuse=True scope (TF #6220), and the end-to-end check: the article's Seq2Seq
// trained on a toy copy task, where the beam-search decoder — holding the same
// variables as the training decoder — improves without any copying.
#define BOOST_TEST_MODULE train
#include "support/boost_test.hpp"
#include "support/error_message.hpp"  // message_of<E>(f)

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

import varscope;
import varscope.article;
#include "support/compare.hpp"
#include "support/tf_gru_seq2seq_case.hpp"
#include "tf_gru_golden.hpp"  // generated: kTfGruGolden (tests/data/tf_gru_golden.json)

using namespace varscope;

namespace {

Tensor floats(const Shape& s, std::vector<float> v) { return Tensor(s, std::move(v)); }
Tensor ints(const Shape& s, std::vector<std::int32_t> v) { return Tensor(s, std::move(v)); }

std::vector<std::string> names(const std::vector<Variable>& vars) {
  std::vector<std::string> out;
  for (const auto& v : vars) out.push_back(v.op_name());
  std::sort(out.begin(), out.end());
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

struct Fresh {
  Graph graph{5};
  DefaultGraphGuard use{graph};
};

// loss = sum(w * c): a constant gradient c, so the reference needs no model.
Tensor linear_loss(const Variable& w, const Tensor& c) {
  return reduce_sum(reshape(multiply(w.value(), c), Shape{-1}), 0);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(loss)

BOOST_AUTO_TEST_CASE(sequence_loss_values) {
  // Two rows, three steps, four classes; hand-computed cross-entropies.
  const Tensor logits = floats({2, 3, 4}, {1, 2, 3, 4, 0, 0, 0, 0, 4, 1, 0, -1, 2, 2, 0, 0, 1, -1, 1, -1, 0, 3, 0, 0});
  const Tensor targets = ints({2, 3}, {3, 0, 0, 1, 2, 1});
  const Tensor weights = floats({2, 3}, {1.0f, 0.5f, 0.0f, 1.0f, 2.0f, 0.0f});
  double ce[6];
  for (int i = 0; i < 6; ++i) {
    double m = -1e30, s = 0.0;
    for (int j = 0; j < 4; ++j) m = std::max<double>(m, logits.data<float>()[i * 4 + j]);
    for (int j = 0; j < 4; ++j) s += std::exp(logits.data<float>()[i * 4 + j] - m);
    ce[i] = std::log(s) + m - logits.data<float>()[i * 4 + targets.data<std::int32_t>()[i]];
  }
  const auto w = weights.data<float>();
  double num = 0.0, den = 0.0;
  for (int i = 0; i < 6; ++i) {
    num += ce[i] * w[i];
    den += w[i];
  }
  BOOST_TEST(sequence_loss(logits, targets, weights).data<float>()[0] == num / (den + 1e-12), boost::test_tools::tolerance(1e-6));
  // average_across_timesteps only: per row.
  auto per_row = sequence_loss(logits, targets, weights, {.average_across_timesteps = true, .average_across_batch = false});
  BOOST_TEST(per_row.shape() == (Shape{2}));
  BOOST_TEST(per_row.data<float>()[0] == (ce[0] * 1.0 + ce[1] * 0.5) / 1.5, boost::test_tools::tolerance(1e-6));
  // average_across_batch only: per step, divided by the weight sum (not the batch size).
  auto per_step = sequence_loss(logits, targets, weights, {.average_across_timesteps = false, .average_across_batch = true});
  BOOST_TEST(per_step.shape() == (Shape{3}));
  BOOST_TEST(per_step.data<float>()[1] == (ce[1] * 0.5 + ce[4] * 2.0) / 2.5, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(per_step.data<float>()[2] == 0.0f);  // all-zero weights: 0 / (0 + 1e-12)
  // sum_over_*: divided by the count of non-zero weights (fractional weights differ from the average).
  auto summed = sequence_loss(logits, targets, weights, {.average_across_timesteps = false,
                                                         .average_across_batch = false,
                                                         .sum_over_timesteps = true,
                                                         .sum_over_batch = true});
  BOOST_TEST(summed.data<float>()[0] == num / 4.0, boost::test_tools::tolerance(1e-6));
  auto none = sequence_loss(logits, targets, weights, {.average_across_timesteps = false, .average_across_batch = false});
  BOOST_TEST(none.shape() == (Shape{2, 3}));
  BOOST_TEST(none.data<float>()[4] == ce[4] * 2.0, boost::test_tools::tolerance(1e-6));
  // All weights zero: 0, not NaN.
  BOOST_TEST(sequence_loss(logits, targets, Tensor(DType::float32, Shape{2, 3})).data<float>()[0] == 0.0f);
}

BOOST_AUTO_TEST_CASE(sequence_loss_errors) {
  const Tensor logits(DType::float32, Shape{2, 3, 4});
  const Tensor targets(DType::int32, Shape{2, 3});
  const Tensor weights(DType::float32, Shape{2, 3});
  BOOST_CHECK_THROW((void)sequence_loss(Tensor(DType::float32, Shape{6, 4}), targets, weights), ShapeMismatchError);
  BOOST_CHECK_THROW((void)sequence_loss(logits, Tensor(DType::int32, Shape{2, 4}), weights), ShapeMismatchError);
  BOOST_CHECK_THROW((void)sequence_loss(logits, targets, Tensor(DType::float32, Shape{3, 2})), ShapeMismatchError);
  BOOST_CHECK_THROW((void)sequence_loss(logits, targets, weights, {.sum_over_timesteps = true}), InvalidArgumentError);
  BOOST_CHECK_THROW((void)sequence_loss(logits, targets, weights, {.average_across_batch = false, .sum_over_batch = true}),
                    InvalidArgumentError);
  // A padding id of -1 fails even where its weight is 0 (labels are checked before weighting, like TF's CPU kernel).
  try {
    (void)sequence_loss(logits, ints({2, 3}, {0, 1, -1, 0, 0, 0}), weights);
    BOOST_ERROR("no error for label -1");
  } catch (const InvalidArgumentError& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("Received a label value of -1 which is outside the valid range of [0, 4)") != std::string::npos);
    BOOST_TEST(what.find("[0, 2]") != std::string::npos);  // the position
  }
  BOOST_CHECK_THROW((void)sparse_softmax_cross_entropy_with_logits(ints({2}, {0, 0}), Tensor(DType::float32, Shape{3, 4})),
                    ShapeMismatchError);
  BOOST_CHECK_THROW((void)sparse_softmax_cross_entropy_with_logits(Tensor(DType::int32, Shape{}), Tensor()),
                    ShapeMismatchError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(optimizers)

BOOST_AUTO_TEST_CASE(gradient_descent_update) {
  Fresh g;
  auto w = Variable(floats({3}, {1.0f, -2.0f, 0.5f}), "w");
  const Tensor c = floats({3}, {0.25f, -1.0f, 4.0f});
  GradientDescentOptimizer opt(0.1f);
  auto step = get_or_create_global_step();
  const Tensor loss = opt.minimize([&] { return linear_loss(w, c); }, step);
  BOOST_TEST(loss.data<float>()[0] == 1.0f * 0.25f + 2.0f + 2.0f);
  const float expected[] = {1.0f - 0.1f * 0.25f, -2.0f + 0.1f, 0.5f - 0.1f * 4.0f};
  for (int i = 0; i < 3; ++i) BOOST_TEST(w.value().data<float>()[i] == expected[i], boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(step.value().data<std::int32_t>()[0] == 1);
  // No slots, no beta powers.
  const auto all = names(global_variables());
  BOOST_TEST(all == (std::vector<std::string>{"global_step", "w"}), boost::test_tools::per_element());
}

// TF 1.x ApplyAdam, in double: alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
// m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); w -= alpha m / (sqrt(v) + eps).
BOOST_AUTO_TEST_CASE(adam_matches_the_tf_kernel_in_float64) {
  Fresh g;
  auto w1 = Variable(floats({3}, {1.0f, -2.0f, 0.5f}), "w1");
  auto w2 = Variable(floats({2, 2}, {0.1f, 0.2f, -0.3f, 0.4f}), "w2");
  const Tensor c1 = floats({3}, {0.25f, -1.0f, 4.0f});
  const Tensor c2 = floats({2, 2}, {1e-3f, -2.0f, 0.5f, 0.0f});
  // The hyper-parameters as the float32 kernel receives them (0.999f is 0.99900001...,
  // so 1 - beta2 differs from 1e-3 by 1.3e-5 relative: TF's float kernel has the same).
  const double lr = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  AdamOptimizer opt({.learning_rate = 0.01f});
  auto step = get_or_create_global_step();
  std::vector<double> w(7), m(7, 0.0), v(7, 0.0), grad(7);
  for (int i = 0; i < 3; ++i) w[i] = w1.value().data<float>()[i], grad[i] = c1.data<float>()[i];
  for (int i = 0; i < 4; ++i) w[3 + i] = w2.value().data<float>()[i], grad[3 + i] = c2.data<float>()[i];
  for (int t = 1; t <= 5; ++t) {
    opt.minimize([&] { return add(linear_loss(w1, c1), linear_loss(w2, c2)); }, step);
    const double alpha = lr * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t));
    for (int i = 0; i < 7; ++i) {
      m[i] += (grad[i] - m[i]) * (1.0 - b1);
      v[i] += (grad[i] * grad[i] - v[i]) * (1.0 - b2);
      w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
    for (int i = 0; i < 3; ++i) BOOST_TEST(w1.value().data<float>()[i] == w[i], boost::test_tools::tolerance(1e-5));
    for (int i = 0; i < 4; ++i) BOOST_TEST(w2.value().data<float>()[i] == w[3 + i], boost::test_tools::tolerance(1e-5));
    // Slots hold m and v; beta powers are beta^(t+1) after step t.
    for (int i = 0; i < 3; ++i) {
      BOOST_TEST(opt.get_slot(w1, "m")->value().data<float>()[i] == m[i], boost::test_tools::tolerance(1e-5));
      BOOST_TEST(opt.get_slot(w1, "v")->value().data<float>()[i] == v[i], boost::test_tools::tolerance(1e-5));
    }
    BOOST_TEST(opt.beta1_power()->value().data<float>()[0] == std::pow(b1, t + 1), boost::test_tools::tolerance(1e-6));
    BOOST_TEST(opt.beta2_power()->value().data<float>()[0] == std::pow(b2, t + 1), boost::test_tools::tolerance(1e-6));
    BOOST_TEST(step.value().data<std::int32_t>()[0] == t);
  }
  // Step 1 moves each weight by ~lr * sign(g) (the "epsilon hat" formulation): checked through the
  // reference above; here the zero-gradient entry of w2 never moved.
  BOOST_TEST(w2.value().data<float>()[3] == 0.4f);
}

// Adam with gradients that change every step, oracle in the test: the quadratic loss
// L = sum(a * (w - c)^2) has the closed-form gradient g = 2 a (w - c), which changes with
// every update (and changes sign as w overshoots c: lr 0.2 against |w - c| <= 1.5), so the
// float64 loop below, written from TF 1.x's ApplyAdam like the one above, needs no model.
// Every step checks both variables, `<var>/Adam` and `<var>/Adam_1` (by name) and the beta
// powers. Bounds: the float32 loss and gradient are a few roundings of O(1) values
// (relative ~1e-7); Adam's step normalises the gradient (m / sqrt(v)), so each step adds
// ~lr * 1e-7 = 2e-8 plus one rounding of w (u |w| <= 1.2e-7): w within 1e-6 absolute
// (measured <= 1.8e-7 over the 8 steps); m and v within 5e-6 of their tensor's scale
// (measured <= 4.8e-7: as w nears c the scale of m shrinks while its rounding stays).
// The beta powers are float32 products in the reference, as in TF (see the next test).
// A stale gradient or an m/v mix-up is off by O(lr) = 0.2 on w.
BOOST_AUTO_TEST_CASE(adam_on_a_quadratic_loss_matches_the_tf_kernel_every_step) {
  Fresh g;
  auto w1 = Variable(floats({3}, {1.0f, -2.0f, 0.5f}), "w1");
  auto w2 = Variable(floats({2, 2}, {0.1f, 0.2f, -0.3f, 0.4f}), "w2");
  const std::vector<float> a = {0.5f, 2.0f, 1.0f, 3.0f, 0.25f, 1.5f, 0.75f};
  const std::vector<float> c = {0.3f, -1.0f, 1.5f, -0.2f, 1.0f, 0.0f, -0.6f};
  const Tensor a1 = floats({3}, {a[0], a[1], a[2]}), a2 = floats({2, 2}, {a[3], a[4], a[5], a[6]});
  const Tensor neg_c1 = floats({3}, {-c[0], -c[1], -c[2]}), neg_c2 = floats({2, 2}, {-c[3], -c[4], -c[5], -c[6]});
  auto quadratic = [](const Variable& w, const Tensor& neg_c, const Tensor& scale) {
    const Tensor d = add(w.value(), neg_c);
    return reduce_sum(reshape(multiply(multiply(d, d), scale), Shape{-1}), 0);
  };
  const double lr = 0.2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;  // as the float32 kernel receives them
  // TF's beta1_power / beta2_power are float32 variables multiplied in float32 (adam.py _finish);
  // the reference keeps them so, because 1 - beta2_power cancels: one float32 ulp of beta2_power
  // is 3e-5 of 1 - beta2^1, which would move w by ~1e-6 per step at lr 0.2.
  float beta1_power = 0.9f, beta2_power = 0.999f;
  AdamOptimizer opt({.learning_rate = 0.2f});
  auto step = get_or_create_global_step();
  std::vector<double> w(7), m(7, 0.0), v(7, 0.0);
  for (int i = 0; i < 3; ++i) w[i] = w1.value().data<float>()[i];
  for (int i = 0; i < 4; ++i) w[3 + i] = w2.value().data<float>()[i];
  bool sign_changed = false;
  std::vector<double> first_grad;
  for (int t = 1; t <= 8; ++t) {
    opt.minimize([&] { return add(quadratic(w1, neg_c1, a1), quadratic(w2, neg_c2, a2)); }, step);
    const double alpha = lr * std::sqrt(1.0 - double(beta2_power)) / (1.0 - double(beta1_power));
    beta1_power *= 0.9f;
    beta2_power *= 0.999f;
    std::vector<double> grad(7);
    for (int i = 0; i < 7; ++i) grad[i] = 2.0 * a[i] * (w[i] - c[i]);  // at the weights before this step
    if (t == 1) first_grad = grad;
    for (int i = 0; i < 7; ++i) {
      sign_changed = sign_changed || grad[i] * first_grad[i] < 0;
      m[i] += (grad[i] - m[i]) * (1.0 - b1);
      v[i] += (grad[i] * grad[i] - v[i]) * (1.0 - b2);
      w[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
    BOOST_TEST_CONTEXT("step " << t) {
      double worst_w = 0, worst_m = 0, worst_v = 0;
      const std::pair<const Variable*, int> parts[] = {{&w1, 0}, {&w2, 3}};
      for (const auto& [var, offset] : parts) {
        const std::string name = var->op_name();
        std::optional<Variable> sm, sv;
        for (const auto& gv : global_variables()) {
          if (gv.op_name() == name + "/Adam") sm = gv;
          if (gv.op_name() == name + "/Adam_1") sv = gv;
        }
        BOOST_TEST_REQUIRE((sm && sv), name << ": slots missing");
        const auto n = static_cast<int>(var->value().size());
        double m_scale = 0, v_scale = 0;
        for (int i = 0; i < n; ++i) {
          m_scale = std::max(m_scale, std::abs(m[offset + i]));
          v_scale = std::max(v_scale, std::abs(v[offset + i]));
        }
        for (int i = 0; i < n; ++i) {
          const double ew = std::abs(var->value().data<float>()[i] - w[offset + i]);
          const double em = std::abs(sm->value().data<float>()[i] - m[offset + i]) / m_scale;
          const double ev = std::abs(sv->value().data<float>()[i] - v[offset + i]) / v_scale;
          BOOST_TEST(ew <= 1e-6, name << "[" << i << "] " << var->value().data<float>()[i] << " vs " << w[offset + i]);
          BOOST_TEST(em <= 5e-6, name << "/Adam[" << i << "] " << sm->value().data<float>()[i] << " vs " << m[offset + i]);
          BOOST_TEST(ev <= 5e-6, name << "/Adam_1[" << i << "] " << sv->value().data<float>()[i] << " vs " << v[offset + i]);
          worst_w = compare::nan_max(worst_w, ew);
          worst_m = compare::nan_max(worst_m, em);
          worst_v = compare::nan_max(worst_v, ev);
        }
      }
      BOOST_TEST(compare::within(opt.beta1_power()->value().data<float>()[0], std::pow(b1, t + 1), 0.0, 1e-6));
      BOOST_TEST(compare::within(opt.beta2_power()->value().data<float>()[0], std::pow(b2, t + 1), 0.0, 1e-6));
      BOOST_TEST_MESSAGE("quadratic step " << t << ": worst |w - ref| " << worst_w << ", m " << worst_m << ", v "
                                           << worst_v << " (relative to scale)");
    }
  }
  BOOST_TEST(sign_changed);  // the gradient really changed, not just its size
}

// Adam with gradients that change every step: the article's Seq2Seq training graph (GRUCell
// encoder and training decoder, bias-free Dense, sequence_loss; the same graph grad_test
// checks the gradients of) minimised for 6 steps against tools/gen-tf-gru-golden.py: float64
// TF math, float64 PyTorch autograd gradients at each step's float64 weights, float64
// ApplyAdam (training_ops.cc). After every step every variable, its `<var>/Adam` (m) and
// `<var>/Adam_1` (v) — looked up by those names in the graph — and beta1/beta2_power are
// compared. The gradients change by ~100% over the 6 steps (the generator asserts > 5%), so
// a stale gradient, an m/v slot mix-up or a wrong bias correction shows; the linear loss
// above has a constant gradient and cannot show them.
//
// The reference keeps TF's beta1_power / beta2_power as float32 products (they are float32
// variables in TF), because 1 - beta2^t cancels: exact powers would differ from any float32
// implementation by ~3e-5 of the bias correction, i.e. ~1e-7 of a weight per step here.
// Tolerances (per tensor, NaN / inf fail):
//   var:  |got - want| <= 1e-6 absolute. Each step moves a weight by lr_t m / (sqrt(v) + eps) with
//         |m / sqrt(v)| <= ~3 and lr = 0.01; the float32 gradients' relative error (<= 3.6e-7 of their
//         scale, grad_test tf_gru_golden) changes that by ~1e-8 per step, and each step rounds the
//         weight once (u |w| <= 1.2e-7 for |w| <= 2). Measured: 1.2e-7 (one rounding) at every step.
//   m, v: |got - want| <= 5e-6 x max |want| (the tensor's scale: m ~ 1e-3, v ~ 1e-6, so no absolute
//         bound fits both). m and v are exponential averages of the float32 gradients and their
//         squares, so they carry the gradients' relative error (~3.6e-7, doubled for g^2) plus the
//         gradients' change from the weights' rounding. Measured: <= 3.7e-7 (m), 6.0e-7 (v), not
//         growing over the 6 steps.
// A stale gradient (step t applying step t-1's), m and v swapped or a wrong bias correction moves a
// weight by O(lr) = 1e-3..1e-2 and a slot by O(its scale).
BOOST_AUTO_TEST_CASE(adam_on_the_article_seq2seq_matches_float64_apply_adam_every_step) {
  const auto golden = nlohmann::json::parse(kTfGruGolden);
  const auto& c = golden.at("seq2seq");
  const auto& adam = golden.at("seq2seq_adam");
  auto tensor_of = tf_gru_case::floats;
  Fresh g;
  const tf_gru_case::Seq2SeqCase seq2seq(c);
  auto loss_fn = [&] { return seq2seq.loss(); };
  // Builds the variables, with the generator's initial values by name.
  const auto& names = seq2seq.names;
  const auto vars = seq2seq.build_with_tf_values();
  BOOST_REQUIRE_EQUAL(vars.size(), names.size());
  for (std::size_t i = 0; i < vars.size(); ++i) BOOST_REQUIRE_EQUAL(vars[i].op_name(), names[i]);
  const float lr = adam.at("learning_rate").get<float>();
  BOOST_REQUIRE(adam.at("beta1").get<float>() == 0.9f);  // AdamOptimizer's defaults
  BOOST_REQUIRE(adam.at("beta2").get<float>() == 0.999f);
  BOOST_REQUIRE(adam.at("epsilon").get<float>() == 1e-8f);
  AdamOptimizer opt({.learning_rate = lr});
  auto global_step = get_or_create_global_step();
  auto by_name = [](const std::string& name) {
    for (const auto& v : global_variables())
      if (v.op_name() == name) return std::optional<Variable>(v);
    return std::optional<Variable>();
  };
  constexpr double kAdamVarTol = 1e-6, kAdamSlotTol = 5e-6;
  BOOST_REQUIRE_GE(adam.at("steps").size(), 5u);
  for (const auto& step : adam.at("steps")) {
    const int t = step.at("step").get<int>();
    const Tensor loss = opt.minimize(loss_fn, global_step);
    BOOST_TEST_CONTEXT("step " << t) {
      BOOST_TEST(compare::within(loss.data<float>()[0], step.at("loss").get<double>(), 0.0, 1e-6),
                 "loss " << loss.data<float>()[0] << " vs " << step.at("loss").get<double>());
      double worst_var = 0, worst_m = 0, worst_v = 0;
      for (const auto& name : names) {
        const auto v = by_name(name), m = by_name(name + "/Adam"), v2 = by_name(name + "/Adam_1");
        BOOST_TEST_REQUIRE((v && m && v2), name << ": variable or slot missing");
        BOOST_TEST(m->op_name() == opt.get_slot(*v, "m")->op_name());
        BOOST_TEST(v2->op_name() == opt.get_slot(*v, "v")->op_name());
        const Tensor want_var = tensor_of(step.at("var").at(name));
        const double e_var = compare::max_abs_error(v->value().data<float>(), want_var.data<float>());
        const double e_m = compare::worst_relative_to_scale(m->value(), tensor_of(step.at("m").at(name)));
        const double e_v = compare::worst_relative_to_scale(v2->value(), tensor_of(step.at("v").at(name)));
        BOOST_TEST(e_var <= kAdamVarTol, name << ": max |var - float64 ApplyAdam| = " << e_var);
        BOOST_TEST(e_m <= kAdamSlotTol, name << "/Adam (m): worst error / scale = " << e_m);
        BOOST_TEST(e_v <= kAdamSlotTol, name << "/Adam_1 (v): worst error / scale = " << e_v);
        worst_var = compare::nan_max(worst_var, e_var);
        worst_m = compare::nan_max(worst_m, e_m);
        worst_v = compare::nan_max(worst_v, e_v);
      }
      BOOST_TEST(compare::within(opt.beta1_power()->value().data<float>()[0], step.at("beta1_power").get<double>(),
                                 0.0, 1e-6));
      BOOST_TEST(compare::within(opt.beta2_power()->value().data<float>()[0], step.at("beta2_power").get<double>(),
                                 0.0, 1e-6));
      BOOST_TEST(global_step.value().data<std::int32_t>()[0] == t);
      BOOST_TEST_MESSAGE("step " << t << ": worst |var - ref| " << worst_var << ", m error / scale " << worst_m
                                 << ", v error / scale " << worst_v);
    }
  }
}

BOOST_AUTO_TEST_CASE(slot_and_non_slot_names) {
  Fresh g;
  auto w = get_variable("w", {.shape = {2}});
  const Tensor c = floats({2}, {1.0f, -1.0f});
  AdamOptimizer first;
  first.minimize([&] { return linear_loss(w, c); }, get_or_create_global_step());
  auto all = names(global_variables());
  BOOST_TEST(all == (std::vector<std::string>{"beta1_power", "beta2_power", "global_step", "w", "w/Adam", "w/Adam_1"}),
             boost::test_tools::per_element());
  BOOST_TEST(first.get_slot(w, "m")->op_name() == "w/Adam");
  BOOST_TEST(first.get_slot(w, "v")->op_name() == "w/Adam_1");
  BOOST_TEST(!first.get_slot(w, "m")->trainable());
  BOOST_TEST(names(trainable_variables()) == (std::vector<std::string>{"w"}), boost::test_tools::per_element());
  // A second Adam over the same variable: w/Adam_2, w/Adam_3 and beta1_power_1 (TF's uniquified names).
  AdamOptimizer second;
  second.minimize([&] { return linear_loss(w, c); });
  BOOST_TEST(second.get_slot(w, "m")->op_name() == "w/Adam_2");
  BOOST_TEST(second.get_slot(w, "v")->op_name() == "w/Adam_3");
  BOOST_TEST(second.beta1_power()->op_name() == "beta1_power_1");
  // A named optimizer names its slots after itself.
  AdamOptimizer foo({.name = "Foo"});
  foo.minimize([&] { return linear_loss(w, c); });
  BOOST_TEST(foo.get_slot(w, "m")->op_name() == "w/Foo");
  BOOST_TEST(foo.get_slot(w, "v")->op_name() == "w/Foo_1");
}

// TF #6220: reuse=True on an enclosing scope made minimize fail while creating
// slots ("Variable w/Adam/ does not exist"). Here the optimizer state is created
// outside the scope's reuse rule.
BOOST_AUTO_TEST_CASE(minimize_inside_a_reuse_true_scope) {
  Fresh g;
  {
    auto s = variable_scope("model");
    (void)get_variable("w", {.shape = {3}});
  }
  const Tensor c = floats({3}, {1.0f, 2.0f, 3.0f});
  auto s = variable_scope("model", {.reuse = Reuse::True});
  auto w = get_variable("w", {.shape = {3}});  // the model is reused, as in the issue
  BOOST_TEST(s.reuse() == ReuseMode::True);
  AdamOptimizer opt;
  const Tensor before = w.value();
  BOOST_CHECK_NO_THROW(opt.minimize([&] { return linear_loss(w, c); }));
  BOOST_TEST(opt.get_slot(w, "m")->op_name() == "model/w/Adam");
  BOOST_TEST(w.value().data<float>()[0] != before.data<float>()[0]);
  // And the root scope's reuse_variables() (which cannot be unset) does not break it either.
  get_variable_scope().reuse_variables();
  AdamOptimizer again;
  BOOST_CHECK_NO_THROW(again.minimize([&] { return linear_loss(w, c); }));
}

BOOST_AUTO_TEST_CASE(optimizer_errors) {
  Fresh g;
  GradientDescentOptimizer opt(0.1f);
  BOOST_CHECK_THROW(opt.minimize([] { return Tensor(); }), InvalidArgumentError);  // no variables to optimize
  auto w = Variable(floats({2}, {1.0f, 2.0f}), "w");
  auto unused = Variable(floats({2}, {1.0f, 2.0f}), "unused");
  try {
    opt.minimize([&] { return reduce_sum(floats({2}, {1.0f, 2.0f}), 0); });  // the loss does not use w
    BOOST_ERROR("no error");
  } catch (const InvalidArgumentError& e) {
    BOOST_TEST(std::string(e.what()).find("No gradients provided for any variable") != std::string::npos);
  }
  BOOST_CHECK_THROW(opt.apply_gradients({{std::nullopt, w}}), InvalidArgumentError);
  BOOST_CHECK_THROW(opt.apply_gradients({{floats({3}, {1, 2, 3}), w}}), ShapeMismatchError);
  // Variables without a gradient are skipped.
  opt.minimize([&] { return linear_loss(w, floats({2}, {1.0f, 1.0f})); });
  BOOST_TEST(unused.value().data<float>()[0] == 1.0f);
  BOOST_TEST(w.value().data<float>()[0] == 0.9f);
}

// One validation helper (modules/src/validate.hpp) behind the tensor arguments of :loss,
// apply_gradients, GradientTape::gradient's target_gradient and where: a wrong dtype is a
// DTypeMismatchError (whatever the shape), a wrong rank or size a ShapeMismatchError, both
// in one message format ("<who>: <what> must be <dtype> <dims>, got <dtype> <shape>[; hint]").
BOOST_AUTO_TEST_CASE(wrong_dtypes_are_dtype_errors_and_wrong_shapes_shape_errors_in_one_format) {
  Fresh g;
  const Tensor logits(DType::float32, Shape{2, 3, 4});
  const Tensor targets(DType::int32, Shape{2, 3});
  const Tensor weights(DType::float32, Shape{2, 3});
  auto w = Variable(Tensor(DType::float32, Shape{2, 3}), "w");
  const auto gradient_with = [&](Tensor target_gradient) {
    GradientTape tape;
    const Tensor y = gather(w.value(), ints({2}, {1, 0}));  // recorded: a target with a gradient
    (void)tape.gradient(y, {w}, std::move(target_gradient));
  };
  GradientDescentOptimizer opt(0.1f);
  const Tensor mask = ints({2}, {1, 0});
  using M = std::string;
  const std::vector<std::pair<M, std::function<void()>>> dtype_cases = {
      {"sequence_loss: logits must be float32 [batch_size, sequence_length, num_classes], got int32 [2, 3, 4]",
       [&] { (void)sequence_loss(Tensor(DType::int32, Shape{2, 3, 4}), targets, weights); }},
      {"sequence_loss: targets must be int32 [2, 3], got float32 [2, 3]; batch_size and sequence_length of the logits",
       [&] { (void)sequence_loss(logits, Tensor(DType::float32, Shape{2, 3}), weights); }},
      {"sequence_loss: weights must be float32 [2, 3], got int32 [2, 3]; batch_size and sequence_length of the logits",
       [&] { (void)sequence_loss(logits, targets, Tensor(DType::int32, Shape{2, 3})); }},
      {"sparse_softmax_cross_entropy_with_logits: logits must be float32, got int32 with shape [2, 4]",
       [&] { (void)sparse_softmax_cross_entropy_with_logits(ints({2}, {0, 1}), Tensor(DType::int32, Shape{2, 4})); }},
      {"sparse_softmax_cross_entropy_with_logits: labels (class ids) must be int32, got float32 with shape [2]",
       [&] { (void)sparse_softmax_cross_entropy_with_logits(floats({2}, {0, 1}), Tensor(DType::float32, Shape{2, 4})); }},
      {"GradientTape::gradient: target_gradient must be float32 [2, 3], got int32 [2, 3]; the shape of the target",
       [&] { gradient_with(Tensor(DType::int32, Shape{2, 3})); }},
      {"apply_gradients: the gradient for 'w' must be float32 [2, 3], got int32 [2, 3]; the shape of the variable",
       [&] { opt.apply_gradients({{Tensor(DType::int32, Shape{2, 3}), w}}); }},
      {"where: b must be float32 [2], got int32 [2]; the dtype and shape of a",
       [&] { (void)where(mask, floats({2}, {1, 2}), ints({2}, {3, 4})); }},
  };
  for (const auto& [expected, call] : dtype_cases) BOOST_TEST(message_of<DTypeMismatchError>(call) == expected);

  // The right dtype with a wrong rank or size: ShapeMismatchError, same format.
  const std::vector<std::pair<M, std::function<void()>>> shape_cases = {
      {"sequence_loss: logits must be float32 [batch_size, sequence_length, num_classes], got float32 [6, 4]",
       [&] { (void)sequence_loss(Tensor(DType::float32, Shape{6, 4}), targets, weights); }},
      {"sequence_loss: targets must be int32 [2, 3], got int32 [2, 4]; batch_size and sequence_length of the logits",
       [&] { (void)sequence_loss(logits, Tensor(DType::int32, Shape{2, 4}), weights); }},
      {"sequence_loss: weights must be float32 [2, 3], got float32 [3, 2]; batch_size and sequence_length of the logits",
       [&] { (void)sequence_loss(logits, targets, Tensor(DType::float32, Shape{3, 2})); }},
      {"GradientTape::gradient: target_gradient must be float32 [2, 3], got float32 [3, 2]; the shape of the target",
       [&] { gradient_with(Tensor(DType::float32, Shape{3, 2})); }},
      {"apply_gradients: the gradient for 'w' must be float32 [2, 3], got float32 [3]; the shape of the variable",
       [&] { opt.apply_gradients({{floats({3}, {1, 2, 3}), w}}); }},
      {"where: b must be float32 [2], got float32 [3]; the dtype and shape of a",
       [&] { (void)where(mask, floats({2}, {1, 2}), floats({3}, {3, 4, 5})); }},
  };
  for (const auto& [expected, call] : shape_cases) BOOST_TEST(message_of<ShapeMismatchError>(call) == expected);
}

BOOST_AUTO_TEST_CASE(clip_by_global_norm_values) {
  const auto r = clip_by_global_norm({floats({2}, {3.0f, 0.0f}), std::nullopt, floats({1}, {4.0f})}, 2.5f);
  BOOST_TEST(r.global_norm == 5.0f);
  BOOST_TEST(!r.clipped[1].has_value());
  BOOST_TEST(r.clipped[0]->data<float>()[0] == 1.5f);
  BOOST_TEST(r.clipped[2]->data<float>()[0] == 2.0f);
  const auto same = clip_by_global_norm({floats({2}, {0.3f, 0.4f})}, 1.0f);  // under the limit: unchanged
  BOOST_TEST(same.global_norm == 0.5f, boost::test_tools::tolerance(1e-7f));
  BOOST_TEST(same.clipped[0]->data<float>()[0] == 0.3f);
  const auto inf = clip_by_global_norm({floats({2}, {INFINITY, 1.0f})}, 1.0f);
  BOOST_TEST(std::isnan(inf.clipped[0]->data<float>()[1]));  // TF 1.14+: a non-finite norm gives NaN everywhere
  BOOST_CHECK_THROW((void)clip_by_global_norm(std::vector<std::optional<Tensor>>{}, 0.0f), InvalidArgumentError);
}

// A small sequence model trained with Adam: embedding -> GRU (dynamic_rnn) -> Dense -> sequence_loss.
struct SmallModel {
  Graph graph;
  DefaultGraphGuard use{graph};
  Variable embedding{random_uniform({6, 3}, -1.0f, 1.0f), "embedding"};
  GRUCell cell{4, "cell"};
  Dense out{6, {.name = "out"}};
  AdamOptimizer opt{{.learning_rate = 0.05f}};
  Variable step = get_or_create_global_step();
  const Tensor ids = ints({2, 3}, {3, 4, 5, 5, 4, 0});
  const Tensor lengths = ints({2}, {3, 2});
  const Tensor targets = ints({2, 3}, {4, 5, 2, 4, 2, 0});
  const Tensor weights = floats({2, 3}, {1, 1, 1, 1, 1, 0});
  explicit SmallModel(std::uint64_t seed) : graph(seed) { (void)loss(); }
  Tensor loss() {
    auto rnn = dynamic_rnn(cell, embedding_lookup(embedding.value(), ids), {.sequence_length = lengths});
    return sequence_loss(out(rnn.outputs), targets, weights);
  }
  void train(int steps) {
    for (int i = 0; i < steps; ++i) opt.minimize([&] { return loss(); }, step);
  }
};

// Checkpoints carry the optimizer state (slots, beta powers, global_step): training
// N steps, saving, restoring into a fresh graph with other initial values and
// training N more gives bit-identical variables to 2N steps in one run.
BOOST_AUTO_TEST_CASE(checkpoint_carries_the_optimizer_state) {
  constexpr int N = 4;
  const std::string path = "varscope_train_test_adam_state.json";
  {
    SmallModel first(11);
    first.train(N);
    save(first.graph, path);
  }
  SmallModel resumed(99);  // different initial values: everything must come from the file
  resumed.opt.create_state(trainable_variables());
  const RestoreReport report = restore(resumed.graph, path);  // strict: every name must match
  std::remove(path.c_str());
  BOOST_TEST(report.clean(), report.summary());
  BOOST_TEST(contains(report.matched, "rnn/cell/gates/kernel/Adam_1"));
  BOOST_TEST(contains(report.matched, "beta2_power"));
  BOOST_TEST(resumed.step.value().data<std::int32_t>()[0] == N);
  resumed.train(N);

  SmallModel straight(11);
  straight.train(2 * N);
  const auto ra = names(resumed.graph.global_variables()), sa = names(straight.graph.global_variables());
  BOOST_TEST(ra == sa, boost::test_tools::per_element());
  for (const auto& v : straight.graph.global_variables()) {
    bool same = false;
    for (const auto& w : resumed.graph.global_variables())
      if (w.op_name() == v.op_name()) same = w.value().bitwise_equal(v.value());
    BOOST_TEST(same, v.op_name() << " differs after save/restore/train vs straight training");
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(end_to_end)

// The article's Seq2Seq (shared embedding, GRU encoder via dynamic_rnn(scope='encoder'),
// training decoder + beam-search decoder sharing decoder/...) on a copy task:
// encoder input x, decoder input BOS x, target x EOS.
BOOST_AUTO_TEST_CASE(article_seq2seq_learns_to_copy) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VARSCOPE_SMALL_E2E 1  // asan: fewer steps (the copy task is learnt by ~50)
#endif
#endif
#if defined(VARSCOPE_SMALL_E2E)
  constexpr int kSteps = 150;
#else
  constexpr int kSteps = 300;
#endif
  Graph graph{11};
  auto use = graph.as_default();
  article::Seq2SeqConfig c;
  c.vocab_size = 8;  // 0 pad, 1 BOS, 2 EOS, 3..7 tokens
  c.embedding_dim = 16;
  c.hidden_dim = 32;
  c.beam_width = 3;
  c.max_len = 6;
  constexpr std::int64_t B = 12, L = 4, T = L + 1;
  std::vector<std::int32_t> enc(B * L, 0), dec(B * T, 0), tgt(B * T, 0), enc_len(B), dec_len(B);
  std::vector<float> w(B * T, 0.0f);
  std::uint32_t s = 7;
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t len = b % 2 == 0 ? L : L - 1;  // ragged
    enc_len[b] = static_cast<std::int32_t>(len);
    dec_len[b] = static_cast<std::int32_t>(len + 1);
    dec[b * T] = c.bos;
    for (std::int64_t t = 0; t < len; ++t) {
      s = s * 1664525u + 1013904223u;
      const auto tok = static_cast<std::int32_t>(3 + (s >> 16) % 5);
      enc[b * L + t] = tok;
      dec[b * T + t + 1] = tok;
      tgt[b * T + t] = tok;
    }
    tgt[b * T + len] = c.eos;
    for (std::int64_t t = 0; t <= len; ++t) w[b * T + t] = 1.0f;
  }
  const Tensor enc_ids = ints({B, L}, enc), dec_ids = ints({B, T}, dec), targets = ints({B, T}, tgt);
  const Tensor enc_lengths = ints({B}, enc_len), dec_lengths = ints({B}, dec_len);
  const Tensor weights = floats({B, T}, w);
  auto embedding = Variable(random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");

  // The article's function builds its layers on every call: AUTO_REUSE lets
  // the first call create the variables and later calls share them.
  auto run = [&] {
    auto scope = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
    return article::seq2seq_shared_decoders(embedding, enc_ids, enc_lengths, dec_ids, dec_lengths, c);
  };
  // Beam 0 against the target, token by token up to and including EOS.
  auto beam_accuracy = [&](const BeamSearchResult& r) {
    const std::int64_t steps = r.predicted_ids.shape()[1], K = r.predicted_ids.shape()[2];
    int right = 0, total = 0;
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t t = 0; t < dec_len[b]; ++t, ++total)
        right += t < steps && r.predicted_ids.data<std::int32_t>()[(b * steps + t) * K] == tgt[b * T + t];
    return static_cast<double>(right) / total;
  };
  auto loss_fn = [&] { return sequence_loss(run().train_outputs, targets, weights); };

  const auto first = run();
  BOOST_TEST(names(first.trainer_variables) == names(first.generation_variables), boost::test_tools::per_element());
  const double accuracy_before = beam_accuracy(first.generation);
  const Tensor beam_before = first.generation.predicted_ids;

  AdamOptimizer opt({.learning_rate = 0.02f});
  auto step = get_or_create_global_step();
  float loss_first = 0.0f, loss_last = 0.0f;
  for (int i = 0; i < kSteps; ++i) {
    auto gv = opt.compute_gradients(loss_fn);
    std::vector<std::optional<Tensor>> grads;
    for (auto& [g, v] : gv) grads.push_back(std::move(g));
    auto clipped = clip_by_global_norm(grads, 5.0f);
    for (std::size_t k = 0; k < gv.size(); ++k) gv[k].first = std::move(clipped.clipped[k]);
    opt.apply_gradients(gv, step);
    const float loss = opt.last_loss().data<float>()[0];
    if (i == 0) loss_first = loss;
    loss_last = loss;
  }
  BOOST_TEST(step.value().data<std::int32_t>()[0] == kSteps);
  // Every trainable variable got a gradient: embedding, encoder/..., decoder/... (both decoders' variables).
  const auto trained = names(trainable_variables());
  BOOST_TEST(contains(trained, "embedding"));
  BOOST_TEST(contains(trained, "encoder/cell/gates/kernel"));
  for (const auto& name : trained) BOOST_TEST(contains(names(global_variables()), name + "/Adam"), name);

  const auto after = run();
  const double accuracy_after = beam_accuracy(after.generation);
  BOOST_TEST_MESSAGE("copy task: loss " << loss_first << " -> " << loss_last << ", beam-0 token accuracy "
                                         << accuracy_before << " -> " << accuracy_after);
  BOOST_TEST(loss_first > 1.5f);               // ~log(8) at random weights
  BOOST_TEST(loss_last < 0.25f * loss_first);  // a large drop
  BOOST_TEST(accuracy_after > 0.8);            // chance is ~1/8 per token
  BOOST_TEST(accuracy_after > accuracy_before + 0.4);
  BOOST_TEST(!after.generation.predicted_ids.bitwise_equal(beam_before));  // the beam decoder changed with training
}

BOOST_AUTO_TEST_SUITE_END()
