// `varscope decode [--checkpoint model.json] [--beam K] [--n-best N] [--length-penalty A] [--json] TEXT...`
// `varscope decode --sample [--temperature T] [--top-k K] [--seed S] [--json] TEXT...`: its options
// (the sampling ones need --sample); decoding itself is run_decode (dates.cpp).
#include <memory>

#include "commands.hpp"
#include "dates.hpp"

namespace varscope_cli {

Command add_decode(CLI::App& app) {
  auto a = std::make_shared<DecodeArgs>();
  auto* decode = app.add_subcommand("decode", "Normalise dates with a trained checkpoint: n-best hypotheses with scores");
  decode->add_option("--checkpoint", a->checkpoint,
                     "Checkpoint from `varscope train --task dates` (default: the trained model built into this binary)")
      ->check(CLI::ExistingFile);
  auto* beam_option = decode->add_option("--beam", a->beam, "Beam width (1 = greedy)")->capture_default_str();
  decode->add_option("--n-best", a->n_best, "Hypotheses printed per input (<= beam)")->capture_default_str();
  decode->add_option("--length-penalty", a->length_penalty, "GNMT length penalty alpha")->capture_default_str();
  decode->add_flag("--json", a->json, "JSON output");
  auto* sample_flag = decode->add_flag(
      "--sample", a->sample,
      "Sample each token from the softmax instead of searching (SampleEmbeddingHelper; the beam is 1)");
  decode->add_option("--temperature", a->temperature,
                     "With --sample: divide the logits by T (> 0; < 1 sharper, > 1 flatter)")
      ->capture_default_str()->needs(sample_flag);
  decode->add_option("--top-k", a->top_k, "With --sample: sample among the K best tokens (0 = all)")
      ->capture_default_str()->needs(sample_flag);
  decode->add_option("--seed", a->seed, "With --sample: the seed (same seed, same output)")
      ->capture_default_str()->needs(sample_flag);
  decode->add_option("TEXT", a->texts, "Dates to normalise (default: lines of stdin)");
  return {decode, [a, beam_option] {
            a->beam_given = beam_option->count() > 0;
            return run_decode(*a);
          }};
}

}  // namespace varscope_cli
