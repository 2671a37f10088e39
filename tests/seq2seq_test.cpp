// seq2seq tests: gather_tree by hand-worked examples, beam search against an
// exhaustive search over all sequences (with and without length penalty),
// beam width 1 == greedy, scores re-derived by teacher forcing through the
// training decoder on the same shared weights, weight sharing, and errors.
#define BOOST_TEST_MODULE seq2seq
#include "support/boost_test.hpp"
#include "support/error_message.hpp"  // message_of<E>(f)

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>
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
    (void)out(cell(random_normal({1, D}), cell.zero_state(1)).output);  // build the shared variables once
    // Make the output distribution peaky enough that the best path is not the greedy one sometimes.
    out.kernel().assign(random_normal({H, V}, 0.0f, 2.0f));
  }

  // log p(token | state) and the next state, by the plain Tensor API.
  std::pair<Tensor, Tensor> step(std::int32_t token, const Tensor& state) {
    const Tensor x = embedding_lookup(embedding, ints({1}, {token}));
    auto [output, next] = cell(x, state);
    return {log_softmax(out(output)), next};
  }
};

struct Best {
  double score = -std::numeric_limits<double>::infinity();
  double log_prob = 0;
  std::vector<std::int32_t> ids;
};

// The length penalty written out here, independently of varscope's length_penalty():
// TF / GNMT (Wu et al. 2016, tf.contrib.seq2seq's _length_penalty): ((5 + len) / 6)^alpha;
// LengthPenalty::plain: len^alpha. Both are 1 when alpha == 0 (SPEC section 6).
double oracle_penalty(LengthPenalty kind, double alpha, std::int64_t len) {
  if (alpha == 0.0) return 1.0;
  return kind == LengthPenalty::gnmt ? std::pow((5.0 + double(len)) / 6.0, alpha) : std::pow(double(len), alpha);
}

// Relative tolerance for a beam score / log-probability checked against the
// teacher-forced one, from float32 error analysis (u = 2^-24, gamma_k = k u / (1 - k u)):
// the decoder sums T float log-probabilities (gamma_T); each term is a log-softmax over
// V logits evaluated twice, batched in the decoder and one row at a time here, each within
// gamma_V + 4u of exact (a V-term sum of exps; exp, log and a subtraction); dividing by
// the length penalty rounds twice (2u). Measured: <= 1e-7 relative (1.2e-6 for T = 3,
// V = 4 allowed; the old bound was 1e-4).
double beam_tol(std::int64_t T, std::int64_t V) {
  const double k = double(T + 2 * (V + 4) + 2), u = 0x1p-24;
  return k * u / (1 - k * u);
}

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
        const double score = total / oracle_penalty(kind, alpha, len);
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
                              tile_batch(m.h0, K),
                              {.beam_width = K, .length_penalty_weight = alpha, .length_penalty = kind}, m.out);
    const auto result = dynamic_decode(decoder, {.maximum_iterations = T});
    for (std::int64_t b = 0; b < 2; ++b) {
      BOOST_TEST_CONTEXT("alpha " << alpha << " batch " << b) {
        const Best best = exhaustive(m, row(m.h0, b), T, alpha, kind);
        const Hypothesis& top = result.hypotheses[b][0];
        BOOST_TEST(top.ids == best.ids, tt::per_element());
        BOOST_TEST_MESSAGE("exhaustive alpha " << alpha << " b " << b << ": score err " << std::abs(top.score - best.score)
                           << " rel " << std::abs(top.score - best.score) / std::abs(best.score) << ", log_prob err "
                           << std::abs(top.log_prob - best.log_prob));
        BOOST_TEST(top.score == best.score, tt::tolerance(beam_tol(T, TinyModel::V)));
        BOOST_TEST(top.log_prob == best.log_prob, tt::tolerance(beam_tol(T, TinyModel::V)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(beam_width_one_equals_greedy_decoding) {
  TinyModel m;
  const Tensor start = ints({2}, {TinyModel::BOS, TinyModel::BOS});
  BasicDecoder greedy(m.cell, GreedyEmbeddingHelper(m.embedding, start, TinyModel::EOS), m.h0, m.out);
  const auto g = dynamic_decode(greedy, {.maximum_iterations = 6});
  BeamSearchDecoder beam(m.cell, m.embedding, start, TinyModel::EOS, m.h0, 1, m.out);
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

// The embedding a decoder holds: a Variable is read in place (a later assign is what the next decode
// feeds, as TF reads the variable), shared and borrowed tensors are not copied, a Tensor lvalue is.
BOOST_AUTO_TEST_CASE(decoders_hold_the_embedding_without_copying_it) {
  TinyModel m;
  const Tensor start = ints({2}, {TinyModel::BOS, TinyModel::BOS});
  const Variable table(m.embedding, "embedding");
  BeamSearchDecoder from_variable(m.cell, table, start, TinyModel::EOS, tile_batch(m.h0, 2), 2, m.out);
  BOOST_TEST(&from_variable.embedding() == &table.value());
  GreedyEmbeddingHelper greedy_from_variable(table, start, TinyModel::EOS);
  BOOST_TEST(&greedy_from_variable.embedding() == &table.value());
  const auto shared = std::make_shared<const Tensor>(m.embedding);
  const BeamSearchDecoder from_shared(m.cell, shared, start, TinyModel::EOS, tile_batch(m.h0, 2), 2, m.out);
  BOOST_TEST(&from_shared.embedding() == shared.get());
  const SampleEmbeddingHelper sample_borrowed(EmbeddingParams::borrowed(m.embedding), start, TinyModel::EOS);
  BOOST_TEST(&sample_borrowed.embedding() == &m.embedding);
  const BeamSearchDecoder from_tensor(m.cell, m.embedding, start, TinyModel::EOS, tile_batch(m.h0, 2), 2, m.out);
  BOOST_TEST(&from_tensor.embedding() != &m.embedding);  // an lvalue Tensor is copied, as before

  // A decoder built before an assign decodes with the assigned table, like the same decoder built after it.
  const auto before = dynamic_decode(from_variable, {.maximum_iterations = 5});
  table.assign(random_normal({TinyModel::V, TinyModel::D}, 0.0f, 1.5f));
  const auto after = dynamic_decode(from_variable, {.maximum_iterations = 5});
  BeamSearchDecoder rebuilt(m.cell, table.value(), start, TinyModel::EOS, tile_batch(m.h0, 2), 2, m.out);
  const auto fresh = dynamic_decode(rebuilt, {.maximum_iterations = 5});
  BOOST_TEST(after.final_log_probs.data<float>()[0] == fresh.final_log_probs.data<float>()[0]);
  BOOST_TEST(after.final_log_probs.data<float>()[0] != before.final_log_probs.data<float>()[0]);

  const std::string m_null = message_of<InvalidArgumentError>([] { EmbeddingParams(std::shared_ptr<const Tensor>()); });
  BOOST_TEST(m_null.find("null") != std::string::npos, m_null);
}

BOOST_AUTO_TEST_CASE(log_probs_match_teacher_forcing_through_the_training_decoder) {
  TinyModel m;
  constexpr std::int64_t K = 3, T = 5;
  BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), TinyModel::EOS, tile_batch(m.h0, K), K, m.out,
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
      BasicDecoder train(m.cell, helper, row(m.h0, b), m.out);
      const auto logp = log_softmax(dynamic_decode(train).rnn_output);
      double sum = 0;
      for (std::int64_t t = 0; t < n; ++t) sum += logp.data<float>()[t * TinyModel::V + targets[t]];
      BOOST_TEST_MESSAGE("teacher forcing: log_prob err " << std::abs(h.log_prob - sum) << " rel "
                                                         << std::abs(h.log_prob - sum) / std::abs(sum));
      BOOST_TEST(h.log_prob == sum, tt::tolerance(beam_tol(T, TinyModel::V)));
      BOOST_TEST(h.score == sum / oracle_penalty(LengthPenalty::gnmt, 0.6f,
                                                 h.length == T && targets.back() == TinyModel::EOS ? T - 1 : h.length),
                 tt::tolerance(beam_tol(T, TinyModel::V)));
    }
  BOOST_TEST(m.graph.global_variables().size() == 6u);  // cell (4) + out (2): teacher forcing shared them
}

BOOST_AUTO_TEST_CASE(length_penalty_is_the_written_out_formula) {
  // One float rounding of the double formula: within u |lp|, u = 2^-24.
  for (const float alpha : {0.0f, 0.3f, 0.6f, 1.0f, 1.5f})
    for (const std::int64_t len : {0, 1, 2, 3, 7, 50}) {
      BOOST_TEST_CONTEXT("alpha " << alpha << " len " << len) {
        const double gnmt = oracle_penalty(LengthPenalty::gnmt, alpha, len);
        const double plain = oracle_penalty(LengthPenalty::plain, alpha, len);
        BOOST_TEST(std::abs(length_penalty(LengthPenalty::gnmt, alpha, len) - gnmt) <= 0x1p-24 * gnmt);
        BOOST_TEST(std::abs(length_penalty(LengthPenalty::plain, alpha, len) - plain) <= 0x1p-24 * plain);
      }
    }
  BOOST_TEST(length_penalty(LengthPenalty::gnmt, 1.0f, 7) == 2.0f);  // (5 + 7) / 6
  BOOST_TEST(length_penalty(LengthPenalty::plain, 0.5f, 9) == 3.0f);  // sqrt(9)
}

BOOST_AUTO_TEST_CASE(scores_and_parent_ids_trace_each_final_beam_through_its_prefix_log_probs) {
  // alpha = 0: a step score is the beam's cumulative log-probability. Walking back from
  // each final beam through parent_ids, the score at step t of the beam on that path must
  // be the teacher-forced log-probability (TinyModel::step, one row at a time) of the
  // path's first t + 1 tokens; after the end token the score stays put.
  TinyModel m;
  constexpr std::int64_t K = 3, T = 5;
  BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), TinyModel::EOS, tile_batch(m.h0, K), K, m.out);
  const auto r = dynamic_decode(beam, {.maximum_iterations = T});
  const std::int64_t steps = r.predicted_ids.shape()[1];
  BOOST_TEST_REQUIRE(r.scores.shape() == (Shape{2, steps, K}));
  BOOST_TEST_REQUIRE(r.parent_ids.shape() == (Shape{2, steps, K}));
  BOOST_TEST(r.parent_ids.dtype() == DType::int32);
  const auto at = [&](std::int64_t b, std::int64_t s, std::int64_t k) {
    return (b * steps + s) * K + k;
  };
  int checked = 0;
  double worst = 0;
  for (std::int64_t b = 0; b < 2; ++b) {
    for (std::int64_t k = 0; k < K; ++k) BOOST_TEST(r.parent_ids.data<std::int32_t>()[at(b, 0, k)] == 0);
    for (std::int64_t k = 0; k < K; ++k) {
      std::vector<std::int64_t> beam_at(static_cast<std::size_t>(steps));
      beam_at[steps - 1] = k;
      for (std::int64_t t = steps - 1; t > 0; --t) {
        const std::int32_t parent = r.parent_ids.data<std::int32_t>()[at(b, t, beam_at[t])];
        BOOST_TEST_REQUIRE((parent >= 0 && parent < K));
        beam_at[t - 1] = parent;
      }
      Tensor state = row(m.h0, b);
      std::int32_t token = TinyModel::BOS;
      double cumulative = 0;
      bool finished = false;
      for (std::int64_t t = 0; t < steps; ++t) {
        const std::int32_t id = r.predicted_ids.data<std::int32_t>()[at(b, t, k)];
        if (!finished) {
          const auto [lp, next] = m.step(token, state);
          cumulative += lp.data<float>()[id];
          state = next;
          token = id;
        }
        const float score = r.scores.data<float>()[at(b, t, beam_at[t])];
        BOOST_TEST_CONTEXT("b " << b << " final beam " << k << " step " << t) {
          BOOST_TEST(score == cumulative, tt::tolerance(beam_tol(T, TinyModel::V)));
        }
        worst = std::max(worst, std::abs(score - cumulative));
        ++checked;
        finished = finished || id == TinyModel::EOS;
      }
    }
  }
  BOOST_TEST_MESSAGE("scores vs teacher forcing: worst abs err " << worst << " over " << checked);
  BOOST_TEST(checked == 2 * K * steps);
}

BOOST_AUTO_TEST_CASE(results_are_sorted_best_first_and_finished_beams_stay_finished) {
  TinyModel m;
  constexpr std::int64_t K = 4, T = 6;
  BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), TinyModel::EOS, tile_batch(m.h0, K), K, m.out);
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
  BeamSearchDecoder beam(m.cell, m.embedding, ints({2}, {0, 0}), TinyModel::EOS, tile_batch(m.h0, K),
                         {.beam_width = K, .min_length = 3, .num_hypotheses = 2}, m.out);
  const auto r = dynamic_decode(beam, {.maximum_iterations = 6});
  for (std::int64_t b = 0; b < 2; ++b) {
    BOOST_TEST(r.hypotheses[b].size() == 2u);
    for (const auto& h : r.hypotheses[b]) BOOST_TEST(h.ids.size() >= 3u);
  }
}

// BeamSearchOptions, every beam option in one struct: each out-of-range field is an
// InvalidArgumentError naming the field, its value and the allowed range, through
// either constructor (TF's argument list builds the same struct).
BOOST_AUTO_TEST_CASE(beam_search_options_are_checked_with_errors_naming_the_field_and_value) {
  TinyModel m;
  constexpr std::int64_t K = 4;
  const Tensor start = ints({2}, {0, 0}), tiled = tile_batch(m.h0, K);
  auto with = [&](BeamSearchOptions o) { return [&, o] { (void)BeamSearchDecoder(m.cell, m.embedding, start, TinyModel::EOS, tile_batch(m.h0, std::max<std::int64_t>(o.beam_width, 1)), o, m.out); }; };
  using M = std::string;
  const std::vector<std::pair<M, std::function<void()>>> cases = {
      {"BeamSearchDecoder: beam_width 0 must be >= 1", with({.beam_width = 0})},
      {"BeamSearchDecoder: beam_width -2 must be >= 1", with({.beam_width = -2})},
      {"BeamSearchDecoder: beam_width 0 must be >= 1",
       [&] { (void)BeamSearchDecoder(m.cell, m.embedding, start, TinyModel::EOS, m.h0, 0, m.out); }},
      {"BeamSearchDecoder: num_hypotheses 5 must be in [0, beam_width = 4]",
       with({.beam_width = K, .num_hypotheses = 5})},
      {"BeamSearchDecoder: num_hypotheses -1 must be in [0, beam_width = 4]",
       with({.beam_width = K, .num_hypotheses = -1})},
      {"BeamSearchDecoder: min_length -3 must be >= 0", with({.beam_width = K, .min_length = -3})},
      {"BeamSearchDecoder: length_penalty_weight -0.500000 must be >= 0",
       with({.beam_width = K, .length_penalty_weight = -0.5f})},
      {"BeamSearchDecoder: length_penalty_weight -0.500000 must be >= 0",
       [&] { (void)BeamSearchDecoder(m.cell, m.embedding, start, TinyModel::EOS, tiled, K, m.out, -0.5f); }},
      {"BeamSearchDecoder: length_penalty_weight nan must be >= 0",
       with({.beam_width = K, .length_penalty_weight = std::numeric_limits<float>::quiet_NaN()})},
      {"BeamSearchDecoder: length_penalty 7 is not a LengthPenalty (use LengthPenalty::gnmt or LengthPenalty::plain)",
       with({.beam_width = K, .length_penalty = static_cast<LengthPenalty>(7)})},
  };
  for (const auto& [expected, call] : cases) BOOST_TEST(message_of<InvalidArgumentError>(call) == expected);
  // In range: accepted, and the decoder reports what it was given.
  const BeamSearchDecoder ok(m.cell, m.embedding, start, TinyModel::EOS, tiled,
                             {.beam_width = K, .length_penalty_weight = 0.5f, .length_penalty = LengthPenalty::plain,
                              .min_length = 2, .num_hypotheses = K},
                             m.out);
  BOOST_TEST(ok.beam_width() == K);
  BOOST_TEST(ok.options().min_length == 2);
  BOOST_TEST(ok.options().num_hypotheses == K);
  BOOST_TEST(ok.output_layer().has_value());
  BOOST_TEST(&ok.output_layer()->get() == &m.out);
  // The defaults: greedy width, no penalty, GNMT form, no minimum, every beam returned.
  const BeamSearchOptions defaults;
  BOOST_TEST(defaults.beam_width == 1);
  BOOST_TEST(defaults.length_penalty_weight == 0.0f);
  BOOST_TEST((defaults.length_penalty == LengthPenalty::gnmt));
  BOOST_TEST(defaults.min_length == 0);
  BOOST_TEST(defaults.num_hypotheses == 0);
}

// TF's argument list and the options struct are two spellings of one decoder:
// the same search, bit for bit.
BOOST_AUTO_TEST_CASE(tf_constructor_and_options_struct_run_the_same_search) {
  TinyModel m;
  constexpr std::int64_t K = 3;
  const Tensor start = ints({2}, {0, 0}), tiled = tile_batch(m.h0, K);
  BeamSearchDecoder tf_shape(m.cell, m.embedding, start, TinyModel::EOS, tiled, K, m.out, 0.7f);
  BeamSearchDecoder struct_shape(m.cell, m.embedding, start, TinyModel::EOS, tiled,
                                 {.beam_width = K, .length_penalty_weight = 0.7f}, m.out);
  const auto a = dynamic_decode(tf_shape, {.maximum_iterations = 6});
  const auto b = dynamic_decode(struct_shape, {.maximum_iterations = 6});
  BOOST_TEST(tf_shape.options().length_penalty_weight == 0.7f);
  BOOST_TEST(values(a.predicted_ids) == values(b.predicted_ids), tt::per_element());
  BOOST_TEST(values(a.parent_ids) == values(b.parent_ids), tt::per_element());
  BOOST_TEST(max_abs_diff(a.scores, b.scores) == 0.0f);
  BOOST_TEST(max_abs_diff(a.final_log_probs, b.final_log_probs) == 0.0f);
  // alpha 0.7 changes the scores (so the test would see it dropped on the way).
  BeamSearchDecoder no_penalty(m.cell, m.embedding, start, TinyModel::EOS, tiled, K, m.out);
  BOOST_TEST(max_abs_diff(dynamic_decode(no_penalty, {.maximum_iterations = 6}).scores, a.scores) > 0.0f);
}

// Without an output layer (std::nullopt) the cell's outputs are the logits: the
// same search as through a Dense whose kernel is the identity.
BOOST_AUTO_TEST_CASE(without_an_output_layer_the_cell_outputs_are_the_logits) {
  constexpr std::int64_t V = 6, D = 3, K = 3;
  Graph graph(5);
  auto use = graph.as_default();
  const Tensor embedding = random_normal({V, D}, 0.0f, 1.5f);
  GRUCell cell(V, "cell");
  Dense identity(V, {.use_bias = false, .name = "identity"});
  const Tensor h0 = random_normal({2, V});
  {
    auto scope = variable_scope("decoder");
    (void)identity(cell(random_normal({1, D}), cell.zero_state(1)).output);
  }
  std::vector<float> eye(static_cast<std::size_t>(V * V), 0.0f);
  for (std::int64_t i = 0; i < V; ++i) eye[static_cast<std::size_t>(i * V + i)] = 1.0f;
  identity.kernel().assign(Tensor(Shape{V, V}, eye));
  const Tensor start = ints({2}, {0, 0}), tiled = tile_batch(h0, K);
  BeamSearchDecoder bare(cell, embedding, start, 1, tiled, {.beam_width = K}, std::nullopt);
  BeamSearchDecoder through(cell, embedding, start, 1, tiled, {.beam_width = K}, identity);
  BOOST_TEST(!bare.output_layer().has_value());
  const auto a = dynamic_decode(bare, {.maximum_iterations = 5, .scope = "decoder"});
  const auto b = dynamic_decode(through, {.maximum_iterations = 5, .scope = "decoder"});
  BOOST_TEST(values(a.predicted_ids) == values(b.predicted_ids), tt::per_element());
  BOOST_TEST(max_abs_diff(a.scores, b.scores) == 0.0f);
  BasicDecoder greedy_bare(cell, GreedyEmbeddingHelper(embedding, start, 1), h0);
  BasicDecoder greedy_through(cell, GreedyEmbeddingHelper(embedding, start, 1), h0, identity);
  const auto g = dynamic_decode(greedy_bare, {.maximum_iterations = 5, .scope = "decoder"});
  const auto h = dynamic_decode(greedy_through, {.maximum_iterations = 5, .scope = "decoder"});
  BOOST_TEST(values(g.sample_id) == values(h.sample_id), tt::per_element());
  BOOST_TEST(max_abs_diff(g.rnn_output, h.rnn_output) == 0.0f);
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_clear_errors) {
  TinyModel m;
  const Tensor start = ints({2}, {0, 0});
  try {
    BeamSearchDecoder beam(m.cell, m.embedding, start, TinyModel::EOS, m.h0, 3, m.out);
    BOOST_FAIL("expected ShapeMismatchError");
  } catch (const ShapeMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find("tile it with tile_batch(state, 3)") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(BeamSearchDecoder(m.cell, m.embedding, start, TinyModel::EOS, m.h0, 0, m.out),
                    InvalidArgumentError);
  BOOST_CHECK_THROW(BeamSearchDecoder(m.cell, m.embedding, ints({2}, {0, 4}), TinyModel::EOS, m.h0, 1, m.out),
                    InvalidArgumentError);
  BOOST_CHECK_THROW(BeamSearchDecoder(m.cell, m.embedding, start, 4, m.h0, 1, m.out), InvalidArgumentError);
  BOOST_CHECK_THROW(GreedyEmbeddingHelper(m.embedding, start, -1), InvalidArgumentError);
}

// One validation helper (modules/src/validate.hpp) behind every tensor argument of
// :rnn and :seq2seq: a wrong dtype is a DTypeMismatchError (whatever the shape), a
// wrong rank or size a ShapeMismatchError, both in one message format.
BOOST_AUTO_TEST_CASE(wrong_dtypes_are_dtype_errors_and_wrong_shapes_shape_errors_in_one_format) {
  TinyModel m;
  const std::int64_t H = TinyModel::H, D = TinyModel::D;
  const Tensor start = ints({2}, {0, 0});
  const Tensor i32_state = zeros({2, H}, DType::int32);
  const Tensor f32_lengths = zeros({2});
  using M = std::string;
  const std::vector<std::pair<M, std::function<void()>>> dtype_cases = {
      {"RNNCell: inputs must be float32 [batch, depth], got int32 [2, 3]",
       [&] { (void)m.cell(zeros({2, D}, DType::int32), m.h0); }},
      {"RNNCell: state must be float32 [2, 5], got int32 [2, 5]; batch of the inputs, state size of the cell",
       [&] { (void)m.cell(zeros({2, D}), i32_state); }},
      {"dynamic_rnn: inputs must be float32 [batch, time, depth], got int32 [2, 4, 3]",
       [&] { (void)dynamic_rnn(m.cell, zeros({2, 4, D}, DType::int32), {}); }},
      {"dynamic_rnn: sequence_length must be int32 [2], got float32 [2]; one length per batch row",
       [&] { (void)dynamic_rnn(m.cell, zeros({2, 4, D}), {.sequence_length = f32_lengths}); }},
      {"dynamic_rnn: initial_state must be float32 [2, 5], got int32 [2, 5]; batch of the inputs, state size of the cell",
       [&] { (void)dynamic_rnn(m.cell, zeros({2, 4, D}), {.initial_state = i32_state}); }},
      {"TrainingHelper: inputs must be float32 [batch, time, depth], got int32 [2, 4, 3]",
       [&] { (void)TrainingHelper(zeros({2, 4, D}, DType::int32), ints({2}, {4, 4})); }},
      {"TrainingHelper: sequence_length must be int32 [2], got float32 [2]; one length per batch row",
       [&] { (void)TrainingHelper(zeros({2, 4, D}), f32_lengths); }},
      {"GreedyEmbeddingHelper: embedding must be float32 [vocab, depth], got int32 [4, 3]",
       [&] { (void)GreedyEmbeddingHelper(zeros({4, D}, DType::int32), start, TinyModel::EOS); }},
      {"GreedyEmbeddingHelper: start_tokens must be int32 [batch], got float32 [2]",
       [&] { (void)GreedyEmbeddingHelper(m.embedding, f32_lengths, TinyModel::EOS); }},
      {"BasicDecoder: initial_state must be float32 [2, 5], got int32 [2, 5]; batch of the helper, state size of the cell",
       [&] { (void)BasicDecoder(m.cell, GreedyEmbeddingHelper(m.embedding, start, TinyModel::EOS), i32_state, m.out); }},
      {"BeamSearchDecoder: embedding must be float32 [vocab, depth], got int32 [4, 3]",
       [&] { (void)BeamSearchDecoder(m.cell, zeros({4, D}, DType::int32), start, TinyModel::EOS, m.h0, 1, m.out); }},
      {"BeamSearchDecoder: start_tokens must be int32 [batch], got float32 [2]",
       [&] { (void)BeamSearchDecoder(m.cell, m.embedding, f32_lengths, TinyModel::EOS, m.h0, 1, m.out); }},
      {"BeamSearchDecoder: initial_state must be float32 [batch * beam_width, 5], got int32 [2, 5]; state size of the cell",
       [&] { (void)BeamSearchDecoder(m.cell, m.embedding, start, TinyModel::EOS, i32_state, 1, m.out); }},
      {"gather_tree: step_ids must be int32 [batch, time, beam], got float32 [1, 2, 2]",
       [&] { (void)gather_tree(zeros({1, 2, 2}), zeros({1, 2, 2}, DType::int32), ints({1}, {2}), 1); }},
      {"gather_tree: parent_ids must be int32 [1, 2, 2], got float32 [1, 2, 2]; the shape of step_ids",
       [&] { (void)gather_tree(zeros({1, 2, 2}, DType::int32), zeros({1, 2, 2}), ints({1}, {2}), 1); }},
      {"gather_tree: max_sequence_lengths must be int32 [1], got float32 [1]; one length per batch row",
       [&] { (void)gather_tree(zeros({1, 2, 2}, DType::int32), zeros({1, 2, 2}, DType::int32), zeros({1}), 1); }},
  };
  for (const auto& [expected, call] : dtype_cases) BOOST_TEST(message_of<DTypeMismatchError>(call) == expected);

  // The right dtype with a wrong rank or size: ShapeMismatchError, same format.
  const std::vector<std::pair<M, std::function<void()>>> shape_cases = {
      {"RNNCell: state must be float32 [2, 5], got float32 [2, 4]; batch of the inputs, state size of the cell",
       [&] { (void)m.cell(zeros({2, D}), zeros({2, 4})); }},
      {"dynamic_rnn: inputs must be float32 [batch, time, depth], got float32 [2, 3]",
       [&] { (void)dynamic_rnn(m.cell, zeros({2, D}), {}); }},
      {"dynamic_rnn: sequence_length must be int32 [2], got int32 [1, 2]; one length per batch row",
       [&] { (void)dynamic_rnn(m.cell, zeros({2, 4, D}), {.sequence_length = ints({1, 2}, {4, 4})}); }},
      {"TrainingHelper: sequence_length must be int32 [2], got int32 [3]; one length per batch row",
       [&] { (void)TrainingHelper(zeros({2, 4, D}), ints({3}, {4, 4, 4})); }},
      {"BeamSearchDecoder: start_tokens must be int32 [batch], got int32 [2, 1]",
       [&] { (void)BeamSearchDecoder(m.cell, m.embedding, ints({2, 1}, {0, 0}), TinyModel::EOS, m.h0, 1, m.out); }},
      {"gather_tree: parent_ids must be int32 [1, 2, 2], got int32 [1, 2, 3]; the shape of step_ids",
       [&] { (void)gather_tree(zeros({1, 2, 2}, DType::int32), zeros({1, 2, 3}, DType::int32), ints({1}, {2}), 1); }},
  };
  for (const auto& [expected, call] : shape_cases) BOOST_TEST(message_of<ShapeMismatchError>(call) == expected);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(training_decoder)

BOOST_AUTO_TEST_CASE(training_decode_equals_dynamic_rnn_plus_dense_and_counts_lengths) {
  TinyModel m;
  const Tensor x = random_normal({2, 4, TinyModel::D});
  const Tensor lens = ints({2}, {4, 2});
  BasicDecoder decoder(m.cell, TrainingHelper(x, lens), m.h0, m.out);
  const auto r = dynamic_decode(decoder);
  BOOST_TEST(r.rnn_output.shape() == (Shape{2, 4, TinyModel::V}));
  BOOST_TEST(values(r.lengths) == (std::vector<std::int32_t>{4, 2}), tt::per_element());
  // impute_finished=false: every step of every row is computed, like an RNN over all 4 steps.
  const auto rnn = dynamic_rnn(m.cell, x, {.initial_state = m.h0, .scope = "decoder"});
  BOOST_TEST(max_abs_diff(r.rnn_output, m.out(rnn.outputs)) < 1e-5f);
  BOOST_TEST(values(r.sample_id) == values(argmax(r.rnn_output, -1)), tt::per_element());
  // impute_finished=true: zero outputs past the length, state copied through.
  BasicDecoder imputed(m.cell, TrainingHelper(x, lens), m.h0, m.out);
  const auto i = dynamic_decode(imputed, {.impute_finished = true});
  for (std::int64_t t = 2; t < 4; ++t)
    for (std::int64_t v = 0; v < TinyModel::V; ++v) BOOST_TEST(i.rnn_output.data<float>()[(4 + t) * TinyModel::V + v] == 0.0f);
  const auto masked = dynamic_rnn(m.cell, x, {.sequence_length = lens, .initial_state = m.h0, .scope = "decoder"});
  BOOST_TEST(max_abs_diff(i.final_state, masked.final_state) < 1e-6f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(weight_sharing)

// The article's point: a second decoder built from NEW GRUCell / Dense objects in a
// variable_scope with reuse gets the first decoder's variables (by name), not new ones.
struct SharedDecoders {
  Graph graph{3};
  DefaultGraphGuard use{graph};
  Tensor embedding = random_normal({6, 4});
  Tensor h0 = random_normal({1, 5});
  Tensor inputs = embedding_lookup(embedding, ints({1, 3}, {0, 3, 4}));
  VariableScope scope = [] {
    auto s = variable_scope("model");
    return static_cast<VariableScope>(s);
  }();
  // The training decoder's layer objects (created in "model"), and the beam decoder's, created
  // later as new objects in "model" re-entered with reuse=True.
  GRUCell train_cell{5, "cell"};
  Dense train_out{6, {.use_bias = false, .name = "out_layer"}};
  std::optional<GRUCell> beam_cell;
  std::optional<Dense> beam_out;

  Tensor train_logits() {
    auto s = variable_scope(scope);
    BasicDecoder train(train_cell, TrainingHelper(inputs, ints({1}, {3})), h0, train_out);
    return dynamic_decode(train).rnn_output;
  }
  BeamSearchResult beam(GRUCell& cell, Dense& out) {
    auto s = variable_scope(scope, {.reuse = Reuse::True});
    BeamSearchDecoder decoder(cell, embedding, ints({1}, {0}), 1, tile_batch(h0, 2), 2, out);
    return dynamic_decode(decoder, {.maximum_iterations = 4});
  }
  BeamSearchResult beam_with_new_objects() {
    auto s = variable_scope(scope, {.reuse = Reuse::True});
    beam_cell.emplace(5, "cell");
    beam_out.emplace(6, DenseOptions{.use_bias = false, .name = "out_layer"});
    return beam(*beam_cell, *beam_out);
  }
};

BOOST_FIXTURE_TEST_CASE(new_layer_objects_under_reuse_get_the_training_decoders_variables, SharedDecoders) {
  const Tensor logits = train_logits();  // creates the 5 variables
  BOOST_TEST(graph.global_variables().size() == 5u);
  BeamSearchResult shared;
  {
    VariableAudit audit(graph);
    shared = beam_with_new_objects();
    BOOST_TEST(audit.created().empty(), audit.summary());
    BOOST_TEST(audit.reused().size() == 5u, audit.summary());
  }
  std::vector<std::string> names;
  for (const auto& v : graph.global_variables()) names.push_back(v.op_name());
  BOOST_TEST(names == (std::vector<std::string>{"model/decoder/cell/gates/kernel", "model/decoder/cell/gates/bias",
                                                "model/decoder/cell/candidate/kernel", "model/decoder/cell/candidate/bias",
                                                "model/decoder/out_layer/kernel"}),
             tt::per_element());
  // The new objects hold the very same variables (handles to one node), not equal copies.
  const auto a = train_cell.variables(), b = beam_cell->variables();
  BOOST_TEST_REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST((a[i] == b[i]), a[i].op_name());
  BOOST_TEST((beam_out->kernel() == train_out.kernel()));
  // They compute what the training decoder's own objects compute, bit for bit.
  const BeamSearchResult same = beam(train_cell, train_out);
  BOOST_TEST(shared.predicted_ids.bitwise_equal(same.predicted_ids));
  BOOST_TEST(shared.scores.bitwise_equal(same.scores));
  BOOST_TEST(shared.final_log_probs.bitwise_equal(same.final_log_probs));
  // And the two decoders agree on the first step (the article's check): from the same state and
  // start token 0 (the training input at t = 0), the beam's step-0 scores are the training
  // logits' top-2 log-probabilities.
  const Tensor first = log_softmax(slice(logits, {0, 0, 0}, {1, 1, 6}));
  const auto top = top_k(reshape(first, Shape{1, 6}), 2);
  for (std::int64_t k = 0; k < 2; ++k) {
    BOOST_TEST(shared.scores.data<float>()[k] == top.values.data<float>()[k], tt::tolerance(beam_tol(1, 6)));
  }
}

BOOST_FIXTURE_TEST_CASE(perturbing_a_shared_variable_changes_both_decoders, SharedDecoders) {
  const Tensor train_before = train_logits();
  const BeamSearchResult beam_before = beam_with_new_objects();
  const Variable kernel = *graph.store().find("model/decoder/out_layer/kernel");
  // (A constant added to every logit would leave log_softmax unchanged: perturb with noise.)
  kernel.assign(add(kernel.value(), random_normal(kernel.shape(), 0.0f, 0.5f)));
  const Tensor train_after = train_logits();
  const BeamSearchResult beam_after = beam(*beam_cell, *beam_out);  // the same new objects, not rebuilt
  BOOST_TEST(!train_before.bitwise_equal(train_after));
  BOOST_TEST(!beam_before.final_log_probs.bitwise_equal(beam_after.final_log_probs));
  // Still one set of weights: the beam's new objects and the training decoder's objects agree.
  BOOST_TEST(beam(train_cell, train_out).final_log_probs.bitwise_equal(beam_after.final_log_probs));
  BOOST_TEST(graph.global_variables().size() == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
