// Shared by the tests ported from TensorFlow (tests/tf_ported/): a fresh default
// graph per test (TF's test_session / ops.Graph().as_default()) and variable names
// as TF prints them. Include after `import varscope;`.
#pragma once
#include <string>
#include <vector>

namespace tf_ported {

/// `with ops.Graph().as_default():` for the fixture's lifetime.
struct FreshGraph {
  varscope::Graph graph;
  varscope::DefaultGraphGuard session{graph};
};

/// [v.name for v in vars], e.g. "foo/v:0".
inline std::vector<std::string> names(const std::vector<varscope::Variable>& vars) {
  std::vector<std::string> out;
  for (const auto& v : vars) out.push_back(v.name());
  return out;
}

}  // namespace tf_ported
