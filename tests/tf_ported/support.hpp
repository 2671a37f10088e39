// Shared by the tests ported from TensorFlow (tests/tf_ported/): a fresh default
// graph per test (TF's test_session / ops.Graph().as_default()) and variable names
// as TF prints them, TF's assertAllClose. Include after `import varscope;`.
#pragma once
#include <cmath>
#include <cstddef>
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

/// TF's assertAllClose: same shape and |a - b| <= tol + tol * |b| elementwise (float32).
/// A NaN or an infinity on either side is never close (tests/compare_self_test.cpp):
/// `!(err <= bound)` fails on NaN, and the explicit finiteness test on inf, where the
/// relative bound tol * |b| is itself inf. (numpy's allclose calls equal infinities
/// close; no ported case compares infinities.)
inline bool all_close(const varscope::Tensor& a, const varscope::Tensor& b, float tol) {
  if (a.shape() != b.shape()) return false;
  const auto x = a.data<float>();
  const auto y = b.data<float>();
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || !(std::abs(x[i] - y[i]) <= tol + tol * std::abs(y[i])))
      return false;
  return true;
}

}  // namespace tf_ported
