// Checks of structured RNN states (TF's nest) against a cell's state_size, shared by
// the implementations of :rnn and :seq2seq. Messages follow validate.hpp's: who, what
// ("initial_state", or a leaf path such as "initial_state.c", "initial_state[1].h"),
// the expected dtype and dims, what was given, and a hint.
#pragma once
#include <string>
#include <string_view>
#include <vector>
#include "validate.hpp"

namespace varscope::detail {

// The path of every leaf of `state` below `prefix`, in nest::flatten order.
inline void state_leaf_paths(const State& state, const std::string& prefix, std::vector<std::string>& out) {
  if (state.is_leaf()) {
    out.push_back(prefix);
    return;
  }
  for (std::size_t i = 0; i < state.size(); ++i)
    state_leaf_paths(state[i], nest_child_path(prefix, state.kind(), i), out);
}

// `state` has the structure of `size` (InvalidArgumentError otherwise) and every leaf is
// float32 [batch, its size] (DTypeMismatchError / ShapeMismatchError). `batch` may be a
// name ("batch * beam_width"): the first leaf's rows then set it for the others.
inline void require_state(std::string_view who, std::string_view what, const State& state, const StateSize& size,
                          validate::Dim batch, std::string_view hint) {
  nest::assert_same_structure(state, size,
                              std::string(who) + ": " + std::string(what) + " does not have the cell's state structure");
  const auto leaves = nest::flatten(state);
  const auto sizes = nest::flatten(size);
  if (state.is_leaf()) {
    validate::require_tensor(who, what, *leaves[0], DType::float32, {batch, *sizes[0]}, hint);
    return;
  }
  std::vector<std::string> paths;
  state_leaf_paths(state, std::string(what), paths);
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const validate::Dim rows =
        i == 0 || leaves[0]->shape().rank() < 1 ? batch : validate::Dim(leaves[0]->shape()[0]);
    validate::require_tensor(who, paths[i], *leaves[i], DType::float32, {rows, *sizes[i]}, hint);
  }
}

}  // namespace varscope::detail
