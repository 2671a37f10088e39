// varscope.nmt — the tensorflow/nmt tutorial's model (nmt/model.py, model_helper.py and
// attention_model.py at 0be864257a76), in C++ with nmt's variable names
// (../shared/SPEC-cells-state.md §5):
//
//   embeddings/embedding_share [V, E]                    (share_vocab; else encoder/embedding_encoder,
//                                                         decoder/embedding_decoder)
//   dynamic_seq2seq/encoder/rnn/...                      uni encoder (dynamic_rnn)
//   dynamic_seq2seq/encoder/bidirectional_rnn/{fw,bw}/... bi encoder (num_layers / 2 per direction)
//   dynamic_seq2seq/decoder/[multi_rnn_cell/cell_<i>/]basic_lstm_cell/{kernel,bias}
//   dynamic_seq2seq/decoder/output_projection/kernel [num_units, V]   (Dense, no bias)
// With attention (attention_model.py, the "standard" architecture):
//   dynamic_seq2seq/decoder/memory_layer/kernel          (the mechanism, built in the decoder scope)
//   dynamic_seq2seq/decoder/attention/[multi_rnn_cell/cell_<i>/]basic_lstm_cell/{kernel,bias}
//   dynamic_seq2seq/decoder/attention/{luong_attention/attention_g | bahdanau_attention/...}
//   dynamic_seq2seq/decoder/attention/attention_layer/kernel [num_units + memory depth, num_units]
//
// One graph holds both modes: train_logits (nmt's TRAIN: TrainingHelper + BasicDecoder,
// then the output layer) creates the variables; beam_search / greedy (nmt's INFER) rebuild
// the same functions under reuse=True and create nothing. The decoder starts from the
// encoder state: (state_fw, state_bw) for one bi layer, (fw_0, bw_0, fw_1, bw_1, ...)
// otherwise (nmt model.py l.769-794); with attention it starts from zero_state().clone(cell_state =
// encoder state) (pass_hidden_state) and attends over the encoder outputs; beam search tiles
// memory, lengths and state, and rebuilds the mechanism in the re-entered decoder scope under
// reuse, nmt's own pattern (it finds memory_layer again: no memory_layer_1). Dropout is nmt's: a DropoutWrapper
// (input_keep_prob = 1 - dropout) around each layer in TRAIN only; TF 1.x has no is_training,
// and the inference decoders build the same cells without the wrapper, which adds no scope
// level, so they read the same variables with dropout off.
module;
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
export module varscope.nmt;
import varscope;

export namespace varscope::nmt {

/// The hparams nmt's model reads (nmt.py's flags; TF's names).
struct Hparams {
  std::string unit_type = "lstm";   ///< lstm (BasicLSTMCell) | gru (GRUCell)
  std::string encoder_type = "bi";  ///< uni | bi (num_layers must be even: num_layers / 2 per direction)
  std::int64_t num_units = 32;
  std::int64_t num_layers = 2;      ///< encoder and decoder layers (nmt's num_encoder_layers == num_decoder_layers)
  bool residual = false;            ///< num_residual_layers = num_layers - 1 (the top layers are wrapped)
  float forget_bias = 1.0f;
  float dropout = 0.0f;             ///< TRAIN only: DropoutWrapper(input_keep_prob = 1 - dropout) per layer; in [0, 1)
  float init_weight = 0.1f;         ///< init_op "uniform": the root scope's initializer is U(-w, w)
  std::int64_t embed_size = 0;      ///< 0 = num_units (nmt's src_embed_size = tgt_embed_size = num_units)
  std::int64_t src_vocab_size = 0, tgt_vocab_size = 0;
  bool share_vocab = true;          ///< one `embedding_share` (src and tgt vocab sizes must agree)
  std::int32_t tgt_sos_id = 1, tgt_eos_id = 2;
  std::int64_t tgt_max_len_infer = 12;  ///< maximum_iterations of the inference decoders
  /// "" (no attention) | luong | scaled_luong | bahdanau | normed_bahdanau (attention_model.py's
  /// create_attention_mechanism; architecture "standard": AttentionWrapper(name="attention",
  /// attention_layer_size=num_units)).
  std::string attention;
  bool output_attention = true;   ///< the wrapper's output is the attention (else the cell's)
  bool pass_hidden_state = true;  ///< with attention: start from the encoder state (else zeros)
  /// The model's scope: nullopt = production (`embeddings/...`, `dynamic_seq2seq/...`);
  /// model_test.py passes scope='dynamic_seq2seq', which puts the embeddings under it too.
  std::optional<std::string> scope;

  /// InvalidArgumentError naming the field for a value nmt rejects.
  void check() const;
  [[nodiscard]] std::int64_t num_residual_layers() const { return residual ? num_layers - 1 : 0; }
};

/// model_helper.create_rnn_cell's result: `cell` is the bare cell for one layer, else a
/// MultiRNNCell; `parts` owns every cell and wrapper it references.
struct RNNCellStack {
  std::vector<std::unique_ptr<RNNCell>> parts;
  RNNCell* cell = nullptr;
  [[nodiscard]] RNNCell& operator*() const { return *cell; }
};
/// tf.contrib.learn.ModeKeys: dropout applies in TRAIN only.
enum class Mode { train, infer };

/// model_helper.create_rnn_cell(unit_type, num_units, num_layers, num_residual_layers,
/// forget_bias, dropout, mode): in TRAIN with dropout > 0 each layer is wrapped in a
/// DropoutWrapper(input_keep_prob = 1 - dropout) (seeded with dropout_seed + layer when given);
/// layer i is then wrapped in a ResidualWrapper when i >= num_layers - num_residual_layers.
[[nodiscard]] RNNCellStack create_rnn_cell(const std::string& unit_type, std::int64_t num_units,
                                           std::int64_t num_layers, std::int64_t num_residual_layers,
                                           float forget_bias, float dropout = 0.0f, Mode mode = Mode::infer,
                                           std::optional<std::uint64_t> dropout_seed = std::nullopt);

/// nmt's model.Model (no attention) in the current default graph.
class Model {
 public:
  explicit Model(Hparams hparams);
  [[nodiscard]] const Hparams& hparams() const noexcept { return hp_; }

  /// TRAIN: the logits [B, T, tgt_V] of the teacher-forced decoder on target_input (ids
  /// [B, T], SOS first) with target lengths [B]. Creates the variables when the enclosing
  /// scope allows (call it under AUTO_REUSE to train step after step). With hparams.dropout
  /// > 0 the cells are wrapped in DropoutWrappers; `dropout_seed` (e.g. the global step) makes
  /// the masks a function of it, else they come from the graph's op seeds.
  [[nodiscard]] Tensor train_logits(const Tensor& source, const Tensor& source_length, const Tensor& target_input,
                                    const Tensor& target_length,
                                    std::optional<std::uint64_t> dropout_seed = std::nullopt);
  /// INFER, infer_mode beam_search: BeamSearchDecoder over tile_batch(encoder_state, beam_width),
  /// under reuse=True (NotFoundError if the model has not been built).
  [[nodiscard]] BeamSearchResult beam_search(const Tensor& source, const Tensor& source_length,
                                             std::int64_t beam_width, float length_penalty_weight = 0.0f,
                                             std::int64_t num_hypotheses = 1);
  /// INFER, infer_mode greedy: GreedyEmbeddingHelper + BasicDecoder with the output layer, reuse=True.
  /// With attention, BasicDecodeResult::alignment_history holds the alignments (nmt's
  /// alignment_history = INFER and not beam search).
  [[nodiscard]] BasicDecodeResult greedy(const Tensor& source, const Tensor& source_length);
  /// INFER with any strategy (greedy, beam, sampling: decode()): the same cell, embedding and
  /// output_projection as beam_search / greedy, reuse=True; maximum_iterations defaults to
  /// tgt_max_len_infer.
  [[nodiscard]] DecodingResult decode(const Tensor& source, const Tensor& source_length, DecodingOptions options);

 private:
  struct Embeddings {
    Tensor encoder, decoder;
  };
  struct Encoded {
    Tensor outputs;
    State state;
  };
  Embeddings init_embeddings();
  Encoded build_encoder(const Embeddings& e, const Tensor& source, const Tensor& source_length, Mode mode,
                        std::optional<std::uint64_t> dropout_seed);
  /// _build_decoder_cell: the decoder's cell stack (wrapped in an AttentionWrapper with
  /// attention) and its initial state; beam_width > 0 tiles memory, lengths and state.
  struct DecoderCell {
    RNNCellStack stack;
    std::unique_ptr<AttentionMechanism> mechanism;
    std::unique_ptr<AttentionWrapper> wrapper;
    State initial_state;
    [[nodiscard]] RNNCell& cell() const { return wrapper ? static_cast<RNNCell&>(*wrapper) : *stack; }
  };
  DecoderCell build_decoder_cell(const Encoded& enc, const Tensor& source_length, Mode mode, bool greedy_infer,
                                 std::int64_t beam_width, std::optional<std::uint64_t> dropout_seed);
  Hparams hp_;
};

}  // namespace varscope::nmt
