// Regenerates tests/data/init_golden.json: the exact bits of the initializer
// cases in tests/support/init_cases.hpp, computed natively. The init test
// compares against this file natively and in wasm, proving both builds give
// bit-identical initial values. Regenerate only when the generator changes on
// purpose:  ./build/native/tests/gen-init-golden > tests/data/init_golden.json
#include <nlohmann/json.hpp>

#include <iostream>

import varscope;
#include "support/init_cases.hpp"

int main() {
  nlohmann::ordered_json out;
  out["about"] = "Bits of varscope initializers (see tests/support/init_cases.hpp); regenerate with gen-init-golden";
  for (const auto& c : init_cases::all()) {
    varscope::Graph graph;  // graph seed 0 unless the case makes its own
    auto use = graph.as_default();
    const varscope::Tensor t = c.make();
    out["cases"][c.id] = {{"shape", t.shape().dims()}, {"bits", init_cases::bits_of(t)}};
  }
  std::cout << out.dump(1) << '\n';
}
