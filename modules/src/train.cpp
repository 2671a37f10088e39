// Implementation of varscope:train — optimizers, global_step, clip_by_global_norm.
module;
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
module varscope;
#include "validate.hpp"

namespace varscope {

namespace {
std::string names_of(const std::vector<Variable>& vars) {
  std::string s = "[";
  for (std::size_t i = 0; i < vars.size(); ++i) s += (i ? ", " : "") + vars[i].op_name();
  return s + "]";
}
}  // namespace

// ---------------------------------------------------------------- global_step, clipping

Variable get_or_create_global_step(Graph& graph) {
  const auto existing = graph.get_collection("global_step");
  if (existing.size() == 1) return existing[0];
  if (existing.size() > 1)
    throw InvalidArgumentError("get_or_create_global_step: " + std::to_string(existing.size()) +
                               " variables are in the 'global_step' collection; keep one");
  VariableRequest r;
  r.name = "global_step";
  r.shape = Shape{};
  r.dtype = DType::int32;
  r.initializer = zeros_initializer();
  r.trainable = false;
  r.reuse = ReuseMode::AutoReuse;
  r.creator = "get_or_create_global_step";
  Variable step = graph.store().get_variable(r);
  if (step.dtype() != DType::int32 || step.shape() != Shape{})
    throw InvalidArgumentError("get_or_create_global_step: Existing \"global_step\" is " +
                               std::string(dtype_name(step.dtype())) + " " + step.shape().to_string() +
                               "; it must be an int32 scalar");
  graph.add_to_collection("global_step", step);
  return step;
}

ClippedGradients clip_by_global_norm(const std::vector<std::optional<Tensor>>& t_list, float clip_norm) {
  if (!(clip_norm > 0.0f))
    throw InvalidArgumentError("clip_by_global_norm: clip_norm " + std::to_string(clip_norm) + " must be > 0");
  double sq = 0.0;
  for (const auto& t : t_list)
    if (t)
      for (float v : t->data<float>()) sq += static_cast<double>(v) * v;
  const double norm = std::sqrt(sq);
  ClippedGradients out;
  out.global_norm = static_cast<float>(norm);
  // TF: scale = clip_norm * min(1 / norm, 1 / clip_norm); NaN when the norm is not finite.
  const float scale = std::isfinite(out.global_norm)
                          ? clip_norm * std::min(1.0f / out.global_norm, 1.0f / clip_norm)
                          : std::numeric_limits<float>::quiet_NaN();
  out.clipped.reserve(t_list.size());
  for (const auto& t : t_list) {
    if (!t) {
      out.clipped.emplace_back(std::nullopt);
      continue;
    }
    Tensor c = *t;
    for (auto& v : c.data<float>()) v *= scale;
    out.clipped.emplace_back(std::move(c));
  }
  return out;
}

ClippedGradsAndVars clip_by_global_norm(const GradsAndVars& grads_and_vars, float clip_norm) {
  std::vector<std::optional<Tensor>> grads;
  grads.reserve(grads_and_vars.size());
  for (const auto& [g, v] : grads_and_vars) grads.push_back(g);
  auto clipped = clip_by_global_norm(grads, clip_norm);
  ClippedGradsAndVars out;
  out.global_norm = clipped.global_norm;
  out.grads_and_vars.reserve(grads_and_vars.size());
  for (std::size_t i = 0; i < grads_and_vars.size(); ++i)
    out.grads_and_vars.emplace_back(std::move(clipped.clipped[i]), grads_and_vars[i].second);
  return out;
}

// ---------------------------------------------------------------- Optimizer

Optimizer::Optimizer(std::string name) : name_(std::move(name)) {
  if (name_.empty()) throw InvalidArgumentError("Optimizer: the name must not be empty (it names the slots)");
}

GradsAndVars Optimizer::compute_gradients(const std::function<Tensor()>& loss_fn,
                                          std::optional<std::vector<Variable>> var_list) {
  GradientTape tape;
  Tensor loss = [&] {
    const detail::OptimizerLossScope inside_loss_fn;  // names the fix in an AlreadyExistsError
    return loss_fn();
  }();
  std::vector<Variable> vars = var_list ? std::move(*var_list) : trainable_variables();
  if (vars.empty()) throw InvalidArgumentError("No variables to optimize.");
  auto grads = tape.gradient(loss, vars);
  last_loss_ = std::move(loss);
  GradsAndVars out;
  out.reserve(vars.size());
  for (std::size_t i = 0; i < vars.size(); ++i) out.emplace_back(std::move(grads[i]), vars[i]);
  return out;
}

void Optimizer::create_state(const std::vector<Variable>& var_list) { create_slots(var_list); }

void Optimizer::apply_gradients(const GradsAndVars& grads_and_vars, std::optional<Variable> global_step) {
  std::vector<Variable> with_grad, all;
  for (const auto& [g, v] : grads_and_vars) {
    all.push_back(v);
    if (!g) continue;
    validate::require_tensor_of_shape("apply_gradients", "the gradient for '" + v.op_name() + "'", *g, DType::float32,
                                      v.shape(), "the shape of the variable");
    with_grad.push_back(v);
  }
  if (with_grad.empty()) throw InvalidArgumentError("No gradients provided for any variable: " + names_of(all) + ".");
  StopRecording no_tape;  // updates are never recorded
  create_slots(with_grad);
  // One write for the whole step (Graph::UpdateGuard): a decode on another thread
  // sees every weight before the step or every weight after it.
  const Graph::UpdateGuard step(with_grad.front().graph(), std::nullopt, "apply_gradients");
  prepare();
  for (const auto& [g, v] : grads_and_vars)
    if (g) apply_dense(*g, v);
  finish();
  if (global_step) {
    if (global_step->dtype() != DType::int32 || global_step->shape() != Shape{})
      throw InvalidArgumentError("apply_gradients: global_step '" + global_step->op_name() +
                                 "' must be an int32 scalar (get_or_create_global_step())");
    Tensor next = global_step->value();
    next.data<std::int32_t>()[0] += 1;
    global_step->assign(std::move(next));
  }
}

Tensor Optimizer::minimize(const std::function<Tensor()>& loss_fn, std::optional<Variable> global_step,
                           std::optional<std::vector<Variable>> var_list) {
  auto gv = compute_gradients(loss_fn, std::move(var_list));
  bool any = false;
  std::vector<Variable> vars;
  for (const auto& [g, v] : gv) {
    any = any || g.has_value();
    vars.push_back(v);
  }
  if (!any)
    throw InvalidArgumentError(
        "No gradients provided for any variable, check your graph for ops that do not support gradients, between "
        "variables " + names_of(vars) + " and loss " + last_loss_.shape().to_string() +
        " (was the loss computed from these variables inside loss_fn? a copy of var.value() is a constant)");
  apply_gradients(gv, std::move(global_step));
  return last_loss_;
}

Variable Optimizer::zeros_slot(const Variable& var, const std::string& slot_name) {
  Graph& graph = var.graph();
  // TF: variable_scope(None, default_name=<var>/<name>) then get_variable(""): w/Adam, w/Adam_1, w/Adam_2 ...
  VariableRequest r;
  r.name = graph.unique_name(var.op_name() + "/" + name_, /*mark_as_used=*/false);
  r.shape = var.shape();
  r.dtype = var.dtype();
  r.initializer = zeros_initializer();
  r.trainable = false;
  r.reuse = ReuseMode::False;  // its own namespace: the caller's reuse flag does not apply
  r.creator = name_ + " slot '" + slot_name + "' of " + var.op_name();
  Variable slot_var = graph.store().get_variable(r);
  slots_[slot_name].emplace_back(var, slot_var);
  return slot_var;
}

bool Optimizer::has_slot(const Variable& var, const std::string& slot_name) const {
  return get_slot(var, slot_name).has_value();
}

const Variable& Optimizer::slot(const Variable& var, const std::string& slot_name) const {
  const auto it = slots_.find(slot_name);
  if (it != slots_.end())
    for (const auto& [v, s] : it->second)
      if (v == var) return s;
  throw NotFoundError(name_ + ": no slot '" + slot_name + "' for variable '" + var.op_name() + "'");
}

std::optional<Variable> Optimizer::get_slot(const Variable& var, std::string_view slot_name) const {
  const auto it = slots_.find(std::string(slot_name));
  if (it == slots_.end()) return std::nullopt;
  for (const auto& [v, s] : it->second)
    if (v == var) return s;
  return std::nullopt;
}

std::vector<std::string> Optimizer::get_slot_names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : slots_) out.push_back(k);
  return out;
}

// ---------------------------------------------------------------- GradientDescentOptimizer

GradientDescentOptimizer::GradientDescentOptimizer(float learning_rate, std::string name)
    : Optimizer(std::move(name)), learning_rate_(learning_rate) {
  if (!std::isfinite(learning_rate))
    throw InvalidArgumentError("GradientDescentOptimizer: learning_rate " + std::to_string(learning_rate) +
                               " is not finite");
}

void GradientDescentOptimizer::apply_dense(const Tensor& grad, const Variable& var) {
  const auto g = grad.data<float>();
  const float lr = learning_rate_;
  var.update_in_place([&](std::span<float> w) {
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= lr * g[i];
  });
}

// ---------------------------------------------------------------- AdamOptimizer

AdamOptimizer::AdamOptimizer(Options options) : Optimizer(options.name), o_(std::move(options)) {
  if (!(o_.learning_rate >= 0.0f) || !std::isfinite(o_.learning_rate))
    throw InvalidArgumentError("AdamOptimizer: learning_rate " + std::to_string(o_.learning_rate) + " must be >= 0");
  if (!(o_.beta1 >= 0.0f && o_.beta1 < 1.0f) || !(o_.beta2 >= 0.0f && o_.beta2 < 1.0f))
    throw InvalidArgumentError("AdamOptimizer: beta1 " + std::to_string(o_.beta1) + " and beta2 " +
                               std::to_string(o_.beta2) + " must be in [0, 1)");
  if (!(o_.epsilon >= 0.0f))
    throw InvalidArgumentError("AdamOptimizer: epsilon " + std::to_string(o_.epsilon) + " must be >= 0");
}

void AdamOptimizer::create_slots(const std::vector<Variable>& var_list) {
  if (var_list.empty()) return;
  if (!beta1_power_) {
    // TF: non-slot variables named by the name scope, graph-uniquified (beta1_power_1 for a second Adam).
    beta1_power_ = Variable(Tensor(Shape{}, std::vector<float>{o_.beta1}), "beta1_power", /*trainable=*/false);
    beta2_power_ = Variable(Tensor(Shape{}, std::vector<float>{o_.beta2}), "beta2_power", /*trainable=*/false);
  }
  for (const auto& v : var_list) {
    if (has_slot(v, "m")) continue;
    zeros_slot(v, "m");
    zeros_slot(v, "v");
  }
}

void AdamOptimizer::prepare() {
  const float b1p = beta1_power_->value().data<float>()[0];
  const float b2p = beta2_power_->value().data<float>()[0];
  alpha_ = o_.learning_rate * std::sqrt(1.0f - b2p) / (1.0f - b1p);
}

namespace {
// TF's ApplyAdam kernel, three lines per element, over [begin, end). A plain function with
// __restrict pointers and an errno-free sqrt so that the compiler vectorises it (8 floats a
// step under AVX2): inside a lambda that captured the pointers by reference, with std::sqrt's
// errno path, it ran one element at a time and took 58% of a seed-shape training step.
// Vector and scalar lanes do the same IEEE operations (fused the same way), so the bits do
// not depend on where a block starts.
void adam_update(float* __restrict m, float* __restrict v, float* __restrict w, const float* __restrict g,
                 std::int64_t begin, std::int64_t end, float one_minus_b1, float one_minus_b2, float alpha,
                 float eps) {
  for (std::int64_t i = begin; i < end; ++i) {
    m[i] += (g[i] - m[i]) * one_minus_b1;
    v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
    w[i] -= m[i] * alpha / (__builtin_elementwise_sqrt(v[i]) + eps);
  }
}
}  // namespace

void AdamOptimizer::apply_dense(const Tensor& grad, const Variable& var) {
  // In place (no copies of the variable or its slots).
  const float* g = grad.data<float>().data();
  const float one_minus_b1 = 1.0f - o_.beta1, one_minus_b2 = 1.0f - o_.beta2, alpha = alpha_, eps = o_.epsilon;
  Variable::update_in_place({slot(var, "m"), slot(var, "v"), var}, [&](const std::vector<std::span<float>>& s) {
    float* m = s[0].data();
    float* v = s[1].data();
    float* w = s[2].data();
    const auto n = static_cast<std::int64_t>(s[2].size());
    // Element-wise, so any split gives the same bits: blocks of 4096 over the threads.
    constexpr std::int64_t kBlock = 4096;
    parallel_for((n + kBlock - 1) / kBlock, 12.0 * double(n), [&](std::int64_t b_begin, std::int64_t b_end) {
      adam_update(m, v, w, g, b_begin * kBlock, std::min(n, b_end * kBlock), one_minus_b1, one_minus_b2, alpha, eps);
    });
  });
}

void AdamOptimizer::finish() {
  beta1_power_->assign(Tensor(Shape{}, std::vector<float>{beta1_power_->value().data<float>()[0] * o_.beta1}));
  beta2_power_->assign(Tensor(Shape{}, std::vector<float>{beta2_power_->value().data<float>()[0] * o_.beta2}));
}

}  // namespace varscope
