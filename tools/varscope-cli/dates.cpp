// `varscope train|decode|eval --task dates` (issue 12): the article's Seq2Seq
// (embedding shared by encoder and decoder, GRU encoder via
// dynamic_rnn(scope='encoder'), a training decoder and a beam-search decoder
// sharing decoder/...) trained with Adam + clip_by_global_norm on
// varscope:data's date-normalisation task.
//
// Determinism: the graph is seeded with --seed and the batch of step s is drawn
// from Rng(mix(seed, s)), so a run is a function of (seed, hyper-parameters,
// steps) and a resumed run (--resume) ends bit-identical to a straight one.
// --steps is the TOTAL number of steps (global_step at the end).
#include "dates.hpp"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

import varscope;
import varscope.article;

namespace varscope_cli {

using namespace varscope;
namespace vd = varscope::data;
using nlohmann::json;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

constexpr std::int64_t kTargetLen = 10;        // YYYY-MM-DD
constexpr std::int64_t kMaxSourceChars = 128;  // longer inputs are an error, not a slow decode
constexpr const char* kModelName = "varscope.article.seq2seq";

struct Hyper {
  std::int64_t hidden = 128, embedding = 64, batch = 64;
  std::uint64_t seed = 1;
  float learning_rate = 0.003f, clip_norm = 5.0f;
};

// Encoder inputs padded with PAD; decoder inputs BOS + target; targets target + EOS.
struct Batch {
  Tensor enc, enc_len, dec, dec_len, targets, weights;
  std::int64_t tokens = 0;
};

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

// The model in its own graph (seeded): the article's block at the task's sizes.
struct Model {
  Graph graph;
  DefaultGraphGuard use;
  article::Seq2SeqConfig config;
  Variable embedding;

  Model(const Hyper& h, std::int64_t vocab_size)
      : graph(h.seed),
        use(graph),
        config(make_config(h, vocab_size)),
        embedding(random_uniform({vocab_size, h.embedding}, -1.0f, 1.0f), "embedding") {}

  static article::Seq2SeqConfig make_config(const Hyper& h, std::int64_t vocab_size) {
    article::Seq2SeqConfig c;
    c.vocab_size = vocab_size;
    c.embedding_dim = h.embedding;
    c.hidden_dim = h.hidden;
    c.max_len = kTargetLen + 2;  // room to overrun by one: a wrong length is a wrong answer, not a truncation
    c.bos = vd::Vocabulary::kBos;
    c.eos = vd::Vocabulary::kEos;
    return c;
  }

  Tensor train_logits(const Batch& b) {
    auto scope = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
    return article::seq2seq_train_outputs(embedding, b.enc, b.enc_len, b.dec, b.dec_len, config);
  }

  BeamSearchResult generate(const Batch& b, std::int64_t beam, std::int64_t n_best, float length_penalty) {
    article::Seq2SeqConfig c = config;
    c.beam_width = beam;
    c.num_hypotheses = n_best;
    c.length_penalty_weight = length_penalty;
    auto scope = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
    return article::seq2seq_generate(embedding, b.enc, b.enc_len, c);
  }

  // Creates every model variable (a forward pass of the training decoder on one row).
  void build(const vd::Vocabulary& vocab) { (void)train_logits(make_batch({vocab.encode("1")}, {"2000-01-01"}, vocab)); }
};

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
  return m.dump();
}

// The "metadata" object of checkpoint text in memory, without building the variables'
// JSON (the parser drops them); malformed text is a CheckpointError like a bad file.
std::string metadata_of_text(std::string_view text, const std::string& source) {
  const json doc = json::parse(
      text.begin(), text.end(),
      [](int depth, json::parse_event_t event, json& parsed) {
        return !(depth == 1 && event == json::parse_event_t::key && parsed == "variables");
      },
      false);
  if (doc.is_discarded() || !doc.is_object()) throw CheckpointError(source + ": not a JSON checkpoint object");
  return doc.contains("metadata") ? doc["metadata"].dump() : "{}";
}

// Reads and checks a dates checkpoint's metadata (another model's checkpoint is a clear error).
// `path` "" reads the built-in default model.
std::pair<Hyper, vd::Vocabulary> read_metadata(const std::string& path) {
  const std::string text = path.empty() ? metadata_of_text(default_dates_model(), kDefaultModelName)
                                        : checkpoint_metadata(path);  // CheckpointError for a non-checkpoint
  const json m = json::parse(text, nullptr, false);
  auto other = [&](const std::string& why) {
    return InvalidArgumentError(fmt::format(
        "{}: not a dates-task checkpoint ({}); pass a checkpoint written by `varscope train --task dates --out FILE`",
        path, why));
  };
  if (!m.is_object()) throw other("metadata is not an object");
  if (!m.contains("task")) throw other("its metadata has no \"task\"");
  if (m["task"] != "dates") throw other("metadata.task is " + m["task"].dump());
  if (!m.contains("model") || m["model"] != kModelName) throw other("metadata.model is not \"" + std::string(kModelName) + "\"");
  Hyper h;
  try {
    h.hidden = m.at("hidden").get<std::int64_t>();
    h.embedding = m.at("embedding").get<std::int64_t>();
    h.batch = m.at("batch").get<std::int64_t>();
    h.seed = m.at("seed").get<std::uint64_t>();
    h.learning_rate = m.at("learning_rate").get<float>();
    h.clip_norm = m.at("clip_norm").get<float>();
  } catch (const json::exception& e) {
    throw other(std::string("metadata field missing or mistyped: ") + e.what());
  }
  if (h.hidden < 1 || h.embedding < 1) throw other("hidden/embedding sizes must be >= 1");
  return {h, vd::Vocabulary::from_json(m.at("vocabulary").dump())};
}

// A dates model restored from `path` for decoding: every model variable must be present
// (the optimizer's state in the file is ignored).
struct Loaded {
  Hyper hyper;
  vd::Vocabulary vocab;
  std::unique_ptr<Model> model;
};

// `path` "" loads the built-in default model (models/dates.json embedded at build time).
Loaded load_for_decoding(const std::string& path) {
  auto [h, vocab] = read_metadata(path);
  Loaded l{h, vocab, std::make_unique<Model>(h, vocab.size())};
  l.model->build(l.vocab);
  auto restore_from = [&](const RestoreOptions& options) {
    return path.empty() ? restore_from_string(l.model->graph, default_dates_model(), options, kDefaultModelName)
                        : restore(l.model->graph, path, options);
  };
  const RestoreReport r = restore_from({.strict = false, .dry_run = true});
  if (!r.missing.empty() || !r.shape_mismatches.empty() || !r.dtype_mismatches.empty())
    throw CheckpointMismatchError((path.empty() ? std::string(kDefaultModelName) : path) +
                                  ": does not hold this model's variables (" + r.summary() +
                                  "); was it written by `varscope train --task dates`?");
  (void)restore_from({.strict = false});
  return l;
}

struct Prediction {
  std::string text;
  float score = 0.0f;
};

// Top hypothesis for each sample (beam 1 = greedy), in batches.
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

std::string duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// The training batch of step `step`: a function of (seed, step) only.
std::vector<vd::DateSample> training_batch(const std::vector<vd::Date>& pool, std::uint64_t seed, std::int64_t step,
                                           std::int64_t n) {
  Rng rng(mix_seed(mix_seed(seed, 0x7472'6169'6eull), static_cast<std::uint64_t>(step)));
  std::vector<vd::DateSample> out;
  for (std::int64_t i = 0; i < n; ++i) {
    vd::DateSample s;
    s.date = pool[rng.next_u64() % pool.size()];
    s.format = static_cast<vd::DateFormat>(rng.next_u64() % vd::kDateFormatCount);
    s.source = vd::format_date(s.date, s.format, rng);
    s.target = vd::iso(s.date);
    out.push_back(std::move(s));
  }
  return out;
}

void check_task(const std::string& task) {
  if (task != "dates")
    throw InvalidArgumentError("--task " + task + " is not a built-in task; the only one is --task dates");
}

}  // namespace

int run_train(const TrainArgs& a) {
  check_task(a.task);
  if (a.steps < 0) throw InvalidArgumentError(fmt::format("--steps {} is negative; pass the total number of steps", a.steps));
  Hyper h{.hidden = a.hidden, .embedding = a.embedding, .batch = a.batch, .seed = a.seed,
          .learning_rate = a.learning_rate, .clip_norm = a.clip_norm};
  vd::Vocabulary vocab = vd::Vocabulary::dates();
  if (!a.resume.empty()) {
    auto [rh, rv] = read_metadata(a.resume);
    if (rh.hidden != h.hidden || rh.embedding != h.embedding || rh.batch != h.batch || rh.seed != h.seed)
      fmt::print("note: resuming with the checkpoint's hyper-parameters (hidden {}, embedding {}, batch {}, seed {})\n",
                 rh.hidden, rh.embedding, rh.batch, rh.seed);
    h = rh;
    vocab = rv;
  }
  if (h.hidden < 1 || h.embedding < 1 || h.batch < 1)
    throw InvalidArgumentError(fmt::format("--hidden {}, --embedding {}, --batch {}: each must be >= 1", h.hidden,
                                           h.embedding, h.batch));
  Model m(h, vocab.size());
  AdamOptimizer opt({.learning_rate = h.learning_rate});
  Variable global_step = get_or_create_global_step();
  if (!a.resume.empty()) {
    m.build(vocab);
    opt.create_state(trainable_variables());
    const RestoreReport r = restore(m.graph, a.resume);  // strict: the model AND the optimizer state
    (void)r;
  }
  auto current_step = [&] { return static_cast<std::int64_t>(global_step.value().data<std::int32_t>()[0]); };
  const std::int64_t start = current_step();
  const auto train_dates = vd::dates_of(vd::Split::train);
  if (a.eval_split != "validation" && a.eval_split != "test")
    throw InvalidArgumentError("--eval-split " + a.eval_split + " is not a split; pass validation or test");
  const bool eval_on_test = a.eval_split == "test";
  const auto valid = vd::DateTask::fixed_set(eval_on_test ? vd::Split::test : vd::Split::validation,
                                             static_cast<std::size_t>(a.eval_size));
  const std::string meta = metadata_json(h, vocab);
  auto save_now = [&] { save(m.graph, a.out, {.metadata_json = meta}); };

  g_interrupted = 0;
  auto previous = std::signal(SIGINT, on_sigint);
  fmt::print("training the article's Seq2Seq on dates: vocab {}, embedding {}, hidden {}, batch {}, Adam lr {}, clip {}, "
             "seed {}; steps {} -> {}\n",
             vocab.size(), h.embedding, h.hidden, h.batch, h.learning_rate, h.clip_norm, h.seed, start, a.steps);
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t tokens = 0, window_tokens = 0;
  double window_loss = 0.0;
  int window_n = 0;
  auto window_t = t0;
  double eval_seconds = 0.0;  // time spent measuring accuracy, left out of "train"
  for (std::int64_t s = start; s < a.steps; ++s) {
    const auto samples = training_batch(train_dates, h.seed, s, h.batch);
    std::vector<std::vector<std::int32_t>> src;
    std::vector<std::string> tgt;
    for (const auto& x : samples) {
      src.push_back(vocab.encode(x.source));
      tgt.push_back(x.target);
    }
    const Batch b = make_batch(src, tgt, vocab);
    auto gv = opt.compute_gradients([&] { return sequence_loss(m.train_logits(b), b.targets, b.weights); });
    std::vector<std::optional<Tensor>> grads;
    for (auto& [g, v] : gv) grads.push_back(std::move(g));
    auto clipped = clip_by_global_norm(grads, h.clip_norm);
    for (std::size_t k = 0; k < gv.size(); ++k) gv[k].first = std::move(clipped.clipped[k]);
    opt.apply_gradients(gv, global_step);
    const double loss = opt.last_loss().data<float>()[0];
    tokens += b.tokens;
    window_tokens += b.tokens;
    window_loss += loss;
    ++window_n;
    const std::int64_t done = s + 1;
    const bool last = done == a.steps;
    const bool log = done % a.log_every == 0 || last || done == start + 1;
    const bool eval = a.eval_every > 0 && (done % a.eval_every == 0 || last);
    if (log || eval || g_interrupted) {
      const auto now = std::chrono::steady_clock::now();
      const double elapsed = std::chrono::duration<double>(now - t0).count();
      const double wsec = std::chrono::duration<double>(now - window_t).count();
      const double per_step = elapsed / static_cast<double>(done - start);
      std::string line = fmt::format("step {}/{}  loss {:.4f}  {:.0f} tok/s  elapsed {}  ETA {}", done, a.steps,
                                     window_loss / window_n, wsec > 0 ? window_tokens / wsec : 0.0, duration(elapsed),
                                     duration(per_step * static_cast<double>(a.steps - done)));
      line += fmt::format("  train {:.1f}s", elapsed - eval_seconds);
      if (eval) {
        const auto e0 = std::chrono::steady_clock::now();
        const auto p = predict(m, vocab, valid, 1, 250);
        line += fmt::format("  {} greedy exact {:.4f}", eval_on_test ? "test" : "val", accuracy(p, valid));
        eval_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
      }
      fmt::print("{}\n", line);
      std::fflush(stdout);
      window_tokens = 0;
      window_loss = 0.0;
      window_n = 0;
      window_t = std::chrono::steady_clock::now();
    }
    if (g_interrupted) {
      save_now();
      std::signal(SIGINT, previous);
      fmt::print("interrupted at step {}: saved a resumable checkpoint to {} (continue with --resume {})\n", done, a.out,
                 a.out);
      return 130;
    }
    if (a.save_every > 0 && done % a.save_every == 0 && !last) save_now();
  }
  save_now();
  std::signal(SIGINT, previous);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("saved {} at step {} ({} tokens in {})\n", a.out, current_step(), tokens, duration(elapsed));
  return 0;
}

int run_dump_batches(const DumpArgs& a) {
  check_task(a.task);
  if (a.steps < 0 || a.batch < 1 || a.test_size < 0)
    throw InvalidArgumentError(fmt::format("--steps {}, --batch {}, --test-size {}: steps and test size must be >= 0, "
                                           "batch >= 1", a.steps, a.batch, a.test_size));
  std::FILE* out = a.out == "-" ? stdout : std::fopen(a.out.c_str(), "w");
  if (out == nullptr) throw InvalidArgumentError("--out " + a.out + ": cannot open for writing");
  const vd::Vocabulary vocab = vd::Vocabulary::dates();
  auto rows = [](const Tensor& t) {
    json r = json::array();
    const auto d = t.data<std::int32_t>();
    const std::int64_t cols = t.shape().rank() == 2 ? t.shape()[1] : 1;
    for (std::int64_t i = 0; i < t.shape()[0]; ++i)
      r.push_back(std::vector<std::int32_t>(d.begin() + i * cols, d.begin() + (i + 1) * cols));
    return r;
  };
  auto emit = [&](const json& line) { std::fputs((line.dump() + "\n").c_str(), out); };
  emit({{"kind", "header"}, {"task", "dates"}, {"vocab_size", vocab.size()}, {"pad", vd::Vocabulary::kPad},
        {"bos", vd::Vocabulary::kBos}, {"eos", vd::Vocabulary::kEos}, {"seed", a.seed}, {"batch", a.batch},
        {"steps", a.steps}, {"target_length", kTargetLen}, {"max_decode_length", kTargetLen + 2}});
  const auto train_dates = vd::dates_of(vd::Split::train);
  for (std::int64_t s = 0; s < a.steps; ++s) {
    const auto samples = training_batch(train_dates, a.seed, s, a.batch);  // what run_train draws at step s
    std::vector<std::vector<std::int32_t>> src;
    std::vector<std::string> tgt;
    for (const auto& x : samples) {
      src.push_back(vocab.encode(x.source));
      tgt.push_back(x.target);
    }
    const Batch b = make_batch(src, tgt, vocab);
    std::vector<float> w(b.weights.data<float>().begin(), b.weights.data<float>().end());
    emit({{"kind", "train"}, {"step", s}, {"enc", rows(b.enc)}, {"enc_len", std::vector<std::int32_t>(
          b.enc_len.data<std::int32_t>().begin(), b.enc_len.data<std::int32_t>().end())},
          {"dec", rows(b.dec)}, {"targets", rows(b.targets)}, {"weights", w}});
  }
  for (const auto& x : vd::DateTask::fixed_set(vd::Split::test, static_cast<std::size_t>(a.test_size))) {
    auto target = vocab.encode(x.target);
    target.push_back(vd::Vocabulary::kEos);
    emit({{"kind", "test"}, {"source", x.source}, {"target", x.target}, {"source_ids", vocab.encode(x.source)},
          {"target_ids", target}});
  }
  if (out != stdout && std::fclose(out) != 0) throw InvalidArgumentError("--out " + a.out + ": write failed");
  return 0;
}

int run_decode(const DecodeArgs& a) {
  if (a.beam < 1) throw InvalidArgumentError(fmt::format("--beam {} must be >= 1 (1 = greedy)", a.beam));
  if (a.n_best < 1 || a.n_best > a.beam)
    throw InvalidArgumentError(fmt::format("--n-best {} must be in [1, --beam {}]", a.n_best, a.beam));
  if (!(a.length_penalty >= 0.0f))
    throw InvalidArgumentError(fmt::format("--length-penalty {} must be >= 0", a.length_penalty));
  std::vector<std::string> inputs = a.texts;
  if (inputs.empty()) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      inputs.push_back(line);
    }
    if (inputs.empty()) throw InvalidArgumentError("no input: pass TEXT arguments or lines on stdin");
  }
  // Check every input before loading anything.
  std::vector<std::vector<char32_t>> code_points;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& text = inputs[i];
    if (text.find_first_not_of(" \t") == std::string::npos)
      throw InvalidArgumentError(fmt::format("input {} is empty; pass a date such as \"1 December 2026\"", i + 1));
    try {
      code_points.push_back(vd::utf8_decode(text));
    } catch (const InvalidArgumentError& e) {
      throw InvalidArgumentError(fmt::format("input {}: {}", i + 1, e.what()));
    }
    if (static_cast<std::int64_t>(code_points.back().size()) > kMaxSourceChars)
      throw InvalidArgumentError(fmt::format("input {} has {} characters; the limit is {} (pass one date per input)",
                                             i + 1, code_points.back().size(), kMaxSourceChars));
  }
  const auto loaded = load_for_decoding(a.checkpoint);
  std::vector<std::vector<std::int32_t>> src;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto ids = loaded.vocab.encode(inputs[i]);
    std::string unknown;
    for (std::size_t k = 0; k < ids.size(); ++k)
      if (ids[k] == vd::Vocabulary::kUnk) unknown += vd::utf8_encode(code_points[i][k]);
    if (!unknown.empty())
      fmt::print(stderr, "note: input {} has characters outside the vocabulary ({}); they are read as <unk>\n", i + 1,
                 unknown);
    src.push_back(std::move(ids));
  }
  json all = json::array();
  constexpr std::size_t kChunk = 256;
  for (std::size_t i = 0; i < src.size(); i += kChunk) {
    const std::size_t end = std::min(src.size(), i + kChunk);
    std::vector<std::vector<std::int32_t>> part(src.begin() + static_cast<std::ptrdiff_t>(i),
                                                src.begin() + static_cast<std::ptrdiff_t>(end));
    const auto r = loaded.model->generate(make_batch(part, {}, loaded.vocab), a.beam, a.n_best, a.length_penalty);
    for (std::size_t k = 0; k < part.size(); ++k) {
      json row;
      row["input"] = inputs[i + k];
      row["hypotheses"] = json::array();
      if (!a.json) fmt::print("{}\n", inputs[i + k]);
      int rank = 0;
      for (const auto& h : r.hypotheses[k]) {
        const std::string text = loaded.vocab.decode(h.ids);
        row["hypotheses"].push_back(
            {{"text", text}, {"ids", h.ids}, {"score", h.score}, {"log_prob", h.log_prob}, {"length", h.length}});
        if (!a.json)
          fmt::print("  {}. {:<12} score {:9.4f}  log_prob {:9.4f}  length {}\n", ++rank, text, h.score, h.log_prob,
                     h.length);
      }
      all.push_back(std::move(row));
    }
  }
  if (a.json) fmt::print("{}\n", all.dump(2));
  return 0;
}

int run_eval(const EvalArgs& a) {
  check_task(a.task);
  if (a.size < 1 || a.beam < 1 || a.batch < 1)
    throw InvalidArgumentError(fmt::format("--size {}, --beam {}, --batch {}: each must be >= 1", a.size, a.beam, a.batch));
  const auto loaded = load_for_decoding(a.checkpoint);
  const auto test = vd::DateTask::fixed_set(vd::Split::test, static_cast<std::size_t>(a.size));
  const auto t0 = std::chrono::steady_clock::now();
  const auto greedy = predict(*loaded.model, loaded.vocab, test, 1, a.batch);
  const auto t1 = std::chrono::steady_clock::now();
  const auto beam = predict(*loaded.model, loaded.vocab, test, a.beam, a.batch);
  const auto t2 = std::chrono::steady_clock::now();
  fmt::print("test split: {} samples (dates disjoint from training)\n", test.size());
  fmt::print("greedy       exact match {:.4f}  ({:.2f}s)\n", accuracy(greedy, test),
             std::chrono::duration<double>(t1 - t0).count());
  fmt::print("beam {:<2}      exact match {:.4f}  ({:.2f}s)\n", a.beam, accuracy(beam, test),
             std::chrono::duration<double>(t2 - t1).count());
  std::map<std::string, std::pair<int, int>> by_format;
  for (std::size_t i = 0; i < test.size(); ++i) {
    auto& [right, total] = by_format[std::string(vd::format_name(test[i].format))];
    right += beam[i].text == test[i].target;
    ++total;
  }
  for (const auto& [name, rt] : by_format)
    fmt::print("  {:<20} {:.4f} ({}/{})\n", name, static_cast<double>(rt.first) / rt.second, rt.first, rt.second);
  // Worst errors: furthest from the target (edit distance), then most confident.
  std::vector<std::size_t> errors;
  for (std::size_t i = 0; i < test.size(); ++i)
    if (beam[i].text != test[i].target) errors.push_back(i);
  std::stable_sort(errors.begin(), errors.end(), [&](std::size_t x, std::size_t y) {
    const auto dx = edit_distance(beam[x].text, test[x].target), dy = edit_distance(beam[y].text, test[y].target);
    if (dx != dy) return dx > dy;
    return beam[x].score > beam[y].score;
  });
  fmt::print("{} errors (beam {}); the {} worst (edit distance, then confidence):\n", errors.size(), a.beam,
             std::min<std::size_t>(errors.size(), static_cast<std::size_t>(a.worst)));
  for (std::size_t k = 0; k < errors.size() && k < static_cast<std::size_t>(a.worst); ++k) {
    const auto i = errors[k];
    fmt::print("  {:<34} expected {}  got {:<12} score {:.4f}  [{}]\n", "\"" + test[i].source + "\"", test[i].target,
               beam[i].text, beam[i].score, vd::format_name(test[i].format));
  }
  return 0;
}

}  // namespace varscope_cli
