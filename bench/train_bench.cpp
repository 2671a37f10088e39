// One training step of the article's seq2seq (embedding -> GRU encoder via
// dynamic_rnn -> training decoder (TrainingHelper + Dense output layer) ->
// sequence_loss -> backward -> AdamOptimizer), single thread, at the seed and
// medium shapes. Prints one JSON object {shape: median_ms}. The PyTorch peer
// (same math, TF-layout GRU, Adam) is bench/train_peer_torch.py.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <type_traits>
#include <vector>

import varscope;

using namespace varscope;

namespace {

// CPU time of this thread: on a shared machine it counts only the time the step
// ran, not time spent waiting for a core (both peers report both clocks).
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Resident set size now and its high-water mark, in MiB (Linux /proc/self/status).
double status_mib(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1.0;
  char line[256];
  double kib = -1.0;
  const std::size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, n) == 0) kib = std::atof(line + n);
  std::fclose(f);
  return kib / 1024.0;
}

template <class Cell>
Cell make_cell(std::int64_t units) {
  if constexpr (std::is_same_v<Cell, LSTMCell>)
    return LSTMCell(units, {.name = "cell"});
  else
    return Cell(units, "cell");
}

struct Timing {
  double wall_ms, cpu_ms;
};

template <class Cell = GRUCell>
Timing step_ms(std::int64_t V, std::int64_t E, std::int64_t H, std::int64_t B, std::int64_t T, int repeats) {
  Graph graph(1);
  auto use = graph.as_default();
  std::vector<std::int32_t> ids(B * T), targets(B * T);
  for (std::int64_t i = 0; i < B * T; ++i) ids[i] = static_cast<std::int32_t>((i * 7919) % V), targets[i] = static_cast<std::int32_t>((i * 104729) % V);
  const Tensor enc_ids({B, T}, ids), dec_ids({B, T}, ids), tgt({B, T}, targets);
  const Tensor lengths({B}, std::vector<std::int32_t>(B, static_cast<std::int32_t>(T)));
  Tensor weights(DType::float32, Shape{B, T});
  for (auto& w : weights.data<float>()) w = 1.0f;
  auto embedding = Variable(random_uniform({V, E}, -1.0f, 1.0f), "embedding");
  Cell encoder_cell = make_cell<Cell>(H), decoder_cell = make_cell<Cell>(H);
  Dense out(V, {.use_bias = false, .name = "out_layer"});
  auto loss_fn = [&] {
    auto enc = dynamic_rnn(encoder_cell, embedding_lookup(embedding.value(), enc_ids),
                           {.sequence_length = lengths, .scope = "encoder"});
    BasicDecoder decoder(decoder_cell, TrainingHelper(embedding_lookup(embedding.value(), dec_ids), lengths),
                         enc.final_state, out);
    return sequence_loss(dynamic_decode(decoder, {.scope = "decoder"}).rnn_output, tgt, weights);
  };
  AdamOptimizer opt;
  std::vector<double> times, cpu;
  for (int i = 0; i < repeats + 2; ++i) {
    const double c0 = thread_cpu_ms();
    const auto t0 = std::chrono::steady_clock::now();
    opt.minimize(loss_fn);
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = thread_cpu_ms();
    if (i >= 2) {  // 2 warm-up steps
      times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      cpu.push_back(c1 - c0);
    }
  }
  std::sort(times.begin(), times.end());
  std::sort(cpu.begin(), cpu.end());
  return {times[times.size() / 2], cpu[cpu.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  // `train_bench` runs both shapes; `train_bench seed` or `train_bench medium` one (for perf record);
  // `train_bench lstm` the medium shape with LSTM cells.
  // Peak memory is meaningful for one shape per process: `train_bench medium`
  // reports the resident-set high-water mark over the RSS at start.
  const std::string only = argc > 1 ? argv[1] : "";
  if (only == "lstm") {  // `train_bench lstm`: the medium step with LSTM cells (no peer; for A/B runs)
    const double start = status_mib("VmRSS:");
    const Timing lstm = step_ms<LSTMCell>(8000, 256, 512, 16, 30, 7);
    std::printf("{\"lstm_medium_ms\": %.3f, \"lstm_medium_cpu_ms\": %.3f, \"peak_over_start_mib\": %.1f}\n",
                lstm.wall_ms, lstm.cpu_ms, status_mib("VmHWM:") - start);
    return 0;
  }
  const double start_rss = status_mib("VmRSS:");
  const Timing seed = only == "medium" ? Timing{} : step_ms(3000, 256, 256, 2, 8, 30);
  const Timing medium = only == "seed" ? Timing{} : step_ms(8000, 256, 512, 16, 30, 7);
  std::printf("{\"seed_ms\": %.3f, \"medium_ms\": %.3f, \"seed_cpu_ms\": %.3f, \"medium_cpu_ms\": %.3f, "
              "\"start_rss_mib\": %.1f, \"peak_rss_mib\": %.1f, \"peak_over_start_mib\": %.1f}\n",
              seed.wall_ms, medium.wall_ms, seed.cpu_ms, medium.cpu_ms, start_rss, status_mib("VmHWM:"),
              status_mib("VmHWM:") - start_rss);
}
