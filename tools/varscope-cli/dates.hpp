// `varscope train|decode|eval --task dates`: the article's Seq2Seq trained on
// varscope:data's date-normalisation task (issue 12). Plain declarations so
// main.cpp (CLI11) stays the only place that parses arguments.
#pragma once

#include <cstdint>
#include <string>
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
};

struct DecodeArgs {
  std::string checkpoint;
  std::int64_t beam = 4;
  std::int64_t n_best = 1;
  float length_penalty = 0.0f;
  bool json = false;
  std::vector<std::string> texts;  ///< empty: lines of stdin
};

struct EvalArgs {
  std::string checkpoint;
  std::string task = "dates";
  std::int64_t size = 2000;
  std::int64_t beam = 4;
  std::int64_t batch = 250;
  std::int64_t worst = 10;
};

/// Each returns the process exit code (0 ok, 130 interrupted-and-saved); library
/// errors propagate as varscope::Error for main to print.
int run_train(const TrainArgs& args);
int run_decode(const DecodeArgs& args);
int run_eval(const EvalArgs& args);

}  // namespace varscope_cli
