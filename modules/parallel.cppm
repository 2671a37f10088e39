// varscope:parallel — the one thread count varscope's kernels use, and the loop
// they split work with.
//
//   set_num_threads(n) / num_threads()   set once, read everywhere; the default is the
//                                        environment variable VARSCOPE_NUM_THREADS, else
//                                        the cores this process may run on
//   parallel_for(count, body)            items [0, count) split into contiguous ranges,
//                                        one per thread (LLVM OpenMP natively, Emscripten
//                                        pthreads in the wasm-threads build; serial in the
//                                        default WebAssembly build and inside another
//                                        parallel region)
//
// Results never depend on the thread count: every caller splits work into items that
// are computed the same way whoever runs them (a 16-column panel of a product, a batch
// row of beam search, a fixed block of an optimizer update), never into per-thread
// partial sums. tests/threads_test.cpp checks it bit for bit at 1, 2 and 3 threads.
module;
#include <cstdint>
#include <type_traits>
#include <utility>
export module varscope:parallel;
import :errors;

export namespace varscope {

/// Sets the number of threads varscope's kernels use from now on (every thread that
/// calls varscope, not only this one). n >= 1; InvalidArgumentError otherwise. Results
/// are bit-identical for any n. OpenBLAS is held at one thread of its own: varscope
/// splits the products it hands to OpenBLAS itself (docs/threads.md says why).
void set_num_threads(int n);
/// The thread count in use: set_num_threads's, else VARSCOPE_NUM_THREADS's (read once,
/// at the first call), else the number of cores this process may run on.
[[nodiscard]] int num_threads();
/// True when varscope was built with a parallel runtime (natively: LLVM OpenMP; the
/// wasm-threads build: Emscripten pthreads). In the default WebAssembly build it is false
/// and every count behaves as 1.
[[nodiscard]] bool threads_available() noexcept;

}  // namespace varscope

namespace varscope {

// parallel_for's work per element of element-wise gate math (an exp or tanh and a few
// multiply-adds), for the cells' gate math over every step of a batch at once.
inline constexpr double kTranscendentalWork = 20.0;

// Calls body(context, begin, end) on contiguous ranges covering [0, count), in parallel when
// `parallel` is true and more than one thread is set (modules/src/parallel.cpp).
void parallel_for_ranges(std::int64_t count, bool parallel, void (*body)(void*, std::int64_t, std::int64_t),
                         void* context);

/// Runs body(begin, end) over contiguous ranges covering [0, count), one range per
/// thread. `work` is a rough count of floating-point operations for the whole loop:
/// below ~200k the loop runs on the calling thread (a parallel region costs a few
/// microseconds). Nested calls run serially. No allocation.
template <typename Body>
void parallel_for(std::int64_t count, double work, Body&& body) {
  constexpr double kMinParallelWork = 200e3;
  using B = std::remove_reference_t<Body>;
  parallel_for_ranges(
      count, work >= kMinParallelWork && count > 1,
      [](void* context, std::int64_t begin, std::int64_t end) { (*static_cast<B*>(context))(begin, end); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

}  // namespace varscope
