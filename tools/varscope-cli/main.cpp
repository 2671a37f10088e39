// `varscope` — the command line:
//   varscope tour [--section ID] [--list]     the article's examples in C++ (the main job)
//   varscope ckpt ls FILE                      names, dtypes, shapes of a JSON checkpoint
//   varscope ckpt diff A B                     names, shapes and max |a - b| between two checkpoints
//   varscope ckpt remap FILE --prefix old/=new/ [--rename '*/weights=*/kernel'] -o OUT
//   varscope train --task dates --steps N --out model.json [--resume F] [--seed S] [--batch B] [--hidden H]
//                  [--cell gru|lstm] [--layers N] [--bidirectional] [--residual] [--dropout R]
//                  [--attention luong|scaled_luong|bahdanau|normed_bahdanau]  (tensorflow/nmt's model)
//   varscope decode [--checkpoint model.json] [--beam K] [--n-best N] [--length-penalty A] [--json] TEXT...
//   varscope decode --sample [--temperature T] [--top-k K] [--seed S] [--json] TEXT...
//   varscope eval [--checkpoint model.json] --task dates [--beam K] [--size N]
// Without --checkpoint, decode and eval use models/dates.json as embedded at build time.
// Exit codes: 0 success, 1 a library error (or `diff` found differences), 2 bad usage,
// 130 training interrupted by Ctrl-C (a resumable checkpoint was saved).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "dates.hpp"

import varscope;
import varscope.article;

int main(int argc, char** argv) {
  CLI::App app{"varscope: TensorFlow 1.x variable_scope weight sharing in C++"};
  app.require_subcommand(1);

  std::string section;
  bool list = false;
  auto* tour = app.add_subcommand("tour", "Run the article's code blocks in C++ and print their output");
  tour->add_option("--section", section, "Run only this section (see --list)");
  tour->add_flag("--list", list, "List the sections and exit");

  auto* ckpt = app.add_subcommand("ckpt", "Inspect and convert JSON checkpoints");
  ckpt->require_subcommand(1);
  std::string file, other, out;
  std::vector<std::string> prefixes, renames;
  auto* ls = ckpt->add_subcommand("ls", "List variables (sorted name, dtype, shape)");
  ls->add_option("FILE", file, "Checkpoint")->required()->check(CLI::ExistingFile);
  auto* diff = ckpt->add_subcommand("diff", "Compare two checkpoints: names, shapes, max abs difference");
  diff->add_option("A", file, "First checkpoint")->required()->check(CLI::ExistingFile);
  diff->add_option("B", other, "Second checkpoint")->required()->check(CLI::ExistingFile);
  auto* remap = ckpt->add_subcommand("remap", "Rewrite variable names (prefix map, rename rules) into a new file");
  remap->add_option("FILE", file, "Checkpoint")->required()->check(CLI::ExistingFile);
  remap->add_option("--prefix", prefixes, "OLD=NEW name prefix rewrite (repeatable, first match wins)");
  remap->add_option("--rename", renames, "FROM=TO rule, '*' matches any prefix (repeatable)");
  remap->add_option("-o,--output", out, "Output checkpoint")->required();

  varscope_cli::TrainArgs train_args;
  auto* train = app.add_subcommand("train", "Train the article's Seq2Seq on a built-in task (dates: text -> ISO 8601)");
  train->add_option("--task", train_args.task, "Built-in task (dates)")->required();
  train->add_option("--steps", train_args.steps, "Total training steps (global_step at the end)")->required();
  train->add_option("--out", train_args.out, "Checkpoint to write (atomically; also on Ctrl-C)")->required();
  train->add_option("--resume", train_args.resume, "Continue from this checkpoint (model + optimizer state)")
      ->check(CLI::ExistingFile);
  train->add_option("--seed", train_args.seed, "Graph and data seed")->capture_default_str();
  train->add_option("--batch", train_args.batch, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--hidden", train_args.hidden, "RNN units (GRU / LSTM num_units)")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--embedding", train_args.embedding, "Embedding size")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--lr", train_args.learning_rate, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--clip", train_args.clip_norm, "clip_by_global_norm limit")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--log-every", train_args.log_every, "Progress line every N steps")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--eval-every", train_args.eval_every, "Validation accuracy every N steps (0: only at the end)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  train->add_option("--eval-size", train_args.eval_size, "Validation samples")->capture_default_str()->check(CLI::PositiveNumber);
  train->add_option("--eval-split", train_args.eval_split,
                    "Split of the periodic greedy accuracy (validation, or test for benchmarks)")
      ->capture_default_str();
  train->add_option("--model", train_args.model,
                    "article (the article's 1-layer GRU Seq2Seq) or nmt (tensorflow/nmt's model); "
                    "default: nmt when --cell/--layers/--bidirectional/--residual/--dropout ask for it");
  train->add_option("--cell", train_args.cell, "nmt: unit type, gru or lstm")->capture_default_str();
  train->add_option("--layers", train_args.layers, "nmt: encoder and decoder layers")
      ->capture_default_str()->check(CLI::PositiveNumber);
  train->add_flag("--bidirectional", train_args.bidirectional, "nmt: bi encoder, layers / 2 each way (even --layers)");
  train->add_flag("--residual", train_args.residual, "nmt: residual connections on all layers but the first");
  train->add_option("--dropout", train_args.dropout,
                    "nmt: dropout rate of each layer's inputs while training (a DropoutWrapper; decoding runs without it)")
      ->capture_default_str();
  train->add_option("--attention", train_args.attention,
                    "nmt: attention over the encoder outputs: luong, scaled_luong, bahdanau or normed_bahdanau "
                    "(an AttentionWrapper, tensorflow/nmt's standard architecture)");
  train->add_option("--save-every", train_args.save_every, "Checkpoint every N steps (0: only at the end)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);

  varscope_cli::DecodeArgs decode_args;
  auto* decode = app.add_subcommand("decode", "Normalise dates with a trained checkpoint: n-best hypotheses with scores");
  decode->add_option("--checkpoint", decode_args.checkpoint,
                     "Checkpoint from `varscope train --task dates` (default: the trained model built into this binary)")
      ->check(CLI::ExistingFile);
  auto* beam_option = decode->add_option("--beam", decode_args.beam, "Beam width (1 = greedy)")->capture_default_str();
  decode->add_option("--n-best", decode_args.n_best, "Hypotheses printed per input (<= beam)")->capture_default_str();
  decode->add_option("--length-penalty", decode_args.length_penalty, "GNMT length penalty alpha")->capture_default_str();
  decode->add_flag("--json", decode_args.json, "JSON output");
  auto* sample_flag = decode->add_flag(
      "--sample", decode_args.sample,
      "Sample each token from the softmax instead of searching (SampleEmbeddingHelper; the beam is 1)");
  decode->add_option("--temperature", decode_args.temperature,
                     "With --sample: divide the logits by T (> 0; < 1 sharper, > 1 flatter)")
      ->capture_default_str()->needs(sample_flag);
  decode->add_option("--top-k", decode_args.top_k, "With --sample: sample among the K best tokens (0 = all)")
      ->capture_default_str()->needs(sample_flag);
  decode->add_option("--seed", decode_args.seed, "With --sample: the seed (same seed, same output)")
      ->capture_default_str()->needs(sample_flag);
  decode->add_option("TEXT", decode_args.texts, "Dates to normalise (default: lines of stdin)");

  varscope_cli::EvalArgs eval_args;
  auto* eval = app.add_subcommand("eval", "Exact-match accuracy on the test split (greedy and beam) and the worst errors");
  eval->add_option("--checkpoint", eval_args.checkpoint,
                     "Checkpoint from `varscope train --task dates` (default: the trained model built into this binary)")
      ->check(CLI::ExistingFile);
  eval->add_option("--task", eval_args.task, "Built-in task (dates)")->required();
  eval->add_option("--beam", eval_args.beam, "Beam width")->capture_default_str();
  eval->add_option("--size", eval_args.size, "Test samples")->capture_default_str();
  eval->add_option("--worst", eval_args.worst, "Errors listed")->capture_default_str();

  // Hidden developer commands (empty group): data for peers, not a user feature.
  varscope_cli::DumpArgs dump_args;
  auto* dev = app.add_subcommand("dev", "Developer tools")->group("");
  dev->require_subcommand(1);
  auto* dump = dev->add_subcommand("dump-batches",
                                   "The exact training batches of `train --task dates` and the fixed test set as JSON lines");
  dump->add_option("--task", dump_args.task, "Built-in task (dates)")->required();
  dump->add_option("--steps", dump_args.steps, "Training batches of steps 0..N-1")->capture_default_str();
  dump->add_option("--seed", dump_args.seed, "Data seed (as `train --seed`)")->capture_default_str();
  dump->add_option("--batch", dump_args.batch, "Batch size (as `train --batch`)")->capture_default_str();
  dump->add_option("--test-size", dump_args.test_size, "Samples of the fixed test set")->capture_default_str();
  dump->add_option("--out", dump_args.out, "Output file ('-' = stdout)")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help prints and succeeds; usage errors are 2
  }

  try {
    if (train->parsed()) return varscope_cli::run_train(train_args);
    if (decode->parsed()) {
      decode_args.beam_given = beam_option->count() > 0;
      return varscope_cli::run_decode(decode_args);
    }
    if (eval->parsed()) return varscope_cli::run_eval(eval_args);
    if (dump->parsed()) return varscope_cli::run_dump_batches(dump_args);
    if (tour->parsed()) {
      if (list) {
        for (const auto& s : varscope::article::sections()) fmt::print("{:28} {}\n", s.id, s.title);
        for (const auto& s : varscope::article::beyond_sections()) fmt::print("{:28} {}\n", s.id, s.title);
        return 0;
      }
      varscope::article::run_tour(std::cout, section);
    }
    if (ls->parsed()) {
      const auto entries = varscope::list_variables(file);
      for (const auto& e : entries)
        fmt::print("{:<48} {:<8} {}\n", e.name, varscope::dtype_name(e.dtype), e.shape.to_string());
      fmt::print("{} variables\n", entries.size());
    }
    if (diff->parsed()) {
      const auto a = varscope::read_checkpoint(file), b = varscope::read_checkpoint(other);
      std::map<std::string, const varscope::CheckpointEntry*> in_b;
      for (const auto& e : b) in_b[e.name] = &e;
      int differences = 0;
      for (const auto& e : a) {
        auto it = in_b.find(e.name);
        if (it == in_b.end()) {
          fmt::print("only in A: {}\n", e.name);
          ++differences;
          continue;
        }
        const auto& f = *it->second;
        in_b.erase(it);
        if (e.dtype != f.dtype || e.shape != f.shape) {
          fmt::print("differs:   {} {} {} vs {} {}\n", e.name, varscope::dtype_name(e.dtype), e.shape.to_string(),
                     varscope::dtype_name(f.dtype), f.shape.to_string());
          ++differences;
          continue;
        }
        double worst = 0;
        for (std::int64_t i = 0; i < e.value.size(); ++i) {
          const double x = e.dtype == varscope::DType::float32 ? e.value.data<float>()[i] : e.value.data<std::int32_t>()[i];
          const double y = f.dtype == varscope::DType::float32 ? f.value.data<float>()[i] : f.value.data<std::int32_t>()[i];
          worst = std::max(worst, std::abs(x - y));
        }
        if (worst > 0) ++differences;
        fmt::print("same name: {} {} max|a-b| = {:g}\n", e.name, e.shape.to_string(), worst);
      }
      for (const auto& [name, e] : in_b) {
        fmt::print("only in B: {}\n", name);
        ++differences;
      }
      fmt::print("{} difference(s)\n", differences);
      return differences == 0 ? 0 : 1;
    }
    if (remap->parsed()) {
      varscope::RestoreOptions options;
      auto split = [](const std::string& rule, const char* what) {
        const auto eq = rule.find('=');
        if (eq == std::string::npos)
          throw std::invalid_argument(std::string(what) + " \"" + rule + "\" needs the form FROM=TO");
        return std::pair{rule.substr(0, eq), rule.substr(eq + 1)};
      };
      for (const auto& p : prefixes) options.prefix_map.push_back(split(p, "--prefix"));
      for (const auto& r : renames) {
        auto [from, to] = split(r, "--rename");
        options.renames.push_back({from, to});
      }
      auto entries = varscope::read_checkpoint(file);
      for (auto& e : entries) {
        const std::string renamed = varscope::remap_name(e.name, options);
        if (renamed != e.name) fmt::print("{} -> {}\n", e.name, renamed);
        e.name = renamed;
      }
      varscope::write_checkpoint(entries, out, {.metadata_json = varscope::checkpoint_metadata(file)});
      fmt::print("wrote {} variables to {}\n", entries.size(), out);
    }
    return 0;
  } catch (const varscope::Error& e) {
    fmt::print(stderr, "varscope: {}: {}\n", e.kind(), e.what());
    return 1;
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "varscope: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "varscope: error: {}\n", e.what());
    return 1;
  }
}
