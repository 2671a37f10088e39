// Runs one LSTM interop case (written by `tools/torch_interop.py lstm-live` or
// `tools/lstm_layout.py tfjs-check`) through varscope and writes what it computed:
//
//   torch-lstm-runner CASE.json OUT.json
//
// CASE (cell kind, sizes, forget_bias, inputs, lengths, initial states, an optional TF-layout
// checkpoint) and OUT (outputs, final (c, h) per layer / direction, the graph's checkpoint) are
// described in tests/support/lstm_case.hpp. The comparison against PyTorch / TF.js is the caller's.
#include <nlohmann/json.hpp>

#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

import varscope;
#include "support/lstm_case.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: torch-lstm-runner CASE.json OUT.json\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1]);
    std::stringstream text;
    text << in.rdbuf();
    const auto out = lstm_case::run(nlohmann::json::parse(text.str()));
    std::ofstream(argv[2]) << out.dump();
    std::cout << "torch-lstm-runner: outputs " << out.at("outputs").at("shape").dump() << ", "
              << out.at("final_state").size() << " final (c, h)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "torch-lstm-runner: " << e.what() << '\n';
    return 1;
  }
}
