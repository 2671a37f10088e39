// varscope:train — TF 1.x's optimizers over eager gradients: the
// compute_gradients / apply_gradients / minimize trio, GradientDescentOptimizer,
// AdamOptimizer (TF's exact update, slot names and beta powers), global_step and
// clip_by_global_norm.
//
//   AdamOptimizer opt;                                   // lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8
//   auto step = get_or_create_global_step();
//   Tensor loss = opt.minimize([&] { return sequence_loss(model(x), y, w); }, step);
//   float value = loss.item<float>();
//
// Layers are built once, outside the loss function (a model struct holds them):
// constructed inside it, they would create their variables again on step 2, an
// AlreadyExistsError whose fix says so.
//
// Optimizer state (slots `<var>/Adam`, `<var>/Adam_1`, `beta1_power`,
// `beta2_power`) lives in the graph like any variable (so checkpoints carry it),
// but is created straight in the store, outside the caller's variable scope and
// its reuse flag: minimize works inside a reuse=True scope (TF #6220).
module;
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
export module varscope:train;
import :errors;
import :parallel;
import :tensor;
import :init;
import :store;
import :autograd;

export namespace varscope {

/// (gradient or std::nullopt = TF's None, variable), as compute_gradients returns.
using GradsAndVars = std::vector<std::pair<std::optional<Tensor>, Variable>>;

/// tf.train.get_or_create_global_step(): the graph's "global_step" variable
/// (scalar, not trainable, in GLOBAL_VARIABLES and the "global_step" collection),
/// created on first use. int32 (TF: int64; varscope has no int64 dtype). Its name
/// is always "global_step" (not under the caller's variable scope).
Variable get_or_create_global_step(Graph& graph = get_default_graph());

/// tf.clip_by_global_norm: global_norm = sqrt(sum of squares of every entry of
/// every tensor), computed in double; each tensor is scaled by
/// clip_norm / max(global_norm, clip_norm). std::nullopt entries pass through.
/// A non-finite norm makes every output NaN (TF 1.14+). clip_norm must be > 0.
struct ClippedGradients {
  std::vector<std::optional<Tensor>> clipped;
  float global_norm = 0.0f;
};
[[nodiscard]] ClippedGradients clip_by_global_norm(const std::vector<std::optional<Tensor>>& t_list, float clip_norm);

/// clip_by_global_norm over what compute_gradients returns, so clipping is one line
/// between compute_gradients and apply_gradients:
///
///   auto [grads, norm] = clip_by_global_norm(opt.compute_gradients(loss_fn), 5.0f);
///   opt.apply_gradients(grads, step);
///
/// The gradients are clipped together exactly as the overload above does (nullopt
/// entries pass through), each still paired with its variable, in the same order.
struct ClippedGradsAndVars {
  GradsAndVars grads_and_vars;
  float global_norm = 0.0f;
};
[[nodiscard]] ClippedGradsAndVars clip_by_global_norm(const GradsAndVars& grads_and_vars, float clip_norm);

/// The optimizer base (tf.train.Optimizer).
class Optimizer {
 public:
  explicit Optimizer(std::string name);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// Runs `loss_fn` under a GradientTape and returns d loss / d var for each
  /// variable of `var_list` (default: trainable_variables() of the default graph
  /// AFTER the forward, so lazily built layers are included).
  /// InvalidArgumentError "No variables to optimize." when the list is empty.
  /// The loss value is kept: last_loss().
  GradsAndVars compute_gradients(const std::function<Tensor()>& loss_fn,
                                 std::optional<std::vector<Variable>> var_list = std::nullopt);
  /// Creates missing slots, updates every variable that has a gradient, then
  /// increments `global_step` (if given) once. Entries without a gradient are
  /// skipped; none at all is InvalidArgumentError "No gradients provided for any variable: ...".
  void apply_gradients(const GradsAndVars& grads_and_vars, std::optional<Variable> global_step = std::nullopt);
  /// compute_gradients + apply_gradients; returns the loss value (`.item<float>()` for a scalar loss).
  Tensor minimize(const std::function<Tensor()>& loss_fn, std::optional<Variable> global_step = std::nullopt,
                  std::optional<std::vector<Variable>> var_list = std::nullopt);
  /// Creates the optimizer's state for `var_list` now (apply_gradients does it
  /// lazily): call before restoring a checkpoint that holds the state.
  void create_state(const std::vector<Variable>& var_list);

  [[nodiscard]] const Tensor& last_loss() const noexcept { return last_loss_; }
  /// The slot `slot_name` ("m", "v" for Adam) of `var`, if created.
  [[nodiscard]] std::optional<Variable> get_slot(const Variable& var, std::string_view slot_name) const;
  [[nodiscard]] std::vector<std::string> get_slot_names() const;

 protected:
  virtual void create_slots(const std::vector<Variable>& /*var_list*/) {}
  virtual void prepare() {}
  virtual void apply_dense(const Tensor& grad, const Variable& var) = 0;
  virtual void finish() {}
  /// A zeros slot named `<var>/<optimizer name>` (uniquified: _1, _2, ...), not
  /// trainable, created in the store regardless of the current scope's reuse.
  Variable zeros_slot(const Variable& var, const std::string& slot_name);
  [[nodiscard]] bool has_slot(const Variable& var, const std::string& slot_name) const;
  [[nodiscard]] const Variable& slot(const Variable& var, const std::string& slot_name) const;

 private:
  std::string name_;
  Tensor last_loss_;
  // slot name -> (the variable's node, via its value's address) -> slot variable
  std::map<std::string, std::vector<std::pair<Variable, Variable>>> slots_;
};

/// tf.train.GradientDescentOptimizer: var -= learning_rate * grad. No state.
class GradientDescentOptimizer : public Optimizer {
 public:
  explicit GradientDescentOptimizer(float learning_rate, std::string name = "GradientDescent");

 protected:
  void apply_dense(const Tensor& grad, const Variable& var) override;

 private:
  float learning_rate_;
};

/// tf.train.AdamOptimizer with TF 1.x's kernel (ApplyAdam), in float32:
///   alpha = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
///   m += (g - m) * (1 - beta1);  v += (g*g - v) * (1 - beta2)
///   var -= alpha * m / (sqrt(v) + epsilon)          (epsilon outside the uncorrected sqrt)
/// then beta1_power *= beta1, beta2_power *= beta2 (created with values beta1,
/// beta2: step t uses beta^t). Slots `<var>/Adam` (m) and `<var>/Adam_1` (v).
/// Gradients are dense (an embedding's rows are summed: TF's sparse Adam is
/// dense-equivalent, so the result is the same).
class AdamOptimizer : public Optimizer {
 public:
  struct Options {
    float learning_rate = 0.001f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float epsilon = 1e-8f;
    std::string name = "Adam";
  };
  AdamOptimizer() : AdamOptimizer(Options{}) {}
  explicit AdamOptimizer(Options options);

  /// beta1_power / beta2_power (created with the first slots).
  [[nodiscard]] const std::optional<Variable>& beta1_power() const noexcept { return beta1_power_; }
  [[nodiscard]] const std::optional<Variable>& beta2_power() const noexcept { return beta2_power_; }

 protected:
  void create_slots(const std::vector<Variable>& var_list) override;
  void prepare() override;
  void apply_dense(const Tensor& grad, const Variable& var) override;
  void finish() override;

 private:
  Options o_;
  std::optional<Variable> beta1_power_, beta2_power_;
  float alpha_ = 0.0f;
};

}  // namespace varscope
