// Sampling and decoding as strategies (SampleEmbeddingHelper, SamplingSearch, decode()):
// the draws follow softmax(logits / temperature) (Pearson chi-square on a small vocabulary,
// fixed seed, many draws), top-k never leaves the k best tokens, a seed reproduces the ids
// (and a golden of them, so the wasm build checks the same ids), and the strategies return
// what TF's decoders return: greedy and beam results are unchanged by the refactor.
#define BOOST_TEST_MODULE sampling
#include "support/boost_test.hpp"
#include "support/error_message.hpp"  // message_of<E>(f)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

import varscope;

using namespace varscope;
namespace tt = boost::test_tools;

namespace {

std::vector<std::int32_t> values(const Tensor& t) {
  const auto d = t.data<std::int32_t>();
  return {d.begin(), d.end()};
}

// A decoder whose logits are the same at every step and for every row: the output layer's
// kernel is zero and its bias holds the logits, so cell_output @ 0 + bias == bias exactly.
// Token 5 is the end token with a logit of -1e30 (probability 0): no row ever finishes, so
// B rows x T steps are B * T independent draws from one categorical distribution.
struct FixedLogits {
  static constexpr std::int64_t V = 6, D = 3, H = 4;
  static constexpr std::int32_t kEnd = 5;
  static constexpr float kLogits[V] = {1.0f, 0.5f, 0.0f, -0.5f, -1.5f, -1e30f};
  Graph graph{11};
  DefaultGraphGuard use{graph};
  Tensor embedding = random_normal({V, D});
  GRUCell cell{H, "cell"};
  Dense out{V, {.name = "out"}};

  FixedLogits() {
    auto scope = variable_scope("decoder");
    cell.build(D);
    out.build(H);
    out.kernel().assign(zeros({H, V}));
    out.bias()->assign(Tensor(Shape{V}, std::vector<float>(kLogits, kLogits + V)));
  }

  // sample_id [B, T] of one dynamic_decode with `helper`.
  Tensor draw(const SampleEmbeddingHelper& helper, std::int64_t B, std::int64_t T) {
    BasicDecoder decoder(cell, helper, zeros({B, H}), out);
    return dynamic_decode(decoder, {.maximum_iterations = T}).sample_id;
  }
  Tensor start(std::int64_t B) const { return Tensor(Shape{B}, std::vector<std::int32_t>(B, 0)); }
  Tensor draw(SamplingOptions options, std::int64_t B = 2000, std::int64_t T = 10) {
    return draw(SampleEmbeddingHelper(embedding, start(B), kEnd, options), B, T);
  }
};

// softmax(logits[0..n) / temperature) among the `top_k` largest (0: all), in double: the oracle.
std::vector<double> softmax(double temperature, int top_k, int n = 5) {
  std::vector<double> p(static_cast<std::size_t>(n));
  double sum = 0;
  for (int v = 0; v < n; ++v) {
    p[v] = (top_k == 0 || v < top_k) ? std::exp(double(FixedLogits::kLogits[v]) / temperature) : 0.0;  // sorted logits
    sum += p[v];
  }
  for (auto& x : p) x /= sum;
  return p;
}

std::vector<std::int64_t> counts(const Tensor& ids, int n = FixedLogits::V) {
  std::vector<std::int64_t> c(static_cast<std::size_t>(n), 0);
  for (const auto id : ids.data<std::int32_t>()) {
    BOOST_REQUIRE(id >= 0 && id < n);
    ++c[id];
  }
  return c;
}

// Pearson's statistic over the categories with a non-zero expected count; a category with
// probability 0 must not be drawn at all.
double chi_square(const std::vector<std::int64_t>& observed, const std::vector<double>& p) {
  std::int64_t total = 0;
  for (const auto o : observed) total += o;
  double x2 = 0;
  for (std::size_t v = 0; v < observed.size(); ++v) {
    const double expected = v < p.size() ? p[v] * double(total) : 0.0;
    if (expected == 0.0) {
      BOOST_TEST(observed[v] == 0, "token " << v << " has probability 0 but was drawn " << observed[v] << " times");
      continue;
    }
    x2 += (double(observed[v]) - expected) * (double(observed[v]) - expected) / expected;
  }
  return x2;
}

// Critical values of the chi-square distribution at p = 0.001 (a correct sampler fails one
// fixed seed in a thousand; the seeds below were not chosen): df 4 -> 18.467, df 1 -> 10.828.
constexpr double kChi2Df4 = 18.467, kChi2Df1 = 10.828;

}  // namespace

BOOST_AUTO_TEST_SUITE(distribution)

// 20000 draws (2000 rows x 10 steps) against softmax(logits): df = 4.
BOOST_AUTO_TEST_CASE(draws_follow_the_softmax) {
  FixedLogits m;
  const auto c = counts(m.draw({.seed = 1}));
  const double x2 = chi_square(c, softmax(1.0, 0));
  BOOST_TEST_MESSAGE("chi-square T=1: " << x2 << " (df 4, p=0.001 critical " << kChi2Df4 << ")");
  BOOST_TEST(x2 < kChi2Df4);
  BOOST_TEST(c[FixedLogits::kEnd] == 0);
}

// Temperature divides the logits: 0.5 sharpens, 2 flattens; each matches its own softmax.
BOOST_AUTO_TEST_CASE(temperature_scales_the_logits) {
  double top_share[3];
  const float temperatures[3] = {0.5f, 1.0f, 2.0f};
  for (int i = 0; i < 3; ++i) {
    FixedLogits m;
    const auto c = counts(m.draw({.softmax_temperature = temperatures[i], .seed = 2}));
    const double x2 = chi_square(c, softmax(temperatures[i], 0));
    BOOST_TEST_MESSAGE("chi-square T=" << temperatures[i] << ": " << x2);
    BOOST_TEST(x2 < kChi2Df4, "T = " << temperatures[i] << ": chi-square " << x2);
    top_share[i] = double(c[0]) / 20000.0;
  }
  BOOST_TEST(top_share[0] > top_share[1]);
  BOOST_TEST(top_share[1] > top_share[2]);
  // Against the wrong temperature the same test rejects: it can tell them apart.
  FixedLogits m;
  BOOST_TEST(chi_square(counts(m.draw({.softmax_temperature = 0.5f, .seed = 2})), softmax(1.0, 0)) > 10 * kChi2Df4);
}

// top_k = 2: only the two largest logits are ever drawn, in their renormalised proportion.
BOOST_AUTO_TEST_CASE(top_k_never_leaves_the_k_best) {
  FixedLogits m;
  const auto c = counts(m.draw({.top_k = 2, .seed = 3}));
  BOOST_TEST(c[2] + c[3] + c[4] + c[5] == 0);
  const double x2 = chi_square({c[0], c[1]}, softmax(1.0, 2, 2));
  BOOST_TEST_MESSAGE("chi-square top_k=2: " << x2 << " (df 1, critical " << kChi2Df1 << ")");
  BOOST_TEST(x2 < kChi2Df1);
  // top_k = 1 is the argmax; top_k = V is the whole vocabulary (the same ids as 0).
  FixedLogits a, b;
  const Tensor argmax_ids = a.draw({.top_k = 1, .seed = 3}, 50, 4);
  for (const auto id : argmax_ids.data<std::int32_t>()) BOOST_TEST(id == 0);
  BOOST_TEST(values(a.draw({.top_k = FixedLogits::V, .seed = 4}, 50, 4)) ==
             values(b.draw({.top_k = 0, .seed = 4}, 50, 4)), tt::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reproducibility)

// The same seed gives the same ids (in another graph with the same graph seed); another seed
// does not. The golden holds the first ids of seed 42: the wasm build of this test checks that
// WebAssembly draws exactly what the native build drew.
BOOST_AUTO_TEST_CASE(a_seed_gives_the_same_ids) {
  std::vector<std::int32_t> first, again, other;
  {
    FixedLogits m;
    first = values(m.draw({.seed = 42}, 8, 4));
  }
  {
    FixedLogits m;
    again = values(m.draw({.seed = 42}, 8, 4));
  }
  {
    FixedLogits m;
    other = values(m.draw({.seed = 43}, 8, 4));
  }
  BOOST_TEST(first == again, tt::per_element());
  BOOST_TEST(first != other);
  const std::vector<std::int32_t> golden = {2, 0, 1, 1, 3, 0, 0, 0, 1, 0, 0, 2, 0, 1, 0, 1,
                                           2, 1, 3, 2, 4, 0, 4, 0, 0, 0, 0, 1, 0, 1, 0, 1};
  BOOST_TEST(first == golden, tt::per_element());
}

// Without a seed each helper takes the graph's next op seed: two helpers differ, a program
// run twice does not (same graph seed, same order).
BOOST_AUTO_TEST_CASE(without_a_seed_the_graph_seeds_each_helper) {
  FixedLogits m;
  const SampleEmbeddingHelper h1(m.embedding, m.start(8), FixedLogits::kEnd);
  const SampleEmbeddingHelper h2(m.embedding, m.start(8), FixedLogits::kEnd);
  BOOST_TEST(h1.resolved_seed() != h2.resolved_seed());
  BOOST_TEST(values(m.draw(h1, 8, 4)) != values(m.draw(h2, 8, 4)));
  BOOST_TEST(values(m.draw(h1, 8, 4)) == values(m.draw(h1, 8, 4)), tt::per_element());  // a helper replays its stream
  FixedLogits again;
  const SampleEmbeddingHelper g1(again.embedding, again.start(8), FixedLogits::kEnd);
  BOOST_TEST(g1.resolved_seed() == h1.resolved_seed());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(strategies)

// A small random decoder (peaky output layer) in a scope, for the strategy comparisons.
struct Model {
  static constexpr std::int64_t V = 7, D = 3, H = 6, B = 3;
  static constexpr std::int32_t kEnd = 1;
  Graph graph{5};
  DefaultGraphGuard use{graph};
  Tensor embedding = random_normal({V, D}, 0.0f, 1.5f);
  GRUCell cell{H, "cell"};
  Dense out{V, {.name = "out"}};
  Tensor h0 = random_normal({B, H});
  Tensor start = Tensor(Shape{B}, std::vector<std::int32_t>{0, 2, 3});
  Model() {
    auto scope = variable_scope("decoder");
    cell.build(D);
    out.build(H);
    out.kernel().assign(random_normal({H, V}, 0.0f, 2.0f));
  }
};

// decode() with the default options is greedy search: the ids and lengths of
// dynamic_decode(BasicDecoder(GreedyEmbeddingHelper)); log_prob re-derived from its logits.
BOOST_AUTO_TEST_CASE(greedy_is_the_basic_decoder) {
  Model m;
  BasicDecoder decoder(m.cell, GreedyEmbeddingHelper(m.embedding, m.start, Model::kEnd), m.h0, m.out);
  const auto r = dynamic_decode(decoder, {.maximum_iterations = 6});
  const auto strategy = make_search_strategy({.maximum_iterations = 6});
  BOOST_TEST(strategy->name() == "greedy");
  const auto d = decode(m.cell, m.embedding, m.start, Model::kEnd, m.h0, {.maximum_iterations = 6}, m.out);
  const auto T = r.sample_id.shape()[1];
  for (std::int64_t b = 0; b < Model::B; ++b) {
    BOOST_REQUIRE(d.hypotheses[b].size() == 1u);
    const Hypothesis& h = d.hypotheses[b][0];
    BOOST_TEST(h.length == r.lengths.data<std::int32_t>()[b]);
    std::vector<std::int32_t> ids;
    double log_prob = 0;
    for (std::int64_t t = 0; t < h.length; ++t) {
      const auto id = r.sample_id.data<std::int32_t>()[b * T + t];
      const Tensor row = log_softmax(slice(r.rnn_output, {b, t, 0}, {1, 1, -1}));
      log_prob += row.data<float>()[id];
      if (id == Model::kEnd) break;
      ids.push_back(id);
    }
    BOOST_TEST(h.ids == ids, tt::per_element());
    BOOST_TEST(double(h.log_prob) == log_prob, tt::tolerance(1e-5));
    BOOST_TEST(h.score == h.log_prob);  // alpha 0
  }
}

// decode() with beam_width 3 is BeamSearchDecoder on the tiled state: the same hypotheses.
BOOST_AUTO_TEST_CASE(beam_is_the_beam_search_decoder) {
  Model m;
  BeamSearchDecoder decoder(m.cell, m.embedding, m.start, Model::kEnd, tile_batch(State(m.h0), 3),
                            {.beam_width = 3, .length_penalty_weight = 0.6f, .num_hypotheses = 2}, m.out);
  const auto r = dynamic_decode(decoder, {.maximum_iterations = 6});
  const DecodingOptions o{.beam_width = 3, .length_penalty_weight = 0.6f, .num_hypotheses = 2, .maximum_iterations = 6};
  BOOST_TEST(make_search_strategy(o)->name() == "beam");
  const auto d = decode(m.cell, m.embedding, m.start, Model::kEnd, m.h0, o, m.out);
  for (std::int64_t b = 0; b < Model::B; ++b) {
    BOOST_REQUIRE(d.hypotheses[b].size() == 2u);
    for (std::size_t k = 0; k < 2; ++k) {
      BOOST_TEST(d.hypotheses[b][k].ids == r.hypotheses[b][k].ids, tt::per_element());
      BOOST_TEST(d.hypotheses[b][k].score == r.hypotheses[b][k].score);
      BOOST_TEST(d.hypotheses[b][k].log_prob == r.hypotheses[b][k].log_prob);
    }
  }
}

// Sampling through decode(): seeded, reproducible, and top-k 1 of the helper is greedy.
BOOST_AUTO_TEST_CASE(sampling_through_decode) {
  std::vector<std::vector<std::int32_t>> runs;
  for (int i = 0; i < 2; ++i) {
    Model m;
    const DecodingOptions o{.sampling_topk = 0, .sampling_temperature = 1.5f, .seed = 9, .maximum_iterations = 6};
    BOOST_TEST(make_search_strategy(o)->name() == "sampling");
    const auto d = decode(m.cell, m.embedding, m.start, Model::kEnd, m.h0, o, m.out);
    std::vector<std::int32_t> all;
    for (const auto& row : d.hypotheses) all.insert(all.end(), row.at(0).ids.begin(), row.at(0).ids.end());
    runs.push_back(all);
  }
  BOOST_TEST(runs[0] == runs[1], tt::per_element());
  Model m;
  BasicDecoder greedy(m.cell, GreedyEmbeddingHelper(m.embedding, m.start, Model::kEnd), m.h0, m.out);
  BasicDecoder top1(m.cell, SampleEmbeddingHelper(m.embedding, m.start, Model::kEnd, {.top_k = 1, .seed = 1}), m.h0,
                    m.out);
  BOOST_TEST(values(dynamic_decode(greedy, {.maximum_iterations = 6}).sample_id) ==
             values(dynamic_decode(top1, {.maximum_iterations = 6}).sample_id), tt::per_element());
}

// An attention cell (AttentionWrapper, alignment_history on) under sampling: decode()'s hypotheses
// carry each step's alignments, the rows of the BasicDecoder's alignment_history, and the same
// seed draws the same ids through decode() and through the helper directly.
BOOST_AUTO_TEST_CASE(sampling_keeps_an_attention_cells_alignments) {
  constexpr std::int64_t V = 5, B = 3, T = 5;
  constexpr std::int32_t kEnd = 1;
  Graph graph{3};
  DefaultGraphGuard use{graph};
  const Tensor embedding = random_uniform(Shape{V, 3}, -1.0f, 1.0f);
  const Tensor memory = random_uniform(Shape{B, T, 4}, -1.0f, 1.0f);
  const Tensor lengths(Shape{B}, std::vector<std::int32_t>{5, 2, 1});
  BahdanauAttention mechanism{4, memory, lengths, true};
  GRUCell gru{4};
  AttentionWrapper cell{gru, mechanism, {.attention_layer_size = 3, .alignment_history = true}};
  Dense out{V};
  const Tensor start(Shape{B}, std::vector<std::int32_t>(B, 0));
  const DecodingOptions o{.sampling_topk = 0, .sampling_temperature = 2.0f, .seed = 4, .maximum_iterations = 6};
  const DecodingResult d = decode(cell, embedding, start, kEnd, cell.zero_state(B), o, out);
  BasicDecoder decoder(cell, SampleEmbeddingHelper(embedding, start, kEnd, {.softmax_temperature = 2.0f, .seed = 4}),
                       cell.zero_state(B), out);
  const BasicDecodeResult r = dynamic_decode(decoder, {.maximum_iterations = 6});
  const std::int64_t steps = r.sample_id.shape()[1];
  BOOST_REQUIRE(r.alignment_history.shape() == Shape({steps, B, T}));
  for (std::int64_t b = 0; b < B; ++b) {
    const Hypothesis& h = d.hypotheses.at(b).at(0);
    const std::int64_t len = r.lengths.data<std::int32_t>()[b];
    BOOST_TEST(h.length == len);
    std::vector<std::int32_t> ids;
    for (std::int64_t t = 0; t < len; ++t) {
      const std::int32_t id = r.sample_id.data<std::int32_t>()[b * steps + t];
      if (id == kEnd) break;
      ids.push_back(id);
    }
    BOOST_TEST(h.ids == ids, tt::per_element());
    BOOST_REQUIRE(h.alignments.shape() == Shape({len, T}));
    for (std::int64_t t = 0; t < len; ++t)
      for (std::int64_t j = 0; j < T; ++j) {
        const float got = h.alignments.data<float>()[t * T + j];
        BOOST_TEST(got == r.alignment_history.data<float>()[(t * B + b) * T + j]);
        if (j >= lengths.data<std::int32_t>()[b]) BOOST_TEST(got == 0.0f);
      }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

// One check for every front end, naming the field as the caller spells it.
BOOST_AUTO_TEST_CASE(check_decoding_options_names_the_field) {
  const DecodingOptionNames cli{.beam_width = "--beam",
                                .length_penalty_weight = "--length-penalty",
                                .num_hypotheses = "--n-best",
                                .sampling_topk = "--top-k",
                                .sampling_temperature = "--temperature"};
  const DecodingLimits n_best{.min_num_hypotheses = 1};
  BOOST_TEST(message_of<InvalidArgumentError>([&] { check_decoding_options({.beam_width = 0}, cli); }) ==
             "--beam 0 must be >= 1");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               check_decoding_options({.beam_width = 2, .num_hypotheses = 3}, cli, n_best);
             }) == "--n-best 3 must be in [1, --beam = 2]");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               check_decoding_options({.beam_width = 2, .num_hypotheses = 0}, cli, n_best);
             }) == "--n-best 0 must be in [1, --beam = 2]");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               check_decoding_options({.sampling_topk = 0, .sampling_temperature = 0.0f}, cli);
             }) == "--temperature 0.000000 must be > 0 and finite (1 = the model's softmax)");
  BOOST_TEST(message_of<InvalidArgumentError>([&] { check_decoding_options({.sampling_topk = -1}, cli); }) ==
             "--top-k -1 must be >= 0 (0 = the whole vocabulary, 1 = argmax)");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               check_decoding_options({.beam_width = 4, .sampling_topk = 0}, cli);
             }) == "sampling (--top-k 0) needs --beam 1, got 4: sample or search, not both");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               check_decoding_options({.beam_width = 20}, {.who = "page", .beam_width = "beam"},
                                      {.max_beam_width = 16});
             }) == "page: beam 20 must be in [1, 16]");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               check_decoding_options({.length_penalty_weight = 11.0f}, {}, {.max_length_penalty_weight = 10.0f});
             }) == "length_penalty_weight 11.000000 must be in [0, 10.000000]");
  check_decoding_options({.beam_width = 4, .num_hypotheses = 0});  // library: 0 = all beams
}

BOOST_AUTO_TEST_CASE(sample_embedding_helper_arguments) {
  FixedLogits m;
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               SampleEmbeddingHelper(m.embedding, m.start(2), FixedLogits::kEnd, -1.0f);
             }) == "SampleEmbeddingHelper: softmax_temperature -1.000000 must be > 0 and finite (1 = the model's softmax)");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               SampleEmbeddingHelper(m.embedding, m.start(2), FixedLogits::kEnd, {.top_k = 7});
             }) == "SampleEmbeddingHelper: top_k 7 is larger than the vocabulary (6 embedding rows); use 0 for the "
                   "whole vocabulary");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               SampleEmbeddingHelper(m.embedding, m.start(2), 6);
             }) == "SampleEmbeddingHelper: end_token 6 is outside the vocabulary [0, 6)");
  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)make_search_strategy({.sampling_topk = 0, .min_length = 2}); })
                 .find("does not take min_length") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
