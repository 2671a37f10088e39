// Implementation of varscope:autograd — the tape, ids and the backward driver.
module;
#include <algorithm>
#include <cstdint>
#include <optional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
module varscope;
#include "validate.hpp"

namespace varscope {

namespace {
thread_local GradientTape* active_tape = nullptr;
// Ids are per thread and only grow, so a tape owns exactly the ids in
// [first_id_, next_id) and ignores older ones.
thread_local std::uint64_t next_id = 1;

void add_into(Tensor& acc, const Tensor& g) {
  if (acc.shape() != g.shape())
    throw ShapeMismatchError("GradientTape: a gradient of shape " + g.shape().to_string() +
                             " was added to one of shape " + acc.shape().to_string() +
                             " (an op's backward is inconsistent with its forward)");
  auto a = acc.data<float>();
  const auto b = g.data<float>();
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
}
}  // namespace

// ---------------------------------------------------------------- BackwardContext

const Tensor* BackwardContext::output_grad(std::size_t i) const {
  const auto it = tape_->grads_.find((*outputs_)[i]);
  return it == tape_->grads_.end() ? nullptr : &it->second;
}

Tensor BackwardContext::take_output_grad(std::size_t i) {
  const std::uint64_t id = (*outputs_)[i];
  const auto it = tape_->grads_.find(id);
  if (it == tape_->grads_.end()) return Tensor();
  if (keep_ && std::find(keep_->begin(), keep_->end(), id) != keep_->end()) return it->second;
  Tensor g = std::move(it->second);
  tape_->grads_.erase(it);
  return g;
}

Tensor& BackwardContext::grad(std::uint64_t id, const Shape& shape) {
  if (id == 0)
    throw InvalidArgumentError("GradientTape: an op's backward asked for the gradient of an untracked input "
                               "(check BackwardContext::input_tracked first)");
  auto [it, inserted] = tape_->grads_.try_emplace(id, DType::float32, shape);
  if (!inserted && it->second.shape() != shape)
    throw ShapeMismatchError("GradientTape: gradient of shape " + shape.to_string() + " requested for a value of shape " +
                             it->second.shape().to_string());
  return it->second;
}

Tensor& BackwardContext::grad(std::uint64_t id, const Shape& shape, bool& fresh) {
  if (id == 0)
    throw InvalidArgumentError("GradientTape: an op's backward asked for the gradient of an untracked input "
                               "(check BackwardContext::input_tracked first)");
  auto it = tape_->grads_.find(id);
  fresh = it == tape_->grads_.end();
  if (fresh) return tape_->grads_.emplace(id, Tensor::uninitialized(DType::float32, shape)).first->second;
  if (it->second.shape() != shape)
    throw ShapeMismatchError("GradientTape: gradient of shape " + shape.to_string() + " requested for a value of shape " +
                             it->second.shape().to_string());
  return it->second;
}

Tensor& BackwardContext::input_grad(std::size_t i, const Shape& shape) { return grad((*inputs_)[i], shape); }
Tensor& BackwardContext::input_grad(std::size_t i, const Shape& shape, bool& fresh) {
  return grad((*inputs_)[i], shape, fresh);
}
void BackwardContext::accumulate_input(std::size_t i, const Tensor& g) { accumulate((*inputs_)[i], g); }
void BackwardContext::accumulate_input(std::size_t i, Tensor&& g) { accumulate((*inputs_)[i], std::move(g)); }

void BackwardContext::accumulate(std::uint64_t id, const Tensor& g) {
  if (id == 0) return;
  auto it = tape_->grads_.find(id);
  if (it == tape_->grads_.end())
    tape_->grads_.emplace(id, g);
  else
    add_into(it->second, g);
}

void BackwardContext::accumulate(std::uint64_t id, Tensor&& g) {
  if (id == 0) return;
  auto it = tape_->grads_.find(id);
  if (it == tape_->grads_.end()) {
    g.set_tape_id(0);
    tape_->grads_.emplace(id, std::move(g));
  } else {
    add_into(it->second, g);
  }
}

// ---------------------------------------------------------------- GradientTape

GradientTape::GradientTape(bool watch_trainable_variables)
    : watch_trainable_(watch_trainable_variables), first_id_(next_id) {
  if (active_tape)
    throw InvalidArgumentError(
        "GradientTape: another tape is already recording on this thread; nested tapes are not supported "
        "(finish the outer one first, or pause it with StopRecording)");
  active_tape = this;
}

GradientTape::~GradientTape() {
  if (active_tape == this) active_tape = nullptr;
}

GradientTape* GradientTape::active() noexcept { return active_tape; }

std::uint64_t GradientTape::fresh_id() { return next_id++; }

void GradientTape::watch(const Variable& variable) {
  if (watched_.contains(variable.read_id())) return;
  if (variable.dtype() != DType::float32)
    throw InvalidArgumentError("GradientTape::watch: variable '" + variable.op_name() + "' is " +
                               std::string(dtype_name(variable.dtype())) + "; only float32 values have gradients");
  watched_.emplace(variable.read_id(), variable);
}

void GradientTape::watch(Tensor& tensor) {
  if (tensor.dtype() != DType::float32)
    throw InvalidArgumentError("GradientTape::watch: the tensor is " + std::string(dtype_name(tensor.dtype())) +
                               "; only float32 values have gradients");
  tensor.set_tape_id(fresh_id());
}

void GradientTape::sync_trainable() {
  const auto vars = get_default_graph().trainable_variables();
  if (vars.size() == synced_variables_) return;
  synced_variables_ = vars.size();
  for (const auto& v : vars)
    if (v.dtype() == DType::float32) watch(v);
}

std::uint64_t GradientTape::id_of(const Tensor& t) {
  if (t.dtype() != DType::float32) return 0;
  const std::uint64_t id = t.tape_id();
  if (id == 0) return 0;
  if ((id & kVariableReadIdBit) == 0) return id >= first_id_ && id < next_id ? id : 0;
  if (watched_.contains(id)) return id;
  if (!watch_trainable_) return 0;
  sync_trainable();  // a variable created after the last sync (a lazily built layer)
  return watched_.contains(id) ? id : 0;
}

std::uint64_t GradientTape::variable_id(const Variable& variable) {
  if (watched_.contains(variable.read_id())) return variable.read_id();
  if (!watch_trainable_ || !variable.trainable() || variable.dtype() != DType::float32) return 0;
  watch(variable);
  return variable.read_id();
}

// ---------------------------------------------------------------- record_op's door

namespace detail {
TrackedInputs TapeAccess::track(GradientTape& tape, std::span<const OpInput> inputs) {
  TrackedInputs tracked;
  tracked.ids_.reserve(inputs.size());
  for (const OpInput& in : inputs)
    tracked.ids_.push_back(in.tensor_     ? tape.id_of(*in.tensor_)
                           : in.variable_ ? tape.variable_id(*in.variable_)
                                          : 0);
  return tracked;
}

void TapeAccess::append(GradientTape& tape, std::span<Tensor* const> outputs, TrackedInputs&& inputs,
                        GradientTape::Backward&& backward) {
  GradientTape::Entry e;
  e.outputs.reserve(outputs.size());
  for (Tensor* out : outputs) {
    out->set_tape_id(tape.fresh_id());
    e.outputs.push_back(out->tape_id());
  }
  e.inputs = std::move(inputs.ids_);
  e.backward = std::move(backward);
  tape.entries_.push_back(std::move(e));
}
}  // namespace detail

bool will_record(std::span<const OpInput> inputs) {
  GradientTape* tape = GradientTape::active();
  return tape && detail::TapeAccess::track(*tape, inputs).any();
}

void GradientTape::run_backward(const Tensor& target, std::optional<Tensor> target_gradient,
                                const std::vector<std::uint64_t>& keep) {
  if (used_)
    throw InvalidArgumentError(
        "GradientTape::gradient: this tape already ran its backward pass (tapes are not persistent); record the "
        "computation again under a new tape");
  used_ = true;
  if (active_tape == this) active_tape = nullptr;  // stop recording: backward ops are not recorded
  if (target.dtype() != DType::float32)
    throw InvalidArgumentError("GradientTape::gradient: the target is " + std::string(dtype_name(target.dtype())) +
                               "; only a float32 target has gradients");
  const std::uint64_t target_id = id_of(target);
  if (target_id == 0) return;  // nothing recorded leads to the target: every gradient is None
  Tensor seed;
  if (target_gradient) {
    validate::require_tensor_of_shape("GradientTape::gradient", "target_gradient", *target_gradient, DType::float32,
                                      target.shape(), "the shape of the target");
    seed = std::move(*target_gradient);
  } else {
    seed = Tensor(DType::float32, target.shape());
    for (auto& v : seed.data<float>()) v = 1.0f;
  }
  grads_.clear();
  grads_.emplace(target_id, std::move(seed));
  BackwardContext ctx;
  ctx.tape_ = this;
  ctx.keep_ = &keep;
  for (std::size_t i = entries_.size(); i-- > 0;) {
    Entry& e = entries_[i];
    const bool any = std::any_of(e.outputs.begin(), e.outputs.end(), [&](std::uint64_t id) { return grads_.contains(id); });
    if (!any) continue;
    ctx.outputs_ = &e.outputs;
    ctx.inputs_ = &e.inputs;
    e.backward(ctx);
    for (auto id : e.outputs)  // consumed: frees memory as we go (unless asked for)
      if (std::find(keep.begin(), keep.end(), id) == keep.end()) grads_.erase(id);
    e.backward = nullptr;                       // and the values the closure captured
  }
}

std::vector<std::optional<Tensor>> GradientTape::gradient(const Tensor& target, const std::vector<Variable>& sources,
                                                          std::optional<Tensor> target_gradient) {
  // Ids of the sources first (before the tape stops recording, so they are watched).
  std::vector<std::uint64_t> ids;
  ids.reserve(sources.size());
  for (const auto& v : sources) ids.push_back(watched_.contains(v.read_id()) ? v.read_id() : 0);
  run_backward(target, std::move(target_gradient), {});
  std::vector<std::optional<Tensor>> out;
  out.reserve(sources.size());
  for (auto id : ids) {
    const auto it = id ? grads_.find(id) : grads_.end();
    if (it == grads_.end())
      out.emplace_back(std::nullopt);
    else
      out.emplace_back(std::move(it->second));
  }
  return out;
}

std::vector<std::optional<Tensor>> GradientTape::gradient(const Tensor& target,
                                                          const std::vector<const Tensor*>& sources,
                                                          std::optional<Tensor> target_gradient) {
  std::vector<std::uint64_t> ids;
  ids.reserve(sources.size());
  for (const Tensor* t : sources) ids.push_back(id_of(*t));
  run_backward(target, std::move(target_gradient), ids);
  std::vector<std::optional<Tensor>> out;
  out.reserve(sources.size());
  for (auto id : ids) {
    const auto it = id ? grads_.find(id) : grads_.end();
    if (it == grads_.end())
      out.emplace_back(std::nullopt);
    else
      out.emplace_back(it->second);
  }
  return out;
}

// ---------------------------------------------------------------- StopRecording

StopRecording::StopRecording() : paused_(active_tape) { active_tape = nullptr; }
StopRecording::~StopRecording() { active_tape = paused_; }

}  // namespace varscope
