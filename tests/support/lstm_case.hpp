// Runs one LSTM interop case (tools/torch_interop.py lstm-live / lstm-golden,
// tools/lstm_layout.py tfjs-check) through varscope. Used by tools/torch-lstm-runner.cpp
// (live cases) and checkpoint_test (the committed golden tests/data/torch_lstm_roundtrip.json).
// Include after `import varscope;`.
//
// A case: {"cell": "basic" | "lstm", "units": H, "num_proj": P (optional, "lstm" only),
//          "num_layers": L, "bidirectional": bool (L must be 1), "forget_bias": F,
//          "inputs": {"shape": [B, T, D], "data": [...]},
//          "sequence_length": {"shape": [B], "data": [...]}          (optional: all T),
//          "initial_state": [{"c": tensor, "h": tensor}, ...]         (optional: zeros; one per
//                            layer, or [fw, bw] when bidirectional),
//          "checkpoint": a varscope checkpoint                         (optional: restored strictly;
//                            without it the graph's random initialisation, seed "seed", is kept)}
// The cells are TF's: BasicLSTMCell(H, F) or LSTMCell(H, {num_proj, forget_bias F}), under
// MultiRNNCell for L > 1, run by dynamic_rnn (scope "rnn": rnn/basic_lstm_cell/...,
// rnn/multi_rnn_cell/cell_k/basic_lstm_cell/...) or bidirectional_dynamic_rnn (scope
// "bidirectional_rnn": bidirectional_rnn/fw/basic_lstm_cell/..., .../bw/...).
//
// run() returns {"outputs": [B, T, O] (fw then bw concatenated on the last axis when
// bidirectional, like nn.LSTM), "final_state": [{"c", "h"} per layer / per direction],
// "checkpoint": the graph's variables after restore / initialisation (save_to_string)}.
#pragma once
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lstm_case {

using Json = nlohmann::json;

inline varscope::Tensor tensor_of(const Json& j) {
  return varscope::Tensor(varscope::Shape(j.at("shape").get<std::vector<std::int64_t>>()),
                          j.at("data").get<std::vector<float>>());
}

inline Json json_of(const varscope::Tensor& t) {
  const auto data = t.data<float>();
  return {{"shape", t.shape().dims()}, {"data", std::vector<float>(data.begin(), data.end())}};
}

inline Json state_json(const varscope::State& s) {
  const auto leaves = varscope::nest::flatten(s);  // c, h per LSTMStateTuple, layer by layer
  Json out = Json::array();
  for (std::size_t i = 0; i + 1 < leaves.size(); i += 2)
    out.push_back({{"c", json_of(*leaves[i])}, {"h", json_of(*leaves[i + 1])}});
  return out;
}

inline Json run(const Json& c) {
  using namespace varscope;
  const std::string kind = c.at("cell").get<std::string>();
  if (kind != "basic" && kind != "lstm") throw std::runtime_error("cell must be basic or lstm, not " + kind);
  const auto units = c.at("units").get<std::int64_t>();
  const auto num_proj = c.value("num_proj", std::int64_t{0});
  const auto layers = c.value("num_layers", std::int64_t{1});
  const bool bidirectional = c.value("bidirectional", false);
  const float forget_bias = c.at("forget_bias").get<float>();
  if (bidirectional && layers != 1) throw std::runtime_error("bidirectional needs num_layers 1");
  if (num_proj != 0 && kind != "lstm") throw std::runtime_error("num_proj needs cell lstm");

  Graph graph(c.value("seed", std::uint64_t{7}));
  auto use = graph.as_default();
  const std::size_t n_cells = static_cast<std::size_t>(bidirectional ? 2 : layers);
  std::vector<std::unique_ptr<LSTMCell>> cells;
  for (std::size_t i = 0; i < n_cells; ++i) {
    if (kind == "basic") {
      cells.push_back(std::make_unique<BasicLSTMCell>(units, forget_bias));
    } else {
      LSTMCellOptions o{.forget_bias = forget_bias};
      if (num_proj != 0) o.num_proj = num_proj;
      cells.push_back(std::make_unique<LSTMCell>(units, o));
    }
  }
  const Tensor x = tensor_of(c.at("inputs"));
  std::optional<Tensor> lengths;
  if (c.contains("sequence_length"))
    lengths = Tensor(Shape(c.at("sequence_length").at("shape").get<std::vector<std::int64_t>>()),
                     c.at("sequence_length").at("data").get<std::vector<std::int32_t>>());
  std::vector<State> init;
  if (c.contains("initial_state"))
    for (const auto& s : c.at("initial_state")) init.push_back(LSTMStateTuple{tensor_of(s.at("c")), tensor_of(s.at("h"))});

  std::vector<std::reference_wrapper<RNNCell>> refs;
  for (auto& p : cells) refs.push_back(*p);
  std::unique_ptr<MultiRNNCell> multi;
  if (!bidirectional && layers > 1) multi = std::make_unique<MultiRNNCell>(refs);

  auto forward = [&]() -> std::pair<Tensor, State> {
    if (bidirectional) {
      BidirectionalRNNOptions o{.sequence_length = lengths};
      if (!init.empty()) {
        o.initial_state_fw = init.at(0);
        o.initial_state_bw = init.at(1);
      }
      auto r = bidirectional_dynamic_rnn(*cells[0], *cells[1], x, o);
      return {concat({r.outputs.first, r.outputs.second}, 2), r.output_states};
    }
    DynamicRNNOptions o{.sequence_length = lengths};
    if (!init.empty()) o.initial_state = multi ? State::tuple(init) : init.at(0);
    auto r = dynamic_rnn(multi ? static_cast<RNNCell&>(*multi) : static_cast<RNNCell&>(*cells[0]), x, o);
    return {r.outputs, r.final_state};
  };
  (void)forward();  // builds the variables
  if (c.contains("checkpoint")) (void)restore_from_string(graph, c.at("checkpoint").dump(), {}, "case checkpoint");
  const auto [outputs, state] = forward();
  return {{"outputs", json_of(outputs)}, {"final_state", state_json(state)},
          {"checkpoint", Json::parse(save_to_string(graph))}};
}

// Largest |got - want| over outputs and every final (c, h); NaN when either side holds one
// (so `worst < tol` fails), +inf on a shape or count mismatch.
inline double max_abs_diff(const Json& got, const Json& want) {
  auto diff = [](const Json& a, const Json& b) -> double {
    if (a.at("shape") != b.at("shape")) return INFINITY;
    const auto x = a.at("data").get<std::vector<double>>(), y = b.at("data").get<std::vector<double>>();
    double worst = 0;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
      const double d = std::fabs(x[i] - y[i]);
      if (std::isnan(d)) return NAN;
      worst = std::max(worst, d);
    }
    return x.size() == y.size() ? worst : INFINITY;
  };
  auto nan_max = [](double a, double b) { return (std::isnan(a) || std::isnan(b)) ? NAN : std::max(a, b); };
  double worst = diff(got.at("outputs"), want.at("outputs"));
  const auto& gs = got.at("final_state");
  const auto& ws = want.at("final_state");
  if (gs.size() != ws.size()) return INFINITY;
  for (std::size_t i = 0; i < gs.size(); ++i)
    worst = nan_max(worst, nan_max(diff(gs[i].at("c"), ws[i].at("c")), diff(gs[i].at("h"), ws[i].at("h"))));
  return worst;
}

}  // namespace lstm_case
