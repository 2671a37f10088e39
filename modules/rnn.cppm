// varscope:rnn — GRU cells (TF layout, and PyTorch's "reset after" layout) and
// dynamic_rnn (SPEC section 5).
//
// A cell splits its step in two halves so callers can batch the input half:
//   project_inputs(x [N, D]) -> [N, projection_size()]   (one big matmul for all steps)
//   step(projection [B, P], state [B, H]) -> new state [B, H]
// dynamic_rnn projects every time step at once when the inputs are known up
// front (encoders, teacher forcing). Steps write into caller buffers and use a
// Workspace sized once, so per-step loops do not allocate.
module;
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
export module varscope:rnn;
import :errors;
import :tensor;
import :init;
import :store;
import :scope;
import :kernels;
import :ops;
import :layers;
import :autograd;

export namespace varscope {

/// Scratch memory for cell steps; grows on first use, then is reused.
class Workspace {
 public:
  /// A buffer of at least `count` floats (slot 0..7); valid until the next call for that slot.
  float* buffer(std::size_t slot, std::size_t count);

 private:
  std::vector<TensorStorage<float>> slots_;  // 64-byte aligned
};

/// What every recurrent cell provides (TF's RNNCell).
class RNNCell {
 public:
  virtual ~RNNCell() = default;
  [[nodiscard]] virtual std::int64_t state_size() const = 0;
  [[nodiscard]] virtual std::int64_t output_size() const = 0;
  /// TF's Layer.build: creates the variables for `input_dim` inputs in the current
  /// variable scope, without a forward pass (e.g. before restore() or an optimizer's
  /// create_state()); dynamic_rnn / decoders then use them wherever they run. First
  /// call only; later calls check the input size (ShapeMismatchError).
  virtual void build(std::int64_t input_dim) = 0;
  [[nodiscard]] virtual bool built() const = 0;
  /// Width of the input half computed by project_inputs.
  [[nodiscard]] virtual std::int64_t projection_size() const = 0;
  /// out [N, projection_size()] = the input-dependent half of the step for N rows of x [N, D].
  virtual void project_inputs(ConstMatrixView x, MatrixView out) const = 0;
  /// state_out [B, H] = the step from projected inputs [B, P] and state [B, H].
  /// state_out must not alias state. The output of a GRU equals its new state.
  virtual void step(ConstMatrixView projection, ConstMatrixView state, MatrixView state_out,
                    Workspace& workspace) const = 0;

  // ---- backward (reverse mode; see :autograd). A cell without them cannot be trained:
  // the defaults throw InvalidArgumentError naming the missing piece.

  /// The variables whose gradients the two functions below produce, in that order.
  [[nodiscard]] virtual std::vector<Variable> gradient_variables() const;
  // The backward pass of a recurrence runs in three phases (detail::record_recurrence):
  //   backward_activations   all steps at once: the step's activations, recomputed
  //                          from the saved states and projections (large products)
  //   step_backward          per step, in reverse: the sequential part only
  //   recurrent_weights_backward  all steps at once: the recurrent weights' gradient
  // Row i of states [N, H], projection / d_projection [N, P] and activations
  // [N, A] always belong to the same (step, batch row), time-major.

  /// Columns per row of the activations (A).
  [[nodiscard]] virtual std::int64_t backward_activation_size() const;
  /// activations [N, A] from the states [N, H] each step started from and the
  /// steps' projected inputs [N, P].
  virtual void backward_activations(ConstMatrixView states, ConstMatrixView projection, MatrixView activations) const;
  /// Backward of step(): from d_state_out [B, H] and the step's activations
  /// writes d_projection [B, P] and d_state [B, H]; may overwrite its
  /// activations with what recurrent_weights_backward reads.
  virtual void step_backward(MatrixView activations, ConstMatrixView state, ConstMatrixView d_state_out,
                             MatrixView d_projection, MatrixView d_state, Workspace& workspace) const;
  /// ADDS the recurrent weights' gradients of all steps into `grads` (one per
  /// gradient_variables(), zero-initialised by the caller).
  virtual void recurrent_weights_backward(ConstMatrixView states, ConstMatrixView d_projection,
                                          ConstMatrixView activations, std::vector<Tensor>& grads) const;
  /// Backward of project_inputs(): ADDS the input weights' gradients into
  /// `grads`; writes d_x unless d_x.data is null.
  virtual void project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                       std::vector<Tensor>& grads) const;
  /// A copy sharing the same variables, kept alive by a tape entry after the
  /// caller's cell object is gone (the article builds cells as locals).
  [[nodiscard]] virtual std::shared_ptr<const RNNCell> clone() const;

  /// One step on tensors: inputs [B, D], state [B, H] -> new state [B, H] (builds on first use).
  /// Recorded by an active GradientTape.
  Tensor operator()(const Tensor& inputs, const Tensor& state);
  /// A zero state [batch, state_size()].
  [[nodiscard]] Tensor zero_state(std::int64_t batch) const;
};

/// tf.nn.rnn_cell.GRUCell (TF layout): <scope>/gates/kernel [D+H, 2H],
/// gates/bias [2H] (init 1.0), candidate/kernel [D+H, H], candidate/bias [H] (zeros).
///   [r, u] = sigmoid([x, h] @ gates/kernel + gates/bias)
///   c = tanh([x, r*h] @ candidate/kernel + candidate/bias);  h' = u*h + (1-u)*c
class GRUCell : public RNNCell {
 public:
  /// `name` "" uses the default scope name `gru_cell` (uniquified per parent).
  explicit GRUCell(std::int64_t num_units, std::string name = "",
                   std::optional<Initializer> kernel_initializer = std::nullopt,
                   std::optional<Initializer> bias_initializer = std::nullopt);

  [[nodiscard]] std::int64_t state_size() const override { return units_; }
  [[nodiscard]] std::int64_t output_size() const override { return units_; }
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return scope_.built(); }
  [[nodiscard]] std::int64_t projection_size() const override { return 3 * units_; }
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  void step(ConstMatrixView projection, ConstMatrixView state, MatrixView state_out,
            Workspace& workspace) const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override { return variables(); }
  [[nodiscard]] std::int64_t backward_activation_size() const override;
  void backward_activations(ConstMatrixView states, ConstMatrixView projection, MatrixView activations) const override;
  void step_backward(MatrixView activations, ConstMatrixView state, ConstMatrixView d_state_out,
                     MatrixView d_projection, MatrixView d_state, Workspace& workspace) const override;
  void recurrent_weights_backward(ConstMatrixView states, ConstMatrixView d_projection, ConstMatrixView activations,
                                  std::vector<Tensor>& grads) const override;
  void project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                               std::vector<Tensor>& grads) const override;
  [[nodiscard]] std::shared_ptr<const RNNCell> clone() const override;

  [[nodiscard]] const VariableScope& scope() const { return scope_.scope(); }
  [[nodiscard]] std::int64_t input_dim() const noexcept { return input_dim_; }
  /// The four variables, in creation order (gates/kernel, gates/bias, candidate/kernel, candidate/bias).
  [[nodiscard]] std::vector<Variable> variables() const;

 private:
  std::int64_t units_;
  std::int64_t input_dim_ = -1;
  std::optional<Initializer> kernel_initializer_;
  std::optional<Initializer> bias_initializer_;
  LayerScope scope_;
  std::optional<Variable> gates_kernel_, gates_bias_, candidate_kernel_, candidate_bias_;
  // Packed copies of the x-rows and h-rows of both kernels (see PackedWeights).
  PackedWeights gates_x_, gates_h_, candidate_x_, candidate_h_;
};

/// The "reset after" GRU with PyTorch nn.GRU's layout and math, so weights
/// trained there run unchanged: <scope>/weight_ih [3H, D], weight_hh [3H, H],
/// bias_ih [3H], bias_hh [3H], gate order r, z, n:
///   r = σ(W_ir x + b_ir + W_hr h + b_hr); z = σ(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h
/// Default initializer: uniform(-1/sqrt(H), 1/sqrt(H)) like PyTorch.
class ResetAfterGRUCell : public RNNCell {
 public:
  explicit ResetAfterGRUCell(std::int64_t num_units, std::string name = "");

  [[nodiscard]] std::int64_t state_size() const override { return units_; }
  [[nodiscard]] std::int64_t output_size() const override { return units_; }
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return scope_.built(); }
  [[nodiscard]] std::int64_t projection_size() const override { return 3 * units_; }
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  void step(ConstMatrixView projection, ConstMatrixView state, MatrixView state_out,
            Workspace& workspace) const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override { return variables(); }
  [[nodiscard]] std::int64_t backward_activation_size() const override;
  void backward_activations(ConstMatrixView states, ConstMatrixView projection, MatrixView activations) const override;
  void step_backward(MatrixView activations, ConstMatrixView state, ConstMatrixView d_state_out,
                     MatrixView d_projection, MatrixView d_state, Workspace& workspace) const override;
  void recurrent_weights_backward(ConstMatrixView states, ConstMatrixView d_projection, ConstMatrixView activations,
                                  std::vector<Tensor>& grads) const override;
  void project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                               std::vector<Tensor>& grads) const override;
  [[nodiscard]] std::shared_ptr<const RNNCell> clone() const override;
  [[nodiscard]] const VariableScope& scope() const { return scope_.scope(); }
  [[nodiscard]] std::vector<Variable> variables() const;

 private:
  std::int64_t units_;
  std::int64_t input_dim_ = -1;
  LayerScope scope_;
  std::optional<Variable> weight_ih_, weight_hh_, bias_ih_, bias_hh_;
  PackedWeights packed_ih_, packed_hh_;  // packed transposes (see PackedWeights)
};

/// Keyword arguments of dynamic_rnn.
struct DynamicRNNOptions {
  /// int32 [B]; lengths in [0, T]. Empty: every sequence has length T.
  std::optional<Tensor> sequence_length;
  /// [B, H]; default zeros.
  std::optional<Tensor> initial_state;
  /// Variable scope for the cell (tf.nn.dynamic_rnn's scope, default "rnn"); "" = the current scope.
  std::string scope = "rnn";
};

struct RNNResult {
  Tensor outputs;      ///< [B, T, H]; rows past a sequence's length are zero
  Tensor final_state;  ///< [B, H]; the state at step len-1 (the initial state when len is 0)
};

/// tf.nn.dynamic_rnn over inputs [B, T, D] (batch major).
RNNResult dynamic_rnn(RNNCell& cell, const Tensor& inputs, DynamicRNNOptions options = {});

}  // namespace varscope

namespace varscope::detail {
/// Records one backward entry for a recurrence run by dynamic_rnn or the
/// training decoder (BPTT): `outputs` [B, T_out, H] and `final_state` [B, H]
/// get ids. Row b is active at step t when t < active_length[b]: an inactive
/// step emitted a zero output and copied the state, so no gradient flows into
/// the cell there and the state's gradient passes through unchanged (TF's
/// _SelectGrad). `projection` [B*T, P] (row b*T + t) and `states`
/// [(steps + 1) * B, H] (state before step t at rows t*B ...) are the forward's.
/// `inputs` [B, T, D] is the value the projection was made from; `tracked_inputs`
/// is the tensor whose gradient receives dx (the same tensor, or the [B, D] input
/// of a single cell call); `initial_state` is absent when the loop started from zeros.
void record_recurrence(const RNNCell& cell, OpInput tracked_inputs, const Tensor& inputs, OpInput initial_state,
                       Tensor projection, Tensor states, std::vector<std::int64_t> active_length,
                       std::int64_t steps, Tensor& outputs, Tensor& final_state);
}  // namespace varscope::detail
