// varscope:autograd — reverse-mode gradients, eager style (tf.GradientTape,
// with TF 1.x's tf.gradients rule: a value used several times receives the SUM of
// the gradients of every use). Design: docs/SPEC.md §9.
//
//   GradientTape tape;                              // records on this thread until destroyed
//   Tensor loss = sequence_loss(model(x), y, w);    // ops, layers, RNNs record backward entries
//   auto grads = tape.gradient(loss, trainable_variables());
//
// * A recorded value carries an id (Tensor::tape_id) naming the tape entry that
//   made it; backward closures run in reverse recording order and add into the
//   gradients of their inputs' ids.
// * Variables are sources: a trainable variable of the default graph is watched
//   by default. A variable's value carries the variable's read id
//   (Variable::read_id, kept across assign), so `var.value()` and any copy of
//   it are reads of the variable wherever they go (concat's vector, a helper's
//   copy); layers and cells add into their variables' gradients directly
//   (fused entries). A tensor derived by editing such a copy in place would
//   still claim to be the read: build derived constants as fresh tensors.
// * Without an active tape nothing is recorded and nothing is allocated: ops
//   only test a thread-local pointer.
// * Ops record through ONE helper, record_op (micrograd's shape: an op declares
//   its inputs, its output and a backward closure). It resets the output's id
//   (op outputs are untracked unless recorded, so a copy of an input never passes
//   for it), resolves the inputs' ids, and records only when a tape is active and
//   some input is tracked. Backward closures address inputs by position.
module;
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>
export module varscope:autograd;
import :errors;
import :tensor;
import :store;

export namespace varscope {

class GradientTape;
namespace detail {
struct TapeAccess;
}

/// One input of a recorded op: a tensor, or a variable that a fused op reads directly
/// (Dense, cells). A default-constructed input is absent (never tracked): an optional
/// bias, an initial state that was not given.
class OpInput {
 public:
  OpInput() noexcept = default;
  OpInput(const Tensor& t) noexcept : tensor_(&t) {}
  OpInput(const Variable& v) noexcept : variable_(&v) {}

 private:
  friend struct detail::TapeAccess;
  const Tensor* tensor_ = nullptr;
  const Variable* variable_ = nullptr;
};

/// Which inputs of an op the active tape tracks, by position in the op's input list.
class TrackedInputs {
 public:
  [[nodiscard]] bool operator[](std::size_t i) const noexcept { return ids_[i] != 0; }
  [[nodiscard]] bool any() const noexcept {
    for (auto id : ids_)
      if (id != 0) return true;
    return false;
  }
  [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }

 private:
  friend struct detail::TapeAccess;
  std::vector<std::uint64_t> ids_;  // allocated only under a tape
};

/// What a backward closure sees while the tape runs backward. Inputs are named by
/// their position in the op's input list (record_op).
class BackwardContext {
 public:
  /// The gradient flowing into output `i` of the entry (nullptr: none flowed, i.e. zero).
  [[nodiscard]] const Tensor* output_grad(std::size_t i) const;
  /// The gradient of output `i` moved out (for an op that passes it on, edited or
  /// not, without a copy); zeros of an empty shape when none flowed. A gradient the
  /// caller of GradientTape::gradient asked for is copied instead. Read
  /// output_grad(i) before, not after.
  [[nodiscard]] Tensor take_output_grad(std::size_t i);
  /// Whether input `i` is tracked (has a gradient to receive).
  [[nodiscard]] bool input_tracked(std::size_t i) const noexcept { return (*inputs_)[i] != 0; }
  /// The gradient accumulator of input `i` (zeros of `shape` on first use); add into
  /// it. Only for a tracked input.
  [[nodiscard]] Tensor& input_grad(std::size_t i, const Shape& shape);
  /// Same, but a first use leaves the values UNINITIALISED and sets `fresh`:
  /// the caller then writes (=) every element instead of adding (+=), which saves
  /// a zero fill and a pass over large gradients (logits, an output layer's kernel).
  [[nodiscard]] Tensor& input_grad(std::size_t i, const Shape& shape, bool& fresh);
  /// Adds `g` into the gradient of input `i` (nothing when it is not tracked).
  void accumulate_input(std::size_t i, const Tensor& g);
  /// Same, taking `g`'s storage when input `i` has no gradient yet (no copy).
  void accumulate_input(std::size_t i, Tensor&& g);

 private:
  friend class GradientTape;
  Tensor& grad(std::uint64_t id, const Shape& shape);
  Tensor& grad(std::uint64_t id, const Shape& shape, bool& fresh);
  void accumulate(std::uint64_t id, const Tensor& g);
  void accumulate(std::uint64_t id, Tensor&& g);
  GradientTape* tape_ = nullptr;
  const std::vector<std::uint64_t>* outputs_ = nullptr;
  const std::vector<std::uint64_t>* inputs_ = nullptr;
  const std::vector<std::uint64_t>* keep_ = nullptr;
};

/// Records the forward computation of the calling thread for one backward pass
/// (TF's non-persistent tf.GradientTape). One tape per thread at a time.
class GradientTape {
 public:
  using Backward = std::function<void(BackwardContext&)>;

  /// Becomes the thread's active tape. `watch_trainable_variables` (TF's
  /// watch_accessed_variables) watches every trainable variable of the default
  /// graph, including ones created while the tape records (lazy layers).
  /// InvalidArgumentError when another tape is already active on this thread.
  explicit GradientTape(bool watch_trainable_variables = true);
  ~GradientTape();
  GradientTape(const GradientTape&) = delete;
  GradientTape& operator=(const GradientTape&) = delete;

  /// The thread's active tape while it records, else nullptr.
  [[nodiscard]] static GradientTape* active() noexcept;

  /// Watches a variable (trainable or not).
  void watch(const Variable& variable);
  /// Makes a tensor a source: gives it a fresh id (so gradient(target, {&t}) works).
  void watch(Tensor& tensor);

  /// Gradients of `target` with respect to each variable (std::nullopt where
  /// none flows: TF's None). `target_gradient` defaults to ones (TF's grad_ys).
  /// Runs the backward pass once; the tape stops recording first. A second call
  /// is an InvalidArgumentError (non-persistent tape).
  [[nodiscard]] std::vector<std::optional<Tensor>> gradient(const Tensor& target, const std::vector<Variable>& sources,
                                                            std::optional<Tensor> target_gradient = std::nullopt);
  /// Same, with respect to watched tensors (or any recorded value).
  [[nodiscard]] std::vector<std::optional<Tensor>> gradient(const Tensor& target,
                                                            const std::vector<const Tensor*>& sources,
                                                            std::optional<Tensor> target_gradient = std::nullopt);

  /// How many ops this tape recorded.
  [[nodiscard]] std::size_t entries() const noexcept { return entries_.size(); }

 private:
  friend class BackwardContext;
  friend struct detail::TapeAccess;
  struct Entry {
    std::vector<std::uint64_t> outputs;
    std::vector<std::uint64_t> inputs;
    Backward backward;
  };
  /// The id under which `t` is tracked by this tape: its own id when this tape
  /// made it, the read id of a watched variable it is a read of, else 0.
  [[nodiscard]] std::uint64_t id_of(const Tensor& t);
  /// The id of a variable's gradient (0 when it is not watched: not trainable).
  [[nodiscard]] std::uint64_t variable_id(const Variable& variable);
  std::uint64_t fresh_id();
  void sync_trainable();
  void run_backward(const Tensor& target, std::optional<Tensor> target_gradient, const std::vector<std::uint64_t>& keep);

  bool used_ = false;
  bool watch_trainable_;
  std::uint64_t first_id_;
  std::vector<Entry> entries_;
  std::unordered_map<std::uint64_t, Variable> watched_;  // read id -> variable
  std::size_t synced_variables_ = 0;
  std::unordered_map<std::uint64_t, Tensor> grads_;
};

/// RAII: pauses the active tape (tf.stop_recording / stop_gradient for a block).
class StopRecording {
 public:
  StopRecording();
  ~StopRecording();
  StopRecording(const StopRecording&) = delete;
  StopRecording& operator=(const StopRecording&) = delete;

 private:
  GradientTape* paused_;
};

namespace detail {
/// The one door from record_op into the tape (defined in autograd.cpp).
struct TapeAccess {
  static TrackedInputs track(GradientTape& tape, std::span<const OpInput> inputs);
  static void append(GradientTape& tape, std::span<Tensor* const> outputs, TrackedInputs&& inputs,
                     GradientTape::Backward&& backward);
};
}  // namespace detail

/// Records an op whose output is `out` and returns it. `make_backward(const TrackedInputs&,
/// const Tensor& out)` returns the backward closure, a `void(BackwardContext&)` callable that
/// reads output_grad(0) and adds into input_grad / accumulate_input by input position. It is
/// called only when a tape records and some input is tracked, so what it captures (copies of
/// inputs or of the output) costs nothing without a tape. `out`'s id is reset in every case:
/// a copy of an input never passes for it.
template <class MakeBackward>
[[nodiscard]] Tensor record_op(Tensor out, std::initializer_list<OpInput> inputs, MakeBackward&& make_backward) {
  out.set_tape_id(0);
  GradientTape* tape = GradientTape::active();
  if (!tape) return out;
  TrackedInputs tracked = detail::TapeAccess::track(*tape, std::span<const OpInput>(inputs.begin(), inputs.size()));
  if (!tracked.any()) return out;
  GradientTape::Backward backward = make_backward(std::as_const(tracked), std::as_const(out));
  Tensor* outs[] = {&out};
  detail::TapeAccess::append(*tape, outs, std::move(tracked), std::move(backward));
  return out;
}

/// Several outputs (a recurrence: its outputs and its final state) and/or an input list
/// known at run time. Every output's id is reset; `make_backward(const TrackedInputs&)`
/// returns the closure, which reads output_grad(i) in the order of `outputs`.
template <class MakeBackward>
void record_op(std::span<Tensor* const> outputs, std::span<const OpInput> inputs, MakeBackward&& make_backward) {
  for (Tensor* o : outputs) o->set_tape_id(0);
  GradientTape* tape = GradientTape::active();
  if (!tape) return;
  TrackedInputs tracked = detail::TapeAccess::track(*tape, inputs);
  if (!tracked.any()) return;
  GradientTape::Backward backward = make_backward(std::as_const(tracked));
  detail::TapeAccess::append(*tape, outputs, std::move(tracked), std::move(backward));
}

/// `t` was edited in place (e.g. rows of logits replaced by constants): records the edit
/// with `t`'s current value as the one input (position 0) and gives `t` a fresh id.
/// `make_backward()` returns the closure. Nothing happens when `t` is not tracked.
template <class MakeBackward>
void record_in_place(Tensor& t, MakeBackward&& make_backward) {
  GradientTape* tape = GradientTape::active();
  if (!tape) return;
  const OpInput in[] = {OpInput(t)};
  TrackedInputs tracked = detail::TapeAccess::track(*tape, in);
  if (!tracked.any()) return;
  GradientTape::Backward backward = make_backward();
  Tensor* outs[] = {&t};
  detail::TapeAccess::append(*tape, outs, std::move(tracked), std::move(backward));
}

/// Whether record_op would record for these inputs (a tape is active and one of them is
/// tracked): for fused ops whose forward keeps extra values only when recorded.
[[nodiscard]] bool will_record(std::span<const OpInput> inputs);
[[nodiscard]] inline bool will_record(std::initializer_list<OpInput> inputs) {
  return will_record(std::span<const OpInput>(inputs.begin(), inputs.size()));
}

/// The output of an op that is not differentiable here (where, tile_batch): untracked,
/// even when it is a copy of a tracked input.
[[nodiscard]] inline Tensor untracked(Tensor out) noexcept {
  out.set_tape_id(0);
  return out;
}

}  // namespace varscope
