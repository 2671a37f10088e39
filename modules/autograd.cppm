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
module;
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <unordered_map>
#include <vector>
export module varscope:autograd;
import :errors;
import :tensor;
import :store;

export namespace varscope {

class GradientTape;

/// What a backward closure sees while the tape runs backward.
class BackwardContext {
 public:
  /// The gradient flowing into output `i` of the entry (nullptr: none flowed, i.e. zero).
  [[nodiscard]] const Tensor* output_grad(std::size_t i) const;
  /// The gradient of output `i` moved out (for an op that passes it on, edited or
  /// not, without a copy); zeros of an empty shape when none flowed. A gradient the
  /// caller of GradientTape::gradient asked for is copied instead. Read
  /// output_grad(i) before, not after.
  [[nodiscard]] Tensor take_output_grad(std::size_t i);
  /// The gradient accumulator for `id` (zeros of `shape` on first use); add into it.
  /// id 0 (an untracked input) is not allowed: check `tracked(id)` first.
  [[nodiscard]] Tensor& grad(std::uint64_t id, const Shape& shape);
  /// Same, but a first use leaves the values UNINITIALISED and sets `fresh`:
  /// the caller then writes (=) every element instead of adding (+=), which saves
  /// a zero fill and a pass over large gradients (logits, an output layer's kernel).
  [[nodiscard]] Tensor& grad(std::uint64_t id, const Shape& shape, bool& fresh);
  /// Adds `g` into the gradient of `id` (nothing for id 0).
  void accumulate(std::uint64_t id, const Tensor& g);
  /// Same, taking `g`'s storage when `id` has no gradient yet (no copy).
  void accumulate(std::uint64_t id, Tensor&& g);
  [[nodiscard]] static bool tracked(std::uint64_t id) noexcept { return id != 0; }

 private:
  friend class GradientTape;
  GradientTape* tape_ = nullptr;
  const std::vector<std::uint64_t>* outputs_ = nullptr;
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

  // ---- for op, layer and cell implementations

  /// The id under which `t` is tracked by this tape: its own id when this tape
  /// made it, the read id of a watched variable it is a read of, else 0.
  [[nodiscard]] std::uint64_t id_of(const Tensor& t);
  /// The id of a variable's gradient (0 when it is not watched: not trainable).
  [[nodiscard]] std::uint64_t variable_id(const Variable& variable);
  /// Gives each output a fresh id and records `backward` for them.
  void record(std::initializer_list<Tensor*> outputs, Backward backward);
  [[nodiscard]] std::size_t entries() const noexcept { return entries_.size(); }

 private:
  friend class BackwardContext;
  struct Entry {
    std::vector<std::uint64_t> outputs;
    Backward backward;
  };
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

}  // namespace varscope
