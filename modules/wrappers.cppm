// varscope:wrappers — cells made of cells, as TF 1.x builds them
// (../shared/SPEC-cells-state.md §2):
//   MultiRNNCell     layers stacked: <scope>/multi_rnn_cell/cell_<i>/<layer's own scope>/...,
//                    the state a tuple of the layers' states
//   ResidualWrapper  output = inputs + cell output; adds no scope level
//   DropoutWrapper   dropout on the cell's inputs, new state (never an LSTM's c) and output;
//                    adds no scope level
//
// Both work on the loops' packed state (the layers' packed states side by side, which is
// TF's state_is_tuple=False layout) and take part in the three-phase backward of RNNCell.
// Cells are referenced, not owned, like TF's: the objects the caller built (and their
// variables) serve the composite; clone() (kept by a gradient tape) clones them.
module;
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
export module varscope:wrappers;
import :errors;
import :tensor;
import :init;
import :store;
import :kernels;
import :nest;
import :layers;
import :rnn;

export namespace varscope {

/// tf.nn.rnn_cell.MultiRNNCell(cells, state_is_tuple=True): step t runs cell 0 on the
/// inputs, then cell i on cell i-1's output; the output is the last cell's. Layer i's
/// variables live under `multi_rnn_cell/cell_<i>/` (TF's names, e.g.
/// `rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel`). The state is the tuple of the
/// layers' states (TF's state_is_tuple=True), or one tensor, their concatenation, when
/// state_is_tuple is false (every layer must then have a single-tensor state, as in TF).
class MultiRNNCell : public RNNCell {
 public:
  /// InvalidArgumentError for an empty list, or a layer with a tuple state when !state_is_tuple.
  explicit MultiRNNCell(std::vector<std::reference_wrapper<RNNCell>> cells, bool state_is_tuple = true,
                        std::string name = "");

  [[nodiscard]] StateSize state_size() const override;
  [[nodiscard]] std::int64_t output_size() const override;
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return scope_.built(); }
  [[nodiscard]] std::int64_t projection_size() const override;
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  [[nodiscard]] std::int64_t forward_saved_size() const override;
  void step(const StepArgs& args, Workspace& workspace) const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override;
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
  /// The layers' step constants, layer by layer (an AttentionWrapper inside the stack).
  [[nodiscard]] std::vector<Tensor> step_constants() const override;
  [[nodiscard]] std::optional<std::int64_t> constant_batch() const override;
  [[nodiscard]] std::string describe_constants() const override;
  /// The layers' initial states (an AttentionWrapper's initial_cell_state), as a tuple.
  [[nodiscard]] State initial_state_of(std::int64_t batch) const override;
  /// The first layer with attention's, at its offset in the packed state.
  [[nodiscard]] std::optional<AlignmentColumns> alignment_columns() const override;

  [[nodiscard]] std::size_t num_layers() const noexcept { return layers_.size(); }
  [[nodiscard]] const VariableScope& scope() const { return scope_.scope(); }
  /// Every layer's variables, layer by layer (TF's `len(weights) == 8` for 2 LSTM layers... with their biases).
  [[nodiscard]] std::vector<Variable> variables() const { return gradient_variables(); }

 private:
  MultiRNNCell() = default;  // clone()
  // Per layer, fixed once built: column offsets in the packed state, the activations and `saved`.
  struct Layout {
    std::vector<std::int64_t> state_offset, state_width;    // packed state columns of layer i
    std::vector<std::int64_t> act_offset, act_width;        // layer i's own activations
    std::vector<std::int64_t> proj_offset;                  // i >= 1: its projection / d_projection columns
    std::vector<std::int64_t> input_offset;                 // i >= 1: its saved input (layer i-1's output)
    std::vector<std::int64_t> saved_offset, saved_width;    // layer i's own saved columns
    std::vector<std::size_t> var_begin, var_count;          // layer i's range of gradient_variables()
    std::vector<std::size_t> const_begin, const_count;      // layer i's range of step_constants()
    std::int64_t activations = 0, saved = 0, state = 0;
  };
  void compute_layout();

  std::vector<RNNCell*> cells_;                        // the caller's cells (empty in a clone)
  std::vector<const RNNCell*> layers_;                 // what the const methods use
  std::vector<std::shared_ptr<const RNNCell>> owned_;  // a clone's copies
  bool state_is_tuple_ = true;
  LayerScope scope_{"", "multi_rnn_cell"};
  Layout layout_;
};

/// Keyword arguments of ResidualWrapper beyond TF's default residual_fn.
struct ResidualWrapperOptions {
  /// Add only inputs[:, input_slice_begin : input_slice_begin + output_size]: TF's
  /// `residual_fn=lambda i, o: i[:, b:b + n] + o` (testResidualWrapperWithSlice) and nmt's
  /// gnmt_residual_fn (b = 0: the part of the input before the attention concat). Unset: the
  /// whole input, whose depth must equal the cell's output depth (TF's default).
  std::optional<std::int64_t> input_slice_begin;
};

/// tf.nn.rnn_cell.ResidualWrapper(cell): output = inputs + cell(inputs, state).output, the
/// state unchanged. Inputs and the cell's output must have the same depth, or the slice
/// of the inputs (options) must fit (ShapeMismatchError at build otherwise). Adds no scope
/// level: the wrapped cell's names.
class ResidualWrapper : public RNNCell {
 public:
  explicit ResidualWrapper(RNNCell& cell, ResidualWrapperOptions options = {});

  [[nodiscard]] StateSize state_size() const override { return cell_->state_size(); }
  [[nodiscard]] std::int64_t output_size() const override { return cell_->output_size(); }
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return cell_->built() && input_dim_ >= 0; }
  /// The wrapped cell's projection, then the inputs themselves (the residual).
  [[nodiscard]] std::int64_t projection_size() const override;
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  [[nodiscard]] std::int64_t forward_saved_size() const override { return cell_->forward_saved_size(); }
  void step(const StepArgs& args, Workspace& workspace) const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override { return cell_->gradient_variables(); }
  [[nodiscard]] std::int64_t backward_activation_size() const override { return cell_->backward_activation_size(); }
  void backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                            MatrixView activations) const override;
  void step_backward(const StepBackwardArgs& args, Workspace& workspace) const override;
  void recurrent_weights_backward(ConstMatrixView states, ConstMatrixView saved, ConstMatrixView d_projection,
                                  ConstMatrixView activations, std::vector<Tensor>& grads) const override;
  void project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                               std::vector<Tensor>& grads) const override;
  void project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const override;
  [[nodiscard]] std::shared_ptr<const RNNCell> clone() const override;
  [[nodiscard]] std::vector<Tensor> step_constants() const override { return cell_->step_constants(); }
  [[nodiscard]] std::optional<std::int64_t> constant_batch() const override { return cell_->constant_batch(); }
  [[nodiscard]] std::string describe_constants() const override { return cell_->describe_constants(); }
  [[nodiscard]] State initial_state_of(std::int64_t batch) const override { return cell_->initial_state_of(batch); }
  [[nodiscard]] std::optional<AlignmentColumns> alignment_columns() const override { return cell_->alignment_columns(); }

 private:
  ResidualWrapper() = default;  // clone()
  RNNCell* mutable_cell_ = nullptr;  // the caller's cell (null in a clone)
  const RNNCell* cell_ = nullptr;
  std::shared_ptr<const RNNCell> owned_;
  ResidualWrapperOptions options_;
  std::int64_t input_dim_ = -1;
  std::int64_t residual_begin_ = 0;  // the residual is inputs[:, residual_begin_ : + output_size()]
};

/// Keyword arguments of tf.nn.rnn_cell.DropoutWrapper. A keep probability must be in
/// (0, 1]; 1 (the default) builds no dropout for that part, as TF's float 1.0 does.
struct DropoutWrapperOptions {
  float input_keep_prob = 1.0f;   ///< dropout on the inputs, before the cell
  float output_keep_prob = 1.0f;  ///< dropout on the cell's output
  float state_keep_prob = 1.0f;   ///< dropout on the new state, except every LSTMStateTuple's c
  /// One mask per part, drawn once (at build) and used for every batch row and time step
  /// (Gal & Ghahramani); TF's `input_size` / `dtype` are not needed: the sizes are known at build.
  bool variational_recurrent = false;
  /// Op seed: with it the masks are a function of (graph seed, seed, call number); without it
  /// the default graph's next op seed at build (a seeded graph is still reproducible).
  std::optional<std::uint64_t> seed;
};

/// tf.nn.rnn_cell.DropoutWrapper(cell, input_keep_prob, output_keep_prob, state_keep_prob,
/// variational_recurrent, seed). One step is TF's: dropout(inputs) -> cell -> dropout(new
/// state, filtered) -> dropout(output), each `x / keep * mask`, mask = (uniform >= 1 - keep);
/// a fresh mask per step and row unless variational_recurrent. The state filter is TF's
/// default: the `c` of every LSTMStateTuple is never dropped, every other leaf is (an LSTM
/// with state_is_tuple = false has a single leaf, so TF drops all of it, and so do we).
/// Adds no scope level: the wrapped cell's names. Gradients flow through the masks drawn in
/// the forward pass (they are saved per step).
///
/// TF 1.x has no is_training: like tensorflow/nmt, wrap the cell only where you train
/// (dropout applies only to the training graph's cells): the decoder's unwrapped cell reads
/// the same variables because the wrapper adds no scope level (examples/nmt). Masks are drawn
/// from a counter shared by the wrapper's clones, so concurrent calls get distinct masks.
class DropoutWrapper : public RNNCell {
 public:
  /// InvalidArgumentError naming the keep probability that is outside (0, 1].
  explicit DropoutWrapper(RNNCell& cell, DropoutWrapperOptions options = {});

  [[nodiscard]] StateSize state_size() const override { return cell_->state_size(); }
  [[nodiscard]] std::int64_t output_size() const override { return cell_->output_size(); }
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return cell_->built() && input_dim_ >= 0; }
  /// With input dropout: the inputs themselves (the cell projects the dropped inputs inside
  /// the step); otherwise the wrapped cell's projection.
  [[nodiscard]] std::int64_t projection_size() const override;
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  [[nodiscard]] std::int64_t forward_saved_size() const override;
  void step(const StepArgs& args, Workspace& workspace) const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override { return cell_->gradient_variables(); }
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
  [[nodiscard]] std::vector<Tensor> step_constants() const override { return cell_->step_constants(); }
  [[nodiscard]] std::optional<std::int64_t> constant_batch() const override { return cell_->constant_batch(); }
  [[nodiscard]] std::string describe_constants() const override { return cell_->describe_constants(); }
  [[nodiscard]] State initial_state_of(std::int64_t batch) const override { return cell_->initial_state_of(batch); }
  [[nodiscard]] std::optional<AlignmentColumns> alignment_columns() const override { return cell_->alignment_columns(); }

  [[nodiscard]] const DropoutWrapperOptions& options() const noexcept { return options_; }
  /// Per packed state column (nest::flatten order): whether state dropout applies to it
  /// (false for every LSTMStateTuple's c). Known once built.
  [[nodiscard]] const std::vector<bool>& state_dropped_columns() const;

 private:
  DropoutWrapper() = default;  // clone()
  // Which parts drop (keep < 1) and where each lives in `saved` / the activations; fixed at build.
  struct Layout {
    bool input = false, state = false, output = false;
    std::int64_t cell_saved = 0;                      // the wrapped cell's saved columns come first
    std::int64_t dropped_x = -1, input_mask = -1;     // [D] each (input dropout)
    std::int64_t state_mask = -1, output_mask = -1;   // [S], [O]
    std::int64_t saved = 0;
    std::int64_t cell_activations = 0, cell_projection = -1, activations = 0;  // d_projection kept after the cell's
    std::vector<bool> state_columns;                  // state dropout per packed column
  };
  // The masks of one step (fresh draws, or the variational ones repeated per row).
  void draw_masks(std::int64_t rows, MatrixView input_mask, MatrixView state_mask, MatrixView output_mask) const;

  RNNCell* mutable_cell_ = nullptr;  // the caller's cell (null in a clone)
  const RNNCell* cell_ = nullptr;
  std::shared_ptr<const RNNCell> owned_;
  DropoutWrapperOptions options_;
  std::int64_t input_dim_ = -1;
  Layout layout_;
  std::uint64_t seed_ = 0;                                // resolved at build
  std::vector<float> variational_input_, variational_state_, variational_output_;  // scaled masks
  std::shared_ptr<std::atomic<std::uint64_t>> calls_ = std::make_shared<std::atomic<std::uint64_t>>(0);
};

}  // namespace varscope
