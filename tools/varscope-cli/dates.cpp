// `varscope train|decode|eval --task dates` (issue 12): the command-line front end
// of varscope.dates (examples/dates: the model, batching, metadata, training step,
// shared with the browser bindings). The article's Seq2Seq
// (embedding shared by encoder and decoder, GRU encoder via
// dynamic_rnn(scope='encoder'), a training decoder and a beam-search decoder
// sharing decoder/...) trained with Adam + clip_by_global_norm on
// the date-normalisation task (varscope.dates.data).
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
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

import varscope;
import varscope.article;
import varscope.dates;

namespace varscope_cli {

using namespace varscope;
namespace vd = varscope::data;
using nlohmann::json;

namespace {

using namespace varscope::dates;

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

std::string duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// `checkpoint` "" loads the built-in default model (models/dates.json embedded at build time).
Loaded load_model(const std::string& checkpoint) {
  return checkpoint.empty() ? load_for_decoding_from_string(std::string(default_dates_model()), kDefaultModelName)
                            : load_for_decoding(checkpoint);
}

void check_task(const std::string& task) {
  if (task != "dates")
    throw InvalidArgumentError("--task " + task + " is not a built-in task; the only one is --task dates");
}

}  // namespace

int run_train(const TrainArgs& a) {
  check_task(a.task);
  if (a.steps < 0) throw InvalidArgumentError(fmt::format("--steps {} is negative; pass the total number of steps", a.steps));
  if (a.model != "" && a.model != "article" && a.model != "nmt")
    throw InvalidArgumentError("--model " + a.model + " is not a model; pass article or nmt");
  if (a.cell != "gru" && a.cell != "lstm") throw InvalidArgumentError("--cell " + a.cell + " is not a cell; pass gru or lstm");
  if (a.layers < 1) throw InvalidArgumentError(fmt::format("--layers {} must be >= 1", a.layers));
  if (!(a.dropout >= 0.0f && a.dropout < 1.0f))
    throw InvalidArgumentError(fmt::format("--dropout {} must be in [0, 1) (nmt keeps 1 - dropout of the inputs)", a.dropout));
  if (!a.attention.empty() && a.attention != "luong" && a.attention != "scaled_luong" && a.attention != "bahdanau" &&
      a.attention != "normed_bahdanau")
    throw InvalidArgumentError("--attention " + a.attention +
                               " is not an attention; pass luong, scaled_luong, bahdanau or normed_bahdanau");
  const bool nmt_options = a.cell != "gru" || a.layers != 1 || a.bidirectional || a.residual || a.dropout > 0.0f ||
                           !a.attention.empty();
  if (a.model == "article" && nmt_options)
    throw InvalidArgumentError("--model article is the article's 1-layer GRU: --cell, --layers, --bidirectional, "
                               "--residual, --dropout and --attention need --model nmt (or no --model)");
  if (a.bidirectional && a.layers % 2 != 0)
    throw InvalidArgumentError(fmt::format("--bidirectional needs an even --layers (nmt: layers / 2 per direction), "
                                           "got {}", a.layers));
  Hyper h{.hidden = a.hidden, .embedding = a.embedding, .batch = a.batch, .seed = a.seed,
          .learning_rate = a.learning_rate, .clip_norm = a.clip_norm,
          .nmt = a.model == "nmt" || (a.model.empty() && nmt_options), .cell = a.cell, .layers = a.layers,
          .bidirectional = a.bidirectional, .residual = a.residual, .dropout = a.dropout,
          .attention = a.attention};
  vd::Vocabulary vocab = vd::Vocabulary::dates();
  if (!a.resume.empty()) {
    auto [rh, rv] = read_metadata(a.resume);
    if (rh.hidden != h.hidden || rh.embedding != h.embedding || rh.batch != h.batch || rh.seed != h.seed ||
        describe(rh) != describe(h))
      fmt::print("note: resuming with the checkpoint's hyper-parameters ({}; hidden {}, embedding {}, batch {}, seed {})\n",
                 describe(rh), rh.hidden, rh.embedding, rh.batch, rh.seed);
    h = rh;
    vocab = rv;
  }
  if (h.hidden < 1 || h.embedding < 1 || h.batch < 1)
    throw InvalidArgumentError(fmt::format("--hidden {}, --embedding {}, --batch {}: each must be >= 1", h.hidden,
                                           h.embedding, h.batch));
  std::unique_ptr<Trainer> trainer =
      a.resume.empty() ? std::make_unique<Trainer>(h, vocab) : Trainer::from_checkpoint_file(a.resume);
  auto current_step = [&] { return trainer->current_step(); };
  const std::int64_t start = current_step();
  const auto train_dates = vd::dates_of(vd::Split::train);
  if (a.eval_split != "validation" && a.eval_split != "test")
    throw InvalidArgumentError("--eval-split " + a.eval_split + " is not a split; pass validation or test");
  const bool eval_on_test = a.eval_split == "test";
  const auto valid = vd::DateTask::fixed_set(eval_on_test ? vd::Split::test : vd::Split::validation,
                                             static_cast<std::size_t>(a.eval_size));
  auto save_now = [&] { trainer->save(a.out); };

  g_interrupted = 0;
  auto previous = std::signal(SIGINT, on_sigint);
  fmt::print("training {} on dates: vocab {}, embedding {}, hidden {}, batch {}, Adam lr {}, clip {}, "
             "seed {}; steps {} -> {}\n",
             describe(h), vocab.size(), h.embedding, h.hidden, h.batch, h.learning_rate, h.clip_norm, h.seed, start,
             a.steps);
  std::fflush(stdout);
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t tokens = 0, window_tokens = 0;
  double window_loss = 0.0;
  double eval_seconds = 0.0;  // time spent measuring accuracy, left out of "train"
  int window_n = 0;
  auto window_t = t0;
  for (std::int64_t s = start; s < a.steps; ++s) {
    const auto step = trainer->step(train_dates);
    const double loss = step.loss;
    const auto& b = step;
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
        const auto p = predict(trainer->model(), vocab, valid, 1, 250);
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
    const Batch b = training_step_batch(train_dates, a.seed, s, a.batch, vocab);  // what run_train trains on at step s
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

// The flags as DecodingOptions (--sample: the beam defaults to 1), checked by the library's one
// check; a bad value is bad usage (exit 2), named by its flag.
DecodingOptions decoding_options(const DecodeArgs& a) {
  const std::int64_t beam = a.sample && !a.beam_given ? 1 : a.beam;
  DecodingOptions o{.beam_width = beam,
                    .length_penalty_weight = a.length_penalty,
                    .num_hypotheses = a.n_best,
                    .sampling_topk = a.sample ? a.top_k : 1,
                    .sampling_temperature = a.temperature,
                    .seed = a.seed};
  try {
    check_decoding_options(o,
                           {.beam_width = "--beam",
                            .length_penalty_weight = "--length-penalty",
                            .num_hypotheses = "--n-best",
                            .sampling_topk = "--top-k",
                            .sampling_temperature = "--temperature"},
                           {.min_num_hypotheses = 1});
  } catch (const InvalidArgumentError& e) {
    throw std::invalid_argument(e.what());
  }
  return o;
}

int run_decode(const DecodeArgs& a) {
  const DecodingOptions options = decoding_options(a);
  std::vector<std::string> inputs = a.texts;
  if (inputs.empty()) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      inputs.push_back(line);
    }
    if (inputs.empty()) throw InvalidArgumentError("no input: pass TEXT arguments or lines on stdin");
  }
  // Check every input before loading anything (against the built-in vocabulary's
  // rules; the checkpoint's vocabulary decides UNK below).
  for (std::size_t i = 0; i < inputs.size(); ++i)
    (void)encode_input(inputs[i], vd::Vocabulary::dates(), fmt::format("input {}", i + 1));
  const auto loaded = load_model(a.checkpoint);
  if (a.sample && a.top_k > static_cast<std::int64_t>(loaded.vocab.size()))
    throw std::invalid_argument(fmt::format("--top-k {} is larger than the model's vocabulary ({} tokens); 0 samples "
                                            "from all of them", a.top_k, loaded.vocab.size()));
  std::vector<std::vector<std::int32_t>> src;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto in = encode_input(inputs[i], loaded.vocab, fmt::format("input {}", i + 1));
    if (!in.unknown.empty())
      fmt::print(stderr, "note: input {} has characters outside the vocabulary ({}); they are read as <unk>\n", i + 1,
                 in.unknown);
    src.push_back(std::move(in.ids));
  }
  json all = json::array();
  constexpr std::size_t kChunk = 256;
  for (std::size_t i = 0; i < src.size(); i += kChunk) {
    const std::size_t end = std::min(src.size(), i + kChunk);
    std::vector<std::vector<std::int32_t>> part(src.begin() + static_cast<std::ptrdiff_t>(i),
                                                src.begin() + static_cast<std::ptrdiff_t>(end));
    // Searches keep their decoder (the goldens' path); sampling runs the sampling strategy.
    const auto r = a.sample ? loaded.model->decode(make_batch(part, {}, loaded.vocab), options)
                            : DecodingResult{loaded.model->generate(make_batch(part, {}, loaded.vocab), a.beam,
                                                                    a.n_best, a.length_penalty)
                                                 .hypotheses};
    for (std::size_t k = 0; k < part.size(); ++k) {
      json row;
      row["input"] = inputs[i + k];
      row["hypotheses"] = json::array();
      if (!a.json) fmt::print("{}\n", inputs[i + k]);
      int rank = 0;
      for (const auto& h : r.hypotheses[k]) {
        const std::string text = loaded.vocab.decode(h.ids);
        json hyp{{"text", text}, {"ids", h.ids}, {"score", h.score}, {"log_prob", h.log_prob}, {"length", h.length}};
        // An attention model's alignments, [length][source length] (the end-token step included).
        if (h.alignments.shape().dims().size() == 2) {
          const auto rows = h.alignments.shape()[0], cols = h.alignments.shape()[1];
          const auto al = h.alignments.data<float>();
          for (std::int64_t t = 0; t < rows; ++t)
            hyp["alignments"].push_back(std::vector<float>(al.begin() + t * cols, al.begin() + (t + 1) * cols));
        }
        row["hypotheses"].push_back(std::move(hyp));
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
  const auto loaded = load_model(a.checkpoint);
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
