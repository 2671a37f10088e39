// `varscope dev dump-batches --task dates [--steps N] [--seed S] [--batch B] [--test-size N] [--out F]`:
// hidden developer commands (an empty help group): data for peers such as
// tools/dates_peer_torch.py, not a user feature. The dump itself is run_dump_batches (dates.cpp).
#include <memory>

#include "commands.hpp"
#include "dates.hpp"

namespace varscope_cli {

Command add_dev(CLI::App& app) {
  auto a = std::make_shared<DumpArgs>();
  auto* dev = app.add_subcommand("dev", "Developer tools")->group("");
  dev->require_subcommand(1);
  auto* dump = dev->add_subcommand("dump-batches",
                                   "The exact training batches of `train --task dates` and the fixed test set as JSON lines");
  dump->add_option("--task", a->task, "Built-in task (dates)")->required();
  dump->add_option("--steps", a->steps, "Training batches of steps 0..N-1")->capture_default_str();
  dump->add_option("--seed", a->seed, "Data seed (as `train --seed`)")->capture_default_str();
  dump->add_option("--batch", a->batch, "Batch size (as `train --batch`)")->capture_default_str();
  dump->add_option("--test-size", a->test_size, "Samples of the fixed test set")->capture_default_str();
  dump->add_option("--out", a->out, "Output file ('-' = stdout)")->capture_default_str();
  return {dev, [a, dump] { return dump->parsed() ? run_dump_batches(*a) : 2; }};
}

}  // namespace varscope_cli
