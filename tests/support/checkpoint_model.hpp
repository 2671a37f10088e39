// The model whose checkpoint is pinned in tests/data/native_checkpoint.json:
// written natively by tools/gen-checkpoint-golden.cpp, read and re-written by
// tests/checkpoint_test.cpp natively and in wasm. Include after `import varscope;`.
#pragma once
#include <string>

namespace checkpoint_model {

inline constexpr const char* kMetadata = R"({"model":"tiny-seq2seq","vocab_size":6,"hidden_dim":4})";

// Builds the variables in the current default graph (its seed decides the values).
inline void build() {
  using namespace varscope;
  (void)Variable(random_uniform({6, 3}, -1.0f, 1.0f), "embedding");
  {
    auto scope = variable_scope("encoder");
    GRUCell cell(4, "cell");
    cell.build(3);
  }
  auto scope = variable_scope("decoder");
  GRUCell cell(4, "cell");
  cell.build(3);
  Dense out(6, {.use_bias = false, .name = "out_layer"});
  out.build(4);
  (void)get_variable("global_step", {.shape = {}, .dtype = DType::int32});
}

}  // namespace checkpoint_model
