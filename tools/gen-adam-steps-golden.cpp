// Regenerates tests/data/adam_steps_golden.json: the small article-shaped Seq2Seq of
// tests/support/adam_steps_model.hpp (graph seed 20261202) before and after
// adam_steps_model::kSteps training steps (sequence_loss, clip_by_global_norm, Adam),
// written by the NATIVE build; tests/adam_steps_test.cpp replays the steps natively
// and in wasm and compares weights and Adam slots with it.
//   node_modules/.bin/cmake --build build/native --target gen-adam-steps-golden
//   ./build/native/tests/gen-adam-steps-golden tests/data/adam_steps_golden.json
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

import varscope;
import varscope.article;
#include "support/adam_steps_model.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gen-adam-steps-golden OUT.json\n";
    return 2;
  }
  adam_steps_model::Model model;
  const std::string initial = varscope::save_to_string(model.graph);
  model.train(adam_steps_model::kSteps);
  const std::string trained = varscope::save_to_string(model.graph);
  nlohmann::ordered_json golden;
  golden["about"] = "tests/support/adam_steps_model.hpp before and after `steps` Adam steps, native build "
                    "(clang-19, -march=x86-64-v3: FMA kernels); checkpoints with base64 float32 values";
  golden["generator"] = "tools/gen-adam-steps-golden.cpp";
  golden["steps"] = adam_steps_model::kSteps;
  golden["learning_rate"] = adam_steps_model::kLearningRate;
  golden["clip_norm"] = adam_steps_model::kClipNorm;
  golden["initial"] = nlohmann::ordered_json::parse(initial);
  golden["trained"] = nlohmann::ordered_json::parse(trained);
  std::ofstream out(argv[1], std::ios::binary);
  out << golden.dump(1) << '\n';
  if (!out) {
    std::cerr << "gen-adam-steps-golden: cannot write " << argv[1] << '\n';
    return 1;
  }
  std::cout << "wrote " << argv[1] << '\n';
}
