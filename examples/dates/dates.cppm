// varscope.dates — the date-normalisation model (issue 12) shared by the CLI
// (`varscope train|decode|eval --task dates`, tools/varscope-cli/dates.cpp) and the
// browser bindings (wasm/bindings.cpp): the article's Seq2Seq at the task's sizes,
// batching, checkpoint metadata, loading a checkpoint (file or text), one training
// step (Adam + clip_by_global_norm) and prediction. Both front ends compile this
// module, so the browser decodes and trains exactly as the CLI does.
//
// No object here keeps its graph as the thread's default: every method enters
// `graph.as_default()` for its own duration, so several models can live side by
// side (the browser keeps the default model and a training one).
module;
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
export module varscope.dates;
import varscope;
export import varscope.dates.data;  // the task (varscope::data): importers of the model get it too
import varscope.article;
import varscope.nmt;

export namespace varscope::dates {

inline constexpr std::int64_t kTargetLen = 10;        ///< YYYY-MM-DD
inline constexpr std::int64_t kMaxSourceChars = 128;  ///< longer inputs are an error, not a slow decode
inline constexpr const char* kModelName = "varscope.article.seq2seq";
/// metadata.model of the nmt-shaped model (issue 20, examples/nmt): the keys cell, layers,
/// bidirectional and residual say which one. Checkpoints without them are the article's GRU.
inline constexpr const char* kNmtModelName = "varscope.nmt";

/// Hyper-parameters stored in a dates checkpoint's metadata.
struct Hyper {
  std::int64_t hidden = 128, embedding = 64, batch = 64;
  std::uint64_t seed = 1;
  float learning_rate = 0.003f, clip_norm = 5.0f;
  /// Beyond the article (issue 20): true trains tensorflow/nmt's model (varscope.nmt) with
  /// `cell` (gru | lstm) units, `layers` encoder and decoder layers, a bidirectional encoder
  /// (layers / 2 per direction; layers must be even) and residual top layers. false: the
  /// article's one-layer GRU Seq2Seq (the other fields are then unused).
  bool nmt = false;
  std::string cell = "gru";
  std::int64_t layers = 1;
  bool bidirectional = false, residual = false;
  /// nmt's dropout (TRAIN only: DropoutWrapper(input_keep_prob = 1 - dropout) per layer),
  /// masks seeded by the global step (a resumed run draws what a straight run draws).
  float dropout = 0.0f;
  /// nmt's attention ("" none | luong | scaled_luong | bahdanau | normed_bahdanau): an
  /// AttentionWrapper over the encoder outputs (tensorflow/nmt's standard architecture).
  std::string attention;
};

/// The nmt hparams of a dates model (num_units = hidden, embed_size = embedding, the shared
/// vocabulary, BOS/EOS, maximum_iterations kTargetLen + 2).
[[nodiscard]] nmt::Hparams nmt_hparams(const Hyper& h, std::int64_t vocab_size);
/// "the article's Seq2Seq (1-layer GRU)" or
/// "tensorflow/nmt's model [bi LSTM encoder, 1 layer each way; 2-layer LSTM decoder; residual]".
[[nodiscard]] std::string describe(const Hyper& h);

/// Encoder inputs padded with PAD; decoder inputs BOS + target; targets target + EOS.
struct Batch {
  Tensor enc, enc_len, dec, dec_len, targets, weights;
  std::int64_t tokens = 0;  ///< source + target tokens (for tokens/s)
};

/// A batch from encoded sources; `targets` (ISO strings) empty for decoding only.
[[nodiscard]] Batch make_batch(const std::vector<std::vector<std::int32_t>>& sources,
                               const std::vector<std::string>& targets, const data::Vocabulary& vocab);

/// The article's Seq2Seq block (or, with Hyper::nmt, nmt's model) in its own seeded graph,
/// at the task's sizes.
class Model {
 public:
  Model(const Hyper& h, std::int64_t vocab_size);
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  [[nodiscard]] Graph& graph() noexcept { return *graph_; }
  [[nodiscard]] const article::Seq2SeqConfig& config() const noexcept { return config_; }
  /// The nmt-shaped model, or null for the article's.
  [[nodiscard]] nmt::Model* nmt_model() noexcept { return nmt_.get(); }

  /// Training-decoder logits (creates the variables on first use: AUTO_REUSE).
  [[nodiscard]] Tensor train_logits(const Batch& b, std::optional<std::uint64_t> dropout_seed = std::nullopt);
  /// The beam-search decoder (beam 1 = greedy), reuse=True: creates nothing.
  [[nodiscard]] BeamSearchResult generate(const Batch& b, std::int64_t beam, std::int64_t n_best, float length_penalty);
  /// Any decoding strategy (greedy, beam, sampling: varscope::decode), reuse=True.
  [[nodiscard]] DecodingResult decode(const Batch& b, const DecodingOptions& options);
  /// The article's block with both decoders built on the same batch (reuse=True, frozen
  /// graph): what each decoder's layers hold, for the shared-variable fingerprints.
  /// `b.dec` / `b.dec_len` are the teacher-forced decoder inputs.
  [[nodiscard]] article::Seq2SeqOutputs shared_decoders(const Batch& b, std::int64_t beam);
  /// Creates every model variable (a forward pass of the training decoder on one row).
  void build(const data::Vocabulary& vocab);

 private:
  std::unique_ptr<Graph> graph_;
  article::Seq2SeqConfig config_;
  std::optional<Variable> embedding_;  ///< the article's model only
  std::unique_ptr<nmt::Model> nmt_;
};

/// Metadata JSON text written with a dates checkpoint.
[[nodiscard]] std::string metadata_json(const Hyper& h, const data::Vocabulary& vocab);
/// Checks a checkpoint's metadata object (JSON text) and reads it; another model's
/// checkpoint is an InvalidArgumentError naming `where` and the fix.
[[nodiscard]] std::pair<Hyper, data::Vocabulary> parse_metadata(const std::string& metadata_text,
                                                                 const std::string& where);
/// parse_metadata of the checkpoint file at `path`.
[[nodiscard]] std::pair<Hyper, data::Vocabulary> read_metadata(const std::string& path);
/// parse_metadata of checkpoint text in memory (`source` names it in errors).
[[nodiscard]] std::pair<Hyper, data::Vocabulary> read_metadata_from_string(const std::string& checkpoint_text,
                                                                           const std::string& source);

/// A dates model restored for decoding: every model variable must be present (the
/// optimizer's state in the checkpoint is ignored).
struct Loaded {
  Hyper hyper;
  data::Vocabulary vocab;
  std::unique_ptr<Model> model;
};
[[nodiscard]] Loaded load_for_decoding(const std::string& path);
[[nodiscard]] Loaded load_for_decoding_from_string(const std::string& checkpoint_text, const std::string& source);

/// One checked input: its ids, and the characters read as UNK (UTF-8, may be empty).
struct EncodedInput {
  std::vector<std::int32_t> ids;
  std::string unknown;
};
/// Empty (blank) text, invalid UTF-8 or more than kMaxSourceChars code points is an
/// InvalidArgumentError naming `label` (e.g. "input 2").
[[nodiscard]] EncodedInput encode_input(const std::string& text, const data::Vocabulary& vocab,
                                        const std::string& label);

/// The top hypothesis of one input.
struct Prediction {
  std::string text;
  float score = 0.0f;
};
/// Top hypothesis for each sample (beam 1 = greedy), in batches of `batch`.
[[nodiscard]] std::vector<Prediction> predict(Model& m, const data::Vocabulary& vocab,
                                              const std::vector<data::DateSample>& set, std::int64_t beam,
                                              std::int64_t batch);
/// Exact-match fraction of `p` against the samples' targets.
[[nodiscard]] double accuracy(const std::vector<Prediction>& p, const std::vector<data::DateSample>& set);

/// The training batch of step `step`: a function of (seed, step) only (data::draw_sample
/// from a generator seeded by them).
[[nodiscard]] std::vector<data::DateSample> training_batch(const std::vector<data::Date>& pool, std::uint64_t seed,
                                                           std::int64_t step, std::int64_t n);
/// That batch encoded with `vocab` and padded (make_batch): what Trainer::step trains on at
/// global_step `step`, and what `varscope dev dump-batches` writes for the PyTorch peer.
[[nodiscard]] Batch training_step_batch(const std::vector<data::Date>& pool, std::uint64_t seed, std::int64_t step,
                                        std::int64_t n, const data::Vocabulary& vocab);

/// A model with its Adam optimizer and global_step: from scratch, or resumed from a
/// checkpoint holding the model AND the optimizer state (strict restore).
class Trainer {
 public:
  Trainer(const Hyper& h, const data::Vocabulary& vocab);
  /// Resumes from checkpoint text (its metadata's hyper-parameters and vocabulary win).
  [[nodiscard]] static std::unique_ptr<Trainer> from_checkpoint_text(const std::string& text, const std::string& source);
  /// Resumes from a checkpoint file.
  [[nodiscard]] static std::unique_ptr<Trainer> from_checkpoint_file(const std::string& path);

  struct StepResult {
    double loss = 0.0;
    std::int64_t tokens = 0;
  };
  /// One step at global_step (forward, backward, clip_by_global_norm, Adam) on
  /// training_batch(pool, seed, global_step, batch).
  StepResult step(const std::vector<data::Date>& pool);
  [[nodiscard]] std::int64_t current_step();
  /// The checkpoint text (model + optimizer state + global_step, with metadata).
  /// Before the first step the model and its Adam slots are created first, so a
  /// step-0 checkpoint (`varscope train --steps 0`: the untrained model) loads and resumes.
  [[nodiscard]] std::string save_to_string();
  /// Writes it to `path` atomically.
  void save(const std::string& path);

  [[nodiscard]] Model& model() noexcept { return *model_; }
  [[nodiscard]] const Hyper& hyper() const noexcept { return hyper_; }
  [[nodiscard]] const data::Vocabulary& vocab() const noexcept { return vocab_; }

 private:
  void resume(const std::string& text, bool from_file, const std::string& source);
  void build_if_untrained();
  Hyper hyper_;
  data::Vocabulary vocab_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<AdamOptimizer> opt_;
  std::optional<Variable> global_step_;
};

}  // namespace varscope::dates
