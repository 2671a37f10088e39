// WebAssembly timing of the seed-shape GRU encoder, teacher-forced decoder and
// beam search (issue 6, speed part). Mirrors bench/gru_bench.cpp (native,
// Google Benchmark) with std::chrono::steady_clock inside C++, so the numbers
// are free of JS<->wasm call overhead. Built as an embind ES module
// (target wasm_bench, copied into web/dist/); driven by bench/run_wasm.mjs
// under node and by web/bench.html in the browser.
//
// Each entry point warms up for 1 s, then times `reps` samples of `batch` calls, and returns
// JSON: {"name": ..., "reps": N, "batch": n, "median_us": ... (per call), "min_us": ..., "shape": {...}}.
// seed_beam_problem() hands the seed model's weights and varscope's beams to a peer
// (bench/tfjs_beam.mjs: the same search in TF.js ops).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten/bind.h>
#endif

import varscope;
#include "bench_model.hpp"

using namespace varscope;

namespace {

using namespace bench_model;


// Keeps results observable so the optimizer cannot drop the work.
volatile float g_sink = 0.0f;
void sink(const Tensor& t) {
  if (t.dtype() == DType::float32) {
    auto d = t.data<float>();
    if (!d.empty()) g_sink = g_sink + d[0];
  } else {
    auto d = t.data<std::int32_t>();
    if (!d.empty()) g_sink = g_sink + static_cast<float>(d[0]);
  }
}

// 1 s of warm-up calls of `body`, then `reps` timed samples; JSON with the per-call median.
// A sample times `batch` calls in a row and divides: `batch` is chosen after the warm-up so
// that a sample lasts about 10 ms, since Chromium's clock has 0.1 ms steps (a 0.4 ms call
// timed alone would be off by up to 25%).
template <class F>
std::string time_it(const char* name, int reps, F&& body, const std::string& extra = "") {
  using clock = std::chrono::steady_clock;
  const auto us_since = [](clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(clock::now() - t0).count();
  };
  if (reps < 1) reps = 1;
  // Warm-up for 1 s: V8 starts wasm in its baseline compiler and tiers hot functions up in the
  // background; timing before that finishes gave medians 2x the minimum in Chromium.
  for (const auto w0 = clock::now(); us_since(w0) < 1e6;) body();
  double fastest = 1e300;  // calibrate on the fastest of 5 calls (one slow call must not set it)
  for (int i = 0; i < 5; ++i) {
    const auto t0 = clock::now();
    body();
    fastest = std::min(fastest, us_since(t0));
  }
  const int batch = static_cast<int>(std::clamp(10'000.0 / std::max(fastest, 1.0), 1.0, 65536.0));
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(reps));
  for (int i = 0; i < reps; ++i) {
    const auto t0 = clock::now();
    for (int b = 0; b < batch; ++b) body();
    us.push_back(us_since(t0) / batch);
  }
  std::sort(us.begin(), us.end());
  const std::size_t n = us.size();
  const double median = n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  std::ostringstream o;
  o << "{\"name\":\"" << name << "\",\"reps\":" << reps << ",\"batch\":" << batch << ",\"median_us\":" << median
    << ",\"min_us\":" << us.front() << ",\"max_us\":" << us.back() << ",\"shape\":{\"vocab\":" << kSeed.vocab
    << ",\"emb\":" << kSeed.emb << ",\"hidden\":" << kSeed.hidden << ",\"batch\":" << kSeed.batch
    << ",\"len\":" << kSeed.len << "}" << extra << "}";
  return o.str();
}

// Each entry point builds its model once per call (outside the timing).
std::string encoder(int reps) {
  Model m(kSeed);
  return time_it("encoder", reps, [&] { sink(m.encode()); });
}

std::string decoder(int reps) {
  Model m(kSeed);
  const Tensor s = m.encode();
  return time_it("decoder", reps, [&] { sink(m.decode_teacher_forced(s)); });
}

constexpr std::int64_t kBeam = 2, kMaxLen = 8;
constexpr std::int32_t kBos = 1, kEos = 2;

// The beam search every entry below runs: width 2, max_len 8, from the tiled encoder state.
BeamSearchResult search(Model& m, const Tensor& tiled) {
  Tensor start(DType::int32, Shape{kSeed.batch});
  for (auto& x : start.data<std::int32_t>()) x = kBos;
  BeamSearchDecoder dec(m.decoder_cell, m.embedding, start, kEos, tiled, kBeam, m.out_layer);
  return dynamic_decode(dec, {.maximum_iterations = kMaxLen, .scope = "decoder"});
}

std::string beam(int reps) {
  Model m(kSeed);
  const Tensor tiled = tile_batch(m.encode(), kBeam);
  const std::int64_t steps = search(m, tiled).predicted_ids.shape()[1];  // also an extra warm-up
  std::ostringstream extra;
  extra << ",\"beam_width\":" << kBeam << ",\"max_len\":" << kMaxLen << ",\"steps\":" << steps;
  return time_it("beam", reps, [&] { sink(search(m, tiled).predicted_ids); }, extra.str());
}

#ifdef __EMSCRIPTEN__
// What a peer needs to run the same beam search on the same weights (bench/tfjs_beam.mjs):
// every variable of the seed model by name (Float32Array copies), the embedding, the tiled
// encoder state it starts from, and varscope's own result (ids [B, T, K] after gather_tree,
// the final log-probs [B, K]) to compare with.
emscripten::val seed_beam_problem() {
  using emscripten::val;
  const auto floats = [](const Tensor& t) {
    const auto d = t.data<float>();
    return val::global("Float32Array").new_(emscripten::typed_memory_view(d.size(), d.data()));
  };
  Model m(kSeed);
  const Tensor tiled = tile_batch(m.encode(), kBeam);
  const BeamSearchResult r = search(m, tiled);
  val vars = val::object();
  for (const Variable& v : m.graph.global_variables()) vars.set(v.name(), floats(v.value()));
  const auto ids = r.predicted_ids.data<std::int32_t>();
  val out = val::object();
  out.set("variables", vars);
  out.set("embedding", floats(m.embedding));
  out.set("tiled_state", floats(tiled));
  out.set("ids", val::global("Int32Array").new_(emscripten::typed_memory_view(ids.size(), ids.data())));
  out.set("steps", static_cast<double>(r.predicted_ids.shape()[1]));
  out.set("final_log_probs", floats(r.final_log_probs));
  out.set("beam_width", static_cast<double>(kBeam));
  out.set("max_len", static_cast<double>(kMaxLen));
  out.set("bos", kBos);
  out.set("eos", kEos);
  return out;
}
#endif

}  // namespace

#ifdef __EMSCRIPTEN__
EMSCRIPTEN_BINDINGS(wasm_bench) {
  emscripten::function("encoder", &encoder);
  emscripten::function("decoder", &decoder);
  emscripten::function("beam", &beam);
  emscripten::function("seed_beam_problem", &seed_beam_problem);
  // Thread count for the timings (wasm-threads build; the default build runs 1 thread).
  emscripten::function("set_threads", +[](int n) {
    varscope::set_num_threads(n);
    return varscope::num_threads();
  });
  emscripten::function("threads_available", +[] { return varscope::threads_available(); });
}
#else
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  std::printf("%s\n%s\n%s\n", encoder(reps).c_str(), decoder(reps).c_str(), beam(reps).c_str());
}
#endif
