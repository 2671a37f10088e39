// The packed SIMD kernel alone (matmul_packed_into: a weight packed once into 16-column
// panels, the path every decoder step's products take) at the product shapes of the
// medium beam searches, beside sgemm's peak in the same run. Each row's `flops` counter
// over its time is the kernel's GFLOP/s; divided by sgemm_peak's it is the share of the
// one-core limit the beam searches can reach at most (docs/benchmarks.md).
//   taskset -c 0 env OPENBLAS_NUM_THREADS=1 VARSCOPE_NUM_THREADS=1 build/native/bench/packed_kernel_bench
#include <benchmark/benchmark.h>

#include <cstdint>

import varscope;
#include "sgemm_peak.hpp"
#include "warm_loop.hpp"

using namespace varscope;

namespace {

// out [M, N] = a [M, K] @ packed b [K, N].
void packed(benchmark::State& state, std::int64_t M, std::int64_t K, std::int64_t N) {
  Graph g{1};
  DefaultGraphGuard use{g};
  Tensor a = random_uniform({M, K}, -1.0f, 1.0f), b = random_uniform({K, N}, -1.0f, 1.0f);
  Tensor out = Tensor::uninitialized(DType::float32, Shape{M, N});
  const PackedMatrix pb(as_matrix(static_cast<const Tensor&>(b)));
  run_warm(state, [&] {
    matmul_packed_into(as_matrix(static_cast<const Tensor&>(a)), pb, as_matrix(out));
    benchmark::DoNotOptimize(out.data<float>().data());
  });
  state.counters["flops"] = 2.0 * double(M) * double(K) * double(N);
}

}  // namespace

BENCHMARK(sgemm_peak)->Name("sgemm_peak/medium")->Unit(benchmark::kMicrosecond);
// Medium beam: B*K = 64 rows. GRU step [x, h] (256 + 512) x 3H; with attention the input is
// [x, attention, h] (256 + 512 + 512); attention_layer [h, context] 1024 x 512; output 512 x 8000.
BENCHMARK_CAPTURE(packed, gru_step_64x768x1536, 64, 768, 1536)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, attn_gru_step_64x1280x1536, 64, 1280, 1536)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, attention_layer_64x1024x512, 64, 1024, 512)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, output_64x512x8000, 64, 512, 8000)->Unit(benchmark::kMicrosecond);
// Seed shape (E 256, H 256, V 3000): the encoder's recurrent step over a batch of 2 (the gates'
// h-rows, 256 x 512), the beam's 4 rows (B 2 x K 2) through the output layer, and a batch of 1
// (a single sentence decoded) through both.
BENCHMARK_CAPTURE(packed, seed_recurrent_2x256x512, 2, 256, 512)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, seed_recurrent_1x256x512, 1, 256, 512)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, seed_output_4x256x3000, 4, 256, 3000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, seed_output_1x256x3000, 1, 256, 3000)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, seed_output_3x256x3000, 3, 256, 3000)->Unit(benchmark::kMicrosecond);
// Large beam: 32 * 5 = 160 rows, H 1024, E 512, V 32000.
BENCHMARK_CAPTURE(packed, large_gru_step_160x1536x3072, 160, 1536, 3072)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(packed, large_output_160x1024x32000, 160, 1024, 32000)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
