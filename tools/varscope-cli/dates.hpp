// `varscope train|decode|eval --task dates`: the article's Seq2Seq trained on
// the date-normalisation task (varscope.dates.data). Plain declarations so the
// subcommand files (cmd_train.cpp, cmd_decode.cpp, ...: CLI11) stay the only
// places that parse arguments; dates.cpp runs them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace varscope_cli {

struct TrainArgs {
  std::string task = "dates";
  std::int64_t steps = 1000;
  std::string out = "model.json";
  std::string resume;  ///< "" = from scratch
  std::uint64_t seed = 1;
  std::int64_t batch = 64;
  std::int64_t hidden = 128;
  std::int64_t embedding = 64;
  float learning_rate = 0.003f;
  float clip_norm = 5.0f;
  std::int64_t log_every = 50;
  std::int64_t eval_every = 250;
  std::int64_t save_every = 500;
  std::int64_t eval_size = 300;
  std::string eval_split = "validation";  ///< the split of the periodic greedy accuracy (validation | test)
  /// Beyond the article (issue 20): tensorflow/nmt's model. "" (auto) = nmt when any of the
  /// options below differs from the article's (gru, 1 layer, uni, no residual).
  std::string model;  ///< "" | article | nmt
  std::string cell = "gru";
  std::int64_t layers = 1;
  std::string attention;  ///< "" | luong | scaled_luong | bahdanau | normed_bahdanau
  bool bidirectional = false, residual = false;
  float dropout = 0.0f;  ///< nmt: DropoutWrapper(input_keep_prob = 1 - dropout) per layer, training only
};

/// "" in DecodeArgs/EvalArgs::checkpoint: the built-in default model.
inline constexpr const char* kDefaultModelName = "the built-in default model (models/dates.json)";

/// models/dates.json as embedded in the binary at build time (default_model.cpp).
std::string_view default_dates_model();

struct DecodeArgs {
  std::string checkpoint;  ///< "" = the built-in default model
  std::int64_t beam = 4;
  std::int64_t n_best = 1;
  float length_penalty = 0.0f;
  bool json = false;
  std::vector<std::string> texts;  ///< empty: lines of stdin
  bool beam_given = false;         ///< --beam was passed (--sample defaults the beam to 1)
  /// --sample: draw each token from softmax(logits / temperature) among the top_k best
  /// (0: all) with a seeded generator (SampleEmbeddingHelper): the same seed, the same output.
  bool sample = false;
  float temperature = 1.0f;
  std::int64_t top_k = 0;
  std::uint64_t seed = 1;
};

struct EvalArgs {
  std::string checkpoint;  ///< "" = the built-in default model
  std::string task = "dates";
  std::int64_t size = 2000;
  std::int64_t beam = 4;
  std::int64_t batch = 250;
  std::int64_t worst = 10;
};

/// `varscope dev dump-batches` (hidden; for peers such as tools/dates_peer_torch.py): the
/// exact tensors `varscope train` feeds step by step, and the fixed test set, as JSON lines.
struct DumpArgs {
  std::string task = "dates";
  std::int64_t steps = 0;       ///< training batches of steps [0, steps)
  std::uint64_t seed = 1;
  std::int64_t batch = 64;
  std::int64_t test_size = 0;   ///< samples of fixed_set(test, N) after the batches
  std::string out = "-";        ///< "-" = stdout
};

/// Each returns the process exit code (0 ok, 130 interrupted-and-saved); library
/// errors propagate as varscope::Error for main to print.
int run_train(const TrainArgs& args);
int run_decode(const DecodeArgs& args);
int run_eval(const EvalArgs& args);
int run_dump_batches(const DumpArgs& args);

}  // namespace varscope_cli
