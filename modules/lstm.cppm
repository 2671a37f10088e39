// varscope:lstm — TF 1.x's LSTM cells: tf.nn.rnn_cell.BasicLSTMCell and
// tf.nn.rnn_cell.LSTMCell (peepholes, cell clipping, projection), with TF's
// variable names, shapes, initialisers, gate order and math
// (../shared/SPEC-cells-state.md §1c, §1d; rnn_cell_impl.py of TF 1.15).
//
//   c, h = state                                   # LSTMStateTuple: c first
//   z = [x, h] @ kernel + bias;  i, j, f, o = split(z, 4)
//   c' = sigmoid(f + forget_bias [+ w_f_diag*c]) * c + sigmoid(i [+ w_i_diag*c]) * tanh(j)
//   c' = clip(c', cell_clip);  m = sigmoid(o [+ w_o_diag*c']) * tanh(c')
//   m = clip(m @ projection/kernel, proj_clip)     # with num_proj
//   return m, LSTMStateTuple(c', m)
//
// forget_bias is added at run time (the bias variable stays zeros-initialised, as
// in TF, so a checkpoint holds the same numbers). The state is packed [c | h] in
// the loops, which is TF's state_is_tuple=False layout.
module;
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
export module varscope:lstm;
import :errors;
import :tensor;
import :init;
import :store;
import :kernels;
import :ops;
import :nest;
import :layers;
import :rnn;

export namespace varscope {

/// Keyword arguments of tf.nn.rnn_cell.LSTMCell (TF's names and defaults).
struct LSTMCellOptions {
  /// w_f_diag, w_i_diag, w_o_diag: the gates also see the cell state (Gers & Schmidhuber).
  bool use_peepholes = false;
  /// c is clipped to [-cell_clip, cell_clip] before the output gate uses it.
  std::optional<float> cell_clip;
  /// Kernels, peepholes and the projection (default: the scope's initializer, else glorot_uniform).
  std::optional<Initializer> initializer;
  /// The output (and h) is m @ projection/kernel [num_units, num_proj].
  std::optional<std::int64_t> num_proj;
  /// The projected output is clipped to [-proj_clip, proj_clip] (needs num_proj).
  std::optional<float> proj_clip;
  /// Added to the forget gate's pre-activation at run time (not stored in the bias).
  float forget_bias = 1.0f;
  /// true: the state is LSTMStateTuple(c, h); false: one tensor [B, num_units + h_depth] = [c, h].
  bool state_is_tuple = true;
  /// The layer scope's name; "" = "lstm_cell" (uniquified in the enclosing scope).
  std::string name;
};

/// tf.nn.rnn_cell.LSTMCell: <scope>/lstm_cell/kernel [D + h_depth, 4 * num_units],
/// bias [4 * num_units] (zeros), w_f_diag / w_i_diag / w_o_diag [num_units] (peepholes),
/// projection/kernel [num_units, num_proj] (num_proj); h_depth = num_proj or num_units.
/// Gate order i, j, f, o (not Keras' i, f, c, o).
class LSTMCell : public RNNCell {
 public:
  explicit LSTMCell(std::int64_t num_units, LSTMCellOptions options = {});

  /// LSTMStateTuple(num_units, h_depth), or num_units + h_depth when !state_is_tuple.
  [[nodiscard]] StateSize state_size() const override;
  /// num_proj, else num_units.
  [[nodiscard]] std::int64_t output_size() const override { return h_depth(); }
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return scope_.built(); }
  [[nodiscard]] std::int64_t projection_size() const override { return 4 * units_; }
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  void step(const StepArgs& args, Workspace& workspace) const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override { return variables(); }
  /// 4H (+ the projected depth with num_proj): the activated gates (and h before proj_clip) a
  /// recorded step saves, so backward_activations runs no product.
  [[nodiscard]] std::int64_t forward_saved_size() const override;
  [[nodiscard]] std::int64_t backward_activation_size() const override;
  void backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                            MatrixView activations) const override;
  void step_backward(const StepBackwardArgs& args, Workspace& workspace) const override;
  void recurrent_weights_backward(ConstMatrixView states, ConstMatrixView saved, ConstMatrixView d_projection,
                                  ConstMatrixView activations, std::vector<Tensor>& grads) const override;
  void project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                               std::vector<Tensor>& grads) const override;
  void project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const override;
  [[nodiscard]] std::shared_ptr<const RNNCell> clone() const override;

  [[nodiscard]] const VariableScope& scope() const { return scope_.scope(); }
  [[nodiscard]] std::int64_t num_units() const noexcept { return units_; }
  [[nodiscard]] std::int64_t input_dim() const noexcept { return input_dim_; }
  [[nodiscard]] const LSTMCellOptions& options() const noexcept { return options_; }
  /// In creation order: kernel, bias, [w_f_diag, w_i_diag, w_o_diag], [projection/kernel].
  [[nodiscard]] std::vector<Variable> variables() const;

 protected:
  /// BasicLSTMCell's constructor: its own class name in messages and its default scope name.
  LSTMCell(std::int64_t num_units, LSTMCellOptions options, std::string class_name, std::string default_name);

 private:
  [[nodiscard]] std::int64_t h_depth() const noexcept { return options_.num_proj.value_or(units_); }
  void check_options() const;

  std::int64_t units_;
  LSTMCellOptions options_;
  std::string class_name_;
  std::int64_t input_dim_ = -1;
  LayerScope scope_;
  std::optional<Variable> kernel_, bias_, w_f_diag_, w_i_diag_, w_o_diag_, projection_;
  // Packed copies of the x-rows and h-rows of the kernel, and of the projection (see PackedWeights),
  // and the transpose of the h-rows for step_backward.
  PackedWeights kernel_x_, kernel_h_t_;
  PackedWeights kernel_h_{PackedWeights::EveryStep{}}, projection_packed_{PackedWeights::EveryStep{}};  // every step
};

/// tf.nn.rnn_cell.BasicLSTMCell(num_units, forget_bias=1.0, state_is_tuple=True):
/// <scope>/basic_lstm_cell/kernel [D + num_units, 4 * num_units], bias [4 * num_units]
/// (zeros). The same math as LSTMCell without peepholes, clipping or projection.
class BasicLSTMCell : public LSTMCell {
 public:
  /// `name` "" uses the default scope name `basic_lstm_cell` (uniquified per parent).
  explicit BasicLSTMCell(std::int64_t num_units, float forget_bias = 1.0f, bool state_is_tuple = true,
                         std::string name = "");
  [[nodiscard]] std::shared_ptr<const RNNCell> clone() const override;
};

}  // namespace varscope
