// Runs a PyTorch interop case (tools/torch_interop.py: Embedding -> nn.GRU ->
// Linear converted to a varscope checkpoint) through varscope and returns the
// largest relative error against PyTorch's logits and final state. Used by the
// checkpoint test (committed golden case) and tools/torch-roundtrip-runner.cpp
// (a fresh random case when python3-torch is installed). Include after `import varscope;`.
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/compare.hpp"

namespace torch_case {

inline varscope::Tensor tensor(const nlohmann::json& j, bool ints) {
  const auto shape = varscope::Shape(j.at("shape").get<std::vector<std::int64_t>>());
  if (ints) return varscope::Tensor(shape, j.at("data").get<std::vector<std::int32_t>>());
  return varscope::Tensor(shape, j.at("data").get<std::vector<float>>());
}

// |got - want| / max(1, |want|), worst over the tensor: NaN / +inf when either side
// holds one (compare.hpp), so `worst < 1e-6` fails on a NaN logit or state.
inline double worst_relative(const varscope::Tensor& got, const varscope::Tensor& want) {
  return compare::worst_relative(got, want);
}

// Returns the worst relative error; throws varscope errors on a bad checkpoint.
inline double run(const std::string& case_json, const std::string& scratch_path) {
  using namespace varscope;
  const auto c = nlohmann::json::parse(case_json);
  { std::ofstream(scratch_path) << c.at("checkpoint").dump(); }
  Graph graph(5);  // weights differ from PyTorch's until restored
  auto use = graph.as_default();
  const Variable embedding = get_variable("embedding", {.shape = {11, 4}});
  ResetAfterGRUCell cell(6, "gru");
  Dense out(11, {.name = "out"});
  const Tensor ids = tensor(c.at("ids"), true);
  auto forward = [&] {
    auto scope = variable_scope("model", {.reuse = AUTO_REUSE});
    auto rnn = dynamic_rnn(cell, embedding_lookup(embedding.value(), ids), {.scope = ""});
    return std::pair{out(rnn.outputs), rnn.final_state};
  };
  (void)forward();  // builds the variables: model/gru/..., model/out/...
  const RestoreReport report = restore(graph, scratch_path);  // strict: every name must match
  std::remove(scratch_path.c_str());
  const auto [logits, state] = forward();
  return compare::nan_max(worst_relative(logits, tensor(c.at("logits"), false)),
                          worst_relative(state, tensor(c.at("final_state"), false)));
}

}  // namespace torch_case
