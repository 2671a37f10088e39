// One training step of the article's seq2seq (embedding -> GRU encoder via
// dynamic_rnn -> training decoder (TrainingHelper + Dense output layer) ->
// sequence_loss -> backward -> AdamOptimizer), single thread, at the seed and
// medium shapes. Prints one JSON object {shape: median_ms}. The PyTorch peer
// (same math, TF-layout GRU, Adam) is bench/train_peer_torch.py.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

import varscope;

using namespace varscope;

namespace {

double step_ms(std::int64_t V, std::int64_t E, std::int64_t H, std::int64_t B, std::int64_t T, int repeats) {
  Graph graph(1);
  auto use = graph.as_default();
  std::vector<std::int32_t> ids(B * T), targets(B * T);
  for (std::int64_t i = 0; i < B * T; ++i) ids[i] = static_cast<std::int32_t>((i * 7919) % V), targets[i] = static_cast<std::int32_t>((i * 104729) % V);
  const Tensor enc_ids({B, T}, ids), dec_ids({B, T}, ids), tgt({B, T}, targets);
  const Tensor lengths({B}, std::vector<std::int32_t>(B, static_cast<std::int32_t>(T)));
  Tensor weights(DType::float32, Shape{B, T});
  for (auto& w : weights.data<float>()) w = 1.0f;
  auto embedding = Variable(random_uniform({V, E}, -1.0f, 1.0f), "embedding");
  GRUCell encoder_cell(H, "cell"), decoder_cell(H, "cell");
  Dense out(V, {.use_bias = false, .name = "out_layer"});
  auto loss_fn = [&] {
    auto enc = dynamic_rnn(encoder_cell, embedding_lookup(embedding.value(), enc_ids),
                           {.sequence_length = lengths, .scope = "encoder"});
    BasicDecoder decoder(decoder_cell, TrainingHelper(embedding_lookup(embedding.value(), dec_ids), lengths),
                         enc.final_state, &out);
    return sequence_loss(dynamic_decode(decoder, {.scope = "decoder"}).rnn_output, tgt, weights);
  };
  AdamOptimizer opt;
  std::vector<double> times;
  for (int i = 0; i < repeats + 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    opt.minimize(loss_fn);
    const auto t1 = std::chrono::steady_clock::now();
    if (i >= 2) times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());  // 2 warm-up steps
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  // `train_bench` runs both shapes; `train_bench seed` or `train_bench medium` one (for perf record).
  const std::string only = argc > 1 ? argv[1] : "";
  const double seed = only == "medium" ? 0.0 : step_ms(3000, 256, 256, 2, 8, 30);
  const double medium = only == "seed" ? 0.0 : step_ms(8000, 256, 512, 16, 30, 7);
  std::printf("{\"seed_ms\": %.3f, \"medium_ms\": %.3f}\n", seed, medium);
}
