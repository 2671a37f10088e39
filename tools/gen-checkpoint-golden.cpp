// Regenerates tests/data/native_checkpoint.json (graph seed 33, the model of
// tests/support/checkpoint_model.hpp), written natively. The checkpoint test
// restores it and re-saves the same model natively and in wasm, expecting the
// same bytes. ./build/native/tests/gen-checkpoint-golden tests/data/native_checkpoint.json
#include <iostream>
#include <string>

import varscope;
#include "support/checkpoint_model.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: gen-checkpoint-golden OUT.json\n";
    return 2;
  }
  varscope::Graph graph(33);
  auto use = graph.as_default();
  checkpoint_model::build();
  varscope::save(graph, argv[1], {.metadata_json = checkpoint_model::kMetadata});
}
