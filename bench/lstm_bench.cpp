// LSTM encoder, teacher-forced decoder and beam search (TF 1.x BasicLSTMCell, the
// structured LSTMStateTuple state) at the medium shape, single thread, and sgemm's
// peak on this core in the same run. Each benchmark reports its float operations per
// iteration (counter `flops`: 2 per multiply-add of the products; the element-wise
// gates are left out), so bench/run.sh prints GFLOP/s and the share of the peak.
// BENCH=lstm bash bench/run.sh runs it beside the PyTorch peer (bench/peer_torch_lstm.py:
// torch.nn.LSTM / nn.LSTMCell on the same shapes).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

import varscope;
#include "bench_model.hpp"
#include "warm_loop.hpp"

using namespace varscope;

namespace {

using bench_model::Config;
using bench_model::ids;
constexpr Config kMedium = bench_model::kMedium;  // V 8000, E 256, H 512, B 16, T 30

// 2 * rows * (D + H) * 4H: the input and recurrent products of one LSTM layer.
double lstm_flops(double rows, double d, double h) { return 2.0 * rows * (d + h) * 4.0 * h; }

struct LstmModel {
  Graph graph{1};
  DefaultGraphGuard use{graph};
  Tensor embedding;
  BasicLSTMCell encoder_cell{kMedium.hidden};
  BasicLSTMCell decoder_cell{kMedium.hidden};
  Dense out_layer{kMedium.vocab, {.use_bias = false, .name = "output_projection"}};
  Tensor src = ids(kMedium, 1), tgt = ids(kMedium, 2);

  LstmModel() : embedding(random_uniform({kMedium.vocab, kMedium.emb}, -1.0f, 1.0f)) {}

  State encode() {
    return dynamic_rnn(encoder_cell, embedding_lookup(embedding, src), {.scope = "encoder"}).final_state;
  }
  Tensor decoder_outputs(const State& s) {
    return dynamic_rnn(decoder_cell, embedding_lookup(embedding, tgt), {.initial_state = s, .scope = "decoder"})
        .outputs;
  }
};

void set_flops(benchmark::State& state, double flops) { state.counters["flops"] = flops; }

void encoder(benchmark::State& state) {
  LstmModel m;
  run_warm(state, [&] { benchmark::DoNotOptimize(m.encode()); });
  set_flops(state, lstm_flops(kMedium.batch * kMedium.len, kMedium.emb, kMedium.hidden));
}

void decoder(benchmark::State& state) {
  LstmModel m;
  const State s = m.encode();
  run_warm(state, [&] { benchmark::DoNotOptimize(m.out_layer(m.decoder_outputs(s))); });
  const double rows = kMedium.batch * kMedium.len;
  set_flops(state, lstm_flops(rows, kMedium.emb, kMedium.hidden) + 2.0 * rows * kMedium.hidden * kMedium.vocab);
}

void decoder_rnn(benchmark::State& state) {
  LstmModel m;
  const State s = m.encode();
  run_warm(state, [&] { benchmark::DoNotOptimize(m.decoder_outputs(s)); });
  set_flops(state, lstm_flops(kMedium.batch * kMedium.len, kMedium.emb, kMedium.hidden));
}

// Beam search (BOS 1, EOS 2, alpha 0), beam 4, up to 30 steps, from the tiled LSTM state.
void beam_search(benchmark::State& state) {
  LstmModel m;
  const std::int64_t K = 4, max_len = kMedium.len;
  const State tiled = tile_batch(m.encode(), K);
  Tensor start(DType::int32, Shape{kMedium.batch});
  for (auto& x : start.data<std::int32_t>()) x = 1;
  std::int64_t steps = 0;
  run_warm(state, [&] {
    BeamSearchDecoder decoder(m.decoder_cell, EmbeddingParams::borrowed(m.embedding), start, 2, tiled, K, m.out_layer);
    auto result = dynamic_decode(decoder, {.maximum_iterations = max_len, .scope = "decoder"});
    steps = result.predicted_ids.shape()[1];
    benchmark::DoNotOptimize(result);
  });
  const double rows = static_cast<double>(kMedium.batch * K);
  state.counters["steps"] = static_cast<double>(steps);
  set_flops(state, static_cast<double>(steps) * (lstm_flops(rows, kMedium.emb, kMedium.hidden) +
                                                 2.0 * rows * kMedium.hidden * kMedium.vocab));
}

// The core's fp32 limit as sgemm reaches it: the encoder's input product for every step at
// once, [B*T, E + H] x [E + H, 4H] (480 x 768 x 2048), through varscope's matmul (packed
// SIMD kernels, BLAS for large products).
void sgemm_peak(benchmark::State& state) {
  Graph g{1};
  DefaultGraphGuard use{g};
  const std::int64_t M = kMedium.batch * kMedium.len, K = kMedium.emb + kMedium.hidden, N = 4 * kMedium.hidden;
  const Tensor a = random_uniform({M, K}, -1.0f, 1.0f), b = random_uniform({K, N}, -1.0f, 1.0f);
  run_warm(state, [&] { benchmark::DoNotOptimize(matmul(a, b)); });
  set_flops(state, 2.0 * static_cast<double>(M) * static_cast<double>(K) * static_cast<double>(N));
}

}  // namespace

BENCHMARK(sgemm_peak)->Name("sgemm_peak/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK(encoder)->Name("lstm_encoder/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK(decoder)->Name("lstm_decoder/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK(decoder_rnn)->Name("lstm_decoder_rnn/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK(beam_search)->Name("lstm_beam_search/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
