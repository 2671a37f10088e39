// varscope_web — the browser demo's entry points (issue 6), built from the same
// C++ modules as the native library. Every function takes and returns JSON text
// (std::string) so the JavaScript side stays thin; library errors come back as
// {"ok": false, "kind": ..., "message": ...} instead of exceptions.
//
// Built with Emscripten this exports them through embind (target varscope_web);
// The date model (issue 12, varscope.dates — the CLI's code): one Trainer holds the
// weights the page decodes with and trains (both decoders read them).
//
// built natively (target varscope_web_native) the same functions are reachable
// from a small command line, so the browser's numbers can be compared with the
// native build's.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#ifdef __EMSCRIPTEN__
#include <emscripten/bind.h>
#endif

import varscope;
import varscope.article;
import varscope.dates;

using json = nlohmann::json;
using namespace varscope;

namespace {

// ------------------------------------------------------------------ helpers

json error_json(const std::exception& e) {
  const auto* ve = dynamic_cast<const Error*>(&e);
  return json{{"ok", false}, {"kind", ve ? ve->kind() : "std::exception"}, {"message", e.what()}};
}

template <class F>
std::string guarded(F&& body) {
  try {
    return body().dump();
  } catch (const std::exception& e) {
    return error_json(e).dump();
  }
}

json shape_json(const Shape& s) { return json(s.dims()); }

std::string fingerprint(const Tensor& t) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a 64 over the raw value bytes
  auto mix = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  };
  if (t.dtype() == DType::float32) {
    auto d = t.data<float>();
    mix(d.data(), d.size() * sizeof(float));
  } else {
    auto d = t.data<std::int32_t>();
    mix(d.data(), d.size() * sizeof(std::int32_t));
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 12);
}

json variables_json(const std::vector<Variable>& vars, bool with_fingerprint) {
  json out = json::array();
  for (const auto& v : vars) {
    json j{{"name", v.name()}, {"shape", shape_json(v.shape())}};
    if (with_fingerprint) j["fingerprint"] = fingerprint(v.value());
    out.push_back(std::move(j));
  }
  return out;
}

json float_values(const Tensor& t) {
  auto d = t.data<float>();
  return json(std::vector<float>(d.begin(), d.end()));
}


Reuse parse_reuse(const std::string& s) {
  if (s == "None") return Reuse::None;
  if (s == "True") return Reuse::True;
  if (s == "AUTO_REUSE") return AUTO_REUSE;
  throw std::invalid_argument("reuse must be None, True or AUTO_REUSE, not '" + s + "'");
}

// ------------------------------------------------------------------ seq2seq model

constexpr std::int64_t kMaxBatch = 4;
constexpr std::int64_t kMaxSourceLength = 64;
constexpr std::uint64_t kPerturbSeed = 20240606;
const article::Seq2SeqConfig kArticle;  // vocabulary 3000, embedding 256, GRU 256, BOS 1, EOS 2

struct Model {
  std::uint64_t seed = 0;
  std::unique_ptr<Graph> graph;
  std::optional<Variable> embedding;
  int perturbations = 0;
};
Model model;

// The page's caps on decoding arguments (a responsive page), added to the library's checks.
constexpr DecodingLimits kPageLimits{.max_beam_width = 16, .max_length_penalty_weight = 10.0f};

struct DecodeParams {
  std::vector<std::vector<std::int32_t>> sources{{1, 1, 1, 1, 1, 1, 1, 1}};  // one row per batch entry
  std::int64_t beam_width = 2;
  std::int64_t max_len = 8;
  float length_penalty = 0.0f;
  std::uint64_t seed = 0;
  bool perturb = false;
};

DecodeParams parse_params(const std::string& text) {
  DecodeParams p;
  json j = text.empty() ? json::object() : json::parse(text);
  if (j.contains("sourceIds")) p.sources = {j["sourceIds"].get<std::vector<std::int32_t>>()};
  if (j.contains("sources")) p.sources = j["sources"].get<std::vector<std::vector<std::int32_t>>>();
  if (j.contains("beamWidth")) p.beam_width = j["beamWidth"].get<std::int64_t>();
  if (j.contains("maxLen")) p.max_len = j["maxLen"].get<std::int64_t>();
  if (j.contains("lengthPenalty")) p.length_penalty = j["lengthPenalty"].get<float>();
  if (j.contains("seed")) p.seed = j["seed"].get<std::uint64_t>();
  if (j.contains("perturb")) p.perturb = j["perturb"].get<bool>();
  if (p.sources.empty() || static_cast<std::int64_t>(p.sources.size()) > kMaxBatch)
    throw InvalidArgumentError("give 1 to " + std::to_string(kMaxBatch) + " source rows (one per batch entry), not " +
                               std::to_string(p.sources.size()));
  for (std::size_t row = 0; row < p.sources.size(); ++row) {
    const auto& ids = p.sources[row];
    if (ids.empty() || static_cast<std::int64_t>(ids.size()) > kMaxSourceLength)
      throw InvalidArgumentError("source row " + std::to_string(row + 1) + " has " + std::to_string(ids.size()) +
                                 " ids; each row needs 1 to " + std::to_string(kMaxSourceLength));
    for (auto id : ids)
      if (id < 0 || id >= kArticle.vocab_size)
        throw InvalidArgumentError("token id " + std::to_string(id) + " in source row " + std::to_string(row + 1) +
                                   " is outside the vocabulary [0, " + std::to_string(kArticle.vocab_size) + ")");
  }
  // The library's one check of decoding arguments, with the page's names and caps.
  check_decoding_options({.beam_width = p.beam_width, .length_penalty_weight = p.length_penalty},
                         {.beam_width = "beamWidth", .length_penalty_weight = "lengthPenalty"}, kPageLimits);
  if (p.max_len < 1 || p.max_len > 64)
    throw InvalidArgumentError("maxLen " + std::to_string(p.max_len) + " must be in [1, 64]");
  return p;
}

// The article's Seq2Seq block (article::seq2seq_shared_decoders) on a ragged
// batch: each source row is padded with 0 to the longest and given its length;
// the training decoder is teacher-forced with BOS followed by the row shifted by one.
article::Seq2SeqOutputs run_seq2seq(const DecodeParams& p) {
  const auto B = static_cast<std::int64_t>(p.sources.size());
  std::int64_t T = 0;
  for (const auto& row : p.sources) T = std::max<std::int64_t>(T, static_cast<std::int64_t>(row.size()));
  std::vector<std::int32_t> enc(static_cast<std::size_t>(B * T), 0), dec(enc.size(), 0), lengths;
  for (std::int64_t b = 0; b < B; ++b) {
    const auto& row = p.sources[static_cast<std::size_t>(b)];
    const auto len = static_cast<std::int64_t>(row.size());
    lengths.push_back(static_cast<std::int32_t>(len));
    for (std::int64_t t = 0; t < len; ++t) {
      enc[b * T + t] = row[t];
      dec[b * T + t] = t == 0 ? kArticle.bos : row[t - 1];
    }
  }
  const Tensor encoder_inputs(Shape{B, T}, enc), decoder_inputs(Shape{B, T}, dec), inputs_length(Shape{B}, lengths);
  article::Seq2SeqConfig config = kArticle;
  config.beam_width = p.beam_width;
  config.max_len = p.max_len;
  config.length_penalty_weight = p.length_penalty;
  return article::seq2seq_shared_decoders(*model.embedding, encoder_inputs, inputs_length, decoder_inputs,
                                          inputs_length, config);
}

// Makes the persistent model for `seed` (creating its 10 variables with a first
// pass of the article's block), unless it already exists.
void ensure_model(std::uint64_t seed) {
  if (model.graph && model.seed == seed) return;
  model = Model{};
  model.seed = seed;
  model.graph = std::make_unique<Graph>(seed);
  auto use = model.graph->as_default();
  model.embedding.emplace(random_uniform({kArticle.vocab_size, kArticle.embedding_dim}, -1.0f, 1.0f), "embedding");
  DecodeParams first;
  first.max_len = 1;
  first.beam_width = 1;
  (void)run_seq2seq(first);
}

Variable find_variable(const std::string& name) {
  for (const auto& v : model.graph->global_variables())
    if (v.name() == name) return v;
  throw NotFoundError("no variable " + name + " in the demo graph");
}

json seq2seq_impl(const std::string& params_json) {
  const auto p = parse_params(params_json);
  ensure_model(p.seed);
  auto use = model.graph->as_default();
  if (p.perturb) {
    // Fixed noise (seeded) added to the shared output layer: both decoders read it.
    auto kernel = find_variable("decoder/decoder/out_layer/kernel:0");
    auto noise = random_normal(kernel.shape(), 0.0f, 0.05f, kPerturbSeed);
    kernel.assign(add(kernel.value(), noise));
    ++model.perturbations;
  }
  article::Seq2SeqOutputs out;
  {
    // Every variable exists already: run the block in a reuse=True root scope so
    // that nothing new can be created (and the names stay the article's).
    auto reuse_all = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
    FreezeGuard frozen(*model.graph);
    out = run_seq2seq(p);
  }
  // Training-decoder argmax per row, up to the row's length.
  json train = json::array();
  {
    const Tensor ids = argmax(out.train_outputs, -1);
    auto d = ids.data<std::int32_t>();
    const auto T = ids.shape()[1];
    for (std::int64_t b = 0; b < ids.shape()[0]; ++b) {
      const auto len = static_cast<std::int64_t>(p.sources[static_cast<std::size_t>(b)].size());
      train.push_back(std::vector<std::int32_t>(d.begin() + b * T, d.begin() + b * T + len));
    }
  }
  json hyps = json::array();
  for (const auto& row : out.generation.hypotheses) {
    json r = json::array();
    for (const auto& h : row)
      r.push_back({{"ids", h.ids}, {"score", h.score}, {"length", h.length}, {"logProb", h.log_prob}});
    hyps.push_back(std::move(r));
  }
  // What each decoder's own layer objects hold: the same variables (and values) when shared.
  json decoders{{"trainer", variables_json(out.trainer_variables, true)},
                {"generation", variables_json(out.generation_variables, true)}};
  return json{{"ok", true},
              {"trainArgmax", train},
              {"trainLogitsFingerprint", fingerprint(out.train_outputs)},
              {"hypotheses", hyps},
              {"decoders", decoders},
              {"perturbations", model.perturbations},
              {"seed", model.seed},
              {"variables", variables_json(model.graph->global_variables(), true)}};
}


// ------------------------------------------------------------------ date model (issue 12)

namespace vd = varscope::data;

struct DatesState {
  std::unique_ptr<dates::Trainer> trainer;  ///< the page's one set of weights: decoded with and trained
  std::string source;                       ///< where the weights came from (for the page)
  std::vector<vd::Date> train_pool;         ///< training-split dates (built on first training step)
};
DatesState dates_state;

dates::Trainer& dates_trainer() {
  if (!dates_state.trainer)
    throw NotFoundError("no date model loaded: call datesLoad(checkpoint text) or datesNew(params) first");
  return *dates_state.trainer;
}

json dates_info() {
  auto& t = dates_trainer();
  const auto& h = t.hyper();
  return json{{"ok", true},
              {"source", dates_state.source},
              {"step", t.current_step()},
              {"hyper",
               {{"hidden", h.hidden},
                {"embedding", h.embedding},
                {"batch", h.batch},
                {"seed", h.seed},
                {"learningRate", h.learning_rate},
                {"clipNorm", h.clip_norm},
                {"nmt", h.nmt},
                {"cell", h.cell},
                {"layers", h.layers},
                {"bidirectional", h.bidirectional},
                {"residual", h.residual},
                {"dropout", h.dropout},
                {"attention", h.attention}}},
              {"model", dates::describe(h)},
              {"vocabSize", t.vocab().size()}};
}

// With an attention model: the hypothesis' alignments ([length, source length]: one row per
// decoded step, the end-token step included, backtracked through the beam's parents) and
// the character each row produced (its id decoded; "</s>" for the end token).
json hypothesis_json(const Hypothesis& h, const vd::Vocabulary& vocab) {
  json j{{"text", vocab.decode(h.ids)}, {"ids", h.ids}, {"score", h.score}, {"logProb", h.log_prob},
         {"length", h.length}};
  if (h.alignments.shape().dims().size() == 2) {
    const auto rows = h.alignments.shape()[0], cols = h.alignments.shape()[1];
    const auto a = h.alignments.data<float>();
    json matrix = json::array(), tokens = json::array();
    for (std::int64_t r = 0; r < rows; ++r) {
      matrix.push_back(std::vector<float>(a.begin() + r * cols, a.begin() + (r + 1) * cols));
      tokens.push_back(r < static_cast<std::int64_t>(h.ids.size()) ? vocab.decode({h.ids[static_cast<std::size_t>(r)]})
                                                                    : std::string("</s>"));
    }
    j["alignments"] = std::move(matrix);
    j["outputTokens"] = std::move(tokens);
  }
  return j;
}

json dates_decode_impl(const std::string& params_json) {
  const json p = params_json.empty() ? json::object() : json::parse(params_json);
  auto& t = dates_trainer();
  const std::string text = p.value("text", std::string());
  // sample: true draws the tokens (SampleEmbeddingHelper; temperature, topK, seed) instead of the beam search.
  const bool sample = p.value("sample", false);
  const std::int64_t beam = p.value("beam", std::int64_t{sample ? 1 : 4});
  const std::int64_t n_best = p.value("nBest", beam);
  const float length_penalty = p.value("lengthPenalty", 0.0f);
  const DecodingOptions options{.beam_width = beam,
                                .length_penalty_weight = length_penalty,
                                .num_hypotheses = n_best,
                                .sampling_topk = sample ? p.value("topK", std::int64_t{0}) : 1,
                                .sampling_temperature = p.value("temperature", 1.0f),
                                .seed = p.value("seed", std::uint64_t{1})};
  check_decoding_options(options,
                         {.beam_width = "beam",
                          .length_penalty_weight = "lengthPenalty",
                          .num_hypotheses = "nBest",
                          .sampling_topk = "topK",
                          .sampling_temperature = "temperature"},
                         {.max_beam_width = kPageLimits.max_beam_width,
                          .max_length_penalty_weight = kPageLimits.max_length_penalty_weight,
                          .min_num_hypotheses = 1});  // nBest has no "all"

  const auto in = dates::encode_input(text, t.vocab(), "the date '" + text + "'");
  auto& m = t.model();
  const auto batch = dates::make_batch({in.ids}, {}, t.vocab());
  const auto beams = sample ? m.decode(batch, options) : DecodingResult{m.generate(batch, beam, n_best, length_penalty).hypotheses};
  const auto greedy = m.generate(batch, 1, 1, 0.0f);
  // Both decoders built once more on this input (teacher-forced with the greedy output):
  // what each decoder's own layers hold, fingerprinted.
  const auto& g = greedy.hypotheses.at(0).at(0);
  auto forced = batch;
  {
    std::vector<std::int32_t> dec(static_cast<std::size_t>(dates::kTargetLen + 1), vd::Vocabulary::kPad);
    dec[0] = vd::Vocabulary::kBos;
    for (std::size_t k = 0; k < g.ids.size() && k + 1 < dec.size(); ++k) dec[k + 1] = g.ids[k];
    forced.dec = Tensor(Shape{1, dates::kTargetLen + 1}, dec);
  }
  const auto both = m.shared_decoders(forced, 1);
  json hyps = json::array();
  for (const auto& h : beams.hypotheses.at(0)) hyps.push_back(hypothesis_json(h, t.vocab()));
  json out = dates_info();
  out["input"] = text;
  {
    // The source characters (one id each: the heat map's columns).
    json chars = json::array();
    for (const char32_t cp : vd::utf8_decode(text)) chars.push_back(vd::utf8_encode(cp));
    out["sourceChars"] = std::move(chars);
  }
  out["unknown"] = in.unknown;
  out["hypotheses"] = hyps;
  out["greedy"] = hypothesis_json(g, t.vocab());
  out["decoders"] = {{"trainer", variables_json(both.trainer_variables, true)},
                     {"generation", variables_json(both.generation_variables, true)}};
  {
    auto use = m.graph().as_default();
    out["variables"] = variables_json(trainable_variables(), true);
  }
  return out;
}

json dates_train_impl(std::int64_t steps) {
  if (steps < 1 || steps > 1000) throw InvalidArgumentError("steps " + std::to_string(steps) + " must be in [1, 1000]");
  auto& t = dates_trainer();
  if (dates_state.train_pool.empty()) dates_state.train_pool = vd::dates_of(vd::Split::train);
  json losses = json::array();
  std::int64_t tokens = 0;
  for (std::int64_t i = 0; i < steps; ++i) {
    const auto r = t.step(dates_state.train_pool);
    losses.push_back(r.loss);
    tokens += r.tokens;
  }
  json out = dates_info();
  out["losses"] = losses;
  out["tokens"] = tokens;
  return out;
}

json dates_validate_impl(std::int64_t size) {
  if (size < 1 || size > 5000) throw InvalidArgumentError("size " + std::to_string(size) + " must be in [1, 5000]");
  auto& t = dates_trainer();
  const auto valid = vd::DateTask::fixed_set(vd::Split::validation, static_cast<std::size_t>(size));
  const auto p = dates::predict(t.model(), t.vocab(), valid, 1, 250);
  json out = dates_info();
  out["size"] = size;
  out["accuracy"] = dates::accuracy(p, valid);
  return out;
}

}  // namespace

// ------------------------------------------------------------------ entry points

namespace varscope_web {

std::string tour(const std::string& section_id) {
  return guarded([&] {
    std::ostringstream os;
    article::run_tour(os, section_id);
    json sections = json::array();
    for (const auto& s : article::sections()) sections.push_back({{"id", s.id}, {"title", s.title}, {"beyond", false}});
    // Issue 11's sections beyond the article (training), listed after the article's blocks.
    for (const auto& s : article::beyond_sections())
      sections.push_back({{"id", s.id}, {"title", s.title}, {"beyond", true}});
    return json{{"ok", true}, {"text", os.str()}, {"sections", sections}};
  });
}

std::string reuse_table(const std::string& outer, const std::string& inner) {
  return guarded([&] {
    const Reuse outer_mode = parse_reuse(outer), inner_mode = parse_reuse(inner);
    Graph graph;
    auto use = graph.as_default();
    {  // an existing variable under the same scopes
      auto o = variable_scope("outer");
      auto i = variable_scope("inner");
      (void)get_variable("existing", {.shape = {2, 3}});
    }
    auto o = variable_scope("outer", {.reuse = outer_mode});
    auto i = variable_scope("inner", {.reuse = inner_mode});
    json result{{"ok", true}, {"outer", outer}, {"inner", inner}, {"effective", std::string(to_string(i.reuse()))},
                {"scope", i.name()}};
    // What get_variable(name) does here: `success` and the variable's name, or the error.
    auto attempt = [&](const char* name, const std::string& key, const char* success) {
      try {
        result[key] = success;
        result[key + "Name"] = get_variable(name, {.shape = {2, 3}}).name();
      } catch (const Error& e) {
        result[key] = e.what();
        result[key + "Error"] = e.kind();
      }
    };
    attempt("new_variable", "createNew", "create");
    attempt("existing", "getExisting", "return");
    return result;
  });
}

std::string feed_forward() {
  return guarded([] {
    // One block of the article in a fresh graph: its outputs and variables as JSON.
    auto block = [](article::FeedForwardOutputs (*network)(const Tensor&)) {
      Graph graph;
      auto use = graph.as_default();
      const auto [x, y] = network(ones({2, 3}));
      return json{{"shared", x.bitwise_equal(y) ? "True" : "False"},
                  {"variables", variables_json(global_variables(), false)},
                  {"outputsX", float_values(x)},
                  {"outputsY", float_values(y)}};
    };
    return json{{"ok", true},
                {"unshared", block(article::feed_forward_unshared)},
                {"shared", block(article::feed_forward_shared)}};
  });
}

std::string seq2seq(const std::string& params_json) {
  return guarded([&] { return seq2seq_impl(params_json); });
}

std::string save_checkpoint() {
  return guarded([] {
    ensure_model(model.graph ? model.seed : 0);
    return json{{"ok", true},
                {"text", save_to_string(*model.graph, {.metadata_json = R"({"demo":"varscope_web","seed":)" +
                                                                        std::to_string(model.seed) + "}"})}};
  });
}

std::string load_checkpoint(const std::string& text) {
  return guarded([&] {
    ensure_model(model.graph ? model.seed : 0);
    RestoreReport report;
    try {
      report = restore_from_string(*model.graph, text, {.strict = true}, "(uploaded file)");
    } catch (const std::exception& e) {
      return error_json(e);
    }
    json mismatches = json::array();
    for (const auto& m : report.shape_mismatches)
      mismatches.push_back({{"name", m.name}, {"expected", m.expected}, {"found", m.found}});
    return json{{"ok", true},
                {"message", report.summary()},
                {"applied", report.applied},
                {"matched", report.matched},
                {"missing", report.missing},
                {"unexpected", report.unexpected},
                {"shapeMismatches", mismatches},
                {"variables", variables_json(model.graph->global_variables(), true)}};
  });
}

// Date model: load a checkpoint (text), start from scratch, decode, train, validate, save.
std::string dates_load(const std::string& text, const std::string& label) {
  return guarded([&] {
    auto t = dates::Trainer::from_checkpoint_text(text, label.empty() ? "(checkpoint)" : label);
    dates_state.trainer = std::move(t);  // only replaced once the new one restored cleanly
    dates_state.source = label;
    return dates_info();
  });
}

std::string dates_new(const std::string& params_json) {
  return guarded([&] {
    const json p = params_json.empty() ? json::object() : json::parse(params_json);
    dates::Hyper h;
    h.hidden = p.value("hidden", h.hidden);
    h.embedding = p.value("embedding", h.embedding);
    h.batch = p.value("batch", h.batch);
    h.seed = p.value("seed", h.seed);
    h.learning_rate = p.value("learningRate", h.learning_rate);
    // attention (luong | scaled_luong | bahdanau | normed_bahdanau): tensorflow/nmt's model with an
    // AttentionWrapper, as `varscope train --attention` (1-layer GRU encoder and decoder at the page's sizes).
    h.attention = p.value("attention", std::string());
    if (!h.attention.empty()) {
      if (h.attention != "luong" && h.attention != "scaled_luong" && h.attention != "bahdanau" &&
          h.attention != "normed_bahdanau")
        throw InvalidArgumentError("attention '" + h.attention +
                                   "' is not an attention; pass luong, scaled_luong, bahdanau or normed_bahdanau");
      h.nmt = true;
    }
    if (h.hidden > 512 || h.embedding > 512 || h.batch > 512)
      throw InvalidArgumentError("hidden " + std::to_string(h.hidden) + ", embedding " + std::to_string(h.embedding) +
                                 ", batch " + std::to_string(h.batch) + ": the page allows at most 512 each");
    auto t = std::make_unique<dates::Trainer>(h, vd::Vocabulary::dates());
    t->model().build(t->vocab());
    dates_state.trainer = std::move(t);
    dates_state.source = "from scratch (seed " + std::to_string(h.seed) + ")";
    return dates_info();
  });
}

std::string dates_decode(const std::string& params_json) {
  return guarded([&] { return dates_decode_impl(params_json); });
}
std::string dates_train(int steps) {
  return guarded([&] { return dates_train_impl(steps); });
}
std::string dates_validate(int size) {
  return guarded([&] { return dates_validate_impl(size); });
}
std::string dates_save() {
  return guarded([] { return json{{"ok", true}, {"text", dates_trainer().save_to_string()}, {"step", dates_trainer().current_step()}}; });
}
// setThreads(n): the thread count of every later call (varscope::set_num_threads); in a
// build without threads (the default wasm preset) every count runs as 1 thread. Returns
// {"threads": n in use, "available": whether this build has a thread team}.
std::string set_threads(int n) {
  return guarded([&] {
    varscope::set_num_threads(n);
    return json{{"ok", true}, {"threads", varscope::num_threads()}, {"available", varscope::threads_available()}};
  });
}

}  // namespace varscope_web

#ifdef __EMSCRIPTEN__
EMSCRIPTEN_BINDINGS(varscope_web) {
  emscripten::function("tour", &varscope_web::tour);
  emscripten::function("reuseTable", &varscope_web::reuse_table);
  emscripten::function("feedForward", &varscope_web::feed_forward);
  emscripten::function("seq2seq", &varscope_web::seq2seq);
  emscripten::function("saveCheckpoint", &varscope_web::save_checkpoint);
  emscripten::function("loadCheckpoint", &varscope_web::load_checkpoint);
  emscripten::function("datesLoad", &varscope_web::dates_load);
  emscripten::function("datesNew", &varscope_web::dates_new);
  emscripten::function("datesDecode", &varscope_web::dates_decode);
  emscripten::function("datesTrain", &varscope_web::dates_train);
  emscripten::function("datesValidate", &varscope_web::dates_validate);
  emscripten::function("datesSave", &varscope_web::dates_save);
  emscripten::function("setThreads", &varscope_web::set_threads);
}
#else
// Native: `varscope_web_native FUNCTION [ARG...]` prints the function's JSON.
int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: varscope_web_native tour|reuseTable|feedForward|seq2seq [args...]\n";
    return 2;
  }
  const std::string fn = argv[1];
  auto arg = [&](int i) { return i < argc ? std::string(argv[i]) : std::string(); };
  std::string out;
  if (fn == "tour") out = varscope_web::tour(arg(2));
  else if (fn == "reuseTable") out = varscope_web::reuse_table(arg(2), arg(3));
  else if (fn == "feedForward") out = varscope_web::feed_forward();
  else if (fn == "seq2seq") out = varscope_web::seq2seq(arg(2));
  else if (fn == "datesDecode") {  // datesDecode CHECKPOINT PARAMS_JSON
    std::ifstream in(arg(2), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    out = varscope_web::dates_load(text.str(), arg(2));
    if (json::parse(out).value("ok", false)) out = varscope_web::dates_decode(arg(3));
  }
  else {
    std::cerr << "unknown function " << fn << '\n';
    return 2;
  }
  std::cout << out << '\n';
  return 0;
}
#endif
