// The nmt-shaped model (examples/nmt, module varscope.nmt), issue 20:
//   * Variable names and shapes equal tensorflow/nmt's own lists, copied from nmt/model_test.py
//     (0be864257a76): testNoAttentionNoResidualUniEncoder (uni, 1 layer) and
//     testNoAttentionResidualBiEncoder (bi, 4 layers, residual), test hparams num_units 5,
//     vocab 5, share_vocab False, scope 'dynamic_seq2seq'; last_enc_weight / last_dec_weight
//     shapes (10, 20). The production names (no scope: embeddings/embedding_share, the
//     dates model's bi 2-layer shape, GRU, uni 2 layers) follow SPEC-cells-state.md §5b/§5c.
//   * The wiring (residual on the top layers, the encoder state (fw, bw) / interleaved
//     (fw_0, bw_0, fw_1, bw_1)) against a reference written here with dynamic_rnn instead of
//     the decoders, on the model's own variables.
//   * The beam and greedy decoders reuse the training decoder's variables and create nothing;
//     beam width 1 is greedy, token for token; a few Adam steps lower the loss.
#define BOOST_TEST_MODULE nmt_model
#include "support/boost_test.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

import varscope;
import varscope.nmt;
import varscope.dates;

using namespace varscope;

namespace {

struct Fresh {
  Graph graph{3};
  DefaultGraphGuard use{graph};
};

// create_test_hparams' sizes: num_units 5, src/tgt vocab 5 (nmt/utils/common_test_utils.py).
nmt::Hparams test_hparams(const std::string& encoder_type, std::int64_t num_layers, bool residual) {
  nmt::Hparams hp;
  hp.unit_type = "lstm";
  hp.encoder_type = encoder_type;
  hp.num_layers = num_layers;
  hp.residual = residual;
  hp.num_units = 5;
  hp.src_vocab_size = hp.tgt_vocab_size = 5;
  hp.share_vocab = false;
  hp.forget_bias = 0.0f;
  hp.scope = "dynamic_seq2seq";
  return hp;
}

// A ragged batch: sources [3, 4] (lengths 4, 2, 3), targets SOS + 3 tokens (lengths 4, 2, 3).
struct Batch {
  Tensor src = Tensor(Shape{3, 4}, std::vector<std::int32_t>{3, 4, 3, 0, 4, 4, 0, 0, 0, 3, 3, 0});
  Tensor src_len = Tensor(Shape{3}, std::vector<std::int32_t>{4, 2, 3});
  Tensor tgt_in = Tensor(Shape{3, 4}, std::vector<std::int32_t>{1, 3, 4, 3, 1, 4, 0, 0, 1, 3, 3, 0});
  Tensor tgt_out = Tensor(Shape{3, 4}, std::vector<std::int32_t>{3, 4, 3, 2, 4, 2, 0, 0, 3, 3, 2, 0});
  Tensor tgt_len = Tensor(Shape{3}, std::vector<std::int32_t>{4, 2, 3});
  Tensor weights = Tensor(Shape{3, 4}, std::vector<float>{1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0});
};

// Trainable variable names as TF prints them (v.name), sorted, as _assertModelVariableNames compares.
std::vector<std::string> sorted_names() {
  std::vector<std::string> out;
  for (const auto& v : trainable_variables()) out.push_back(v.name());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

Shape shape_of(const std::string& op_name) { return get_default_graph().store().find(op_name).value().shape(); }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s;
}

std::vector<std::int32_t> ids(const Tensor& t) {
  const auto d = t.data<std::int32_t>();
  return {d.begin(), d.end()};
}

}  // namespace

// nmt/model_test.py testNoAttentionNoResidualUniEncoder: expected_var_names, and
// last_enc_weight / last_dec_weight shape (10, 20).
BOOST_AUTO_TEST_CASE(testNoAttentionNoResidualUniEncoder_variable_names) {
  Fresh f;
  nmt::Model m(test_hparams("uni", 1, false));
  const Batch b;
  (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
  const std::vector<std::string> expected_var_names = {
      "dynamic_seq2seq/encoder/embedding_encoder:0",
      "dynamic_seq2seq/decoder/embedding_decoder:0",
      "dynamic_seq2seq/encoder/rnn/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/encoder/rnn/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/decoder/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/output_projection/kernel:0"};
  const auto got = sorted_names();
  BOOST_TEST(got == sorted(expected_var_names), "got:" << join(got));
  BOOST_TEST(shape_of("dynamic_seq2seq/encoder/rnn/basic_lstm_cell/kernel") == (Shape{10, 20}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/basic_lstm_cell/kernel") == (Shape{10, 20}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/output_projection/kernel") == (Shape{5, 5}));
  BOOST_TEST(shape_of("dynamic_seq2seq/encoder/embedding_encoder") == (Shape{5, 5}));
}

// nmt/model_test.py testNoAttentionResidualBiEncoder.
BOOST_AUTO_TEST_CASE(testNoAttentionResidualBiEncoder_variable_names) {
  Fresh f;
  nmt::Model m(test_hparams("bi", 4, true));
  const Batch b;
  (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
  const std::vector<std::string> expected_var_names = {
      "dynamic_seq2seq/encoder/embedding_encoder:0",
      "dynamic_seq2seq/decoder/embedding_decoder:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/fw/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/fw/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/fw/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/fw/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/bw/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/bw/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/bw/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/bw/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_2/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_2/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_3/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_3/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/output_projection/kernel:0"};
  const auto got = sorted_names();
  BOOST_TEST(got == sorted(expected_var_names), "got:" << join(got));
  BOOST_TEST(shape_of("dynamic_seq2seq/encoder/bidirectional_rnn/bw/multi_rnn_cell/cell_1/basic_lstm_cell/kernel") ==
             (Shape{10, 20}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/multi_rnn_cell/cell_3/basic_lstm_cell/kernel") == (Shape{10, 20}));
}

// Production names (no scope argument, share_vocab): the shape `varscope train --task dates
// --cell lstm --layers 2 --bidirectional` trains (small sizes: vocab 7, embedding 4, 6 units), with --residual.
BOOST_AUTO_TEST_CASE(production_names_bi_two_layers_shared_embedding) {
  Fresh f;
  nmt::Hparams hp;
  hp.num_units = 6;
  hp.embed_size = 4;
  hp.src_vocab_size = hp.tgt_vocab_size = 7;
  hp.encoder_type = "bi";
  hp.num_layers = 2;
  hp.residual = true;
  nmt::Model m(hp);
  const Batch b;
  (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
  const std::vector<std::string> want = {
      "embeddings/embedding_share:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/fw/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/fw/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/bw/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/encoder/bidirectional_rnn/bw/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
      "dynamic_seq2seq/decoder/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0",
      "dynamic_seq2seq/decoder/output_projection/kernel:0"};
  const auto got = sorted_names();
  BOOST_TEST(got == sorted(want), "got:" << join(got));
  BOOST_TEST(shape_of("embeddings/embedding_share") == (Shape{7, 4}));
  BOOST_TEST(shape_of("dynamic_seq2seq/encoder/bidirectional_rnn/fw/basic_lstm_cell/kernel") == (Shape{10, 24}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/multi_rnn_cell/cell_0/basic_lstm_cell/kernel") == (Shape{10, 24}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/multi_rnn_cell/cell_1/basic_lstm_cell/kernel") == (Shape{12, 24}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/output_projection/kernel") == (Shape{6, 7}));
}

BOOST_AUTO_TEST_CASE(production_names_gru_and_uni_multi_layer) {
  {
    Fresh f;
    nmt::Hparams hp;
    hp.unit_type = "gru";
    hp.encoder_type = "uni";
    hp.num_layers = 2;
    hp.num_units = 5;
    hp.src_vocab_size = hp.tgt_vocab_size = 5;
    nmt::Model m(hp);
    const Batch b;
    (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
    std::vector<std::string> want = {"embeddings/embedding_share:0",
                                     "dynamic_seq2seq/decoder/output_projection/kernel:0"};
    for (const std::string part : {"encoder/rnn/", "decoder/"})
      for (const std::string layer : {"cell_0", "cell_1"})
        for (const std::string v : {"gates/kernel:0", "gates/bias:0", "candidate/kernel:0", "candidate/bias:0"})
          want.push_back("dynamic_seq2seq/" + part + "multi_rnn_cell/" + layer + "/gru_cell/" + v);
    const auto got = sorted_names();
    BOOST_TEST(got == sorted(want), "got:" << join(got));
  }
  {
    Fresh f;
    nmt::Hparams hp = test_hparams("bi", 2, false);
    hp.unit_type = "gru";
    hp.scope.reset();
    hp.share_vocab = true;
    nmt::Model m(hp);
    const Batch b;
    (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
    const auto got = sorted_names();
    BOOST_TEST(std::count(got.begin(), got.end(), "dynamic_seq2seq/encoder/bidirectional_rnn/bw/gru_cell/gates/kernel:0") ==
                   1,
               "got:" << join(got));
  }
}

BOOST_AUTO_TEST_CASE(odd_layers_with_a_bi_encoder_is_nmts_error) {
  nmt::Hparams hp = test_hparams("bi", 3, false);
  BOOST_CHECK_EXCEPTION(nmt::Model{hp}, InvalidArgumentError, [](const InvalidArgumentError& e) {
    return std::string(e.what()).find("For bi, num_encoder_layers 3 should be even") != std::string::npos;
  });
}

namespace {

// The training logits of a bi encoder (num_bi_layers = L/2 per direction) + L-layer decoder with
// residual top layers, written independently of nmt.cpp: the encoder through
// bidirectional_dynamic_rnn, the teacher-forced decoder through dynamic_rnn (not the decoders), the
// decoder's initial state assembled here, on the variables the model created (reuse=True).
Tensor reference_logits(std::int64_t L, const Batch& b, bool swap_fw_bw = false) {
  auto root = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
  auto model = variable_scope("dynamic_seq2seq");
  const Tensor emb_enc = get_variable("encoder/embedding_encoder").value();
  const Tensor emb_dec = get_variable("decoder/embedding_decoder").value();
  const std::int64_t n = L / 2;
  std::vector<std::unique_ptr<RNNCell>> keep;
  auto stack = [&](std::int64_t layers) -> RNNCell& {
    std::vector<std::reference_wrapper<RNNCell>> list;
    for (std::int64_t i = 0; i < layers; ++i) {
      keep.push_back(std::make_unique<BasicLSTMCell>(5, 0.0f));
      if (i >= 1) keep.push_back(std::make_unique<ResidualWrapper>(*keep.back()));  // every layer but the first
      list.emplace_back(*keep.back());
    }
    if (layers == 1) return list[0].get();
    keep.push_back(std::make_unique<MultiRNNCell>(list));
    return *keep.back();
  };
  State encoder_state;
  {
    auto enc = variable_scope("encoder");
    RNNCell& fw = stack(n);
    RNNCell& bw = stack(n);
    auto [outputs, states] =
        bidirectional_dynamic_rnn(fw, bw, embedding_lookup(emb_enc, b.src), {.sequence_length = b.src_len});
    const State& sf = states[swap_fw_bw ? 1 : 0];
    const State& sb = states[swap_fw_bw ? 0 : 1];
    if (n == 1) {
      encoder_state = State::tuple({sf, sb});
    } else {
      std::vector<State> items;
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        items.push_back(sf[i]);
        items.push_back(sb[i]);
      }
      encoder_state = State::tuple(std::move(items));
    }
  }
  auto dec = variable_scope("decoder");
  RNNCell& cell = stack(L);
  auto [outputs, final_state] = dynamic_rnn(
      cell, embedding_lookup(emb_dec, b.tgt_in), {.sequence_length = b.tgt_len, .initial_state = encoder_state, .scope = ""});
  const Tensor w = get_variable("output_projection/kernel").value();
  return reshape(matmul(reshape(outputs, {-1, 5}), w), {outputs.shape()[0], outputs.shape()[1], 5});
}

double max_diff_valid(const Tensor& a, const Tensor& r, const Tensor& lengths) {
  // Only steps t < length: past it the decoder keeps stepping (TF's BasicDecoder) and dynamic_rnn emits zeros.
  const auto x = a.data<float>(), y = r.data<float>();
  const auto len = lengths.data<std::int32_t>();
  const std::int64_t B = a.shape()[0], T = a.shape()[1], V = a.shape()[2];
  double worst = 0.0;
  for (std::int64_t i = 0; i < B; ++i)
    for (std::int64_t t = 0; t < len[i]; ++t)
      for (std::int64_t v = 0; v < V; ++v) {
        const std::size_t k = static_cast<std::size_t>((i * T + t) * V + v);
        const double d = std::fabs(static_cast<double>(x[k]) - y[k]);
        worst = std::isnan(d) ? INFINITY : std::max(worst, d);
      }
  return worst;
}

// Larger weights than nmt's U(-0.1, 0.1), so that the residual and the state order change the logits clearly.
void scale_up_weights() {
  for (auto& v : trainable_variables()) v.assign(random_uniform(v.shape(), -0.8f, 0.8f));
}

}  // namespace

BOOST_AUTO_TEST_CASE(residual_top_layers_and_encoder_state_order_match_a_reference) {
  for (const std::int64_t L : {2, 4}) {
    Fresh f;
    nmt::Model m(test_hparams("bi", L, true));
    const Batch b;
    (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
    scale_up_weights();
    const Tensor got = [&] {
      auto reuse = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
      return m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
    }();
    const double d = max_diff_valid(got, reference_logits(L, b), b.tgt_len);
    BOOST_TEST(d < 1e-5, "layers " << L << ": max |model - reference| = " << d);
    // The reference itself can tell the state order apart.
    const double swapped = max_diff_valid(got, reference_logits(L, b, true), b.tgt_len);
    BOOST_TEST(swapped > 1e-3, "layers " << L << ": swapping fw/bw changes only " << swapped);
  }
}

BOOST_AUTO_TEST_CASE(beam_and_greedy_reuse_the_training_variables_and_create_nothing) {
  Fresh f;
  nmt::Model m(test_hparams("bi", 2, true));
  const Batch b;
  {
    // Before the training graph exists, inference finds nothing (reuse=True).
    BOOST_CHECK_THROW((void)m.beam_search(b.src, b.src_len, 3), NotFoundError);
  }
  std::vector<std::string> trained;
  {
    VariableAudit audit;
    (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
    trained = sorted(audit.created());
  }
  BOOST_TEST(trained.size() == 11u);
  for (int which = 0; which < 2; ++which) {
    VariableAudit audit;
    if (which == 0) (void)m.beam_search(b.src, b.src_len, 3);
    else (void)m.greedy(b.src, b.src_len);
    BOOST_TEST(audit.created().empty(), (which ? "greedy" : "beam") << " created:" << join(audit.created()));
    BOOST_TEST(sorted(audit.reused()) == trained, (which ? "greedy" : "beam") << " reused:" << join(audit.reused()));
  }
  BOOST_TEST(trainable_variables().size() == 11u);
}

BOOST_AUTO_TEST_CASE(beam_width_1_equals_greedy) {
  for (const bool bi : {false, true}) {
    Fresh f;
    nmt::Hparams hp = test_hparams(bi ? "bi" : "uni", 2, true);
    hp.tgt_max_len_infer = 6;
    nmt::Model m(hp);
    const Batch b;
    (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
    scale_up_weights();
    const auto greedy = m.greedy(b.src, b.src_len);
    const auto beam = m.beam_search(b.src, b.src_len, 1);
    const std::int64_t B = 3, T = greedy.sample_id.shape()[1];
    const auto g = ids(greedy.sample_id);
    for (std::int64_t i = 0; i < B; ++i) {
      std::vector<std::int32_t> want;
      for (std::int64_t t = 0; t < T && g[i * T + t] != hp.tgt_eos_id; ++t) want.push_back(g[i * T + t]);
      BOOST_TEST(beam.hypotheses[i].at(0).ids == want, "row " << i << (bi ? " bi" : " uni"));
    }
  }
}

// nmt's dropout: a DropoutWrapper(input_keep_prob = 1 - dropout) per layer in TRAIN only. It adds
// no variable (the same names, hence the same initial values, as without dropout), changes the
// training logits (seeded: the same seed gives the same masks), and the inference decoders,
// built without it, give exactly what the model without dropout gives.
BOOST_AUTO_TEST_CASE(dropout_is_training_only_and_adds_no_variables) {
  const Batch b;
  struct Run {
    std::vector<std::string> names;
    Tensor logits, logits_same_seed, logits_other_seed, greedy_ids;
    std::vector<std::vector<std::int32_t>> beams;
  };
  const auto run = [&](float dropout) {
    Fresh f;
    nmt::Hparams hp = test_hparams("bi", 2, true);
    hp.dropout = dropout;
    nmt::Model m(hp);
    Run r;
    r.logits = m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len, 7);
    r.names = sorted_names();
    auto reuse = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
    r.logits_same_seed = m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len, 7);
    r.logits_other_seed = m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len, 8);
    scale_up_weights();
    r.greedy_ids = m.greedy(b.src, b.src_len).sample_id;
    for (const auto& h : m.beam_search(b.src, b.src_len, 3, 0.0f, 3).hypotheses)
      for (const auto& hyp : h) r.beams.push_back(hyp.ids);
    return r;
  };
  const Run with = run(0.5f), without = run(0.0f);
  BOOST_TEST(with.names == without.names, boost::test_tools::per_element());
  BOOST_TEST(max_abs_diff(with.logits, without.logits) > 1e-5f);  // applied in training (U(±0.1) weights: logits ~1e-2)
  BOOST_TEST(max_abs_diff(with.logits, with.logits_same_seed) == 0.0f);
  BOOST_TEST(max_abs_diff(with.logits, with.logits_other_seed) > 1e-5f);
  BOOST_TEST(max_abs_diff(without.logits, without.logits_other_seed) == 0.0f);  // no dropout, no seed effect
  BOOST_TEST(ids(with.greedy_ids) == ids(without.greedy_ids), boost::test_tools::per_element());
  BOOST_TEST(with.beams == without.beams);

  nmt::Hparams bad = test_hparams("bi", 2, false);
  bad.dropout = 1.0f;
  BOOST_CHECK_THROW(bad.check(), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(a_few_adam_steps_lower_the_loss) {
  Fresh f;
  nmt::Model m(test_hparams("bi", 2, true));
  const Batch b;
  AdamOptimizer opt({.learning_rate = 0.05f});
  auto step = get_or_create_global_step();
  auto loss = [&] {
    auto scope = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
    return sequence_loss(m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len), b.tgt_out, b.weights);
  };
  const float before = loss().data<float>()[0];
  for (int i = 0; i < 20; ++i) opt.minimize(loss, step);
  const float after = loss().data<float>()[0];
  BOOST_TEST_MESSAGE("loss " << before << " -> " << after);
  BOOST_TEST(after < 0.5f * before, "loss " << before << " -> " << after);
}

// varscope.dates with Hyper::nmt (what `varscope train --cell lstm --layers 2 --bidirectional`
// builds): shared_decoders (the browser page's "both decoders" view) audits the training and beam
// decoders, which return the same variables; the beam decoder creates none (frozen graph).
BOOST_AUTO_TEST_CASE(dates_model_with_nmt_hyper_shares_its_variables_between_decoders) {
  dates::Hyper h;
  h.hidden = 8;
  h.embedding = 4;
  h.nmt = true;
  h.cell = "lstm";
  h.layers = 2;
  h.bidirectional = true;
  const auto vocab = data::Vocabulary::dates();
  dates::Model m(h, vocab.size());
  m.build(vocab);
  const auto b = dates::make_batch({vocab.encode("1 December 2026")}, {"2026-12-01"}, vocab);
  const auto out = m.shared_decoders(b, 2);
  auto names = [](const std::vector<Variable>& vars) {
    std::vector<std::string> n;
    for (const auto& v : vars) n.push_back(v.op_name());
    return sorted(n);
  };
  BOOST_TEST(out.trainer_variables.size() == 10u);
  BOOST_TEST(names(out.trainer_variables) == names(out.generation_variables));
  BOOST_TEST(out.train_outputs.shape() == (Shape{1, dates::kTargetLen + 1, vocab.size()}));
  BOOST_TEST(out.generation.hypotheses.at(0).size() == 2u);
  BOOST_TEST(dates::describe(h) == "tensorflow/nmt's model [bi LSTM encoder, 1 layer each way; 2-layer LSTM decoder]");
}

// ---------------------------------------------------------------- attention (attention_model.py)

namespace {
nmt::Hparams attention_hparams(const std::string& attention) {
  nmt::Hparams hp = test_hparams("uni", 2, false);
  hp.attention = attention;
  return hp;
}
const std::vector<std::string> kAttentionCommon = {
    "dynamic_seq2seq/encoder/embedding_encoder:0",
    "dynamic_seq2seq/decoder/embedding_decoder:0",
    "dynamic_seq2seq/encoder/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0",
    "dynamic_seq2seq/encoder/rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0",
    "dynamic_seq2seq/encoder/rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
    "dynamic_seq2seq/encoder/rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0",
    "dynamic_seq2seq/decoder/memory_layer/kernel:0",
    "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0",
    "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0",
    "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_1/basic_lstm_cell/kernel:0",
    "dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_1/basic_lstm_cell/bias:0",
    "dynamic_seq2seq/decoder/attention/attention_layer/kernel:0",
    "dynamic_seq2seq/decoder/output_projection/kernel:0"};

// nmt/model_test.py testAttentionMechanism{Luong,ScaledLuong,Bahdanau,NormedBahdanau}: the
// expected_var_names lists (uni, 2 layers, standard architecture) and the shapes nmt asserts
// (last_dec_weight (10, 20), att_layer_weight (10, 5)), plus cell_0's (15, 20) = [embedding 5 +
// attention 5 + h 5, 20] and memory_layer (5, 5).
void check_attention_names(const std::string& attention, const std::vector<std::string>& extra) {
  Fresh f;
  nmt::Model m(attention_hparams(attention));
  const Batch b;
  (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
  std::vector<std::string> expected_var_names = kAttentionCommon;
  expected_var_names.insert(expected_var_names.end(), extra.begin(), extra.end());
  const auto got = sorted_names();
  BOOST_TEST(got == sorted(expected_var_names), attention << " got:" << join(got));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_1/basic_lstm_cell/kernel") == (Shape{10, 20}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/attention/multi_rnn_cell/cell_0/basic_lstm_cell/kernel") == (Shape{15, 20}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/attention/attention_layer/kernel") == (Shape{10, 5}));
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/memory_layer/kernel") == (Shape{5, 5}));
}
}  // namespace

BOOST_AUTO_TEST_CASE(testAttentionMechanismLuong_variable_names) { check_attention_names("luong", {}); }
BOOST_AUTO_TEST_CASE(testAttentionMechanismScaledLuong_variable_names) {
  check_attention_names("scaled_luong", {"dynamic_seq2seq/decoder/attention/luong_attention/attention_g:0"});
  Fresh f;
  nmt::Model m(attention_hparams("scaled_luong"));
  const Batch b;
  (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
  BOOST_TEST(shape_of("dynamic_seq2seq/decoder/attention/luong_attention/attention_g") == Shape{});
}
BOOST_AUTO_TEST_CASE(testAttentionMechanismBahdanau_variable_names) {
  check_attention_names("bahdanau", {"dynamic_seq2seq/decoder/attention/bahdanau_attention/query_layer/kernel:0",
                                     "dynamic_seq2seq/decoder/attention/bahdanau_attention/attention_v:0"});
}
BOOST_AUTO_TEST_CASE(testAttentionMechanismNormedBahdanau_variable_names) {
  check_attention_names("normed_bahdanau",
                        {"dynamic_seq2seq/decoder/attention/bahdanau_attention/query_layer/kernel:0",
                         "dynamic_seq2seq/decoder/attention/bahdanau_attention/attention_v:0",
                         "dynamic_seq2seq/decoder/attention/bahdanau_attention/attention_g:0",
                         "dynamic_seq2seq/decoder/attention/bahdanau_attention/attention_b:0"});
}

// Train, then beam search (memory, lengths and state tiled; a new mechanism in the re-entered
// decoder scope under reuse) and greedy: inference creates nothing and reuses every variable,
// memory_layer included (no memory_layer_1); beam width 1 is greedy, token for token, with the
// same alignments; training steps lower the loss.
BOOST_AUTO_TEST_CASE(attention_inference_reuses_everything_and_beam_1_is_greedy) {
  for (const std::string attention : {"scaled_luong", "normed_bahdanau"}) {
    for (const bool bi : {false, true}) {
      BOOST_TEST_CONTEXT(attention << (bi ? " bi" : " uni")) {
        Fresh f;
        nmt::Hparams hp = attention_hparams(attention);
        hp.encoder_type = bi ? "bi" : "uni";
        hp.tgt_max_len_infer = 6;
        nmt::Model m(hp);
        const Batch b;
        std::vector<std::string> trained;
        {
          VariableAudit audit;
          (void)m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len);
          trained = sorted(audit.created());
        }
        scale_up_weights();
        VariableAudit audit;
        const auto greedy = m.greedy(b.src, b.src_len);
        const auto beam = m.beam_search(b.src, b.src_len, 1);
        const auto beam3 = m.beam_search(b.src, b.src_len, 3);
        BOOST_TEST(audit.created().empty(), "inference created:" << join(audit.created()));
        BOOST_TEST(sorted(audit.reused()) == trained, "reused:" << join(audit.reused()));
        const std::int64_t B = 3, T = greedy.sample_id.shape()[1];
        BOOST_TEST(greedy.alignment_history.shape() == (Shape{T, B, 4}));
        const auto g = ids(greedy.sample_id);
        for (std::int64_t i = 0; i < B; ++i) {
          std::vector<std::int32_t> want;
          for (std::int64_t t = 0; t < T && g[i * T + t] != hp.tgt_eos_id; ++t) want.push_back(g[i * T + t]);
          const Hypothesis& h = beam.hypotheses[i].at(0);
          BOOST_TEST(h.ids == want, "row " << i);
          BOOST_TEST(h.alignments.shape()[1] == 4);
          for (std::int64_t t = 0; t < h.alignments.shape()[0]; ++t)
            for (std::int64_t j = 0; j < 4; ++j)
              BOOST_TEST(h.alignments.data<float>()[t * 4 + j] ==
                             greedy.alignment_history.data<float>()[(t * B + i) * 4 + j],
                         boost::test_tools::tolerance(1e-6f));
          BOOST_TEST(beam3.hypotheses[i].at(0).score >= h.score - 1e-5f);  // a wider beam finds at least as good
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(attention_model_trains) {
  Fresh f;
  nmt::Hparams hp = attention_hparams("normed_bahdanau");
  hp.encoder_type = "bi";
  nmt::Model m(hp);
  const Batch b;
  AdamOptimizer opt({.learning_rate = 0.05f});
  auto step = get_or_create_global_step();
  auto loss = [&] {
    auto scope = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
    return sequence_loss(m.train_logits(b.src, b.src_len, b.tgt_in, b.tgt_len), b.tgt_out, b.weights);
  };
  const float before = loss().data<float>()[0];
  const auto count = trainable_variables().size();
  for (int i = 0; i < 40; ++i) opt.minimize(loss, step);
  const float after = loss().data<float>()[0];
  BOOST_TEST(trainable_variables().size() == count, "training created variables (memory_layer_1?)");
  BOOST_TEST_MESSAGE("attention loss " << before << " -> " << after);
  BOOST_TEST(after < 0.5f * before, "loss " << before << " -> " << after);
}
