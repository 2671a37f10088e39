// `varscope train --task dates --steps N --out model.json [--resume F] [--seed S] [--batch B] [--hidden H]
//                 [--cell gru|lstm] [--layers N] [--bidirectional] [--residual] [--dropout R]
//                 [--attention luong|scaled_luong|bahdanau|normed_bahdanau]`: its options; the
// training itself is run_train (dates.cpp).
#include <memory>

#include "commands.hpp"
#include "dates.hpp"

namespace varscope_cli {

Command add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* train = app.add_subcommand("train", "Train the article's Seq2Seq on a built-in task (dates: text -> ISO 8601)");
  train->add_option("--task", a->task, "Built-in task (dates)")->required();
  train->add_option("--steps", a->steps, "Total training steps (global_step at the end)")->required();
  train->add_option("--out", a->out, "Checkpoint to write (atomically; also on Ctrl-C)")->required();
  train->add_option("--resume", a->resume, "Continue from this checkpoint (model + optimizer state)")
      ->check(CLI::ExistingFile);
  train->add_option("--seed", a->seed, "Graph and data seed")->capture_default_str();
  train->add_option("--batch", a->batch, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--hidden", a->hidden, "RNN units (GRU / LSTM num_units)")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--embedding", a->embedding, "Embedding size")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--lr", a->learning_rate, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--clip", a->clip_norm, "clip_by_global_norm limit")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--log-every", a->log_every, "Progress line every N steps")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--eval-every", a->eval_every, "Validation accuracy every N steps (0: only at the end)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  train->add_option("--eval-size", a->eval_size, "Validation samples")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--eval-split", a->eval_split,
                    "Split of the periodic greedy accuracy (validation, or test for benchmarks)")
      ->capture_default_str();
  train->add_option("--model", a->model,
                    "article (the article's 1-layer GRU Seq2Seq) or nmt (tensorflow/nmt's model); "
                    "default: nmt when --cell/--layers/--bidirectional/--residual/--dropout ask for it");
  train->add_option("--cell", a->cell, "nmt: unit type, gru or lstm")->capture_default_str();
  train->add_option("--layers", a->layers, "nmt: encoder and decoder layers")
      ->capture_default_str()->check(CLI::PositiveNumber);
  train->add_flag("--bidirectional", a->bidirectional, "nmt: bi encoder, layers / 2 each way (even --layers)");
  train->add_flag("--residual", a->residual, "nmt: residual connections on all layers but the first");
  train->add_option("--dropout", a->dropout,
                    "nmt: dropout rate of each layer's inputs while training (a DropoutWrapper; decoding runs without it)")
      ->capture_default_str();
  train->add_option("--attention", a->attention,
                    "nmt: attention over the encoder outputs: luong, scaled_luong, bahdanau or normed_bahdanau "
                    "(an AttentionWrapper, tensorflow/nmt's standard architecture)");
  train->add_option("--save-every", a->save_every, "Checkpoint every N steps (0: only at the end)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  return {train, [a] { return run_train(*a); }};
}

}  // namespace varscope_cli
