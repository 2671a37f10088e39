// varscope:attention — tf.contrib.seq2seq's attention (TF 1.15): BahdanauAttention and
// LuongAttention bound to an encoder memory, and AttentionWrapper, an RNNCell whose state is
// an AttentionWrapperState (a nest of kind attention_wrapper_state). Design and the math per
// step: docs/design/issue-21-attention.md; the contract: SPEC-training-attention §A1-§A6.
//
//   BahdanauAttention mech(A, encoder_outputs, source_length);     // creates memory_layer/kernel HERE
//   AttentionWrapper cell(gru, mech, {.attention_layer_size = L});  // a cell: dynamic_rnn, decoders
//   State s0 = AttentionWrapperState::from(cell.zero_state(B)).clone({.cell_state = encoder_state});
//
// Where the variables go (TF's places): memory_layer/kernel in the scope current when the
// mechanism is CONSTRUCTED (uniquified like TF: a second mechanism gives memory_layer_1, the
// trap docs/attention.md shows); everything else at the wrapper's first call, under
// <scope>/attention_wrapper/: the inner cell, bahdanau_attention/{query_layer/kernel,
// attention_v[, attention_g, attention_b]} or luong_attention/attention_g (scale only), and
// attention_layer/kernel. For beam search, bind the mechanism to the TILED memory
// (setup_memory(tile_batch(memory, K), tile_batch(lengths, K))) and take zero_state(B * K).
module;
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
export module varscope:attention;
import :errors;
import :tensor;
import :init;
import :store;
import :autograd;
import :scope;
import :kernels;
import :ops;
import :nest;
import :layers;
import :rnn;

export namespace varscope {

/// Which score function a mechanism uses.
enum class AttentionKind : std::uint8_t { luong, bahdanau };

/// What a mechanism is bound to: built once per memory (constructor or setup_memory) and
/// shared with the tape entries of the recurrences that read it.
struct AttentionMemory {
  Tensor values;                      ///< [B, T, Dm]: the memory with rows at or past a length zeroed
  Tensor keys;                        ///< [B, T, A]: memory_layer(values)
  std::vector<std::int64_t> lengths;  ///< per batch row, in [1, T]
  std::int64_t batch = 0, time = 0, depth = 0, units = 0;
};

/// What BahdanauAttention and LuongAttention share: the memory_layer, made in the constructor,
/// and the bound memory. The score's own variables are made by the AttentionWrapper's build.
class AttentionMechanism {
 public:
  virtual ~AttentionMechanism() = default;
  AttentionMechanism(const AttentionMechanism&) = delete;
  AttentionMechanism& operator=(const AttentionMechanism&) = delete;

  [[nodiscard]] AttentionKind kind() const noexcept { return kind_; }
  /// Luong's scale / Bahdanau's normalize.
  [[nodiscard]] bool scaled_or_normalized() const noexcept { return flag_; }
  [[nodiscard]] std::int64_t num_units() const noexcept { return units_; }
  /// The memory's batch (B, or B * beam_width when tiled for beam search).
  [[nodiscard]] std::int64_t batch_size() const noexcept { return memory_->batch; }
  /// T, the memory's time steps (the width of the alignments).
  [[nodiscard]] std::int64_t alignments_size() const noexcept { return memory_->time; }
  /// Dm, the memory's depth (the context's width).
  [[nodiscard]] std::int64_t values_depth() const noexcept { return memory_->depth; }
  [[nodiscard]] const Tensor& values() const noexcept { return memory_->values; }
  [[nodiscard]] const Tensor& keys() const noexcept { return memory_->keys; }
  /// int32 [B]: the lengths given (T for every row when none was).
  [[nodiscard]] Tensor memory_sequence_length() const;
  [[nodiscard]] const std::shared_ptr<const AttentionMemory>& bound_memory() const noexcept { return memory_; }
  /// TF 2's setup_memory: binds the mechanism to another memory (the next batch, or
  /// tile_batch(memory, K) for beam search) with the SAME memory_layer, creating nothing: the
  /// way to share one mechanism between a training and a beam-search decoder. The new memory
  /// must have the same depth. Wrappers already recorded on a tape keep the memory they read.
  /// Not safe while another thread decodes with a wrapper over this mechanism (the binding is
  /// replaced); give each thread its own mechanism (they can share memory_layer's variables by
  /// being built in the same named scope under reuse).
  void setup_memory(const Tensor& memory, std::optional<Tensor> memory_sequence_length = std::nullopt);
  [[nodiscard]] const Dense& memory_layer() const noexcept { return memory_layer_; }
  /// "bahdanau_attention" / "luong_attention": the default name of the score's scope.
  [[nodiscard]] std::string score_scope_name() const;
  /// "BahdanauAttention" / "LuongAttention".
  [[nodiscard]] std::string class_name() const;

 protected:
  AttentionMechanism(AttentionKind kind, std::int64_t num_units, const Tensor& memory,
                     std::optional<Tensor> memory_sequence_length, bool flag);

 private:
  AttentionKind kind_;
  std::int64_t units_;
  bool flag_;
  Dense memory_layer_;
  std::shared_ptr<const AttentionMemory> memory_;
};

/// tf.contrib.seq2seq.BahdanauAttention(num_units, memory, memory_sequence_length, normalize):
/// score[b, t] = v · tanh(keys[b, t] + query_layer(h)[b]); normalize: v → g·v/||v||, + b
/// inside the tanh. The constructor creates <current scope>/memory_layer/kernel [Dm, A].
/// Errors: memory not float32 [B, T, Dm] (TF's "Expected memory ... fully defined inner
/// dims"), a length outside [1, T] (TF's "All values in memory_sequence_length must be
/// greater than zero.", naming the row).
class BahdanauAttention : public AttentionMechanism {
 public:
  BahdanauAttention(std::int64_t num_units, const Tensor& memory,
                    std::optional<Tensor> memory_sequence_length = std::nullopt, bool normalize = false);
};

/// tf.contrib.seq2seq.LuongAttention(num_units, memory, memory_sequence_length, scale):
/// score[b, t] = h[b] · keys[b, t] (× attention_g with scale). The cell's output depth must
/// equal num_units (TF's "Incompatible or unknown inner dimensions" at the wrapper's build).
class LuongAttention : public AttentionMechanism {
 public:
  LuongAttention(std::int64_t num_units, const Tensor& memory,
                 std::optional<Tensor> memory_sequence_length = std::nullopt, bool scale = false);
};

/// Keyword arguments of tf.contrib.seq2seq.AttentionWrapper.
struct AttentionWrapperOptions {
  /// L: attention = [cell output, context] @ attention_layer/kernel [D + Dm, L]. Unset:
  /// attention = context (L = Dm), no layer.
  std::optional<std::int64_t> attention_layer_size;
  /// TF records every step's alignments in a TensorArray in the state. Here the state keeps
  /// the field `()` (its packed layout has no growing part) and the decoders record the
  /// alignments instead: BasicDecodeResult::alignment_history (greedy). dynamic_rnn and the
  /// TrainingHelper's loop record nothing for it.
  bool alignment_history = false;
  /// The cell's output: the attention (true, TF's default) or the inner cell's output.
  bool output_attention = true;
  /// zero_state's cell_state (TF's initial_cell_state); its batch must be the memory's.
  std::optional<State> initial_cell_state;
  /// The wrapper's scope: "" is the default name `attention_wrapper` (uniquified per parent);
  /// tensorflow/nmt passes "attention".
  std::string name;
};

/// tf.contrib.seq2seq.AttentionWrapper(cell, attention_mechanism, ...): an RNNCell. One step
/// (TF 1.15's call order): cell_output, cell_state' = cell(concat(x, attention), cell_state);
/// alignments = softmax(score(cell_output)) over the memory (exactly 0 past a length);
/// context = alignments · values; attention = attention_layer([cell_output, context]);
/// output = attention (or cell_output). Its state is an AttentionWrapperState. The mechanism
/// must outlive the wrapper's calls; a recorded call keeps the memory it read alive.
class AttentionWrapper : public RNNCell {
 public:
  /// ShapeMismatchError when initial_cell_state's batch is not the memory's (TF's text).
  AttentionWrapper(RNNCell& cell, AttentionMechanism& mechanism, AttentionWrapperOptions options = {});

  /// AttentionWrapperState(cell_state = cell.state_size(), attention = L, time = 1,
  /// alignments = T, alignment_history = (), attention_state = T).
  [[nodiscard]] StateSize state_size() const override;
  [[nodiscard]] std::int64_t output_size() const override;
  void build(std::int64_t input_dim) override;
  [[nodiscard]] bool built() const override { return scope_.built(); }
  /// The inputs themselves: the inner cell projects concat(x, attention) inside the step.
  [[nodiscard]] std::int64_t projection_size() const override;
  void project_inputs(ConstMatrixView x, MatrixView out) const override;
  [[nodiscard]] std::int64_t forward_saved_size() const override;
  void step(const StepArgs& args, Workspace& workspace) const override;
  /// The inner cell's, then the score's (query_layer/kernel, attention_v, attention_g,
  /// attention_b / attention_g), then attention_layer/kernel. memory_layer's gradient flows
  /// through the keys (a step constant) to the Dense that made them.
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
  /// {keys, values} of the bound memory.
  [[nodiscard]] std::vector<Tensor> step_constants() const override;
  [[nodiscard]] std::optional<std::int64_t> constant_batch() const override;
  [[nodiscard]] std::string describe_constants() const override;
  /// The alignments' columns (after cell_state, attention and time); `history` as the option.
  [[nodiscard]] std::optional<AlignmentColumns> alignment_columns() const override;
  /// zeros, with cell_state = initial_cell_state when one was given.
  [[nodiscard]] State initial_state_of(std::int64_t batch) const override;

  [[nodiscard]] const AttentionWrapperOptions& options() const noexcept { return options_; }
  /// L, the attention's width.
  [[nodiscard]] std::int64_t attention_size() const noexcept;
  [[nodiscard]] const VariableScope& scope() const { return scope_.scope(); }
  /// Every variable the wrapper made (not memory_layer), in creation order.
  [[nodiscard]] std::vector<Variable> variables() const { return gradient_variables(); }

 private:
  AttentionWrapper() = default;  // clone()
  // Column offsets, fixed at build: the packed state, what a step saves, the activations.
  // What follows the alignments depends on the bound memory's T (setup_memory may change it):
  // attention_state at alignments + T, the saved alignments' end at align + T.
  struct Layout {
    std::int64_t cell_state = 0, attention = 0, time = 0, alignments = 0;
    std::int64_t cell_saved = 0, u = 0, h = 0, context = 0, align = 0;
    std::int64_t cell_acts = 0, cell_projection = 0, d_att = 0, extra = 0, acts = 0;
  };
  const AttentionMemory& memory() const { return frozen_ ? *frozen_ : *mechanism_->bound_memory(); }
  // Bahdanau's v' = v (or g v / ||v||), A floats, into `out`.
  void effective_v(float* out) const;

  RNNCell* mutable_cell_ = nullptr;  // the caller's cell (null in a clone)
  const RNNCell* cell_ = nullptr;
  std::shared_ptr<const RNNCell> owned_;
  const AttentionMechanism* mechanism_ = nullptr;    // the caller's (null in a clone)
  std::shared_ptr<const AttentionMemory> frozen_;    // a clone's memory
  AttentionKind kind_ = AttentionKind::luong;
  bool flag_ = false;                                // scale / normalize
  std::int64_t units_ = 0;                           // A
  std::int64_t memory_depth_ = 0;                    // Dm (setup_memory keeps it)
  AttentionWrapperOptions options_;
  LayerScope scope_{"", "attention_wrapper"};
  std::int64_t input_dim_ = -1;
  Layout layout_;
  std::optional<Variable> query_kernel_, attention_v_, attention_g_, attention_b_, attention_kernel_;
  // Packed copies of query_layer's and attention_layer's kernels for the per-step products
  // (see PackedWeights); clones share them.
  PackedWeights query_packed_{PackedWeights::EveryStep{}}, attention_packed_{PackedWeights::EveryStep{}};  // every step
};

/// Field replacements for AttentionWrapperState::clone (TF's clone(**kwargs)).
struct AttentionWrapperStateFields {
  std::optional<State> cell_state;
  std::optional<Tensor> attention, time, alignments, attention_state;
};

/// TF 1.15's AttentionWrapperState namedtuple, as a view of the State nest: 6 fields in TF's
/// order. `time` is a float32 [B, 1] column here (TF: an int32 scalar), exact to 2^24 steps,
/// the same in every row, so the packed state keeps one layout and beam search may gather it.
/// `alignment_history` is `()` (see AttentionWrapperOptions::alignment_history).
struct AttentionWrapperState {
  State cell_state;
  Tensor attention, time, alignments;
  State alignment_history;
  Tensor attention_state;

  /// The State of kind attention_wrapper_state.
  operator State() const;  // NOLINT: implicit on purpose
  /// The fields of a State of kind attention_wrapper_state. TF's TypeError text otherwise
  /// ("Expected state to be instance of AttentionWrapperState. Received type ... instead.").
  [[nodiscard]] static AttentionWrapperState from(const State& s);
  /// TF's clone(cell_state=...): replaces fields; a replacement whose leaf shapes differ from
  /// the field's is TF's "Invalid shape for tensor %s, expected %s, got %s." (ShapeMismatchError).
  [[nodiscard]] AttentionWrapperState clone(const AttentionWrapperStateFields& fields) const;
};

}  // namespace varscope
