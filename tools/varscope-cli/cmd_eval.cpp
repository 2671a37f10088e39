// `varscope eval [--checkpoint model.json] --task dates [--beam K] [--size N] [--worst N]`: its
// options; the evaluation itself is run_eval (dates.cpp).
#include <memory>

#include "commands.hpp"
#include "dates.hpp"

namespace varscope_cli {

Command add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* eval = app.add_subcommand("eval", "Exact-match accuracy on the test split (greedy and beam) and the worst errors");
  eval->add_option("--checkpoint", a->checkpoint,
                   "Checkpoint from `varscope train --task dates` (default: the trained model built into this binary)")
      ->check(CLI::ExistingFile);
  eval->add_option("--task", a->task, "Built-in task (dates)")->required();
  eval->add_option("--beam", a->beam, "Beam width")->capture_default_str();
  eval->add_option("--size", a->size, "Test samples")->capture_default_str();
  eval->add_option("--worst", a->worst, "Errors listed")->capture_default_str();
  return {eval, [a] { return run_eval(*a); }};
}

}  // namespace varscope_cli
