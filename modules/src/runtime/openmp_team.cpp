// The thread team behind varscope:parallel (declared in openmp_team.hpp). A plain
// translation unit, compiled with -fopenmp natively (an LLVM OpenMP team). In
// WebAssembly: without -pthread every loop runs on the calling thread; with -pthread
// (the wasm-threads preset) a small team of Emscripten pthreads, below, because
// Emscripten ships no OpenMP runtime.
#if defined(_OPENMP)
#include <omp.h>
#elif defined(__EMSCRIPTEN_PTHREADS__)
#include <emscripten/threading.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <system_error>
#include <thread>
#endif
#include <atomic>
#include <cstdint>

#include "openmp_team.hpp"

namespace varscope::parallel_runtime {

namespace {
std::atomic<std::int64_t> g_regions{0};
}  // namespace

#if !defined(_OPENMP) && defined(__EMSCRIPTEN_PTHREADS__)
// ---- WebAssembly threads (Emscripten -pthread) --------------------------------------
// Emscripten has no OpenMP (and apt/npm ship no wasm build of libomp or oneTBB), so this
// is the one place varscope runs its own team: one pthread per core but the caller's (at
// most kWasmPoolSize), started at the first parallel region and kept (the build
// preallocates kWasmPoolSize Web Workers with -sPTHREAD_POOL_SIZE, so starting them does not
// wait for the browser's event loop as long as the team is the pool's first user; more
// threads than cores would spin against each other). Only the main runtime thread (the
// module's own: node's main thread, the page's worker) starts or uses the team: a pthread
// asking for one would have its workers' creation proxied to a main thread that may be
// blocked, so its loops run serially. A
// region publishes (body, context, count, threads), bumps `generation` and wakes the
// workers; worker w runs range w, the caller range 0, and the caller waits until
// `pending` reaches 0. As libomp's workers do (KMP_BLOCKTIME), a worker spins after a
// region before it sleeps on a futex: a recurrence opens a region per step, and a futex
// wake through JS costs more than a small product. One region at a time: a second
// caller, or a nested call, runs its loop serially, as OpenMP does for nested regions. A
// body must not throw (as in an OpenMP region, an escaping exception terminates).
namespace {
#ifndef VARSCOPE_WASM_POOL_SIZE
#define VARSCOPE_WASM_POOL_SIZE 2
#endif
constexpr int kWasmPoolSize = VARSCOPE_WASM_POOL_SIZE;  // = the link's -sPTHREAD_POOL_SIZE
constexpr double kSpinMs = 20.0;  // a worker's spin before it sleeps (libomp: 200 ms)

struct WasmTeam {
  std::mutex busy;  // held by the thread running a region
  std::once_flag started;
  std::atomic<std::uint32_t> generation{0};  // the futex word workers sleep on (32-bit)
  std::atomic<std::uint32_t> pending{0};     // workers yet to check in to this region
  std::atomic<int> sleepers{0};  // workers in (or about to enter) the futex wait
  int workers = 0;                // started at the first region; all check in to every region
  // The region being run; written before `generation` is bumped, read after.
  void (*body)(void*, std::int64_t, std::int64_t) = nullptr;
  void* context = nullptr;
  std::int64_t count = 0;
  int threads = 1;
};
WasmTeam& wasm_team() {
  static WasmTeam* team = new WasmTeam;  // never destroyed: its workers outlive main()
  return *team;
}
thread_local bool t_in_region = false;

// The range [begin, end) of region item ranges; noexcept: an exception ends the program.
void run_body(void (*body)(void*, std::int64_t, std::int64_t), void* context, std::int64_t begin,
              std::int64_t end) noexcept {
  body(context, begin, end);
}

void worker_loop(int index) {
  WasmTeam& team = wasm_team();
  t_in_region = true;  // a worker's own loops run serially
  std::uint32_t seen = 0;
  for (;;) {
    // Spin for kSpinMs, then sleep. sleepers is raised before the last check of generation
    // (both seq_cst), and the caller bumps generation before it reads sleepers: either the
    // caller sees a sleeper and wakes it, or the worker sees the new generation.
    const double spin_until = emscripten_get_now() + kSpinMs;
    for (int i = 0; team.generation.load() == seen; ++i) {
      if ((i & 255) != 255 || emscripten_get_now() < spin_until) continue;
      team.sleepers.fetch_add(1);
      while (team.generation.load() == seen)
        emscripten_futex_wait(reinterpret_cast<volatile void*>(&team.generation), seen, INFINITY);
      team.sleepers.fetch_sub(1);
    }
    seen = team.generation.load();
    if (index < team.threads) {
      const std::int64_t begin = team.count * index / team.threads, end = team.count * (index + 1) / team.threads;
      if (begin < end) run_body(team.body, team.context, begin, end);
    }
    team.pending.fetch_sub(1);
  }
}

bool run_on_wasm_team(std::int64_t count, int threads, void (*body)(void*, std::int64_t, std::int64_t),
                      void* context) {
  if (t_in_region || !emscripten_is_main_runtime_thread()) return false;
  WasmTeam& team = wasm_team();
  std::unique_lock lock(team.busy, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  std::call_once(team.started, [&team] {
    const int wanted = std::clamp(emscripten_num_logical_cores() - 1, 0, kWasmPoolSize);
    // Workers that started check in to every region; a failed start (no Worker left with
    // -sPTHREAD_POOL_SIZE_STRICT=2) leaves a smaller team, never a miscount.
    for (int w = 1; w <= wanted; ++w) {
      try {
        std::thread(worker_loop, w).detach();
      } catch (const std::system_error&) {
        break;
      }
      team.workers = w;
    }
  });
  if (team.workers == 0) return false;
  team.body = body;
  team.context = context;
  team.count = count;
  team.threads = std::min(threads, team.workers + 1);
  team.pending.store(static_cast<std::uint32_t>(team.workers));  // every worker checks in, with work or without
  team.generation.fetch_add(1);
  if (team.sleepers.load() > 0)
    emscripten_futex_wake(reinterpret_cast<volatile void*>(&team.generation), team.workers);
  t_in_region = true;
  const std::int64_t end = count / team.threads;
  if (end > 0) run_body(body, context, 0, end);
  t_in_region = false;
  // Spin until every worker has checked in (their ranges are about as long as this one),
  // running the calls workers proxy to this thread meanwhile (in Emscripten 3.1.6 a
  // worker's syscalls, e.g. a write to stderr, run synchronously on the main thread).
  for (int i = 0; team.pending.load() != 0; ++i)
    if ((i & 255) == 255) emscripten_main_thread_process_queued_calls();
  return true;
}
}  // namespace
#endif

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
#elif defined(__EMSCRIPTEN_PTHREADS__)
  if (threads > 1 && run_on_wasm_team(count, threads, body, context)) {
    g_regions.fetch_add(1, std::memory_order_relaxed);
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
#elif defined(__EMSCRIPTEN_PTHREADS__)
  // navigator.hardwareConcurrency (node: os.cpus()), at most the caller plus the pool.
  return std::clamp(emscripten_num_logical_cores(), 1, kWasmPoolSize + 1);
#else
  return 1;
#endif
}

bool available() noexcept {
#if defined(_OPENMP) || defined(__EMSCRIPTEN_PTHREADS__)
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
