// Structured (nested) RNN state through every loop (issue 20): dynamic_rnn, the
// teacher-forced decoder, greedy and beam search, with cells whose output is not their
// state (an LSTM with a projection) and whose state is a tuple of tuples (a MultiRNNCell
// of LSTMs with a residual layer, the shape of tensorflow/nmt's decoder).
//   * The teacher-forced decoder and dynamic_rnn run one loop: with impute_finished their
//     outputs and final states are bitwise equal (TF's semantics), without it the rows
//     keep stepping past their lengths (TF's loop) and agree before.
//   * Beam search reorders every leaf of the state by parent: checked against an
//     exhaustive search that steps the cell one token at a time through cell(x, state)
//     (the State API, no packing shared with the decoder's loop).
//   * Beam width 1 is greedy search, token for token.
#define BOOST_TEST_MODULE structured_state
#include "support/boost_test.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

import varscope;
#include "support/compare.hpp"

using namespace varscope;

namespace {

struct Fresh {
  Graph graph{11};
  DefaultGraphGuard use{graph};
};

Tensor ints(const Shape& s, std::vector<std::int32_t> v) { return Tensor(s, std::move(v)); }

std::vector<float> values(const Tensor& t) {
  const auto d = t.data<float>();
  return {d.begin(), d.end()};
}

// The nmt-shaped decoder cell: LSTM(H) -> residual LSTM(H), state ((c0, h0), (c1, h1)),
// an output layer over V tokens, a shared embedding [V, E]. Built under `decoder/`.
struct StackedModel {
  static constexpr std::int64_t V = 4, E = 3, H = 5;
  static constexpr std::int32_t BOS = 0, EOS = 1;
  Tensor embedding = random_normal({V, E}, 0.0f, 1.5f);
  BasicLSTMCell l0{H};
  BasicLSTMCell l1{H};
  ResidualWrapper r1{l1};
  MultiRNNCell cell{{l0, r1}};
  Dense out{V, {.name = "out"}};

  StackedModel() {
    auto scope = variable_scope("decoder");
    (void)out(cell(random_normal({1, E}), cell.zero_state(1)).output);  // builds every variable once
    out.kernel().assign(random_normal({H, V}, 0.0f, 2.0f));           // peaky enough for beams to differ
    for (auto& v : cell.variables()) v.assign(random_normal(v.shape(), 0.0f, 0.6f));
  }
  // A random initial state ((c0, h0), (c1, h1)) for `batch` rows.
  [[nodiscard]] State initial_state(std::int64_t batch) const {
    return State::tuple({LSTMStateTuple{random_normal({batch, H}), random_normal({batch, H})},
                         LSTMStateTuple{random_normal({batch, H}), random_normal({batch, H})}});
  }
  // log p(token | state) and the next state, one token at a time through the State API.
  std::pair<Tensor, State> step(std::int32_t token, const State& state) {
    const auto [output, next] = cell(embedding_lookup(embedding, ints({1}, {token})), state);
    return {log_softmax(out(output)), next};
  }
};

State row_of(const State& s, std::int64_t b) {
  return nest::map_structure([b](const Tensor& t) { return slice(t, {b, 0}, {1, -1}); }, s);
}

struct Best {
  double score = -std::numeric_limits<double>::infinity();
  std::vector<std::int32_t> ids;
};

// Every sequence of at most T tokens, scored by its log-probability (no length penalty).
Best exhaustive(StackedModel& m, const State& h, std::int64_t T) {
  Best best;
  std::vector<std::int32_t> path;
  std::function<void(std::int32_t, const State&, double)> walk = [&](std::int32_t token, const State& state,
                                                                     double lp_sum) {
    const auto [lp, next] = m.step(token, state);
    const auto s = static_cast<std::int64_t>(path.size());
    for (std::int32_t v = 0; v < StackedModel::V; ++v) {
      const double total = lp_sum + lp.data<float>()[v];
      if (v == StackedModel::EOS || s + 1 == T) {
        if (total > best.score) {
          best.score = total;
          best.ids = path;
          if (v != StackedModel::EOS) best.ids.push_back(v);
        }
        continue;
      }
      path.push_back(v);
      walk(v, next, total);
      path.pop_back();
    }
  };
  walk(StackedModel::BOS, h, 0.0);
  return best;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(one_recurrence_loop)

// An LSTM with a projection: output [B, 3] is not its state ((c [B, 4], h [B, 3])).
// With impute_finished the teacher-forced decoder IS dynamic_rnn (bitwise); without it,
// rows keep stepping after their length like TF's loop: equal before, different after.
BOOST_AUTO_TEST_CASE(teacher_forced_decoder_equals_dynamic_rnn) {
  Fresh g;
  LSTMCell cell(4, {.use_peepholes = true, .cell_clip = 0.8f, .num_proj = 3, .name = "cell"});
  const Tensor x = random_normal({3, 6, 2});
  const std::vector<std::int32_t> len{6, 2, 0};
  const Tensor lengths = ints({3}, len);
  const State h0 = LSTMStateTuple{random_normal({3, 4}), random_normal({3, 3})};
  const auto rnn = dynamic_rnn(cell, x, {.sequence_length = lengths, .initial_state = h0, .scope = ""});
  BOOST_TEST(rnn.outputs.shape() == (Shape{3, 6, 3}));
  BasicDecoder imputed(cell, TrainingHelper(x, lengths), h0);
  const auto dec = dynamic_decode(imputed, {.impute_finished = true, .scope = ""});
  BOOST_TEST(dec.rnn_output.bitwise_equal(rnn.outputs));  // steps = max(len) = T here
  const auto a = nest::flatten(dec.final_state), b = nest::flatten(rnn.final_state);
  BOOST_TEST_REQUIRE(a.size() == 2u);
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i]->bitwise_equal(*b[i]), "leaf " << i);
  // Row 2 has length 0: its final state is the initial one, every leaf.
  for (std::int64_t j = 0; j < 4; ++j)
    BOOST_TEST(LSTMStateTuple::from(dec.final_state).c.data<float>()[8 + j] ==
               LSTMStateTuple::from(h0).c.data<float>()[8 + j]);

  BasicDecoder stepping(cell, TrainingHelper(x, lengths), h0);
  const auto all = dynamic_decode(stepping, {.scope = ""});
  const auto o = values(all.rnn_output), r = values(rnn.outputs);
  bool differs_after = false;
  for (std::int64_t bb = 0; bb < 3; ++bb)
    for (std::int64_t t = 0; t < 6; ++t)
      for (std::int64_t k = 0; k < 3; ++k) {
        const std::size_t i = static_cast<std::size_t>((bb * 6 + t) * 3 + k);
        if (t < len[static_cast<std::size_t>(bb)])
          BOOST_TEST(o[i] == r[i]);
        else
          differs_after = differs_after || o[i] != 0.0f;
      }
  BOOST_TEST(differs_after);  // finished rows still emitted (TF without impute_finished)
}

// Gradients of the loop with a tuple state of tuples against float64 finite differences
// are in lstm_test (tf_lstm_golden: multi_rnn_2x_lstm, residual_multi); here: the
// teacher-forced decoder's gradient equals dynamic_rnn's (the same BPTT entry).
BOOST_AUTO_TEST_CASE(teacher_forced_decoder_gradients_equal_dynamic_rnn) {
  Fresh g;
  BasicLSTMCell a(3, 1.0f, true, "a"), b(3, 1.0f, true, "b");
  MultiRNNCell cell({a, b});
  const Tensor x = random_normal({2, 4, 2});
  const Tensor lengths = ints({2}, {4, 3});
  (void)dynamic_rnn(cell, x, {.sequence_length = lengths, .scope = ""});
  const Tensor r = random_normal({2, 4, 3});
  auto loss_of = [&](const Tensor& outputs) { return reduce_sum(reshape(multiply(outputs, r), Shape{-1}), 0); };
  std::vector<std::optional<Tensor>> g1, g2;
  {
    GradientTape tape;
    g1 = tape.gradient(loss_of(dynamic_rnn(cell, x, {.sequence_length = lengths, .scope = ""}).outputs),
                       cell.variables());
  }
  {
    GradientTape tape;
    BasicDecoder dec(cell, TrainingHelper(x, lengths), cell.zero_state(2));
    g2 = tape.gradient(loss_of(dynamic_decode(dec, {.impute_finished = true, .scope = ""}).rnn_output),
                       cell.variables());
  }
  BOOST_TEST_REQUIRE(g1.size() == 4u);  // two layers of (kernel, bias)
  for (std::size_t i = 0; i < g1.size(); ++i) {
    BOOST_TEST_REQUIRE((g1[i].has_value() && g2[i].has_value()));
    BOOST_TEST(g1[i]->bitwise_equal(*g2[i]), cell.variables()[i].op_name());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(decoding_with_nested_state)

// The exact best sequence (exhaustive over V^T paths through cell(x, state)) is what a
// beam as wide as every path finds; the beam search reorders every leaf of
// ((c0, h0), (c1, h1)) by parent each step, so a wrong leaf gather changes the result.
BOOST_AUTO_TEST_CASE(beam_search_finds_the_exhaustive_best_with_a_stacked_lstm) {
  Fresh g;
  StackedModel m;
  constexpr std::int64_t B = 2, T = 4, K = 64;
  const State h = m.initial_state(B);
  BeamSearchDecoder beam(m.cell, m.embedding, ints({B}, {StackedModel::BOS, StackedModel::BOS}), StackedModel::EOS,
                         tile_batch(h, K), {.beam_width = K}, m.out);
  const auto result = dynamic_decode(beam, {.maximum_iterations = T});
  for (std::int64_t b = 0; b < B; ++b) {
    const Best best = exhaustive(m, row_of(h, b), T);
    const Hypothesis& top = result.hypotheses[static_cast<std::size_t>(b)].front();
    BOOST_TEST(top.ids == best.ids, boost::test_tools::per_element());
    BOOST_TEST(std::abs(top.log_prob - best.score) <= 1e-5 * std::max(1.0, std::abs(best.score)),
               "row " << b << ": " << top.log_prob << " vs " << best.score);
  }
}

BOOST_AUTO_TEST_CASE(beam_width_1_is_greedy_with_a_stacked_lstm) {
  Fresh g;
  StackedModel m;
  constexpr std::int64_t B = 3, T = 6;
  const State h = m.initial_state(B);
  const Tensor start = ints({B}, {StackedModel::BOS, StackedModel::BOS, StackedModel::BOS});
  BasicDecoder greedy(m.cell, GreedyEmbeddingHelper(m.embedding, start, StackedModel::EOS), h, m.out);
  const auto gr = dynamic_decode(greedy, {.maximum_iterations = T});
  BeamSearchDecoder beam(m.cell, m.embedding, start, StackedModel::EOS, h, {.beam_width = 1}, m.out);
  const auto br = dynamic_decode(beam, {.maximum_iterations = T});
  const auto ids = gr.sample_id.data<std::int32_t>();
  const std::int64_t steps = gr.sample_id.shape()[1];
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<std::int32_t> want;
    for (std::int64_t t = 0; t < steps; ++t) {
      const std::int32_t id = ids[static_cast<std::size_t>(b * steps + t)];
      if (id == StackedModel::EOS) break;
      want.push_back(id);
    }
    BOOST_TEST(br.hypotheses[static_cast<std::size_t>(b)].front().ids == want, boost::test_tools::per_element());
  }
  BOOST_TEST(gr.final_state.structure() == "(LSTMStateTuple(c, h), LSTMStateTuple(c, h))");
}

// An untiled state is refused with the fix, naming the leaf rows (TF's check compares batch sizes).
BOOST_AUTO_TEST_CASE(an_untiled_nested_state_names_tile_batch) {
  Fresh g;
  StackedModel m;
  try {
    BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), 1, m.initial_state(2), {.beam_width = 3}, m.out);
    BOOST_FAIL("expected ShapeMismatchError");
  } catch (const ShapeMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find("tile_batch(state, 3)") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()
