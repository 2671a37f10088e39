// Runs one PyTorch interop case file (written by `tools/torch_interop.py live`)
// through varscope and exits 0 when the outputs match PyTorch's within 1e-6
// relative (the GRU bound of tests/numerics_test.cpp; measured ~6e-8). Prints the error either way.
#include <nlohmann/json.hpp>

#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

import varscope;
#include "support/torch_case.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: torch-roundtrip-runner CASE.json\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  try {
    const double worst = torch_case::run(text.str(), std::string(argv[1]) + ".ckpt.json");
    std::cout << "PyTorch -> JSON -> varscope: worst relative error " << worst << '\n';
    return worst < 1e-6 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "torch round trip failed: " << e.what() << '\n';
    return 1;
  }
}
