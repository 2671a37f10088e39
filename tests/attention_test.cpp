// AttentionWrapper with LuongAttention / BahdanauAttention (TF 1.15 tf.contrib.seq2seq),
// against tests/data/attention_golden.json: float64 code written from TF's equations with
// float64 PyTorch autograd for the gradients (tools/gen-attention-golden.py; regenerate with
// `/usr/bin/python3 tools/gen-attention-golden.py`). Six cases (Luong plain / scaled,
// Bahdanau plain / normalized / without attention layer, an LSTM inner cell), ragged memory
// lengths {5, 2, 1}: TF's variable names in creation order, the outputs, every final state
// leaf, and d loss / d (every variable, memory_layer included, the memory, the decoder inputs,
// the initial cell state). Plus the state's structure, TF's errors and setup_memory.
#define BOOST_TEST_MODULE attention
#include "support/boost_test.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attention_golden.hpp"  // generated: kAttentionGolden (tests/data/attention_golden.json)

import varscope;
#include "support/compare.hpp"
#include "support/golden.hpp"

using namespace varscope;
using namespace golden_data;
using Json = nlohmann::ordered_json;  // keeps the golden's key order: TF's creation order of the params

namespace {

struct Fresh {
  Graph graph{3};
  DefaultGraphGuard use{graph};
};

const Json& golden() {
  static const Json j = Json::parse(kAttentionGolden);
  return j;
}
const Json& golden_case(const std::string& name) {
  for (const auto& c : golden().at("cases"))
    if (c.at("name") == name) return c;
  throw std::runtime_error("no golden case " + name);
}

constexpr double kForwardBound = 2e-6;
constexpr double kGradBound = 1e-5;

Tensor sum_of_product(const Tensor& a, const Tensor& r) { return reduce_sum(reshape(multiply(a, r), Shape{-1}), 0); }

// The case's mechanism, inner cell and wrapper, built over `memory`.
struct Model {
  std::unique_ptr<AttentionMechanism> mechanism;
  std::unique_ptr<RNNCell> inner;
  std::unique_ptr<AttentionWrapper> cell;
  Model(const Json& config, const Tensor& memory, const Tensor& lengths) {
    const std::int64_t A = config.at("num_units");
    if (config.at("mechanism") == "luong")
      mechanism = std::make_unique<LuongAttention>(A, memory, lengths, config.at("scale").get<bool>());
    else
      mechanism = std::make_unique<BahdanauAttention>(A, memory, lengths, config.at("normalize").get<bool>());
    const std::int64_t D = config.at("cell_units");
    if (config.at("cell") == "gru")
      inner = std::make_unique<GRUCell>(D);
    else
      inner = std::make_unique<BasicLSTMCell>(D);
    AttentionWrapperOptions o;
    if (!config.at("attention_layer_size").is_null()) o.attention_layer_size = config.at("attention_layer_size").get<std::int64_t>();
    o.output_attention = config.at("output_attention");
    cell = std::make_unique<AttentionWrapper>(*inner, *mechanism, o);
  }
};

std::vector<std::string> cell_state_paths(const Json& c) {
  std::vector<std::string> out;
  for (const auto& [k, v] : c.at("initial_cell_state").items()) out.push_back(k);
  return out;
}

void check_case(const std::string& name) {
  const Json& c = golden_case(name);
  Fresh g;
  auto memory = Variable(golden_tensor(c.at("memory")), "memory");
  auto x = Variable(golden_tensor(c.at("inputs")), "inputs");
  const Tensor lengths = golden_ints(c.at("memory_sequence_length"));
  const auto paths = cell_state_paths(c);  // "cell_state" or "cell_state/c", "cell_state/h"
  std::vector<Variable> init;
  for (const auto& p : paths) init.push_back(Variable(golden_tensor(c.at("initial_cell_state").at(p)), "s" + std::to_string(init.size())));
  const std::int64_t B = x.value().shape()[0];
  Model model(c.at("config"), memory.value(), lengths);
  AttentionWrapper& cell = *model.cell;
  const auto initial = [&] {
    const State cs = paths.size() == 1 ? State(init[0].value()) : State(LSTMStateTuple{init[0].value(), init[1].value()});
    return State(AttentionWrapperState::from(cell.zero_state(B)).clone({.cell_state = cs}));
  };
  (void)dynamic_rnn(cell, x.value(), {.initial_state = initial()});  // builds the variables under rnn/

  std::vector<Variable> vars{model.mechanism->memory_layer().kernel()};
  for (const auto& v : cell.variables()) vars.push_back(v);
  std::vector<std::string> want_names;
  for (const auto& [n, value] : c.at("params").items()) want_names.push_back(n);
  BOOST_TEST(names_of(vars) == want_names, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(vars.size(), want_names.size());
  for (std::size_t i = 0; i < vars.size(); ++i) vars[i].assign(golden_tensor(c.at("params").at(want_names[i])));

  std::vector<Variable> sources = vars;
  sources.insert(sources.end(), {memory, x});
  sources.insert(sources.end(), init.begin(), init.end());
  RNNResult result;
  Tensor loss;
  std::vector<std::optional<Tensor>> grads;
  {
    GradientTape tape;
    // Rebinding under the tape records values and keys, so the gradient reaches memory_layer
    // and the memory; it creates nothing (one mechanism, one memory_layer).
    model.mechanism->setup_memory(memory.value(), lengths);
    result = dynamic_rnn(cell, x.value(), {.initial_state = initial()});
    const AttentionWrapperState s = AttentionWrapperState::from(result.final_state);
    loss = sum_of_product(result.outputs, golden_tensor(c.at("r_outputs")));
    const auto leaves = nest::flatten(s.cell_state);
    for (std::size_t i = 0; i < paths.size(); ++i)
      loss = add(loss, sum_of_product(*leaves[i], golden_tensor(c.at("r_final_state").at(paths[i]))));
    loss = add(loss, sum_of_product(s.attention, golden_tensor(c.at("r_final_state").at("attention"))));
    loss = add(loss, sum_of_product(s.alignments, golden_tensor(c.at("r_final_state").at("alignments"))));
    grads = tape.gradient(loss, sources);
  }
  BOOST_TEST((result.final_state.kind() == NestKind::attention_wrapper_state));
  const AttentionWrapperState s = AttentionWrapperState::from(result.final_state);
  check_golden(result.outputs, c.at("outputs"), name + " outputs", kForwardBound, false);
  const auto leaves = nest::flatten(s.cell_state);
  for (std::size_t i = 0; i < paths.size(); ++i)
    check_golden(*leaves[i], c.at("final_state").at(paths[i]), name + " final " + paths[i], kForwardBound, false);
  check_golden(s.attention, c.at("final_state").at("attention"), name + " final attention", kForwardBound, false);
  check_golden(s.alignments, c.at("final_state").at("alignments"), name + " final alignments", kForwardBound, false);
  check_golden(s.attention_state, c.at("final_state").at("attention_state"), name + " attention_state", kForwardBound,
               false);
  // time: every row counted the steps; padded alignments exactly 0.
  for (std::int64_t b = 0; b < B; ++b) {
    BOOST_TEST(s.time.data<float>()[b] == c.at("final_state").at("time").get<float>());
    const std::int64_t T = s.alignments.shape()[1];
    for (std::int64_t t = lengths.data<std::int32_t>()[b]; t < T; ++t)
      BOOST_TEST(s.alignments.data<float>()[b * T + t] == 0.0f, name << " padded alignment [" << b << ", " << t << "]");
  }
  BOOST_TEST(compare::within(loss.item<float>(), c.at("loss").get<double>(), 1e-5, 0.0),
             name << " loss " << loss.item<float>() << " vs " << c.at("loss").get<double>());
  for (std::size_t i = 0; i < want_names.size(); ++i)
    check_golden(grads[i], c.at("grads").at(want_names[i]), name + " d/d " + want_names[i], kGradBound, true);
  const std::size_t n = want_names.size();
  check_golden(grads[n], c.at("grads").at("memory"), name + " d/d memory", kGradBound, true);
  check_golden(grads[n + 1], c.at("grads").at("inputs"), name + " d/d inputs", kGradBound, true);
  for (std::size_t i = 0; i < paths.size(); ++i)
    check_golden(grads[n + 2 + i], c.at("grads").at("initial_cell_state/" + paths[i]),
                 name + " d/d initial " + paths[i], kGradBound, true);
  // The padded memory rows get exactly no gradient.
  const Tensor& dm = *grads[n];
  const std::int64_t T = dm.shape()[1], Dm = dm.shape()[2];
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = lengths.data<std::int32_t>()[b]; t < T; ++t)
      for (std::int64_t d = 0; d < Dm; ++d) BOOST_TEST(dm.data<float>()[(b * T + t) * Dm + d] == 0.0f);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(golden_tf)
BOOST_AUTO_TEST_CASE(luong) { check_case("luong"); }
BOOST_AUTO_TEST_CASE(luong_scaled) { check_case("luong_scaled"); }
BOOST_AUTO_TEST_CASE(bahdanau) { check_case("bahdanau"); }
BOOST_AUTO_TEST_CASE(bahdanau_normed) { check_case("bahdanau_normed"); }
BOOST_AUTO_TEST_CASE(bahdanau_no_layer) { check_case("bahdanau_no_layer"); }
BOOST_AUTO_TEST_CASE(luong_lstm) { check_case("luong_lstm"); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(api)

BOOST_AUTO_TEST_CASE(state_is_an_attention_wrapper_state_with_tf_field_names) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  LuongAttention mech(3, memory);
  BasicLSTMCell lstm(3);
  AttentionWrapper cell(lstm, mech, {.attention_layer_size = 6});
  const StateSize size = cell.state_size();
  BOOST_TEST(size.structure() ==
             "AttentionWrapperState(cell_state=LSTMStateTuple(c, h), attention, time, alignments, "
             "alignment_history=(), attention_state)");
  BOOST_TEST(flat_size(size) == 3 + 3 + 6 + 1 + 5 + 5);
  const State z = cell.zero_state(2);
  const AttentionWrapperState s = AttentionWrapperState::from(z);
  BOOST_TEST(s.attention.shape() == Shape({2, 6}));
  BOOST_TEST(s.alignments.shape() == Shape({2, 5}));
  BOOST_TEST(s.alignment_history.size() == 0u);
  BOOST_TEST(cell.output_size() == 6);
  // A mismatch names the path with TF's field names.
  State wrong = z;
  wrong[0] = State(Tensor(DType::float32, Shape{2, 3}));
  try {
    nest::assert_same_structure(z, wrong, "check");
    BOOST_FAIL("no error");
  } catch (const InvalidArgumentError& e) {
    BOOST_TEST(std::string(e.what()).find("at cell_state:") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(memory_layer_is_made_by_the_constructor_and_uniquified_like_tf) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  BahdanauAttention first(3, memory);
  BOOST_TEST(first.memory_layer().kernel().op_name() == "memory_layer/kernel");
  BOOST_TEST(first.memory_layer().kernel().shape() == Shape({4, 3}));
  BahdanauAttention second(3, tile_batch(memory, 2));  // the trap: a new, unshared layer
  BOOST_TEST(second.memory_layer().kernel().op_name() == "memory_layer_1/kernel");
  // setup_memory rebinds without creating anything.
  const auto before = g.graph.global_variables().size();
  first.setup_memory(tile_batch(memory, 2));
  BOOST_TEST(g.graph.global_variables().size() == before);
  BOOST_TEST(first.batch_size() == 4);
}

BOOST_AUTO_TEST_CASE(memory_errors_are_tfs) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  try {
    LuongAttention m(4, memory, Tensor(Shape{2}, std::vector<std::int32_t>{3, 0}));
    BOOST_FAIL("no error");
  } catch (const InvalidArgumentError& e) {
    BOOST_TEST(std::string(e.what()).find("All values in memory_sequence_length must be greater than zero.") !=
                   std::string::npos, e.what());
    BOOST_TEST(std::string(e.what()).find("row 1") != std::string::npos, e.what());
  }
  BOOST_CHECK_THROW(LuongAttention(4, memory, Tensor(Shape{2}, std::vector<std::int32_t>{3, 6})), InvalidArgumentError);
  BOOST_CHECK_THROW(LuongAttention(4, random_uniform(Shape{2, 5}, -1.0f, 1.0f)), ShapeMismatchError);
  // Luong's query depth must be num_units (TF's text, at the wrapper's build).
  LuongAttention luong(4, memory);
  GRUCell gru(3);
  AttentionWrapper cell(gru, luong);
  try {
    (void)dynamic_rnn(cell, random_uniform(Shape{2, 3, 2}, -1.0f, 1.0f));
    BOOST_FAIL("no error");
  } catch (const ShapeMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find("Incompatible or unknown inner dimensions between query and keys") !=
                   std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(zero_state_with_an_untiled_memory_is_tfs_error) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  LuongAttention mech(4, memory);
  GRUCell gru(4);
  AttentionWrapper cell(gru, mech);
  try {
    (void)cell.zero_state(6);
    BOOST_FAIL("no error");
  } catch (const ShapeMismatchError& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("When calling zero_state of AttentionWrapper attention_wrapper: Non-matching batch sizes") == 0, m);
    BOOST_TEST(m.find("(memory batch 2, requested 6)") != std::string::npos, m);
  }
  // The state's clone checks shapes as TF's with_same_shape.
  const AttentionWrapperState s = AttentionWrapperState::from(cell.zero_state(2));
  BOOST_CHECK_THROW((void)s.clone({.cell_state = State(Tensor(DType::float32, Shape{3, 4}))}), ShapeMismatchError);
}

BOOST_AUTO_TEST_CASE(cell_call_equals_one_step_of_dynamic_rnn) {
  // cell(x, state) and dynamic_rnn over one step run the same step (and the same wrapper).
  Fresh g;
  const Tensor memory = random_uniform(Shape{3, 5, 4}, -1.0f, 1.0f);
  BahdanauAttention mech(4, memory, Tensor(Shape{3}, std::vector<std::int32_t>{5, 2, 1}), true);
  GRUCell gru(4);
  AttentionWrapper cell(gru, mech, {.attention_layer_size = 3});
  const Tensor x = random_uniform(Shape{3, 2}, -1.0f, 1.0f);
  const auto [out, state] = cell(x, cell.zero_state(3));
  const RNNResult r = dynamic_rnn(cell, reshape(x, Shape{3, 1, 2}), {.scope = ""});
  BOOST_TEST(compare::worst_relative(out, reshape(r.outputs, Shape{3, 3})) == 0.0);
  const auto a = AttentionWrapperState::from(state), b = AttentionWrapperState::from(r.final_state);
  BOOST_TEST(compare::worst_relative(a.alignments, b.alignments) == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- decoding with attention

namespace {

// A tiny attention decoder over a 3-row memory with ragged lengths {5, 2, 1}: V = 5 tokens
// (BOS 0, EOS 1), embedding depth 3, a GRU(4) under BahdanauAttention(normalize) with an
// attention layer of 3, alignment_history on, an output Dense(V). Default initializers.
struct AttnModel {
  static constexpr std::int32_t V = 5, BOS = 0, EOS = 1;
  static constexpr std::int64_t B = 3, T = 5;
  Fresh fresh;
  Tensor embedding = random_uniform(Shape{V, 3}, -1.0f, 1.0f);
  Tensor memory = random_uniform(Shape{B, T, 4}, -1.0f, 1.0f);
  Tensor lengths = Tensor(Shape{B}, std::vector<std::int32_t>{5, 2, 1});
  BahdanauAttention mechanism{4, memory, lengths, true};
  GRUCell gru{4};
  AttentionWrapper cell{gru, mechanism, {.attention_layer_size = 3, .alignment_history = true}};
  Dense out{V};
  Tensor starts(std::int64_t rows) const { return Tensor(Shape{rows}, std::vector<std::int32_t>(rows, BOS)); }
  // One row's memory, for decoding row b alone.
  void bind_row(std::int64_t b) {
    mechanism.setup_memory(slice(memory, {b, 0, 0}, {1, -1, -1}), slice(lengths, {b}, {1}));
  }
  void bind_tiled(std::int64_t k) { mechanism.setup_memory(tile_batch(memory, k), tile_batch(lengths, k)); }
};

// log-softmax in double of one row of logits.
std::vector<double> log_probs(const Tensor& logits) {
  const auto x = logits.data<float>();
  double m = -1e300;
  for (float v : x) m = std::max(m, double(v));
  double s = 0.0;
  for (float v : x) s += std::exp(double(v) - m);
  std::vector<double> out;
  for (float v : x) out.push_back(double(v) - m - std::log(s));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decoding)

BOOST_AUTO_TEST_CASE(beam_width_1_is_greedy_with_the_same_alignments) {
  AttnModel m;
  m.bind_tiled(1);  // tile_batch(memory, 1) is the memory itself
  BasicDecoder greedy(m.cell, GreedyEmbeddingHelper(m.embedding, m.starts(3), AttnModel::EOS), m.cell.zero_state(3),
                      m.out);
  const BasicDecodeResult g = dynamic_decode(greedy, {.maximum_iterations = 6});
  BeamSearchDecoder beam(m.cell, m.embedding, m.starts(3), AttnModel::EOS, m.cell.zero_state(3), 1, m.out);
  const BeamSearchResult r = dynamic_decode(beam, {.maximum_iterations = 6});
  const std::int64_t steps = g.sample_id.shape()[1];
  BOOST_TEST(g.alignment_history.shape() == Shape({steps, 3, AttnModel::T}));
  for (std::int64_t b = 0; b < 3; ++b) {
    const Hypothesis& h = r.hypotheses[b][0];
    const std::int64_t len = g.lengths.data<std::int32_t>()[b];
    BOOST_TEST(h.length == len);
    std::vector<std::int32_t> ids;
    for (std::int64_t t = 0; t < len; ++t) {
      const std::int32_t id = g.sample_id.data<std::int32_t>()[b * steps + t];
      if (id != AttnModel::EOS) ids.push_back(id);
    }
    BOOST_TEST(h.ids == ids, boost::test_tools::per_element());
    BOOST_REQUIRE(h.alignments.shape() == Shape({len, AttnModel::T}));
    for (std::int64_t t = 0; t < len; ++t) {
      double sum = 0.0;
      for (std::int64_t j = 0; j < AttnModel::T; ++j) {
        const float want = g.alignment_history.data<float>()[(t * 3 + b) * AttnModel::T + j];
        const float got = h.alignments.data<float>()[t * AttnModel::T + j];
        BOOST_TEST(got == want, "row " << b << " step " << t << " position " << j);
        sum += got;
        if (j >= m.lengths.data<std::int32_t>()[b]) BOOST_TEST(got == 0.0f);
      }
      BOOST_TEST(sum == 1.0, boost::test_tools::tolerance(1e-6));
    }
  }
}

BOOST_AUTO_TEST_CASE(batched_beam_search_equals_each_row_alone) {
  // Beams finish at different steps, so the loop steps only the live beams (compacted rows):
  // each must still read its own source row's memory and length (StepArgs::rows). Decoding
  // each row alone, over its own memory tiled, is the oracle.
  constexpr std::int64_t K = 3;
  AttnModel m;
  m.bind_tiled(K);
  BeamSearchDecoder batched(m.cell, m.embedding, m.starts(3), AttnModel::EOS, m.cell.zero_state(3 * K), K, m.out);
  const BeamSearchResult all = dynamic_decode(batched, {.maximum_iterations = 7});
  bool some_finished_early = false;
  for (std::int64_t b = 0; b < 3; ++b) {
    m.bind_row(b);
    m.mechanism.setup_memory(tile_batch(slice(m.memory, {b, 0, 0}, {1, -1, -1}), K),
                             tile_batch(slice(m.lengths, {b}, {1}), K));
    BeamSearchDecoder one(m.cell, m.embedding, m.starts(1), AttnModel::EOS, m.cell.zero_state(K), K, m.out);
    const BeamSearchResult alone = dynamic_decode(one, {.maximum_iterations = 7});
    for (std::int64_t k = 0; k < K; ++k) {
      const Hypothesis& x = all.hypotheses[b][k];
      const Hypothesis& y = alone.hypotheses[0][k];
      some_finished_early |= x.length < 7;
      BOOST_TEST(x.ids == y.ids, boost::test_tools::per_element());
      BOOST_TEST(x.score == y.score, boost::test_tools::tolerance(1e-6f));
      BOOST_TEST(compare::worst_relative(x.alignments, y.alignments) <= 1e-6);
    }
  }
  BOOST_TEST(some_finished_early, "no beam finished early: the test does not exercise compaction");
}

BOOST_AUTO_TEST_CASE(wide_beam_finds_the_exhaustive_best_with_its_alignments) {
  constexpr std::int64_t Tmax = 3, K = 25;  // K >= V^(Tmax - 1): nothing is pruned
  AttnModel m;
  m.bind_tiled(K);
  BeamSearchDecoder beam(m.cell, m.embedding, m.starts(3), AttnModel::EOS, m.cell.zero_state(3 * K), K, m.out);
  const BeamSearchResult r = dynamic_decode(beam, {.maximum_iterations = Tmax});
  for (std::int64_t b = 0; b < 3; ++b) {
    m.bind_row(b);
    // Every sequence of at most Tmax tokens, ending at the first EOS or after Tmax tokens.
    double best = -1e300;
    std::vector<std::int32_t> best_ids;
    std::vector<Tensor> best_align, path_align;
    std::vector<std::int32_t> path;
    std::function<void(std::int32_t, const State&, double)> walk = [&](std::int32_t token, const State& state,
                                                                       double total) {
      const Tensor x = embedding_lookup(m.embedding, Tensor(Shape{1}, std::vector<std::int32_t>{token}));
      const auto [h, next] = m.cell(x, state);
      const auto lp = log_probs(m.out(h));
      path_align.push_back(AttentionWrapperState::from(next).alignments);
      const auto s = static_cast<std::int64_t>(path.size());
      for (std::int32_t v = 0; v < AttnModel::V; ++v) {
        const double sc = total + lp[v];
        if (v == AttnModel::EOS || s + 1 == Tmax) {
          if (sc > best) {
            best = sc;
            best_ids = path;
            if (v != AttnModel::EOS) best_ids.push_back(v);
            best_align = path_align;
          }
          continue;
        }
        path.push_back(v);
        walk(v, next, sc);
        path.pop_back();
      }
      path_align.pop_back();
    };
    walk(AttnModel::BOS, m.cell.zero_state(1), 0.0);
    const Hypothesis& top = r.hypotheses[b][0];
    BOOST_TEST(top.ids == best_ids, boost::test_tools::per_element());
    BOOST_TEST(top.score == best, boost::test_tools::tolerance(1e-5));
    BOOST_REQUIRE(top.alignments.shape()[0] == static_cast<std::int64_t>(best_align.size()));
    for (std::size_t t = 0; t < best_align.size(); ++t)
      BOOST_TEST(compare::worst_relative(slice(top.alignments, {std::int64_t(t), 0}, {1, -1}), best_align[t]) <= 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(an_untiled_memory_is_a_clear_error) {
  AttnModel m;  // memory batch 3
  try {
    BeamSearchDecoder beam(m.cell, m.embedding, m.starts(3), AttnModel::EOS, tile_batch(m.cell.zero_state(3), 4), 4,
                           m.out);
    BOOST_FAIL("no error");
  } catch (const ShapeMismatchError& e) {
    const std::string s = e.what();
    BOOST_TEST(s.find("has batch 3 but the decoder has 3 * 4 = 12 rows") != std::string::npos, s);
    BOOST_TEST(s.find("setup_memory(tile_batch(memory, 4), tile_batch(memory_sequence_length, 4))") != std::string::npos, s);
  }
  m.bind_tiled(2);  // and a greedy decoder over a tiled memory
  try {
    BasicDecoder greedy(m.cell, GreedyEmbeddingHelper(m.embedding, m.starts(3), AttnModel::EOS),
                        m.cell.initial_state_of(3), m.out);
    BOOST_FAIL("no error");
  } catch (const ShapeMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find("has batch 6 but the helper has 3 rows") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- the memory_layer_1 trap

BOOST_AUTO_TEST_SUITE(sharing_trap)

// TF 1.x: a mechanism's memory_layer is a Dense created in the constructor, uniquified in its
// parent scope. A second mechanism (the beam decoder's, over the tiled memory) at the root
// therefore asks for memory_layer_1 (SPEC-training-attention §A4).
BOOST_AUTO_TEST_CASE(second_mechanism_under_reuse_is_tfs_not_found_error) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  LuongAttention train(4, memory);
  auto reuse = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
  try {
    LuongAttention infer(4, tile_batch(memory, 3));
    BOOST_FAIL("no error");
  } catch (const NotFoundError& e) {
    BOOST_TEST(std::string(e.what()).find("memory_layer_1/kernel does not exist") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(second_mechanism_under_auto_reuse_is_created_and_the_audit_says_so) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  LuongAttention train(4, memory);
  VariableAudit audit;
  auto reuse = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
  LuongAttention infer(4, tile_batch(memory, 3));  // TF: silently a new, untrained memory_layer_1
  BOOST_TEST(infer.memory_layer().kernel().op_name() == "memory_layer_1/kernel");
  const auto w = audit.warnings();
  BOOST_REQUIRE(w.size() == 1u);
  BOOST_TEST(w[0].find("memory_layer_1/kernel was created next to memory_layer/kernel") == 0, w[0]);
  BOOST_TEST(w[0].find("setup_memory(tile_batch(memory, K)") != std::string::npos, w[0]);
  BOOST_TEST(audit.summary().find("warnings:\n  ! memory_layer_1/kernel") != std::string::npos, audit.summary());
}

BOOST_AUTO_TEST_CASE(two_mechanisms_built_in_one_audit_are_reported_too) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  VariableAudit audit;
  BahdanauAttention train(4, memory);
  BahdanauAttention infer(4, tile_batch(memory, 3));
  BOOST_TEST(audit.warnings().size() == 1u);
}

// TF's fix (tensorflow#11904): both mechanisms inside the same string-named scope, the second
// with reuse=True. Leaving a scope opened by name restarts its sub-scopes' counters, so the
// second asks for memory_layer again and shares it.
BOOST_AUTO_TEST_CASE(same_named_scope_with_reuse_shares_memory_layer) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  std::unique_ptr<LuongAttention> train, infer;
  {
    auto s = variable_scope("shared_attention_mechanism");
    train = std::make_unique<LuongAttention>(4, memory);
  }
  VariableAudit audit;
  {
    auto s = variable_scope("shared_attention_mechanism", {.reuse = Reuse::True});
    infer = std::make_unique<LuongAttention>(4, tile_batch(memory, 3));
  }
  BOOST_TEST(infer->memory_layer().kernel().op_name() == "shared_attention_mechanism/memory_layer/kernel");
  BOOST_TEST(audit.created().empty());
  BOOST_TEST(audit.warnings().empty());
}

// varscope's way: one mechanism, rebound with setup_memory: nothing is created, nothing warned.
BOOST_AUTO_TEST_CASE(setup_memory_shares_and_warns_about_nothing) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  LuongAttention mech(4, memory);
  VariableAudit audit;
  mech.setup_memory(tile_batch(memory, 3));
  BOOST_TEST(audit.created().empty());
  BOOST_TEST(audit.reused().empty());  // memory_layer is built: it is not even looked up again
  BOOST_TEST(audit.warnings().empty());
}

// The eager form: a training loop that builds its mechanism at the root on every step's memory
// creates memory_layer_1, _2, ... under AUTO_REUSE (the root scope never closes, so its counter
// never restarts). The audit fires on the second step. A model's legitimate first build with
// dense and dense_1 does not.
BOOST_AUTO_TEST_CASE(mechanism_rebuilt_every_training_step_at_the_root_is_caught_on_step_2) {
  Fresh g;
  const Tensor memory = random_uniform(Shape{2, 5, 4}, -1.0f, 1.0f);
  auto reuse = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
  {
    VariableAudit step1;
    LuongAttention mech(4, memory);
    Dense a(3), b(3);
    (void)a(reshape(memory, Shape{10, 4}));
    (void)b(reshape(memory, Shape{10, 4}));  // dense and dense_1: two layers, meant
    BOOST_TEST(step1.warnings().empty(), step1.summary());
  }
  VariableAudit step2;
  LuongAttention mech(4, memory);
  BOOST_TEST(mech.memory_layer().kernel().op_name() == "memory_layer_1/kernel");
  BOOST_TEST(step2.warnings().size() == 1u, step2.summary());
}

// The generic rule: a second Dense object where the first one's variables were meant to be
// reused (dense_2 next to a dense reused in this audit).
BOOST_AUTO_TEST_CASE(a_new_layer_object_next_to_a_reused_one_is_reported) {
  Fresh g;
  const Tensor x = random_uniform(Shape{2, 4}, -1.0f, 1.0f);
  Dense first(3);
  (void)first(x);
  VariableAudit audit;
  (void)first(x);                  // reused
  Dense second(3);
  (void)second(x);                 // dense_1: the trap
  const auto w = audit.warnings();
  BOOST_REQUIRE(w.size() == 2u);   // kernel and bias
  BOOST_TEST(w[0].find("dense_1/kernel was created next to dense/kernel") == 0, w[0]);
}

BOOST_AUTO_TEST_SUITE_END()
