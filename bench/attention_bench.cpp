// Attention beam search (issue 21, "Speed"; docs/design/issue-21-attention.md §3d, S7) at the
// medium shape: vocab 8000, embedding 256, a GRU(512) encoder over the source (run once, OUTSIDE
// the timed loop), a GRU(512) decoder under AttentionWrapper (attention_layer_size 512) with
// LuongAttention(512, scale) or BahdanauAttention(512, normalize) over the encoder's outputs
// (memory depth 512, length 30), an output Dense [512, 8000] without bias; batch 16, beam 4,
// maximum_iterations 30. Inside the timed loop, as TF builds it per decode: tile_batch of the memory,
// the mechanism's setup_memory over it (memory_layer: [64*30, 512] x [512, 512]), the wrapper's
// zero_state(B*K) with the tiled encoder state as cell_state, and the decode. In the same run: the
// plain GRU beam search at the same shape (no attention, decoder input = the embedding) and sgemm's
// peak row (lstm_bench's).
//
// Counters: `flops` (products only, 2 per multiply-add, B*K rows per step whether live or not, the
// per-decode memory_layer, and the score/context GEMVs; §3d), `tanh` (Bahdanau's tanh count per
// decode, NOT in flops), `steps`, and `checksum` (sum over rows and beams of the final log-probs
// plus the ids of beam 0; a broken decode moves it).
//
// `attention_bench --export DIR` writes DIR/{luong,bahdanau,gru}.json (varscope JSON checkpoints:
// every variable plus bench/embedding, bench/memory, bench/encoder_state, bench/lengths and the decode's
// bench/predicted_ids [B, T, K], bench/final_log_probs [B, K]) for bench/peer_torch_attention.py,
// which runs the same math in PyTorch on these weights and checks its beams against these ids.
// BENCH=attention bash bench/run.sh does both.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

import varscope;
#include "bench_model.hpp"
#include "sgemm_peak.hpp"

using namespace varscope;

namespace {

using bench_model::ids;
constexpr bench_model::Config kMedium = bench_model::kMedium;  // V 8000, E 256, H 512, B 16, T 30
constexpr std::int64_t K = 4, kMaxLen = 30, kUnits = 512, kLayer = 512;
constexpr std::int32_t kBos = 1, kEos = 2;

enum class Kind { gru, luong, bahdanau };

// One model per benchmark, in its own graph (seed 1): the same weights in the bench and in --export.
struct AttnModel {
  Graph graph{1};
  DefaultGraphGuard use{graph};
  Kind kind;
  Tensor embedding;
  GRUCell encoder_cell{kMedium.hidden, "cell"};
  GRUCell decoder_cell{kMedium.hidden, "cell"};
  Dense out_layer{kMedium.vocab, {.use_bias = false, .name = "out_layer"}};
  Tensor src = ids(kMedium, 1);
  Tensor memory, encoder_state, lengths, start;
  std::unique_ptr<AttentionMechanism> mechanism;
  std::unique_ptr<AttentionWrapper> cell;

  explicit AttnModel(Kind k)
      : kind(k), embedding(random_uniform({kMedium.vocab, kMedium.emb}, -1.0f, 1.0f)) {
    const RNNResult enc = dynamic_rnn(encoder_cell, embedding_lookup(embedding, src), {.scope = "encoder"});
    memory = enc.outputs;  // [B, 30, 512]
    encoder_state = enc.final_state.leaf();
    lengths = Tensor(Shape{kMedium.batch}, std::vector<std::int32_t>(kMedium.batch, kMedium.len));
    start = Tensor(Shape{kMedium.batch}, std::vector<std::int32_t>(kMedium.batch, kBos));
    if (kind == Kind::gru) return;
    const Tensor tiled = tile_batch(memory, K), tiled_len = tile_batch(lengths, K);
    if (kind == Kind::luong)
      mechanism = std::make_unique<LuongAttention>(kUnits, tiled, tiled_len, /*scale=*/true);
    else
      mechanism = std::make_unique<BahdanauAttention>(kUnits, tiled, tiled_len, /*normalize=*/true);
    cell = std::make_unique<AttentionWrapper>(decoder_cell, *mechanism,
                                              AttentionWrapperOptions{.attention_layer_size = kLayer});
  }

  // One decode, as TF builds it per call (tile, setup_memory, zero_state, decode).
  BeamSearchResult decode() {
    if (kind == Kind::gru) {
      BeamSearchDecoder decoder(decoder_cell, EmbeddingParams::borrowed(embedding), start, kEos,
                                tile_batch(encoder_state, K), K, out_layer);
      return dynamic_decode(decoder, {.maximum_iterations = kMaxLen, .scope = "decoder"});
    }
    mechanism->setup_memory(tile_batch(memory, K), tile_batch(lengths, K));
    const State s0 = AttentionWrapperState::from(cell->zero_state(kMedium.batch * K))
                         .clone({.cell_state = State(tile_batch(encoder_state, K))});
    BeamSearchDecoder decoder(*cell, EmbeddingParams::borrowed(embedding), start, kEos, s0, K, out_layer);
    return dynamic_decode(decoder, {.maximum_iterations = kMaxLen, .scope = "decoder"});
  }
};

double checksum(const BeamSearchResult& r) {
  double s = 0.0;
  for (float x : r.final_log_probs.data<float>()) s += x;
  const auto id = r.predicted_ids.data<std::int32_t>();
  const std::int64_t B = r.predicted_ids.shape()[0], T = r.predicted_ids.shape()[1];
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t) s += id[(b * T + t) * K];  // beam 0
  return s;
}

// §3d: per step B*K rows of the GRU ([E (+ L) + H] x 3H), the attention layer ([H + Dm] x L),
// the output layer (H or L x V); Luong: the score and context GEMVs (2 * 2*T*Dm per row);
// Bahdanau: the query_layer (H x A) and context (2*T*Dm) GEMVs, and the v'-dot over T*A (2*T*A:
// its multiply-adds; the tanh and the key+query add are not FLOPs, reported as `tanh`). Once per
// decode: memory_layer over the tiled memory.
struct Flops {
  double flops = 0.0, tanh = 0.0;
};
Flops count(Kind kind, double steps) {
  const double N = kMedium.batch * K, V = kMedium.vocab, E = kMedium.emb, H = kMedium.hidden;
  const double T = kMedium.len, Dm = kMedium.hidden, A = kUnits, L = kLayer;
  if (kind == Kind::gru) return {steps * (2 * N * (E + H) * 3 * H + 2 * N * H * V), 0.0};
  double per_row = 2 * (E + L + H) * 3 * H + 2 * (H + Dm) * L + 2 * L * V;
  double tanh = 0.0;
  if (kind == Kind::luong) {
    per_row += 2 * T * A + 2 * T * Dm;  // scores h.keys[t], context a.values
  } else {
    per_row += 2 * H * A + 2 * T * A + 2 * T * Dm;  // query_layer, v'.tanh(...) over T, context
    tanh = steps * N * T * A;
  }
  const double setup = 2 * N * T * Dm * A;  // memory_layer over the tiled memory
  return {steps * N * per_row + setup, tanh};
}

void attention_beam(benchmark::State& state, Kind kind) {
  AttnModel m(kind);
  double steps = 0.0, sum = 0.0;
  run_warm(state, [&] {
    BeamSearchResult r = m.decode();
    steps = static_cast<double>(r.predicted_ids.shape()[1]);
    sum = checksum(r);
    benchmark::DoNotOptimize(r);
  });
  const Flops f = count(kind, steps);
  state.counters["flops"] = f.flops;
  if (f.tanh > 0) state.counters["tanh"] = f.tanh;
  state.counters["steps"] = steps;
  state.counters["checksum"] = sum;
}

// lstm_bench's row: [B*T, E + H] x [E + H, 4H] (480 x 768 x 2048) through varscope's matmul.
int export_models(const std::string& dir) {
  const std::pair<Kind, const char*> kinds[] = {{Kind::gru, "gru"}, {Kind::luong, "luong"}, {Kind::bahdanau, "bahdanau"}};
  for (const auto& [kind, name] : kinds) {
    AttnModel m(kind);
    const BeamSearchResult r = m.decode();
    std::vector<CheckpointEntry> entries;
    for (const Variable& v : global_variables()) entries.emplace_back(v.op_name(), v.value());
    entries.emplace_back("bench/embedding", m.embedding);
    entries.emplace_back("bench/memory", m.memory);
    entries.emplace_back("bench/encoder_state", m.encoder_state);
    entries.emplace_back("bench/lengths", m.lengths);
    entries.emplace_back("bench/predicted_ids", r.predicted_ids);
    entries.emplace_back("bench/final_log_probs", r.final_log_probs);
    write_checkpoint(entries, dir + "/" + name + ".json");
    std::cerr << name << ": " << entries.size() << " entries, " << r.predicted_ids.shape()[1]
              << " steps, checksum " << checksum(r) << "\n";
  }
  return 0;
}

}  // namespace

BENCHMARK(sgemm_peak)->Name("sgemm_peak/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(attention_beam, gru, Kind::gru)->Name("gru_beam_search/medium")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(attention_beam, luong, Kind::luong)
    ->Name("attention_beam_search/luong_scaled/medium")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(attention_beam, bahdanau, Kind::bahdanau)
    ->Name("attention_beam_search/bahdanau_normed/medium")
    ->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--export") == 0) return export_models(argv[2]);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
