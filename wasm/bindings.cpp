// varscope_web — the browser demo's entry points (issue 6), built from the same
// C++ modules as the native library. Every function takes and returns JSON text
// (std::string) so the JavaScript side stays thin; library errors come back as
// {"ok": false, "kind": ..., "message": ...} instead of exceptions.
//
// Built with Emscripten this exports them through embind (target varscope_web);
// built natively (target varscope_web_native) the same functions are reachable
// from a small command line, so the browser's numbers can be compared with the
// native build's.
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

Tensor int_tensor(const Shape& shape, std::vector<std::int32_t> values) { return Tensor(shape, std::move(values)); }

Reuse parse_reuse(const std::string& s) {
  if (s == "None") return Reuse::None;
  if (s == "True") return Reuse::True;
  if (s == "AUTO_REUSE") return AUTO_REUSE;
  throw std::invalid_argument("reuse must be None, True or AUTO_REUSE, not '" + s + "'");
}

// ------------------------------------------------------------------ seq2seq model

constexpr std::int64_t kVocab = 3000;
constexpr std::int64_t kEmbeddingDim = 256;
constexpr std::int64_t kHidden = 256;
constexpr std::int32_t kBos = 1;
constexpr std::int32_t kEos = 2;
constexpr std::uint64_t kPerturbSeed = 20240606;

struct Model {
  std::uint64_t seed = 0;
  std::unique_ptr<Graph> graph;
  std::optional<Variable> embedding;
  int perturbations = 0;
};
Model model;

struct DecodeParams {
  std::vector<std::int32_t> source_ids{1, 1, 1, 1, 1, 1, 1, 1};
  std::int64_t beam_width = 2;
  std::int64_t max_len = 8;
  float length_penalty = 0.0f;
  std::uint64_t seed = 0;
  bool perturb = false;
};

DecodeParams parse_params(const std::string& text) {
  DecodeParams p;
  json j = text.empty() ? json::object() : json::parse(text);
  if (j.contains("sourceIds")) p.source_ids = j["sourceIds"].get<std::vector<std::int32_t>>();
  if (j.contains("beamWidth")) p.beam_width = j["beamWidth"].get<std::int64_t>();
  if (j.contains("maxLen")) p.max_len = j["maxLen"].get<std::int64_t>();
  if (j.contains("lengthPenalty")) p.length_penalty = j["lengthPenalty"].get<float>();
  if (j.contains("seed")) p.seed = j["seed"].get<std::uint64_t>();
  if (j.contains("perturb")) p.perturb = j["perturb"].get<bool>();
  if (p.source_ids.empty() || p.source_ids.size() > 64)
    throw InvalidArgumentError("sourceIds must hold 1 to 64 token ids");
  for (auto id : p.source_ids)
    if (id < 0 || id >= kVocab)
      throw InvalidArgumentError("token id " + std::to_string(id) + " is outside the vocabulary [0, 3000)");
  if (p.beam_width < 1 || p.beam_width > 16) throw InvalidArgumentError("beamWidth must be in [1, 16]");
  if (p.max_len < 1 || p.max_len > 64) throw InvalidArgumentError("maxLen must be in [1, 64]");
  if (!(p.length_penalty >= 0.0f && p.length_penalty <= 10.0f))
    throw InvalidArgumentError("lengthPenalty must be in [0, 10]");
  return p;
}

struct DecodeOutputs {
  Tensor train_ids;
  BeamSearchResult beams;
};

// The article's Seq2Seq block for one batch row: the encoder (scope 'encoder'),
// then in variable_scope('decoder') a training decoder, scope.reuse_variables()
// and a beam-search decoder sharing its variables.
DecodeOutputs run_seq2seq(const DecodeParams& p) {
  const auto len = static_cast<std::int64_t>(p.source_ids.size());
  auto encoder_inputs = int_tensor({1, len}, p.source_ids);
  auto encoder_len = int_tensor({1}, {static_cast<std::int32_t>(len)});
  // Teacher forcing: BOS then the source ids shifted by one.
  std::vector<std::int32_t> dec_in{kBos};
  dec_in.insert(dec_in.end(), p.source_ids.begin(), p.source_ids.end() - 1);
  auto decoder_inputs = int_tensor({1, len}, dec_in);
  auto decoder_len = encoder_len;

  const Variable& embedding = *model.embedding;
  Tensor thought_vector;
  {
    GRUCell cell(kHidden, "cell");
    auto embedded = embedding_lookup(embedding.value(), encoder_inputs);
    auto [outputs, final_state] = dynamic_rnn(cell, embedded, {.sequence_length = encoder_len, .scope = "encoder"});
    thought_vector = final_state;
  }
  DecodeOutputs out;
  {
    auto scope = variable_scope("decoder");
    {
      GRUCell cell(kHidden, "cell");
      Dense output_layer(kVocab, {.use_bias = false, .name = "out_layer"});
      TrainingHelper helper(embedding_lookup(embedding.value(), decoder_inputs), decoder_len);
      BasicDecoder decoder(cell, helper, thought_vector, &output_layer);
      auto result = dynamic_decode(decoder, {.scope = "decoder"});
      out.train_ids = argmax(result.rnn_output, -1);
    }
    scope.reuse_variables();
    {
      GRUCell cell(kHidden, "cell");
      Dense output_layer(kVocab, {.use_bias = false, .name = "out_layer"});
      BeamSearchDecoder::Options options;
      options.length_penalty_weight = p.length_penalty;
      BeamSearchDecoder decoder(cell, embedding.value(), int_tensor({1}, {kBos}), kEos,
                                tile_batch(thought_vector, p.beam_width), p.beam_width, &output_layer, options);
      out.beams = dynamic_decode(decoder, {.maximum_iterations = p.max_len, .scope = "decoder"});
    }
  }
  return out;
}

// Makes the persistent model for `seed` (creating its 10 variables with a first
// pass of the article's block), unless it already exists.
void ensure_model(std::uint64_t seed) {
  if (model.graph && model.seed == seed) return;
  model = Model{};
  model.seed = seed;
  model.graph = std::make_unique<Graph>(seed);
  auto use = model.graph->as_default();
  model.embedding.emplace(random_uniform({kVocab, kEmbeddingDim}, -1.0f, 1.0f), "embedding");
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
  DecodeOutputs out;
  {
    // Every variable exists already: run the block in a reuse=True root scope so
    // that nothing new can be created (and the names stay the article's).
    auto reuse_all = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
    FreezeGuard frozen(*model.graph);
    out = run_seq2seq(p);
  }
  json train = json::array();
  {
    const auto& t = out.train_ids;
    auto d = t.data<std::int32_t>();
    const auto T = t.shape()[1];
    for (std::int64_t b = 0; b < t.shape()[0]; ++b)
      train.push_back(std::vector<std::int32_t>(d.begin() + b * T, d.begin() + (b + 1) * T));
  }
  json hyps = json::array();
  for (const auto& row : out.beams.hypotheses) {
    json r = json::array();
    for (const auto& h : row)
      r.push_back({{"ids", h.ids}, {"score", h.score}, {"length", h.length}, {"logProb", h.log_prob}});
    hyps.push_back(std::move(r));
  }
  return json{{"ok", true},
              {"trainArgmax", train},
              {"hypotheses", hyps},
              {"perturbations", model.perturbations},
              {"seed", model.seed},
              {"variables", variables_json(model.graph->global_variables(), true)}};
}

}  // namespace

// ------------------------------------------------------------------ entry points

namespace varscope_web {

std::string tour(const std::string& section_id) {
  return guarded([&] {
    std::ostringstream os;
    article::run_tour(os, section_id);
    json sections = json::array();
    for (const auto& s : article::sections()) sections.push_back({{"id", s.id}, {"title", s.title}});
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
    try {
      auto v = get_variable("new_variable", {.shape = {2, 3}});
      result["createNew"] = "create";
      result["createNewName"] = v.name();
    } catch (const Error& e) {
      result["createNew"] = e.what();
      result["createNewError"] = e.kind();
    }
    try {
      auto v = get_variable("existing", {.shape = {2, 3}});
      result["getExisting"] = "return";
      result["getExistingName"] = v.name();
    } catch (const Error& e) {
      result["getExisting"] = e.what();
      result["getExistingError"] = e.kind();
    }
    return result;
  });
}

std::string feed_forward() {
  return guarded([] {
    const auto ff = varscope::article::feed_forward;  // the article's network
    json result{{"ok", true}};
    {
      Graph graph;
      auto use = graph.as_default();
      auto inputs = ones({2, 3});
      Tensor x, y;
      {
        auto s = variable_scope("feed_forward_x");
        x = ff(inputs);
      }
      {
        auto s = variable_scope("feed_forward_y");
        y = ff(inputs);
      }
      result["unshared"] = {{"shared", x.bitwise_equal(y) ? "True" : "False"},
                            {"variables", variables_json(global_variables(), false)},
                            {"outputsX", float_values(x)},
                            {"outputsY", float_values(y)}};
    }
    {
      Graph graph;
      auto use = graph.as_default();
      auto inputs = ones({2, 3});
      Tensor x, y;
      {
        auto s = variable_scope("feed_forward_shared");
        x = ff(inputs);
        s.reuse_variables();
        y = ff(inputs);
      }
      result["shared"] = {{"shared", x.bitwise_equal(y) ? "True" : "False"},
                          {"variables", variables_json(global_variables(), false)},
                          {"outputsX", float_values(x)},
                          {"outputsY", float_values(y)}};
    }
    return result;
  });
}

std::string seq2seq(const std::string& params_json) {
  return guarded([&] { return seq2seq_impl(params_json); });
}

std::string save_checkpoint() {
  return guarded([] {
    ensure_model(model.graph ? model.seed : 0);
    const std::string path = "/tmp/varscope-demo-save.json";
    save(*model.graph, path, {.metadata_json = R"({"demo":"varscope_web","seed":)" + std::to_string(model.seed) + "}"});
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::remove(path.c_str());
    return json{{"ok", true}, {"text", text.str()}};
  });
}

std::string load_checkpoint(const std::string& text) {
  return guarded([&] {
    ensure_model(model.graph ? model.seed : 0);
    const std::string path = "/tmp/varscope-demo-load.json";
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << text;
    }
    struct Cleanup {
      std::string p;
      ~Cleanup() { std::remove(p.c_str()); }
    } cleanup{path};
    RestoreReport report;
    try {
      report = restore(*model.graph, path, {.strict = true});
    } catch (const std::exception& e) {
      // Name the upload, not the in-memory file it was copied to.
      json err = error_json(e);
      auto message = err["message"].get<std::string>();
      for (auto at = message.find(path); at != std::string::npos; at = message.find(path))
        message.replace(at, path.size(), "(uploaded file)");
      err["message"] = message;
      return err;
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

}  // namespace varscope_web

#ifdef __EMSCRIPTEN__
EMSCRIPTEN_BINDINGS(varscope_web) {
  emscripten::function("tour", &varscope_web::tour);
  emscripten::function("reuseTable", &varscope_web::reuse_table);
  emscripten::function("feedForward", &varscope_web::feed_forward);
  emscripten::function("seq2seq", &varscope_web::seq2seq);
  emscripten::function("saveCheckpoint", &varscope_web::save_checkpoint);
  emscripten::function("loadCheckpoint", &varscope_web::load_checkpoint);
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
  else {
    std::cerr << "unknown function " << fn << '\n';
    return 2;
  }
  std::cout << out << '\n';
  return 0;
}
#endif
