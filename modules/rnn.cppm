// varscope:rnn — GRU cells (TF layout, and PyTorch's "reset after" layout) and
// dynamic_rnn (SPEC section 5).
//
// A cell splits its step in two halves so callers can batch the input half:
//   project_inputs(x [N, D]) -> [N, projection_size()]   (one big matmul for all steps)
//   step(projection [B, P], packed state [B, S]) -> new state [B, S], output [B, O]
// dynamic_rnn projects every time step at once when the inputs are known up
// front (encoders, teacher forcing). Steps write into caller buffers and use a
// Workspace sized once, so per-step loops do not allocate.
module;
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>
export module varscope:rnn;
import :errors;
import :tensor;
import :init;
import :store;
import :scope;
import :kernels;
import :ops;
import :nest;
import :layers;
import :autograd;

export namespace varscope {

/// Scratch memory for cell steps; grows on first use, then is reused.
class Workspace {
 public:
  /// A buffer of at least `count` floats (slot 0..7); valid until the next call for that slot.
  float* buffer(std::size_t slot, std::size_t count);
  /// A separate workspace for sub-cell `i` of a composite cell (MultiRNNCell's layers),
  /// created on first use and kept.
  Workspace& child(std::size_t i);

 private:
  std::vector<TensorStorage<float>> slots_;  // 64-byte aligned
  std::vector<std::unique_ptr<Workspace>> children_;
};

/// One step of a cell for B rows, on the loops' packed state: every state leaf side
/// by side in nest::flatten order, [B, S] with S = flat_size(state_size()) (TF's
/// state_is_tuple=False layout: [c, h] for an LSTM).
struct StepArgs {
  ConstMatrixView projection;  ///< [B, P]: project_inputs of the step's inputs
  ConstMatrixView state;       ///< [B, S] the state the step starts from
  MatrixView state_out;        ///< [B, S] the new state; must not alias `state`
  MatrixView output;           ///< [B, O] the step's output; may be a strided time step of [B, T, O]
  MatrixView saved;            ///< [B, F] what the backward needs that states can't give (F = forward_saved_size());
                               ///< data == nullptr when nothing is recorded
  /// Row i of this step reads row rows[i] of the cell's step_constants() (an attention memory);
  /// empty: row i. Beam search steps only the live beams and passes which beams they are.
  std::span<const std::int64_t> rows = {};
};

/// The backward of one step (see RNNCell's three phases).
struct StepBackwardArgs {
  MatrixView activations;       ///< [B, A]; may be overwritten with what recurrent_weights_backward reads
  ConstMatrixView state;        ///< [B, S] the step's input state
  ConstMatrixView saved;        ///< [B, F]
  ConstMatrixView d_state_out;  ///< [B, S] gradient of the step's new state
  ConstMatrixView d_output;     ///< [B, O] gradient of the step's output; data == nullptr: none flows
  MatrixView d_projection;      ///< [B, P] written
  MatrixView d_state;           ///< [B, S] written: gradient of the input state
  std::span<const std::int64_t> rows = {};  ///< as StepArgs::rows
  /// One per step_constants(), viewed [batch of the constant, rest]: the step ADDS the
  /// constants' gradients into them. Empty when the cell has no constants.
  std::span<const MatrixView> d_constants = {};
};

/// What every recurrent cell provides (TF's RNNCell). A cell's state may be
/// structured (TF's nest: an LSTMStateTuple, a tuple per layer); its output is
/// separate from its state (output_size vs state_size), as in TF.
class RNNCell {
 public:
  virtual ~RNNCell() = default;
  /// TF's state_size: an int for a GRU, LSTMStateTuple(c, h) sizes for an LSTM, ...
  [[nodiscard]] virtual StateSize state_size() const = 0;
  [[nodiscard]] virtual std::int64_t output_size() const = 0;
  /// S, the width of the packed state: the sum of state_size()'s leaves.
  [[nodiscard]] std::int64_t flat_state_size() const;
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
  /// Columns per row of StepArgs::saved (F); 0 for the base cells.
  [[nodiscard]] virtual std::int64_t forward_saved_size() const { return 0; }
  /// One step: state_out and output from the projected inputs and the packed state.
  virtual void step(const StepArgs& args, Workspace& workspace) const = 0;

  // ---- backward (reverse mode; see :autograd). A cell without them cannot be trained:
  // the defaults throw InvalidArgumentError naming the missing piece.

  /// The variables whose gradients the two functions below produce, in that order.
  [[nodiscard]] virtual std::vector<Variable> gradient_variables() const;
  // The backward pass of a recurrence runs in three phases (detail::record_recurrence):
  //   backward_activations   all steps at once: the step's activations, from what the
  //                          recorded steps saved (GRUCell copies, LSTMCell rebuilds them
  //                          elementwise) or recomputed from the saved states and
  //                          projections (large products)
  //   step_backward          per step, in reverse: the sequential part only
  //   recurrent_weights_backward  all steps at once: the recurrent weights' gradient
  // Row i of states [N, S], saved [N, F], projection / d_projection [N, P] and
  // activations [N, A] always belong to the same (step, batch row), time-major.

  /// Columns per row of the activations (A).
  [[nodiscard]] virtual std::int64_t backward_activation_size() const;
  /// activations [N, A] from the states [N, S] each step started from, what the steps
  /// saved [N, F] and the steps' projected inputs [N, P].
  virtual void backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                                    MatrixView activations) const;
  /// Backward of step(): from d_state_out and d_output (their sum, for a GRU, whose
  /// output is its state) and the step's activations, writes d_projection and d_state.
  virtual void step_backward(const StepBackwardArgs& args, Workspace& workspace) const;
  /// ADDS the recurrent weights' gradients of all steps into `grads` (one per
  /// gradient_variables(), zero-initialised by the caller); `saved` [N, F] is what the
  /// steps saved (a MultiRNNCell's inner layers' inputs).
  virtual void recurrent_weights_backward(ConstMatrixView states, ConstMatrixView saved, ConstMatrixView d_projection,
                                          ConstMatrixView activations, std::vector<Tensor>& grads) const;
  /// Backward of project_inputs(): ADDS the input weights' gradients into
  /// `grads`; writes d_x unless d_x.data is null.
  virtual void project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                       std::vector<Tensor>& grads) const;
  /// d_x = the input gradient of project_inputs() only (no weight gradients): what a
  /// MultiRNNCell passes down from layer i to layer i - 1 at every step.
  virtual void project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const;
  /// A copy sharing the same variables, kept alive by a tape entry after the
  /// caller's cell object is gone (the article builds cells as locals).
  [[nodiscard]] virtual std::shared_ptr<const RNNCell> clone() const;

  // ---- per-call constants (an attention mechanism's keys and values). A cell without them
  // (every plain cell) keeps the defaults and its loops are unchanged.

  /// Tensors every step reads besides its projection and state, indexed by batch row
  /// (StepArgs::rows). The recurrence records them as inputs of its tape entry, so their
  /// gradients (StepBackwardArgs::d_constants) flow on to what made them.
  [[nodiscard]] virtual std::vector<Tensor> step_constants() const { return {}; }
  /// The batch of those constants (an attention memory's batch), or nullopt: decoders and
  /// zero_state check their rows against it (an untiled memory in beam search).
  [[nodiscard]] virtual std::optional<std::int64_t> constant_batch() const { return std::nullopt; }
  /// Who holds the constants, for messages: "AttentionWrapper attention_wrapper".
  [[nodiscard]] virtual std::string describe_constants() const { return "the cell"; }
  /// Where an attention cell's alignments sit in the packed state (columns [offset, offset +
  /// width)), and whether it was asked for their history (AttentionWrapper's
  /// alignment_history); nullopt for a cell without attention. Decoders read it to return the
  /// alignments (BasicDecodeResult::alignment_history, Hypothesis::alignments).
  struct AlignmentColumns {
    std::int64_t offset = 0, width = 0;
    bool history = false;
  };
  [[nodiscard]] virtual std::optional<AlignmentColumns> alignment_columns() const { return std::nullopt; }

  /// TF's `output, new_state = cell(inputs, state)`: inputs [B, D], a state of the
  /// structure of state_size() with [B, size] leaves (builds on first use).
  /// `auto [output, state] = cell(x, h);`. Recorded by an active GradientTape.
  CellOutput operator()(const Tensor& inputs, const State& state);
  /// TF's zero_state(batch_size): zeros [batch, size] in the structure of state_size().
  /// A cell with step constants (an AttentionWrapper) checks `batch` against their batch
  /// (TF's "Non-matching batch sizes" text; tile them for beam search) and may start from
  /// something other than zeros (initial_state_of).
  [[nodiscard]] State zero_state(std::int64_t batch) const;
  /// What zero_state returns once the batch is checked: zeros unless overridden (an
  /// AttentionWrapper's initial_cell_state).
  [[nodiscard]] virtual State initial_state_of(std::int64_t batch) const;
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

  [[nodiscard]] StateSize state_size() const override { return units_; }
  [[nodiscard]] std::int64_t output_size() const override { return units_; }
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return scope_.built(); }
  [[nodiscard]] std::int64_t projection_size() const override { return 3 * units_; }
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  /// Writes the new state and, when args.output.data is set, the same values as the output.
  /// When args.saved.data is set (a recorded step), also writes the backward pass's activations there.
  void step(const StepArgs& args, Workspace& workspace) const override;
  /// 4H: the step's gates, candidate and r*h, so backward_activations copies instead of recomputing.
  [[nodiscard]] std::int64_t forward_saved_size() const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override { return variables(); }
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
  // Packed copies of the x-rows and h-rows of both kernels (see PackedWeights), and the
  // transposes of the h-rows for step_backward.
  PackedWeights gates_x_, candidate_x_, gates_h_t_, candidate_h_t_;
  PackedWeights gates_h_{PackedWeights::EveryStep{}}, candidate_h_{PackedWeights::EveryStep{}};  // every step
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

  [[nodiscard]] StateSize state_size() const override { return units_; }
  [[nodiscard]] std::int64_t output_size() const override { return units_; }
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return scope_.built(); }
  [[nodiscard]] std::int64_t projection_size() const override { return 3 * units_; }
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  /// Writes the new state and, when args.output.data is set, the same values as the output.
  void step(const StepArgs& args, Workspace& workspace) const override;
  [[nodiscard]] std::vector<Variable> gradient_variables() const override { return variables(); }
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
  /// The cell's state structure with [B, size] leaves (a tensor [B, H] for a GRU); default zeros.
  std::optional<State> initial_state;
  /// Variable scope for the cell (tf.nn.dynamic_rnn's scope, default "rnn"); "" = the current scope.
  std::string scope = "rnn";
};

struct RNNResult {
  Tensor outputs;     ///< [B, T, output_size]; rows past a sequence's length are zero
  State final_state;  ///< the state at step len-1 (the initial state when len is 0), every leaf copied through
};

/// tf.nn.dynamic_rnn over inputs [B, T, D] (batch major).
RNNResult dynamic_rnn(RNNCell& cell, const Tensor& inputs, DynamicRNNOptions options = {});

/// Keyword arguments of bidirectional_dynamic_rnn (batch major; TF's time_major=False).
struct BidirectionalRNNOptions {
  /// int32 [B]; lengths in [0, T]. Empty: every sequence has length T (the backward
  /// pass then reads the whole padded row reversed, padding first, as TF does).
  std::optional<Tensor> sequence_length;
  /// cell_fw's / cell_bw's state structure with [B, size] leaves; default zeros.
  std::optional<State> initial_state_fw, initial_state_bw;
  /// Variable scope of both directions (TF's default "bidirectional_rnn"); "" = the current scope.
  std::string scope = "bidirectional_rnn";
};

struct BidirectionalRNNResult {
  /// first: cell_fw's outputs [B, T, fw output_size], as dynamic_rnn gives them.
  /// second: cell_bw's outputs [B, T, bw output_size], back in input time order: row b at
  /// step t is the bw output after reading steps len[b]-1 down to t; 0 for t >= len[b].
  /// TF's `tf.concat(outputs, 2)` is `concat({outputs.first, outputs.second}, 2)`.
  std::pair<Tensor, Tensor> outputs;
  /// State::tuple({state_fw, state_bw}): output_states[0] is the fw state after step
  /// len-1, output_states[1] the bw state after reading step 0 (the first token).
  State output_states;
};

/// tf.nn.bidirectional_dynamic_rnn over inputs [B, T, D] (batch major), TF 1.15's structure:
/// in variable_scope(scope), dynamic_rnn(cell_fw) runs in the re-entered scope "fw" and
/// dynamic_rnn(cell_bw) in "bw" (no extra "rnn" level: `bidirectional_rnn/fw/basic_lstm_cell/kernel`),
/// the bw pass over reverse_sequence(inputs, sequence_length, 1, 0) (reverse(inputs, 1)
/// without lengths), its outputs reversed back the same way. Recorded by an active
/// GradientTape through those ops. `auto [outputs, states] = bidirectional_dynamic_rnn(fw, bw, x);`
BidirectionalRNNResult bidirectional_dynamic_rnn(RNNCell& cell_fw, RNNCell& cell_bw, const Tensor& inputs,
                                                 BidirectionalRNNOptions options = {});

}  // namespace varscope

namespace varscope::detail {
/// The one recurrence loop, for dynamic_rnn and the teacher-forced decoder: `steps`
/// steps over B rows. Row b steps while t < active[b]; after that its output row is
/// zero and its packed state row is copied through (every leaf: TF's rule).
struct Recurrence {
  const RNNCell& cell;
  std::int64_t batch = 0, time = 0, steps = 0;  ///< B, T of the projection; the loop length (<= T)
  std::span<const std::int64_t> active;
  const float* projection = nullptr;  ///< [B*T, P]: step t of row b is row b*T + t
};
/// Caller-owned buffers, sized once per call.
struct RecurrenceBuffers {
  float* state = nullptr;  ///< [B, S]: the initial packed state on entry
  float* next = nullptr;   ///< [B, S] scratch
  std::int64_t state_size = 0;
  float* outputs = nullptr;  ///< [B, outputs_time, O]; rows t < steps are written
  std::int64_t outputs_time = 0, output_size = 0;
  float* saved_states = nullptr;  ///< [(steps + 1) * B, S] (the state before each step, then the final one) or null
  float* saved = nullptr;         ///< [steps * B, F] or null
  std::int64_t saved_size = 0;
};
/// Runs the loop; returns the buffer (state or next) that holds the final packed state.
float* run_recurrence(const Recurrence& r, const RecurrenceBuffers& io, Workspace& workspace);

/// The loops' per-thread scratch (the input projection, the step workspace): kept
/// between calls on a thread; a nested call (a cell that runs a loop in its step)
/// gets its own.
class RecurrenceScratch {
 public:
  RecurrenceScratch();
  ~RecurrenceScratch();
  RecurrenceScratch(const RecurrenceScratch&) = delete;
  RecurrenceScratch& operator=(const RecurrenceScratch&) = delete;
  [[nodiscard]] Workspace& projection() noexcept { return *projection_; }
  [[nodiscard]] Workspace& steps() noexcept { return *steps_; }

 private:
  bool* flag_ = nullptr;
  Workspace* projection_ = nullptr;
  Workspace* steps_ = nullptr;
  std::unique_ptr<Workspace[]> own_;
};

/// Records one backward entry for a recurrence run by run_recurrence (BPTT):
/// `outputs` [B, T_out, O] (or [B, O] for a single cell call) and every leaf of
/// `final_state` get ids. Row b is active at step t when t < active_length[b]: an
/// inactive step emitted a zero output and copied the state, so no gradient flows
/// into the cell there and the state's gradient passes through unchanged (TF's
/// _SelectGrad). `projection` [B*T, P] (row b*T + t), `states` [(steps + 1) * B, S]
/// (packed state before step t at rows t*B ...) and `saved` [steps * B, F] are the
/// forward's. `inputs` [B, T, D] is the value the projection was made from;
/// `tracked_inputs` is the tensor whose gradient receives dx (the same tensor, or
/// the [B, D] input of a single cell call); `initial_state` is null when the loop
/// started from zeros.
void record_recurrence(const RNNCell& cell, OpInput tracked_inputs, const Tensor& inputs, const State* initial_state,
                       Tensor projection, Tensor states, Tensor saved, std::vector<std::int64_t> active_length,
                       std::int64_t steps, Tensor& outputs, State& final_state);
/// The shared body of dynamic_rnn and the teacher-forced decoder, on a built cell: the
/// input half of every step at once (inputs [B, T, D]), the packed initial state (zeros
/// when null; a wrong one is a ShapeMismatchError labelled `what`), run_recurrence for
/// `steps` steps with row b active while t < active[b] into `outputs` [B, T_out, O]
/// (rows t < steps written), and, under a GradientTape, its one BPTT entry. Returns the
/// final state.
State run_recorded_recurrence(RNNCell& cell, const Tensor& inputs, const State* initial_state, const char* what,
                              std::vector<std::int64_t> active, std::int64_t steps, Tensor& outputs);
}  // namespace varscope::detail
