// The thread team of varscope:parallel (LLVM OpenMP natively, Emscripten pthreads in the
// wasm-threads build): declared here, defined in openmp_team.cpp, a plain
// (non-module) translation unit compiled with -fopenmp. clang refuses a module BMI built
// with another OpenMP setting than its importer, so -fopenmp stays out of every module unit
// and out of importers' flags; modules/src/parallel.cpp includes this in its global module
// fragment, so both sides name the same global-module functions.
#pragma once
#include <cstdint>

namespace varscope::parallel_runtime {
// Calls body(context, begin, end) on `threads` contiguous ranges covering [0, count) at
// once (a team of OpenMP threads), or once on [0, count) when threads <= 1, the runtime is
// missing, or a parallel region is already running on this thread. body must not throw.
void run_ranges(std::int64_t count, int threads, void (*body)(void*, std::int64_t, std::int64_t), void* context);
// The cores this process may run on (1 without a parallel runtime).
int available_cores() noexcept;
bool available() noexcept;
}  // namespace varscope::parallel_runtime
