// varscope.dates implementation: the date model's batching, metadata, loading,
// training step and prediction (see dates.cppm).
module;
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
module varscope.dates;
import varscope;
import varscope.article;
import varscope.nmt;

namespace varscope::dates {

namespace vd = varscope::data;
using nlohmann::json;

Batch make_batch(const std::vector<std::vector<std::int32_t>>& sources, const std::vector<std::string>& targets,
                 const vd::Vocabulary& vocab) {
  const auto B = static_cast<std::int64_t>(sources.size());
  std::int64_t L = 1;
  for (const auto& s : sources) L = std::max<std::int64_t>(L, static_cast<std::int64_t>(s.size()));
  const std::int64_t T = kTargetLen + 1;
  std::vector<std::int32_t> enc(B * L, vd::Vocabulary::kPad), enc_len(B), dec(B * T, vd::Vocabulary::kPad),
      tgt(B * T, vd::Vocabulary::kPad), dec_len(B, static_cast<std::int32_t>(T));
  std::vector<float> w(B * T, 0.0f);
  Batch b;
  for (std::int64_t i = 0; i < B; ++i) {
    const auto& s = sources[i];
    std::copy(s.begin(), s.end(), enc.begin() + i * L);
    enc_len[i] = static_cast<std::int32_t>(s.size());
    b.tokens += static_cast<std::int64_t>(s.size()) + T;
    if (!targets.empty()) {
      const auto t = vocab.encode(targets[i]);
      dec[i * T] = vd::Vocabulary::kBos;
      for (std::int64_t k = 0; k < kTargetLen && k < static_cast<std::int64_t>(t.size()); ++k) {
        dec[i * T + k + 1] = t[k];
        tgt[i * T + k] = t[k];
      }
      tgt[i * T + kTargetLen] = vd::Vocabulary::kEos;
      for (std::int64_t k = 0; k < T; ++k) w[i * T + k] = 1.0f;
    }
  }
  b.enc = Tensor(Shape{B, L}, enc);
  b.enc_len = Tensor(Shape{B}, enc_len);
  b.dec = Tensor(Shape{B, T}, dec);
  b.dec_len = Tensor(Shape{B}, dec_len);
  b.targets = Tensor(Shape{B, T}, tgt);
  b.weights = Tensor(Shape{B, T}, w);
  return b;
}

namespace {

article::Seq2SeqConfig make_config(const Hyper& h, std::int64_t vocab_size) {
  article::Seq2SeqConfig c;
  c.vocab_size = vocab_size;
  c.embedding_dim = h.embedding;
  c.hidden_dim = h.hidden;
  c.max_len = kTargetLen + 2;  // room to overrun by one: a wrong length is a wrong answer, not a truncation
  c.bos = vd::Vocabulary::kBos;
  c.eos = vd::Vocabulary::kEos;
  return c;
}

Variable make_embedding(Graph& graph, const Hyper& h, std::int64_t vocab_size) {
  auto use = graph.as_default();
  return Variable(random_uniform({vocab_size, h.embedding}, -1.0f, 1.0f), "embedding");
}

}  // namespace

nmt::Hparams nmt_hparams(const Hyper& h, std::int64_t vocab_size) {
  nmt::Hparams hp;
  hp.unit_type = h.cell;
  hp.encoder_type = h.bidirectional ? "bi" : "uni";
  hp.num_units = h.hidden;
  hp.num_layers = h.layers;
  hp.residual = h.residual;
  hp.dropout = h.dropout;
  hp.attention = h.attention;
  hp.embed_size = h.embedding;
  hp.src_vocab_size = hp.tgt_vocab_size = vocab_size;
  hp.share_vocab = true;
  hp.tgt_sos_id = vd::Vocabulary::kBos;
  hp.tgt_eos_id = vd::Vocabulary::kEos;
  hp.tgt_max_len_infer = kTargetLen + 2;  // as the article's model: room to overrun by one
  return hp;
}

std::string describe(const Hyper& h) {
  if (!h.nmt) return "the article's Seq2Seq (1-layer GRU)";
  const std::string unit = h.cell == "lstm" ? "LSTM" : "GRU";
  std::string s = "tensorflow/nmt's model [";
  if (h.bidirectional)
    s += "bi " + unit + " encoder, " + std::to_string(h.layers / 2) + " layer" + (h.layers / 2 == 1 ? "" : "s") +
         " each way";
  else
    s += std::to_string(h.layers) + "-layer " + unit + " encoder";
  s += "; " + std::to_string(h.layers) + "-layer " + unit + " decoder";
  if (h.residual) s += "; residual";
  if (h.dropout > 0.0f) s += "; dropout " + std::to_string(h.dropout).substr(0, 4) + " in training";
  if (!h.attention.empty()) s += "; " + h.attention + " attention";
  return s + "]";
}

Model::Model(const Hyper& h, std::int64_t vocab_size)
    : graph_(std::make_unique<Graph>(h.seed)), config_(make_config(h, vocab_size)) {
  if (h.nmt) nmt_ = std::make_unique<nmt::Model>(nmt_hparams(h, vocab_size));
  else embedding_ = make_embedding(*graph_, h, vocab_size);
}

Tensor Model::train_logits(const Batch& b, std::optional<std::uint64_t> dropout_seed) {
  auto use = graph_->as_default();
  auto scope = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
  if (nmt_) return nmt_->train_logits(b.enc, b.enc_len, b.dec, b.dec_len, dropout_seed);
  return article::seq2seq_train_outputs(*embedding_, b.enc, b.enc_len, b.dec, b.dec_len, config_);
}

BeamSearchResult Model::generate(const Batch& b, std::int64_t beam, std::int64_t n_best, float length_penalty) {
  auto use = graph_->as_default();
  if (nmt_) return nmt_->beam_search(b.enc, b.enc_len, beam, length_penalty, n_best);
  article::Seq2SeqConfig c = config_;
  c.beam_width = beam;
  c.num_hypotheses = n_best;
  c.length_penalty_weight = length_penalty;
  auto scope = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
  return article::seq2seq_generate(*embedding_, b.enc, b.enc_len, c);
}

DecodingResult Model::decode(const Batch& b, const DecodingOptions& options) {
  auto use = graph_->as_default();
  if (nmt_) return nmt_->decode(b.enc, b.enc_len, options);
  auto scope = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
  return article::seq2seq_decode(*embedding_, b.enc, b.enc_len, config_, options);
}

article::Seq2SeqOutputs Model::shared_decoders(const Batch& b, std::int64_t beam) {
  auto use = graph_->as_default();
  article::Seq2SeqConfig c = config_;
  c.beam_width = beam;
  auto scope = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
  FreezeGuard frozen(*graph_);
  if (!nmt_) return article::seq2seq_shared_decoders(*embedding_, b.enc, b.enc_len, b.dec, b.dec_len, c);
  // nmt's model: the TRAIN graph, then the INFER (beam) graph, each audited.
  article::Seq2SeqOutputs out;
  {
    VariableAudit audit;
    out.train_outputs = nmt_->train_logits(b.enc, b.enc_len, b.dec, b.dec_len);
    out.trainer_variables = article::variables_returned(audit);
  }
  {
    VariableAudit audit;
    out.generation = nmt_->beam_search(b.enc, b.enc_len, beam, 0.0f, 0);
    out.generation_variables = article::variables_returned(audit);
  }
  return out;
}

void Model::build(const vd::Vocabulary& vocab) {
  (void)train_logits(make_batch({vocab.encode("1")}, {"2000-01-01"}, vocab));
}

std::string metadata_json(const Hyper& h, const vd::Vocabulary& vocab) {
  json m;
  m["task"] = "dates";
  m["model"] = kModelName;
  m["vocabulary"] = json::parse(vocab.to_json());
  m["hidden"] = h.hidden;
  m["embedding"] = h.embedding;
  m["batch"] = h.batch;
  m["seed"] = h.seed;
  m["learning_rate"] = h.learning_rate;
  m["clip_norm"] = h.clip_norm;
  m["target_length"] = kTargetLen;
  if (h.nmt) {
    m["model"] = kNmtModelName;
    m["cell"] = h.cell;
    m["layers"] = h.layers;
    m["bidirectional"] = h.bidirectional;
    m["residual"] = h.residual;
    m["dropout"] = h.dropout;
    if (!h.attention.empty()) m["attention"] = h.attention;
  }
  return m.dump();
}

std::pair<Hyper, vd::Vocabulary> parse_metadata(const std::string& text, const std::string& where) {
  const json m = json::parse(text, nullptr, false);
  auto other = [&](const std::string& why) {
    return InvalidArgumentError(where + ": not a dates-task checkpoint (" + why +
                                "); pass a checkpoint written by `varscope train --task dates --out FILE`");
  };
  if (!m.is_object()) throw other("metadata is not an object");
  if (!m.contains("task")) throw other("its metadata has no \"task\"");
  if (m["task"] != "dates") throw other("metadata.task is " + m["task"].dump());
  if (!m.contains("model") || (m["model"] != kModelName && m["model"] != kNmtModelName))
    throw other("metadata.model is not \"" + std::string(kModelName) + "\" or \"" + kNmtModelName + "\"");
  Hyper h;
  h.nmt = m["model"] == kNmtModelName;
  try {
    h.hidden = m.at("hidden").get<std::int64_t>();
    h.embedding = m.at("embedding").get<std::int64_t>();
    h.batch = m.at("batch").get<std::int64_t>();
    h.seed = m.at("seed").get<std::uint64_t>();
    h.learning_rate = m.at("learning_rate").get<float>();
    h.clip_norm = m.at("clip_norm").get<float>();
    if (h.nmt) {
      h.cell = m.at("cell").get<std::string>();
      h.layers = m.at("layers").get<std::int64_t>();
      h.bidirectional = m.at("bidirectional").get<bool>();
      h.residual = m.at("residual").get<bool>();
      h.dropout = m.value("dropout", 0.0f);  // absent before dropout existed
      h.attention = m.value("attention", std::string());  // absent: no attention
    }
  } catch (const json::exception& e) {
    throw other(std::string("metadata field missing or mistyped: ") + e.what());
  }
  if (h.hidden < 1 || h.embedding < 1) throw other("hidden/embedding sizes must be >= 1");
  if (h.nmt) {
    try {
      nmt_hparams(h, 1).check();  // vocabulary size checked by the model
    } catch (const InvalidArgumentError& e) {
      throw other(e.what());
    }
  }
  return {h, vd::Vocabulary::from_json(m.at("vocabulary").dump())};
}

std::pair<Hyper, vd::Vocabulary> read_metadata(const std::string& path) {
  return parse_metadata(checkpoint_metadata(path), path);  // CheckpointError for a non-checkpoint
}

std::pair<Hyper, vd::Vocabulary> read_metadata_from_string(const std::string& text, const std::string& source) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    throw CheckpointError(source + ": not a varscope JSON checkpoint (not a JSON object); pass a file written by "
                                   "`varscope train --task dates` or this page's Save button");
  if (!doc.contains("metadata")) return parse_metadata("{}", source);
  return parse_metadata(doc["metadata"].dump(), source);
}

namespace {

Loaded finish_loading(std::pair<Hyper, vd::Vocabulary> meta, const std::string& source,
                      const std::function<RestoreReport(Graph&, const RestoreOptions&)>& restore_into) {
  auto& [h, vocab] = meta;
  Loaded l{h, vocab, std::make_unique<Model>(h, vocab.size())};
  l.model->build(l.vocab);
  const RestoreReport r = restore_into(l.model->graph(), {.strict = false, .dry_run = true});
  if (!r.missing.empty() || !r.shape_mismatches.empty() || !r.dtype_mismatches.empty())
    throw CheckpointMismatchError(source + ": does not hold this model's variables (" + r.summary() +
                                  "); was it written by `varscope train --task dates`?");
  (void)restore_into(l.model->graph(), {.strict = false});
  return l;
}

}  // namespace

Loaded load_for_decoding(const std::string& path) {
  return finish_loading(read_metadata(path), path,
                        [&](Graph& g, const RestoreOptions& o) { return restore(g, path, o); });
}

Loaded load_for_decoding_from_string(const std::string& text, const std::string& source) {
  return finish_loading(read_metadata_from_string(text, source), source,
                        [&](Graph& g, const RestoreOptions& o) { return restore_from_string(g, text, o, source); });
}

EncodedInput encode_input(const std::string& text, const vd::Vocabulary& vocab, const std::string& label) {
  if (text.find_first_not_of(" \t") == std::string::npos)
    throw InvalidArgumentError(label + " is empty; pass a date such as \"1 December 2026\"");
  std::vector<char32_t> cps;
  try {
    cps = vd::utf8_decode(text);
  } catch (const InvalidArgumentError& e) {
    throw InvalidArgumentError(label + ": " + e.what());
  }
  if (static_cast<std::int64_t>(cps.size()) > kMaxSourceChars)
    throw InvalidArgumentError(label + " has " + std::to_string(cps.size()) + " characters; the limit is " +
                               std::to_string(kMaxSourceChars) + " (pass one date per input)");
  EncodedInput out;
  out.ids = vocab.encode(text);
  for (std::size_t k = 0; k < out.ids.size() && k < cps.size(); ++k)
    if (out.ids[k] == vd::Vocabulary::kUnk) out.unknown += vd::utf8_encode(cps[k]);
  return out;
}

std::vector<Prediction> predict(Model& m, const vd::Vocabulary& vocab, const std::vector<vd::DateSample>& set,
                                std::int64_t beam, std::int64_t batch) {
  std::vector<Prediction> out;
  for (std::size_t i = 0; i < set.size(); i += static_cast<std::size_t>(batch)) {
    const std::size_t end = std::min(set.size(), i + static_cast<std::size_t>(batch));
    std::vector<std::vector<std::int32_t>> src;
    for (std::size_t k = i; k < end; ++k) src.push_back(vocab.encode(set[k].source));
    const auto r = m.generate(make_batch(src, {}, vocab), beam, 1, 0.0f);
    for (const auto& hyps : r.hypotheses) out.push_back({vocab.decode(hyps.at(0).ids), hyps.at(0).score});
  }
  return out;
}

double accuracy(const std::vector<Prediction>& p, const std::vector<vd::DateSample>& set) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < set.size(); ++i) right += p[i].text == set[i].target;
  return set.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(set.size());
}

std::vector<vd::DateSample> training_batch(const std::vector<vd::Date>& pool, std::uint64_t seed, std::int64_t step,
                                           std::int64_t n) {
  Rng rng(mix_seed(mix_seed(seed, 0x7472'6169'6eull), static_cast<std::uint64_t>(step)));
  std::vector<vd::DateSample> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(vd::draw_sample(pool, rng));
  return out;
}

Batch training_step_batch(const std::vector<vd::Date>& pool, std::uint64_t seed, std::int64_t step, std::int64_t n,
                          const vd::Vocabulary& vocab) {
  std::vector<std::vector<std::int32_t>> src;
  std::vector<std::string> tgt;
  for (const auto& x : training_batch(pool, seed, step, n)) {
    src.push_back(vocab.encode(x.source));
    tgt.push_back(x.target);
  }
  return make_batch(src, tgt, vocab);
}

// ------------------------------------------------------------------ Trainer

Trainer::Trainer(const Hyper& h, const vd::Vocabulary& vocab)
    : hyper_(h), vocab_(vocab) {
  if (h.hidden < 1 || h.embedding < 1 || h.batch < 1)
    throw InvalidArgumentError("hidden " + std::to_string(h.hidden) + ", embedding " + std::to_string(h.embedding) +
                               ", batch " + std::to_string(h.batch) + ": each must be >= 1");
  if (!(h.learning_rate > 0.0f) || !(h.clip_norm > 0.0f))
    throw InvalidArgumentError("learning rate " + std::to_string(h.learning_rate) + " and clip norm " +
                               std::to_string(h.clip_norm) + " must be > 0");
  // Same creation order as the CLI always had: embedding, optimizer, global_step.
  model_ = std::make_unique<Model>(h, vocab_.size());
  auto use = model_->graph().as_default();
  opt_ = std::make_unique<AdamOptimizer>(AdamOptimizer::Options{.learning_rate = h.learning_rate});
  global_step_ = get_or_create_global_step();
}

void Trainer::resume(const std::string& text, bool from_file, const std::string& source) {
  model_->build(vocab_);
  auto use = model_->graph().as_default();
  opt_->create_state(trainable_variables());
  // Strict: the model AND the optimizer state.
  if (from_file) (void)restore(model_->graph(), text);
  else (void)restore_from_string(model_->graph(), text, {}, source);
}

std::unique_ptr<Trainer> Trainer::from_checkpoint_text(const std::string& text, const std::string& source) {
  auto [h, vocab] = read_metadata_from_string(text, source);
  auto t = std::make_unique<Trainer>(h, vocab);
  t->resume(text, false, source);
  return t;
}

std::unique_ptr<Trainer> Trainer::from_checkpoint_file(const std::string& path) {
  auto [h, vocab] = read_metadata(path);
  auto t = std::make_unique<Trainer>(h, vocab);
  t->resume(path, true, path);
  return t;
}

Trainer::StepResult Trainer::step(const std::vector<vd::Date>& pool) {
  const Batch b = training_step_batch(pool, hyper_.seed, current_step(), hyper_.batch, vocab_);
  auto use = model_->graph().as_default();
  const auto dropout_seed = static_cast<std::uint64_t>(current_step());
  auto gv = opt_->compute_gradients(
      [&] { return sequence_loss(model_->train_logits(b, dropout_seed), b.targets, b.weights); });
  std::vector<std::optional<Tensor>> grads;
  for (auto& [g, v] : gv) grads.push_back(std::move(g));
  auto clipped = clip_by_global_norm(grads, hyper_.clip_norm);
  for (std::size_t k = 0; k < gv.size(); ++k) gv[k].first = std::move(clipped.clipped[k]);
  opt_->apply_gradients(gv, *global_step_);
  return {static_cast<double>(opt_->last_loss().data<float>()[0]), b.tokens};
}

std::int64_t Trainer::current_step() {
  return static_cast<std::int64_t>(global_step_->value().data<std::int32_t>()[0]);
}

void Trainer::build_if_untrained() {
  if (current_step() > 0) return;  // a step built the model and the optimizer's slots
  model_->build(vocab_);
  auto use = model_->graph().as_default();
  opt_->create_state(trainable_variables());
}

std::string Trainer::save_to_string() {
  build_if_untrained();
  return varscope::save_to_string(model_->graph(), {.metadata_json = metadata_json(hyper_, vocab_)});
}

void Trainer::save(const std::string& path) {
  build_if_untrained();
  varscope::save(model_->graph(), path, {.metadata_json = metadata_json(hyper_, vocab_)});
}

}  // namespace varscope::dates
