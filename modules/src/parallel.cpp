// Implementation of varscope:parallel — the thread count (set_num_threads,
// VARSCOPE_NUM_THREADS) and parallel_for_ranges; the OpenMP team itself is in
// runtime/openmp_team.cpp (a plain translation unit: see runtime/openmp_team.hpp).
module;
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "runtime/openmp_team.hpp"
module varscope;

namespace varscope {

namespace {

int default_num_threads() {
  if (const char* env = std::getenv("VARSCOPE_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(env, &end, 10);
    if (errno != 0 || end == env || *end != '\0' || n < 1 || n > 1024)
      throw InvalidArgumentError("VARSCOPE_NUM_THREADS='" + std::string(env) +
                                 "' is not a thread count: set it to an integer from 1 to 1024, or unset it "
                                 "to use every core");
    return static_cast<int>(n);
  }
  return std::max(1, parallel_runtime::available_cores());
}

// 0 = not decided yet (the environment is read at the first num_threads()).
std::atomic<int> g_num_threads{0};

}  // namespace

void set_num_threads(int n) {
  if (n < 1)
    throw InvalidArgumentError("set_num_threads(" + std::to_string(n) +
                               "): the thread count must be at least 1 (1 = run on the calling thread only)");
  g_num_threads.store(n, std::memory_order_relaxed);
}

int num_threads() {
  int n = g_num_threads.load(std::memory_order_relaxed);
  if (n != 0) return n;
  int expected = 0;
  n = default_num_threads();
  return g_num_threads.compare_exchange_strong(expected, n, std::memory_order_relaxed) ? n : expected;
}

bool threads_available() noexcept { return parallel_runtime::available(); }

void parallel_for_ranges(std::int64_t count, bool parallel, void (*body)(void*, std::int64_t, std::int64_t),
                         void* context) {
  if (count <= 0) return;
  const int threads = parallel ? static_cast<int>(std::min<std::int64_t>(num_threads(), count)) : 1;
  parallel_runtime::run_ranges(count, threads, body, context);
}

}  // namespace varscope
