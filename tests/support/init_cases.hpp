// The initializer cases whose exact bits are pinned in tests/data/init_golden.json.
// Shared by tests/init_test.cpp (which compares, natively and in wasm) and
// tools/gen-init-golden.cpp (which regenerates the file natively).
// Include after `import varscope;`.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace init_cases {

struct Case {
  std::string id;
  std::function<varscope::Tensor()> make;  // runs in a fresh default graph
};

inline std::vector<Case> all() {
  using namespace varscope;
  return {
      {"glorot_default_kernel_4x5",
       [] {
         auto s = variable_scope("layer");
         return get_variable("kernel", {.shape = {4, 5}}).value();
       }},
      {"glorot_graph_seed_1234_3x3",
       [] {
         Graph g(1234);
         auto use = g.as_default();
         return get_variable("w", {.shape = {3, 3}}).value();
       }},
      {"random_uniform_initializer_-1_1",
       [] { return get_variable("b", {.shape = {7}, .initializer = random_uniform_initializer(-1, 1)}).value(); }},
      {"random_normal_initializer_0.5_2",
       [] { return get_variable("n", {.shape = {9}, .initializer = random_normal_initializer(0.5, 2.0)}).value(); }},
      {"truncated_normal_initializer_seed_7",
       [] {
         return get_variable("t", {.shape = {9}, .initializer = truncated_normal_initializer(0.0, 1.0, 7)}).value();
       }},
      {"random_uniform_op_second_call",
       [] {
         (void)random_uniform({2});
         return random_uniform({3, 3}, -2.0f, 3.0f);
       }},
      {"random_normal_op_seed_99", [] { return random_normal({5}, 0.0f, 1.0f, 99); }},
  };
}

// Hex of each float's bits ("3f800000"), the form stored in the golden file.
inline std::vector<std::string> bits_of(const varscope::Tensor& t) {
  std::vector<std::string> out;
  for (float x : t.data<float>()) {
    std::uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    char buf[9];
    static const char* hex = "0123456789abcdef";
    for (int i = 7; i >= 0; --i, u >>= 4) buf[i] = hex[u & 15];
    buf[8] = 0;
    out.emplace_back(buf);
  }
  return out;
}

}  // namespace init_cases
