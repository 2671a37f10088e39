// sgemm_peak: the one-core (or THREADS-core) limit the benchmarks' "% of peak" columns divide by,
// measured in the same run: varscope's matmul op on a [480, 768] @ [768, 2048] product (the medium
// shape's B·T rows), whose `flops` counter bench/run.sh turns into GFLOP/s. Shared by
// bench/gru_bench.cpp and bench/attention_bench.cpp. Include after `import varscope;`.
#pragma once
#include <benchmark/benchmark.h>

#include "warm_loop.hpp"

inline void sgemm_peak(benchmark::State& state) {
  using namespace varscope;
  Graph g{1};
  DefaultGraphGuard use{g};
  const std::int64_t M = 16 * 30, Kd = 256 + 512, N = 4 * 512;
  const Tensor a = random_uniform({M, Kd}, -1.0f, 1.0f), b = random_uniform({Kd, N}, -1.0f, 1.0f);
  run_warm(state, [&] { benchmark::DoNotOptimize(matmul(a, b)); });
  state.counters["flops"] = 2.0 * static_cast<double>(M) * static_cast<double>(Kd) * static_cast<double>(N);
}
