// The OpenMP team behind varscope:parallel (declared in openmp_team.hpp). A plain
// translation unit, compiled with -fopenmp natively and without it in WebAssembly (then
// every loop runs on the calling thread).
#if defined(_OPENMP)
#include <omp.h>
#endif
#include <atomic>
#include <cstdint>

#include "openmp_team.hpp"

namespace varscope::parallel_runtime {

namespace {
std::atomic<std::int64_t> g_regions{0};
}  // namespace

void run_ranges(std::int64_t count, int threads, void (*body)(void*, std::int64_t, std::int64_t), void* context) {
#if defined(_OPENMP)
  if (threads > 1 && !omp_in_parallel()) {
    g_regions.fetch_add(1, std::memory_order_relaxed);
    // Static contiguous ranges: thread t of the team runs [count*t/team, count*(t+1)/team).
#pragma omp parallel num_threads(threads)
    {
      const std::int64_t t = omp_get_thread_num(), team = omp_get_num_threads();
      const std::int64_t begin = count * t / team, end = count * (t + 1) / team;
      if (begin < end) body(context, begin, end);
    }
    return;
  }
#else
  (void)threads;
#endif
  body(context, 0, count);
}

int available_cores() noexcept {
#if defined(_OPENMP)
  return omp_get_num_procs();
#else
  return 1;
#endif
}

bool available() noexcept {
#if defined(_OPENMP)
  return true;
#else
  return false;
#endif
}

}  // namespace varscope::parallel_runtime

// The test hook declared in modules/testing.cppm (varscope.testing).
namespace varscope::testing {
std::int64_t parallel_regions_opened() noexcept {
  return parallel_runtime::g_regions.load(std::memory_order_relaxed);
}
}  // namespace varscope::testing
