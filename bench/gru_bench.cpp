// GRU encoder and teacher-forced decoder forward (TF-layout GRUCell), at the
// article's seed shape and a medium shape, single thread. Run through
// bench/run.sh, which also runs the PyTorch peer (bench/peer_torch.py) on the
// same shapes and prints the ratios.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

import varscope;

using namespace varscope;

namespace {

struct Config {
  std::int64_t vocab, emb, hidden, batch, len;
};
constexpr Config kSeed{3000, 256, 256, 2, 8};
constexpr Config kMedium{8000, 256, 512, 16, 30};

Tensor ids(const Config& c, std::int32_t salt) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(c.batch * c.len));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int32_t>((i * 7919 + salt) % c.vocab);
  return Tensor(Shape{c.batch, c.len}, std::move(v));
}

struct Model {
  Graph graph{1};
  DefaultGraphGuard use{graph};
  Tensor embedding;
  GRUCell encoder_cell;
  GRUCell decoder_cell;
  Dense out_layer;
  Tensor src, tgt;

  explicit Model(const Config& c)
      : embedding(random_uniform({c.vocab, c.emb}, -1.0f, 1.0f)),
        encoder_cell(c.hidden, "cell"),
        decoder_cell(c.hidden, "cell"),
        out_layer(c.vocab, {.use_bias = false, .name = "out_layer"}),
        src(ids(c, 1)),
        tgt(ids(c, 2)) {}

  Tensor encode() { return dynamic_rnn(encoder_cell, embedding_lookup(embedding, src), {.scope = "encoder"}).final_state; }
  Tensor decode_teacher_forced(const Tensor& state) {
    auto outputs = dynamic_rnn(decoder_cell, embedding_lookup(embedding, tgt),
                               {.initial_state = state, .scope = "decoder"}).outputs;
    return out_layer(outputs);  // [B, T, V] logits
  }
};

void encoder(benchmark::State& state, Config c) {
  Model m(c);
  for (auto _ : state) benchmark::DoNotOptimize(m.encode());
}
void decoder(benchmark::State& state, Config c) {
  Model m(c);
  const Tensor s = m.encode();
  for (auto _ : state) benchmark::DoNotOptimize(m.decode_teacher_forced(s));
}

// Beam search decode (BOS=1, EOS=2, alpha 0) from the encoder's state.
void beam_search(benchmark::State& state, Config c, std::int64_t beam_width, std::int64_t max_len) {
  Model m(c);
  const Tensor tiled = tile_batch(m.encode(), beam_width);
  Tensor start(DType::int32, Shape{c.batch});
  for (auto& x : start.data<std::int32_t>()) x = 1;
  std::int64_t steps = 0;
  for (auto _ : state) {
    BeamSearchDecoder decoder(m.decoder_cell, m.embedding, start, 2, tiled, beam_width, &m.out_layer);
    auto result = dynamic_decode(decoder, {.maximum_iterations = max_len, .scope = "decoder"});
    steps = result.predicted_ids.shape()[1];
    benchmark::DoNotOptimize(result);
  }
  state.counters["steps"] = static_cast<double>(steps);
}

}  // namespace

BENCHMARK_CAPTURE(beam_search, seed, kSeed, 2, 8)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(beam_search, medium, kMedium, 4, 30)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(encoder, seed, kSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(encoder, medium, kMedium)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(decoder, seed, kSeed)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(decoder, medium, kMedium)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
