// varscope:layers — the layer base (lazy scope capture on first call, SPEC
// section 4) and Dense / dense().
//
//   Dense out_layer(vocab_size, {.use_bias = false, .name = "out_layer"});   // tf.layers.Dense(...)
//   auto logits = out_layer(h);           // first call: creates out_layer/kernel in the current scope
//   auto y = dense(x, 20, {.name = "dense_a"});                                // tf.layers.dense(...)
module;
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <functional>
#include <memory>
#include <mutex>
export module varscope:layers;
import :errors;
import :tensor;
import :init;
import :store;
import :autograd;  // the implementation records backward functions on the tape
import :scope;
import :kernels;
import :ops;

export namespace varscope {

enum class Activation : std::uint8_t { linear, relu, tanh, sigmoid };
[[nodiscard]] std::string_view activation_name(Activation a) noexcept;
/// Applies an activation in place.
void apply_activation(Activation a, MatrixView x);

/// The scope half of a TF layer: the variable scope is chosen at the first call
/// (an explicit name is used as is: `variable_scope(name)`; no name gives
/// `default_name` uniquified per parent: dense, dense_1, ...) and captured, so
/// later calls anywhere use the same variables.
class LayerScope {
 public:
  LayerScope(std::string name, std::string default_name, Reuse reuse = Reuse::None)
      : name_(std::move(name)), default_name_(std::move(default_name)), reuse_(reuse) {}

  [[nodiscard]] bool built() const noexcept { return scope_.has_value(); }
  /// On the first call, enters the layer's scope, runs `create` (which makes the
  /// variables with get_variable) labelled as `creator`, and captures the scope.
  /// Later calls do nothing.
  void build_once(std::string_view creator, const std::function<void()>& create);
  /// The captured scope; InvalidArgumentError before the first call.
  [[nodiscard]] const VariableScope& scope() const;
  /// The explicit name, or the default name before the first call.
  [[nodiscard]] const std::string& base_name() const noexcept { return name_.empty() ? default_name_ : name_; }

 private:
  std::string name_;
  std::string default_name_;
  Reuse reuse_;
  std::optional<VariableScope> scope_;
};

/// Keyword arguments of tf.layers.Dense / tf.layers.dense.
struct DenseOptions {
  Activation activation = Activation::linear;
  bool use_bias = true;
  /// Default: the scope's initializer, else glorot_uniform.
  std::optional<Initializer> kernel_initializer;
  /// Default: zeros.
  std::optional<Initializer> bias_initializer;
  std::string name;
  /// The name used when `name` is empty, uniquified per parent scope like TF's layer names
  /// (dense, dense_1, ...). An attention mechanism's `memory_layer` is made this way, so a
  /// second mechanism in the same scope gets memory_layer_1, as in TF (docs/attention.md).
  std::string default_name = "dense";
  /// What the variables' origin names as their creator ("Dense 'scope/name'"): an attention
  /// mechanism's memory_layer says "BahdanauAttention", so messages point at the mechanism.
  std::string creator = "Dense";
  /// Functional form only: reuse for the layer's scope (tf.layers.dense(reuse=...)).
  Reuse reuse = Reuse::None;
  /// false: kernel and bias are created outside TRAINABLE_VARIABLES (still in
  /// GLOBAL_VARIABLES), like tf.layers.Dense(trainable=False).
  bool trainable = true;
};

/// tf.layers.Dense: y = activation(x @ kernel + bias), kernel [in, units], bias [units].
class Dense {
 public:
  explicit Dense(std::int64_t units, DenseOptions options = {});

  /// x [..., in] -> [..., units]. The first call creates the variables.
  Tensor operator()(const Tensor& inputs);
  /// Fast path for [N, in] rows into a caller-owned [N, units] view; the layer must be built.
  void apply_into(ConstMatrixView inputs, MatrixView out) const;
  /// TF's Layer.build: creates the variables for `input_dim` inputs now, under the
  /// current variable scope (`<scope>/<name or dense>/kernel`, `.../bias`), without a
  /// forward pass, e.g. before restore() or an optimizer's create_state(). Later calls
  /// use them wherever they run, creating nothing. Done by the first call otherwise.
  /// Again with another input_dim: ShapeMismatchError.
  void build(std::int64_t input_dim);

  [[nodiscard]] bool built() const noexcept { return scope_.built(); }
  [[nodiscard]] std::int64_t units() const noexcept { return units_; }
  [[nodiscard]] const Variable& kernel() const;
  [[nodiscard]] const std::optional<Variable>& bias() const noexcept { return bias_; }
  [[nodiscard]] const VariableScope& scope() const { return scope_.scope(); }

 private:
  std::int64_t units_;
  DenseOptions options_;
  LayerScope scope_;
  std::optional<Variable> kernel_;
  std::optional<Variable> bias_;
  PackedWeights packed_kernel_;
};

/// tf.layers.dense(x, units, name=..., reuse=...): a new Dense applied once.
/// With an explicit name it opens `variable_scope(name)`, so a repeated name
/// without reuse is an AlreadyExistsError and under a reusing scope it shares.
Tensor dense(const Tensor& inputs, std::int64_t units, DenseOptions options = {});

}  // namespace varscope
