// GRU encoder, teacher-forced decoder and beam search (TF-layout GRUCell), at the
// article's seed shape, a medium and a large shape. Run through bench/run.sh, which
// also runs the PyTorch peer (bench/peer_torch.py) on the same shapes and prints the
// ratios, and, from each benchmark's `flops` counter (bench_model.hpp's FLOP model),
// the share of the same run's sgemm_peak.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

import varscope;
#include "bench_model.hpp"
#include "sgemm_peak.hpp"
#include "warm_loop.hpp"

using namespace varscope;

namespace {

using namespace bench_model;


void encoder(benchmark::State& state, Config c) {
  Model m(c);
  run_warm(state, [&] { benchmark::DoNotOptimize(m.encode()); });
  state.counters["flops"] = gru_flops(c, double(c.batch * c.len));
}
void decoder(benchmark::State& state, Config c) {
  Model m(c);
  const Tensor s = m.encode();
  run_warm(state, [&] { benchmark::DoNotOptimize(m.decode_teacher_forced(s)); });
  state.counters["flops"] = gru_flops(c, double(c.batch * c.len)) + projection_flops(c, double(c.batch * c.len));
}

// The two halves of the teacher-forced decoder, to see where its time goes:
// the GRU over the target sequence, and the [B*T, H] x [H, V] output projection.
void decoder_rnn(benchmark::State& state, Config c) {
  Model m(c);
  const Tensor s = m.encode();
  run_warm(state, [&] {
    benchmark::DoNotOptimize(dynamic_rnn(m.decoder_cell, embedding_lookup(m.embedding, m.tgt),
                                         {.initial_state = s, .scope = "decoder"}));
  });
  state.counters["flops"] = gru_flops(c, double(c.batch * c.len));
}
void projection(benchmark::State& state, Config c) {
  Model m(c);
  const Tensor outputs = dynamic_rnn(m.decoder_cell, embedding_lookup(m.embedding, m.tgt),
                                     {.initial_state = m.encode(), .scope = "decoder"})
                             .outputs;
  run_warm(state, [&] { benchmark::DoNotOptimize(m.out_layer(outputs)); });
  state.counters["flops"] = projection_flops(c, double(c.batch * c.len));
}

// Beam search decode (BOS=1, EOS=2, alpha 0) from the encoder's state.
void beam_search(benchmark::State& state, Config c, std::int64_t beam_width, std::int64_t max_len) {
  Model m(c);
  const Tensor tiled = tile_batch(m.encode(), beam_width);
  Tensor start(DType::int32, Shape{c.batch});
  for (auto& x : start.data<std::int32_t>()) x = 1;
  std::int64_t steps = 0;
  run_warm(state, [&] {
    // borrowed: the table is not copied per decode (a decoder built from a Tensor lvalue copies it).
    BeamSearchDecoder decoder(m.decoder_cell, EmbeddingParams::borrowed(m.embedding), start, 2, tiled, beam_width,
                              m.out_layer);
    auto result = dynamic_decode(decoder, {.maximum_iterations = max_len, .scope = "decoder"});
    steps = result.predicted_ids.shape()[1];
    benchmark::DoNotOptimize(result);
  });
  state.counters["steps"] = static_cast<double>(steps);
  const double rows = double(steps) * double(c.batch * beam_width);
  state.counters["flops"] = gru_flops(c, rows) + projection_flops(c, rows);
}

}  // namespace

BENCHMARK(sgemm_peak)->Name("sgemm_peak/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(beam_search, seed, kSeed, 2, 8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(beam_search, medium, kMedium, 4, 30)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(beam_search, large, kLarge, 5, 50)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(encoder, seed, kSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(encoder, medium, kMedium)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(encoder, large, kLarge)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(decoder, seed, kSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(decoder, medium, kMedium)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(decoder, large, kLarge)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(decoder_rnn, medium, kMedium)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(projection, medium, kMedium)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
