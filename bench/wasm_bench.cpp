// WebAssembly timing of the seed-shape GRU encoder, teacher-forced decoder and
// beam search (issue 6, speed part). Mirrors bench/gru_bench.cpp (native,
// Google Benchmark) with std::chrono::steady_clock inside C++, so the numbers
// are free of JS<->wasm call overhead. Built as an embind ES module
// (target wasm_bench, copied into web/dist/); driven by bench/run_wasm.mjs
// under node and by web/bench.html in the browser.
//
// Each entry point runs one warm-up, then `reps` timed runs, and returns JSON:
//   {"name": ..., "reps": N, "median_us": ..., "min_us": ..., "shape": {...}}
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

// One warm-up call of `body`, then `reps` timed calls; JSON with the median.
template <class F>
std::string time_it(const char* name, int reps, F&& body, const std::string& extra = "") {
  if (reps < 1) reps = 1;
  body();  // warm-up
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(reps));
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const auto t1 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  const std::size_t n = us.size();
  const double median = n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]);
  std::ostringstream o;
  o << "{\"name\":\"" << name << "\",\"reps\":" << reps << ",\"median_us\":" << median
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

std::string beam(int reps) {
  constexpr std::int64_t kBeam = 2, kMaxLen = 8;
  Model m(kSeed);
  const Tensor tiled = tile_batch(m.encode(), kBeam);
  Tensor start(DType::int32, Shape{kSeed.batch});
  for (auto& x : start.data<std::int32_t>()) x = 1;  // BOS=1, EOS=2
  std::int64_t steps = 0;
  auto run = [&] {
    BeamSearchDecoder dec(m.decoder_cell, m.embedding, start, 2, tiled, kBeam, m.out_layer);
    auto result = dynamic_decode(dec, {.maximum_iterations = kMaxLen, .scope = "decoder"});
    steps = result.predicted_ids.shape()[1];
    sink(result.predicted_ids);
  };
  run();  // learn `steps` for the report (also an extra warm-up)
  std::ostringstream extra;
  extra << ",\"beam_width\":" << kBeam << ",\"max_len\":" << kMaxLen << ",\"steps\":" << steps;
  return time_it("beam", reps, run, extra.str());
}

}  // namespace

#ifdef __EMSCRIPTEN__
EMSCRIPTEN_BINDINGS(wasm_bench) {
  emscripten::function("encoder", &encoder);
  emscripten::function("decoder", &decoder);
  emscripten::function("beam", &beam);
}
#else
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  std::printf("%s\n%s\n%s\n", encoder(reps).c_str(), decoder(reps).c_str(), beam(reps).c_str());
}
#endif
