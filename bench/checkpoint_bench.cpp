// Checkpoint throughput and memory: save / restore / list_variables of the large
// benchmark model (vocab 32000, emb 512, hidden 1024: embedding, TF-layout GRU
// encoder and decoder, output projection; ~250 MB of float32, ~330 MB of JSON),
// or of a model scaled to any size. Each mode runs in its own process so its
// peak RSS (getrusage) is its own. bench/run_checkpoint.sh drives it and the
// PyTorch peer (torch.save / torch.load of the same tensors).
//
//   checkpoint_bench write FILE [SCALE]   builds the model (SCALE x the embedding rows), saves it
//   checkpoint_bench restore FILE [SCALE] builds the same variables (zeros), restores into them
//   checkpoint_bench ls FILE              list_variables
//   checkpoint_bench membw                memcpy of 256 MB (median of 5): the machine's copy bandwidth
// Each prints one JSON line: seconds, file MB, MB/s, RSS before / peak (MB).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

import varscope;

using namespace varscope;

namespace {

double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / 1e6;
}
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1e3;  // KiB -> MB
}

// The variables of the large model; zeros unless `random`.
void build(Graph& graph, double scale, bool random) {
  auto use = graph.as_default();
  const std::int64_t V = static_cast<std::int64_t>(32000 * scale), E = 512, H = 1024;
  auto make = [&](const std::string& name, Shape shape) {
    (void)get_variable(name, {.shape = shape, .initializer = random ? random_uniform_initializer(-0.1, 0.1)
                                                                     : zeros_initializer()});
  };
  make("embedding", {V, E});
  for (const std::string scope : {"encoder/cell", "decoder/decoder/cell"}) {
    make(scope + "/gates/kernel", {E + H, 2 * H});
    make(scope + "/gates/bias", {2 * H});
    make(scope + "/candidate/kernel", {E + H, H});
    make(scope + "/candidate/bias", {H});
  }
  make("decoder/decoder/out_layer/kernel", {H, V});
}

double values_mb(const Graph& graph) {
  double bytes = 0;
  for (const auto& v : graph.global_variables()) bytes += static_cast<double>(v.value().size()) * 4;
  return bytes / 1e6;
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "membw") {
    const std::size_t n = std::size_t{256} << 20;
    std::vector<char> a(n, 1), b(n, 2);
    std::vector<double> t;
    for (int i = 0; i < 5; ++i)
      t.push_back(seconds([&] {
        std::memcpy(b.data(), a.data(), n);
        asm volatile("" : : "r"(b.data()) : "memory");  // the copy must happen
      }));
    std::sort(t.begin(), t.end());
    std::printf("{\"mode\": \"membw\", \"memcpy_gb_per_s\": %.2f}\n", static_cast<double>(n) / 1e9 / t[2]);
    return 0;
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: checkpoint_bench write|restore|ls FILE [SCALE] | membw\n");
    return 2;
  }
  const std::string mode = argv[1], path = argv[2];
  const double scale = argc > 3 ? std::atof(argv[3]) : 1.0;
  try {
    Graph graph(1);
    if (mode == "write") {
      build(graph, scale, true);
      const double before = rss_mb();
      const double s = seconds([&] { save(graph, path); });
      const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
      std::printf("{\"mode\": \"save\", \"seconds\": %.3f, \"file_mb\": %.1f, \"values_mb\": %.1f, \"mb_per_s\": %.1f, "
                  "\"rss_before_mb\": %.1f, \"peak_rss_mb\": %.1f}\n",
                  s, mb, values_mb(graph), mb / s, before, peak_rss_mb());
    } else if (mode == "restore") {
      build(graph, scale, false);
      const double before = rss_mb();
      RestoreReport report;
      const double s = seconds([&] { report = restore(graph, path); });
      const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
      std::printf("{\"mode\": \"restore\", \"seconds\": %.3f, \"file_mb\": %.1f, \"values_mb\": %.1f, \"mb_per_s\": %.1f, "
                  "\"rss_before_mb\": %.1f, \"peak_rss_mb\": %.1f, \"peak_over_before_mb\": %.1f, \"matched\": %zu}\n",
                  s, mb, values_mb(graph), mb / s, before, peak_rss_mb(), peak_rss_mb() - before, report.matched.size());
    } else if (mode == "ls") {
      const double before = rss_mb();
      std::vector<CheckpointEntry> entries;
      const double s = seconds([&] { entries = list_variables(path); });
      const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
      std::printf("{\"mode\": \"ls\", \"seconds\": %.3f, \"file_mb\": %.1f, \"mb_per_s\": %.1f, \"rss_before_mb\": %.1f, "
                  "\"peak_rss_mb\": %.1f, \"variables\": %zu}\n",
                  s, mb, mb / s, before, peak_rss_mb(), entries.size());
    } else {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", e.kind(), e.what());
    return 1;
  }
  return 0;
}
