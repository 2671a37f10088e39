// Reading golden data (tests/data/*.json written by tools/gen-*.py: {"shape": [...],
// "data": [...]} per tensor) and comparing against it, shared by grad_test, lstm_test
// and bidirectional_test. Works with nlohmann::json and nlohmann::ordered_json (the
// LSTM goldens keep TF's creation order of the params). Include after `import varscope;`,
// support/boost_test.hpp and support/compare.hpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace golden_data {

template <class Json>
varscope::Tensor golden_tensor(const Json& j) {
  return varscope::Tensor(varscope::Shape(j.at("shape").template get<std::vector<std::int64_t>>()),
                          j.at("data").template get<std::vector<float>>());
}
template <class Json>
varscope::Tensor golden_ints(const Json& j) {
  return varscope::Tensor(varscope::Shape(j.at("shape").template get<std::vector<std::int64_t>>()),
                          j.at("data").template get<std::vector<std::int32_t>>());
}

/// Forward values (to_scale false): |got - want| / max(1, |want|). Gradients (to_scale
/// true): relative to the tensor's scale, max |want| (gradients of ~1e-2 would make a
/// max(1, |g|) bound loose). NaN / inf fail (compare.hpp). The measured worst is printed
/// (--log_level=message).
template <class Json>
void check_golden(const std::optional<varscope::Tensor>& got, const Json& want, const std::string& what,
                  double bound, bool to_scale) {
  BOOST_TEST_REQUIRE(got.has_value(), what << ": no gradient");
  const varscope::Tensor w = golden_tensor(want);
  BOOST_TEST_REQUIRE(got->shape() == w.shape(), what << ": shape " << got->shape().to_string() << " vs "
                                                     << w.shape().to_string());
  const double worst = to_scale ? compare::worst_relative_to_scale(*got, w) : compare::worst_relative(*got, w);
  BOOST_TEST_MESSAGE(what << ": worst relative error " << worst << " (bound " << bound << ")");
  BOOST_TEST(worst <= bound, what << ": worst relative error " << worst << " > " << bound);
}

/// The variables' full names (TF's op names), in order.
inline std::vector<std::string> names_of(const std::vector<varscope::Variable>& vars) {
  std::vector<std::string> out;
  for (const auto& v : vars) out.push_back(v.op_name());
  return out;
}

}  // namespace golden_data
