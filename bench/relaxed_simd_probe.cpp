// What relaxed SIMD (wasm_f32x4_relaxed_madd: one fused multiply-add where the engine has FMA)
// would give varscope's packed SIMD128 kernel, measured on the kernel alone. The shipping wasm
// build cannot emit relaxed SIMD: Debian's Emscripten 3.1.6 runs binaryen 108, whose
// wasm-emscripten-finalize rejects the final opcodes ("invalid code after SIMD prefix: 261").
// So this probe is freestanding wasm built by clang-19 directly (no Emscripten, no libc) and
// driven by bench/relaxed_simd_probe.mjs under node and in Chromium.
//
// The kernel is modules/src/kernels.cpp's wasm path of packed_block<R> (8 columns a pass, R
// rows, k-major packed rows, 16-column panels), once with mul + add and once with relaxed_madd.
//   clang++-19 --target=wasm32 -O3 -msimd128 -mrelaxed-simd -nostdlib -fno-exceptions -std=c++20 \
//     -Wl,--no-entry -Wl,--export-dynamic -Wl,--initial-memory=134217728 \
//     bench/relaxed_simd_probe.cpp -o build/relaxed_simd_probe.wasm
#include <wasm_simd128.h>

namespace {

template <int R, bool Relaxed>
void block(const float* ap, const float* panel, int kc, float* c, int ldc) {
  for (int half = 0; half < 16; half += 8) {
    v128_t lo[R], hi[R];
    for (int r = 0; r < R; ++r) lo[r] = hi[r] = wasm_f32x4_splat(0.0f);
    for (int k = 0; k < kc; ++k) {
      const v128_t b0 = wasm_v128_load(panel + k * 16 + half), b1 = wasm_v128_load(panel + k * 16 + half + 4);
      for (int r = 0; r < R; ++r) {
        const v128_t x = wasm_f32x4_splat(ap[k * R + r]);
        if constexpr (Relaxed) {
          lo[r] = wasm_f32x4_relaxed_madd(x, b0, lo[r]);
          hi[r] = wasm_f32x4_relaxed_madd(x, b1, hi[r]);
        } else {
          lo[r] = wasm_f32x4_add(lo[r], wasm_f32x4_mul(x, b0));
          hi[r] = wasm_f32x4_add(hi[r], wasm_f32x4_mul(x, b1));
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      wasm_v128_store(c + r * ldc + half, lo[r]);
      wasm_v128_store(c + r * ldc + half + 4, hi[r]);
    }
  }
}

// c[M, N] = a[M, K] @ b[K, N]; a packed in row blocks of 6 (k-major inside a block, the last
// block M % 6 rows), b packed in 16-column panels [N / 16][K][16]; N a multiple of 16.
template <bool Relaxed>
void gemm(const float* ap, const float* bp, float* c, int M, int K, int N) {
  for (int j = 0; j < N / 16; ++j) {
    const float* panel = bp + j * K * 16;
    int i = 0;
    for (; i + 6 <= M; i += 6) block<6, Relaxed>(ap + i * K, panel, K, c + i * N + j * 16, N);
    switch (M - i) {
      case 5: block<5, Relaxed>(ap + i * K, panel, K, c + i * N + j * 16, N); break;
      case 4: block<4, Relaxed>(ap + i * K, panel, K, c + i * N + j * 16, N); break;
      case 3: block<3, Relaxed>(ap + i * K, panel, K, c + i * N + j * 16, N); break;
      case 2: block<2, Relaxed>(ap + i * K, panel, K, c + i * N + j * 16, N); break;
      case 1: block<1, Relaxed>(ap + i * K, panel, K, c + i * N + j * 16, N); break;
      default: break;
    }
  }
}

alignas(16) float g_memory[24 << 20];  // 96 MiB: a, b and two outputs, laid out by the driver

}  // namespace

extern "C" {
__attribute__((export_name("memory_base"))) float* memory_base() { return g_memory; }
__attribute__((export_name("gemm_simd128"))) void gemm_simd128(const float* ap, const float* bp, float* c, int m,
                                                                  int k, int n, int reps) {
  for (int r = 0; r < reps; ++r) gemm<false>(ap, bp, c, m, k, n);
}
__attribute__((export_name("gemm_relaxed"))) void gemm_relaxed(const float* ap, const float* bp, float* c, int m,
                                                                 int k, int n, int reps) {
  for (int r = 0; r < reps; ++r) gemm<true>(ap, bp, c, m, k, n);
}
}
