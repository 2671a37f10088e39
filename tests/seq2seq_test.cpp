// seq2seq tests: gather_tree by hand-worked examples, beam search against an
// exhaustive search over all sequences (with and without length penalty),
// beam width 1 == greedy, scores re-derived by teacher forcing through the
// training decoder on the same shared weights, weight sharing, and errors.
#define BOOST_TEST_MODULE seq2seq
#include "support/boost_test.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

import varscope;

using namespace varscope;
namespace tt = boost::test_tools;

namespace {

Tensor ints(Shape s, std::vector<std::int32_t> v) { return Tensor(s, std::move(v)); }
std::vector<std::int32_t> values(const Tensor& t) { auto d = t.data<std::int32_t>(); return {d.begin(), d.end()}; }

// A tiny decoder whose whole search space can be enumerated.
struct TinyModel {
  static constexpr std::int64_t V = 4, D = 3, H = 5;
  static constexpr std::int32_t BOS = 0, EOS = 1;
  Graph graph{7};
  DefaultGraphGuard use{graph};
  Tensor embedding = random_normal({V, D}, 0.0f, 1.5f);
  GRUCell cell{H, "cell"};
  Dense out{V, {.name = "out"}};
  Tensor h0 = random_normal({2, H});  // batch of 2

  TinyModel() {
    auto scope = variable_scope("decoder");
    (void)out(cell(random_normal({1, D}), cell.zero_state(1)));  // build the shared variables once
    // Make the output distribution peaky enough that the best path is not the greedy one sometimes.
    out.kernel().assign(random_normal({H, V}, 0.0f, 2.0f));
  }

  // log p(token | state) and the next state, by the plain Tensor API.
  std::pair<Tensor, Tensor> step(std::int32_t token, const Tensor& state) {
    const Tensor x = embedding_lookup(embedding, ints({1}, {token}));
    Tensor next = cell(x, state);
    return {log_softmax(out(next)), next};
  }
};

struct Best {
  double score = -std::numeric_limits<double>::infinity();
  double log_prob = 0;
  std::vector<std::int32_t> ids;
};

// Every sequence of at most T tokens (ending at the first EOS or after T
// tokens), scored the way the decoder ranks its final beams: GNMT length
// penalty on the length TF uses at the last step (see SPEC section 6).
Best exhaustive(TinyModel& m, const Tensor& h, std::int64_t T, float alpha, LengthPenalty kind) {
  Best best;
  std::vector<std::int32_t> path;
  std::function<void(std::int32_t, const Tensor&, double)> walk = [&](std::int32_t token, const Tensor& state,
                                                                      double lp_sum) {
    const auto [lp, next] = m.step(token, state);
    const std::int64_t s = static_cast<std::int64_t>(path.size());  // this step's index
    for (std::int32_t v = 0; v < TinyModel::V; ++v) {
      const double total = lp_sum + lp.data<float>()[v];
      if (v == TinyModel::EOS || s + 1 == T) {
        std::int64_t len;
        if (v == TinyModel::EOS) len = s + 1 == T ? s : s + 1;  // finished at the last step / earlier
        else len = T;
        const double score = total / length_penalty(kind, alpha, len);
        if (score > best.score) {
          best.score = score;
          best.log_prob = total;
          best.ids = path;
          if (v != TinyModel::EOS) best.ids.push_back(v);
        }
        continue;
      }
      path.push_back(v);
      walk(v, next, total);
      path.pop_back();
    }
  };
  walk(TinyModel::BOS, h, 0.0);
  return best;
}

Tensor row(const Tensor& t, std::int64_t b) { return slice(t, {b, 0}, {1, -1}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(gather_tree_op)

BOOST_AUTO_TEST_CASE(backtracks_parents_worked_by_hand) {
  // [B=1, T=3, K=2]: step ids and parents per time step.
  const Tensor ids = ints({1, 3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor parents = ints({1, 3, 2}, {0, 0, 1, 0, 1, 0});
  const Tensor out = gather_tree(ids, parents, ints({1}, {3}), 9);
  // beam 0: t2 id 5 <- parent 1: t1 id 4 <- parent 0: t0 id 1  => 1 4 5
  // beam 1: t2 id 6 <- parent 0: t1 id 3 <- parent 1: t0 id 2  => 2 3 6
  BOOST_TEST(values(out) == (std::vector<std::int32_t>{1, 2, 4, 3, 5, 6}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(fills_end_token_after_first_end_and_past_max_length) {
  const Tensor ids = ints({1, 4, 1}, {7, 9, 5, 6});
  const Tensor parents = ints({1, 4, 1}, {0, 0, 0, 0});
  BOOST_TEST(values(gather_tree(ids, parents, ints({1}, {4}), 9)) == (std::vector<std::int32_t>{7, 9, 9, 9}),
             tt::per_element());
  BOOST_TEST(values(gather_tree(ids, parents, ints({1}, {1}), 9)) == (std::vector<std::int32_t>{7, 9, 9, 9}),
             tt::per_element());
  BOOST_TEST(values(gather_tree(ids, parents, ints({1}, {0}), 9)) == (std::vector<std::int32_t>{9, 9, 9, 9}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(invalid_parent_is_an_error_naming_it) {
  const Tensor ids = ints({1, 2, 2}, {1, 2, 3, 4});
  try {
    (void)gather_tree(ids, ints({1, 2, 2}, {0, 0, 2, 0}), ints({1}, {2}), 9);
    BOOST_FAIL("expected InvalidArgumentError");
  } catch (const InvalidArgumentError& e) {
    BOOST_TEST(std::string(e.what()).find("parent id 2") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW((void)gather_tree(ids, ints({1, 2, 2}, {0, 0, -1, 0}), ints({1}, {2}), 9), InvalidArgumentError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(beam_search)

BOOST_AUTO_TEST_CASE(wide_beam_finds_the_exhaustive_best_without_and_with_length_penalty) {
  constexpr std::int64_t T = 3, K = 64;  // K >= V^T: nothing is ever pruned
  for (const auto& [alpha, kind] : std::vector<std::pair<float, LengthPenalty>>{
           {0.0f, LengthPenalty::gnmt}, {0.8f, LengthPenalty::gnmt}, {1.5f, LengthPenalty::plain}}) {
    TinyModel m;
    BeamSearchDecoder decoder(m.cell, m.embedding, ints({2}, {TinyModel::BOS, TinyModel::BOS}), TinyModel::EOS,
                              tile_batch(m.h0, K), K, &m.out,
                              BeamSearchDecoder::Options{.length_penalty_weight = alpha, .length_penalty = kind});
    const auto result = dynamic_decode(decoder, {.maximum_iterations = T});
    for (std::int64_t b = 0; b < 2; ++b) {
      BOOST_TEST_CONTEXT("alpha " << alpha << " batch " << b) {
        const Best best = exhaustive(m, row(m.h0, b), T, alpha, kind);
        const Hypothesis& top = result.hypotheses[b][0];
        BOOST_TEST(top.ids == best.ids, tt::per_element());
        BOOST_TEST(top.score == best.score, tt::tolerance(1e-4));
        BOOST_TEST(top.log_prob == best.log_prob, tt::tolerance(1e-4));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(beam_width_one_equals_greedy_decoding) {
  TinyModel m;
  const Tensor start = ints({2}, {TinyModel::BOS, TinyModel::BOS});
  BasicDecoder greedy(m.cell, GreedyEmbeddingHelper(m.embedding, start, TinyModel::EOS), m.h0, &m.out);
  const auto g = dynamic_decode(greedy, {.maximum_iterations = 6});
  BeamSearchDecoder beam(m.cell, m.embedding, start, TinyModel::EOS, m.h0, 1, &m.out);
  const auto r = dynamic_decode(beam, {.maximum_iterations = 6});
  for (std::int64_t b = 0; b < 2; ++b) {
    std::vector<std::int32_t> greedy_ids;
    for (std::int64_t t = 0; t < g.sample_id.shape()[1]; ++t) {
      const std::int32_t id = g.sample_id.data<std::int32_t>()[b * g.sample_id.shape()[1] + t];
      if (id == TinyModel::EOS) break;
      greedy_ids.push_back(id);
    }
    BOOST_TEST(r.hypotheses[b][0].ids == greedy_ids, tt::per_element());
    BOOST_TEST(r.lengths.data<std::int32_t>()[b] == g.lengths.data<std::int32_t>()[b]);
  }
}

BOOST_AUTO_TEST_CASE(log_probs_match_teacher_forcing_through_the_training_decoder) {
  TinyModel m;
  constexpr std::int64_t K = 3, T = 5;
  BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), TinyModel::EOS, tile_batch(m.h0, K), K, &m.out,
                         0.6f);
  const auto r = dynamic_decode(beam, {.maximum_iterations = T});
  for (std::int64_t b = 0; b < 2; ++b)
    for (const Hypothesis& h : r.hypotheses[b]) {
      // Targets: the ids, then EOS if the hypothesis finished before T steps.
      std::vector<std::int32_t> targets = h.ids;
      if (static_cast<std::int64_t>(targets.size()) < h.length) targets.push_back(TinyModel::EOS);
      std::vector<std::int32_t> inputs{TinyModel::BOS};
      inputs.insert(inputs.end(), targets.begin(), targets.end() - 1);
      const auto n = static_cast<std::int64_t>(targets.size());
      TrainingHelper helper(embedding_lookup(m.embedding, ints({1, n}, inputs)), ints({1}, {static_cast<std::int32_t>(n)}));
      BasicDecoder train(m.cell, helper, row(m.h0, b), &m.out);
      const auto logp = log_softmax(dynamic_decode(train).rnn_output);
      double sum = 0;
      for (std::int64_t t = 0; t < n; ++t) sum += logp.data<float>()[t * TinyModel::V + targets[t]];
      BOOST_TEST(h.log_prob == sum, tt::tolerance(1e-4));
      BOOST_TEST(h.score == sum / length_penalty(LengthPenalty::gnmt, 0.6f,
                                                 h.length == T && targets.back() == TinyModel::EOS ? T - 1 : h.length),
                 tt::tolerance(1e-4));
    }
  BOOST_TEST(m.graph.global_variables().size() == 6u);  // cell (4) + out (2): teacher forcing shared them
}

BOOST_AUTO_TEST_CASE(results_are_sorted_best_first_and_finished_beams_stay_finished) {
  TinyModel m;
  constexpr std::int64_t K = 4, T = 6;
  BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), TinyModel::EOS, tile_batch(m.h0, K), K, &m.out);
  const auto r = dynamic_decode(beam, {.maximum_iterations = T});
  const std::int64_t steps = r.predicted_ids.shape()[1];
  BOOST_TEST(r.predicted_ids.shape() == (Shape{2, steps, K}));
  for (std::int64_t b = 0; b < 2; ++b) {
    for (std::int64_t k = 0; k + 1 < K; ++k) BOOST_TEST(r.hypotheses[b][k].score >= r.hypotheses[b][k + 1].score);
    for (std::int64_t k = 0; k < K; ++k) {
      bool ended = false;
      for (std::int64_t t = 0; t < steps; ++t) {
        const std::int32_t id = r.predicted_ids.data<std::int32_t>()[(b * steps + t) * K + k];
        if (ended) BOOST_TEST(id == TinyModel::EOS);
        ended = ended || id == TinyModel::EOS;
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(min_length_and_num_hypotheses) {
  TinyModel m;
  constexpr std::int64_t K = 4;
  BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), TinyModel::EOS, tile_batch(m.h0, K), K, &m.out,
                         BeamSearchDecoder::Options{.min_length = 3, .num_hypotheses = 2});
  const auto r = dynamic_decode(beam, {.maximum_iterations = 6});
  for (std::int64_t b = 0; b < 2; ++b) {
    BOOST_TEST(r.hypotheses[b].size() == 2u);
    for (const auto& h : r.hypotheses[b]) BOOST_TEST(h.ids.size() >= 3u);
  }
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_clear_errors) {
  TinyModel m;
  const Tensor start = ints({2}, {0, 0});
  try {
    BeamSearchDecoder beam(m.cell, m.embedding, start, TinyModel::EOS, m.h0, 3, &m.out);
    BOOST_FAIL("expected ShapeMismatchError");
  } catch (const ShapeMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find("tile it with tile_batch(state, 3)") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(BeamSearchDecoder(m.cell, m.embedding, start, TinyModel::EOS, m.h0, 0, &m.out),
                    InvalidArgumentError);
  BOOST_CHECK_THROW(BeamSearchDecoder(m.cell, m.embedding, ints({2}, {0, 4}), TinyModel::EOS, m.h0, 1, &m.out),
                    InvalidArgumentError);
  BOOST_CHECK_THROW(BeamSearchDecoder(m.cell, m.embedding, start, 4, m.h0, 1, &m.out), InvalidArgumentError);
  BOOST_CHECK_THROW(GreedyEmbeddingHelper(m.embedding, start, -1), InvalidArgumentError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(training_decoder)

BOOST_AUTO_TEST_CASE(training_decode_equals_dynamic_rnn_plus_dense_and_counts_lengths) {
  TinyModel m;
  const Tensor x = random_normal({2, 4, TinyModel::D});
  const Tensor lens = ints({2}, {4, 2});
  BasicDecoder decoder(m.cell, TrainingHelper(x, lens), m.h0, &m.out);
  const auto r = dynamic_decode(decoder);
  BOOST_TEST(r.rnn_output.shape() == (Shape{2, 4, TinyModel::V}));
  BOOST_TEST(values(r.lengths) == (std::vector<std::int32_t>{4, 2}), tt::per_element());
  // impute_finished=false: every step of every row is computed, like an RNN over all 4 steps.
  const auto rnn = dynamic_rnn(m.cell, x, {.initial_state = m.h0, .scope = "decoder"});
  BOOST_TEST(max_abs_diff(r.rnn_output, m.out(rnn.outputs)) < 1e-5f);
  BOOST_TEST(values(r.sample_id) == values(argmax(r.rnn_output, -1)), tt::per_element());
  // impute_finished=true: zero outputs past the length, state copied through.
  BasicDecoder imputed(m.cell, TrainingHelper(x, lens), m.h0, &m.out);
  const auto i = dynamic_decode(imputed, {.impute_finished = true});
  for (std::int64_t t = 2; t < 4; ++t)
    for (std::int64_t v = 0; v < TinyModel::V; ++v) BOOST_TEST(i.rnn_output.data<float>()[(4 + t) * TinyModel::V + v] == 0.0f);
  const auto masked = dynamic_rnn(m.cell, x, {.sequence_length = lens, .initial_state = m.h0, .scope = "decoder"});
  BOOST_TEST(max_abs_diff(i.final_state, masked.final_state) < 1e-6f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(weight_sharing)

BOOST_AUTO_TEST_CASE(both_decoders_share_variables_and_see_changes_together) {
  Graph graph{3};
  auto use = graph.as_default();
  const Tensor embedding = random_normal({6, 4});
  const Tensor h0 = random_normal({1, 5});
  const Tensor start = ints({1}, {0});
  auto run = [&](bool audit_generation) {
    auto scope = variable_scope("decoder");
    GRUCell cell(5, "cell");
    Dense out(6, {.use_bias = false, .name = "out_layer"});
    BasicDecoder train(cell, TrainingHelper(embedding_lookup(embedding, ints({1, 3}, {0, 3, 4})), ints({1}, {3})), h0,
                       &out);
    const Tensor logits = dynamic_decode(train).rnn_output;
    scope.reuse_variables();
    std::optional<VariableAudit> audit;
    if (audit_generation) audit.emplace();
    GRUCell cell2(5, "cell");
    Dense out2(6, {.use_bias = false, .name = "out_layer"});
    BeamSearchDecoder beam(cell2, embedding, start, 1, tile_batch(h0, 2), 2, &out2);
    const auto ids = dynamic_decode(beam, {.maximum_iterations = 4}).predicted_ids;
    if (audit_generation) {
      BOOST_TEST(audit->created().empty());
      BOOST_TEST(audit->reused().size() == 5u);
    }
    return std::pair{logits, ids};
  };
  const auto [logits1, ids1] = run(true);
  BOOST_TEST(graph.global_variables().size() == 5u);
  std::vector<std::string> names;
  for (const auto& v : graph.global_variables()) names.push_back(v.op_name());
  BOOST_TEST(names == (std::vector<std::string>{"decoder/decoder/cell/gates/kernel", "decoder/decoder/cell/gates/bias",
                                                "decoder/decoder/cell/candidate/kernel",
                                                "decoder/decoder/cell/candidate/bias", "decoder/decoder/out_layer/kernel"}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(perturbing_a_shared_variable_changes_both_decoders) {
  Graph graph{5};
  auto use = graph.as_default();
  const Tensor embedding = random_normal({6, 4});
  const Tensor h0 = random_normal({1, 5});
  auto scope = variable_scope("decoder");
  GRUCell cell(5, "cell");
  Dense out(6, {.use_bias = false, .name = "out_layer"});
  auto decode_both = [&] {
    BasicDecoder train(cell, TrainingHelper(embedding_lookup(embedding, ints({1, 3}, {0, 3, 4})), ints({1}, {3})), h0,
                       &out);
    BeamSearchDecoder beam(cell, embedding, ints({1}, {0}), 1, tile_batch(h0, 2), 2, &out);
    return std::pair{dynamic_decode(train).rnn_output, dynamic_decode(beam, {.maximum_iterations = 4}).final_log_probs};
  };
  const auto [train_before, beam_before] = decode_both();
  const Variable kernel = *graph.store().find("decoder/decoder/out_layer/kernel");
  // (A constant added to every logit would leave log_softmax unchanged: perturb with noise.)
  kernel.assign(add(kernel.value(), random_normal(kernel.shape(), 0.0f, 0.5f)));
  const auto [train_after, beam_after] = decode_both();
  BOOST_TEST(!train_before.bitwise_equal(train_after));
  BOOST_TEST(!beam_before.bitwise_equal(beam_after));
  BOOST_TEST(graph.global_variables().size() == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
