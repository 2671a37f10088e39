// Implementation of varscope:kernels — views, the matmul dispatch, the packed
// AVX2 / SIMD128 kernel, PackedWeights; at the end, the test hooks of
// modules/testing.cppm (the plain reference loop, Eigen's GEMM on its own).
module;
#include <Eigen/Core>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#elif defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#ifdef EIGEN_USE_BLAS
extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);
#endif
#include <span>
#include <string>
#include <string_view>
#include <vector>
module varscope;
#include "eigen_views.hpp"
#include "validate.hpp"

namespace varscope {

namespace {

using namespace eigen_views;
using validate::require_float;
using validate::require_rank;
using validate::shape_error;

}  // namespace

// ---------------------------------------------------------------- views

ConstMatrixView as_matrix(const Tensor& t) {
  require_float("as_matrix", t);
  if (t.shape().rank() == 0) shape_error("as_matrix", "needs rank >= 1, got a scalar");
  const std::int64_t cols = t.shape()[t.shape().rank() - 1];
  const std::int64_t rows = cols == 0 ? 0 : t.size() / cols;
  return {t.data<float>().data(), rows, cols, cols};
}
MatrixView as_matrix(Tensor& t) {
  const ConstMatrixView c = as_matrix(static_cast<const Tensor&>(t));
  return {t.data<float>().data(), c.rows, c.cols, c.row_stride};
}
ConstMatrixView time_step(const Tensor& t, std::int64_t step) {
  require_float("time_step", t);
  require_rank("time_step", t, 3);
  const auto& s = t.shape();
  if (step < 0 || step >= s[1])
    throw InvalidArgumentError("time_step: step " + std::to_string(step) + " is outside [0, " +
                               std::to_string(s[1]) + ") for shape " + s.to_string());
  const float* base = t.data<float>().data();  // null for an empty tensor: no offset then
  return {t.size() == 0 ? base : base + step * s[2], s[0], s[2], s[1] * s[2]};
}
MatrixView time_step(Tensor& t, std::int64_t step) {
  const ConstMatrixView c = time_step(static_cast<const Tensor&>(t), step);
  return {t.data<float>().data() + (c.data - t.data<float>().data()), c.rows, c.cols, c.row_stride};
}
ConstMatrixView columns(ConstMatrixView m, std::int64_t begin, std::int64_t count) {
  if (begin < 0 || count < 0 || begin + count > m.cols)
    throw InvalidArgumentError("columns: [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                               ") is outside the view's " + std::to_string(m.cols) + " columns");
  return {m.data + begin, m.rows, count, m.row_stride};
}
MatrixView columns(MatrixView m, std::int64_t begin, std::int64_t count) {
  const ConstMatrixView c = columns(ConstMatrixView(m), begin, count);
  return {m.data + begin, c.rows, c.cols, c.row_stride};
}

// ---------------------------------------------------------------- kernels

namespace {

// C[R rows, 16 columns starting at column j] (+)= A[R rows] @ B[:, j:j+16], with
// the R x 16 accumulator block held in registers (2 ymm per row with AVX2,
// 4 x 128-bit with wasm SIMD) and each B row loaded once for all R rows.
template <int R>
void small_block(ConstMatrixView a, std::int64_t i, ConstMatrixView b, std::int64_t j, MatrixView c, bool accumulate) {
  constexpr int W = 16;
  float acc[R][W];
  for (int r = 0; r < R; ++r)
    for (int x = 0; x < W; ++x) acc[r][x] = accumulate ? c.data[(i + r) * c.row_stride + j + x] : 0.0f;
  for (std::int64_t k = 0; k < a.cols; ++k) {
    const float* brow = b.data + k * b.row_stride + j;
    for (int r = 0; r < R; ++r) {
      const float s = a.data[(i + r) * a.row_stride + k];
      for (int x = 0; x < W; ++x) acc[r][x] += s * brow[x];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int x = 0; x < W; ++x) c.data[(i + r) * c.row_stride + j + x] = acc[r][x];
}

// Matrix product for few rows (a decoder or encoder step: batch x hidden), where a
// general GEMM would spend more time packing B than multiplying. Proven equal to
// the plain triple loop and to Eigen in tests/numerics_test.cpp.
void small_rows_matmul(ConstMatrixView a, ConstMatrixView b, MatrixView c, bool accumulate) {
  const std::int64_t full = b.cols / 16 * 16;
  for (std::int64_t j = 0; j < full; j += 16) {
    std::int64_t i = 0;
    for (; i + 4 <= a.rows; i += 4) small_block<4>(a, i, b, j, c, accumulate);
    switch (a.rows - i) {
      case 3: small_block<3>(a, i, b, j, c, accumulate); break;
      case 2: small_block<2>(a, i, b, j, c, accumulate); break;
      case 1: small_block<1>(a, i, b, j, c, accumulate); break;
      default: break;
    }
  }
  if (full < b.cols) {  // remaining < 16 columns: plain loops
    for (std::int64_t i = 0; i < a.rows; ++i)
      for (std::int64_t j = full; j < b.cols; ++j) {
        float sum = accumulate ? c.data[i * c.row_stride + j] : 0.0f;
        for (std::int64_t k = 0; k < a.cols; ++k) sum += a.data[i * a.row_stride + k] * b.data[k * b.row_stride + j];
        c.data[i * c.row_stride + j] = sum;
      }
  }
}

}  // namespace

namespace {
std::atomic<std::int64_t> g_blas_products{0};  // testing::blas_products_started
}  // namespace

#ifdef EIGEN_USE_BLAS
namespace {

// OpenBLAS runs on one thread of its own, always: its results change with its thread
// count (0.3.21: 24k of 737k elements differ for a [480, 768] @ [768, 1536] product at 2
// threads vs 1, and by the same measure for any split it picks), which would make results
// depend on the machine. varscope splits the products itself instead (blas_column_blocks).
void pin_openblas_to_one_thread() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}
// Pinned when the library loads, not at the first blocked product: products Eigen hands to
// BLAS itself (EIGEN_USE_BLAS: the matmul op, per-row GEMVs) must not run on OpenBLAS's
// default thread count (OPENBLAS_NUM_THREADS / the cores) either, or their rounding would
// depend on it. (threads_blas_pin_test checks it with OPENBLAS_NUM_THREADS=2.)
[[maybe_unused]] const bool openblas_pinned_at_load = (pin_openblas_to_one_thread(), true);

// A BLAS product's output columns in blocks that depend only on the shape, never on the
// thread count (OpenBLAS's rounding changes with the block, so the split must be fixed for
// results to be): from 256 columns up, 4 blocks of a quarter of the columns rounded up to a
// multiple of 16 (rounding to 64 left the 8000-column output layer 4096 / 3904 between 2
// threads), else one.
struct ColumnBlocks {
  std::int64_t width = 0, count = 1;
};
ColumnBlocks blas_column_blocks(std::int64_t cols) {
  if (cols < 256) return {cols, 1};
  const std::int64_t width = ((cols + 3) / 4 + 15) / 16 * 16;
  return {width, (cols + width - 1) / width};
}

// out[:, j0:j0+n] (+)= op(a) op(b)[:, j0:j0+n] for each column block, the blocks spread over
// varscope's threads. Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so b
// comes first: with transpose_b its block is rows j0.. of b, else columns j0.. .
void blas_gemm_blocks(ConstMatrixView a, bool transpose_a, ConstMatrixView b, bool transpose_b, MatrixView out,
                      std::int64_t k, bool accumulate) {
  pin_openblas_to_one_thread();
  g_blas_products.fetch_add(1, std::memory_order_relaxed);
  const ColumnBlocks blocks = blas_column_blocks(out.cols);
  const char ta = transpose_a ? 'T' : 'N', tb = transpose_b ? 'T' : 'N';
  const int bn = static_cast<int>(out.rows), bk = static_cast<int>(k);
  const int lda = static_cast<int>(std::max<std::int64_t>(b.row_stride, 1));
  const int ldb = static_cast<int>(std::max<std::int64_t>(a.row_stride, 1));
  const int ldc = static_cast<int>(std::max<std::int64_t>(out.row_stride, 1));
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  parallel_for(blocks.count, 2.0 * double(out.rows) * double(out.cols) * double(k),
               [&](std::int64_t begin, std::int64_t end) {
                 for (std::int64_t blk = begin; blk < end; ++blk) {
                   const std::int64_t j0 = blk * blocks.width;
                   const int bm = static_cast<int>(std::min(blocks.width, out.cols - j0));
                   const float* bp = transpose_b ? b.data + j0 * b.row_stride : b.data + j0;
                   sgemm_(&tb, &ta, &bm, &bn, &bk, &alpha, bp, &lda, a.data, &ldb, &beta, out.data + j0, &ldc);
                 }
               });
}

}  // namespace
#endif

namespace {
void gemm_into(ConstMatrixView a, bool transpose_a, ConstMatrixView b, bool transpose_b, MatrixView out,
               bool accumulate, const char* what);
}  // namespace

void matmul_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate) {
  if (a.cols != b.rows || out.rows != a.rows || out.cols != b.cols)
    shape_error("matmul", "[" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "] @ [" +
                              std::to_string(b.rows) + ", " + std::to_string(b.cols) + "] into [" +
                              std::to_string(out.rows) + ", " + std::to_string(out.cols) + "]");
  if (a.rows <= kSmallRowsThreshold) {
    small_rows_matmul(a, b, out, accumulate);
    return;
  }
#ifdef EIGEN_USE_BLAS
  // Straight to BLAS with beta = 0 when not accumulating: Eigen's product
  // would zero `out` first and then accumulate (one more pass over a large
  // output such as [B*T, vocab] logits). Row-major C = A B is column-major
  // C^T = B^T A^T, so the operands swap places.
  gemm_into(a, false, b, false, out, accumulate, "matmul");
#else
  if (accumulate) {
    eigen(out).noalias() += eigen(a) * eigen(b);
  } else {
    eigen(out).noalias() = eigen(a) * eigen(b);
  }
#endif
}

namespace {
// Row-major C (+)= op(A) op(B) through column-major BLAS: C^T = op(B)^T op(A)^T,
// so the operands swap places and each keeps its own transpose flag.
void gemm_into(ConstMatrixView a, bool transpose_a, ConstMatrixView b, bool transpose_b, MatrixView out,
               bool accumulate, const char* what) {
  const std::int64_t m = transpose_a ? a.cols : a.rows, k = transpose_a ? a.rows : a.cols;
  const std::int64_t kb = transpose_b ? b.cols : b.rows, n = transpose_b ? b.rows : b.cols;
  if (k != kb || out.rows != m || out.cols != n)
    shape_error(what, "[" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "]" + (transpose_a ? "^T" : "") +
                          " @ [" + std::to_string(b.rows) + ", " + std::to_string(b.cols) + "]" +
                          (transpose_b ? "^T" : "") + " into [" + std::to_string(out.rows) + ", " +
                          std::to_string(out.cols) + "]");
  if (m == 0 || n == 0) return;
#ifdef EIGEN_USE_BLAS
  if (k == 0) {
    if (!accumulate) eigen(out).setZero();
    return;
  }
  blas_gemm_blocks(a, transpose_a, b, transpose_b, out, k, accumulate);
#elif defined(__EMSCRIPTEN__)
  // Eigen 3.4 has no SIMD128 GEMM, so its products would run scalar in wasm (training's
  // backward products: weight gradients x^T dy and input gradients dy W^T). op(b) is packed
  // (transposed on the way when transpose_b) into a per-thread PackedMatrix and the product
  // runs on the SIMD128 packed kernel; a transposed a is copied into a per-thread buffer.
  // Both buffers only ever grow: no allocation per step once warm. The copies are 1/m and
  // 1/n of the product's work. numerics_test checks every transpose combination against the
  // reference loop.
  thread_local std::vector<float> a_t;
  thread_local PackedMatrix b_packed;
  ConstMatrixView lhs = a;
  if (transpose_a) {  // a [k, m] -> [m, k]
    if (a_t.size() < static_cast<std::size_t>(m * k)) a_t.resize(static_cast<std::size_t>(m * k));
    for (std::int64_t r = 0; r < k; ++r)
      for (std::int64_t c = 0; c < m; ++c) a_t[static_cast<std::size_t>(c * k + r)] = a.data[r * a.row_stride + c];
    lhs = ConstMatrixView(a_t.data(), m, k, k);
  }
  if (transpose_b)
    b_packed.repack(b, PackedMatrix::Transposed{});
  else
    b_packed.repack(b);
  matmul_packed_into(lhs, b_packed, out, accumulate);
#else
  auto o = eigen(out);
  const auto ea = eigen(a);
  const auto eb = eigen(b);
  if (!accumulate) o.setZero();
  if (transpose_a && transpose_b)
    o.noalias() += ea.transpose() * eb.transpose();
  else if (transpose_a)
    o.noalias() += ea.transpose() * eb;
  else if (transpose_b)
    o.noalias() += ea * eb.transpose();
  else
    o.noalias() += ea * eb;
#endif
}
}  // namespace

void matmul_transposed_a_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate) {
  gemm_into(a, true, b, false, out, accumulate, "matmul (a^T b)");
}

void matmul_transposed_b_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate) {
  gemm_into(a, false, b, true, out, accumulate, "matmul (a b^T)");
}

// ---------------------------------------------------------------- packed products

PackedMatrix::PackedMatrix(ConstMatrixView b) { repack(b); }

PackedMatrix::PackedMatrix(ConstMatrixView bt, Transposed) { repack(bt, Transposed{}); }

namespace {
// Grows `data` (never shrinks; values left uninitialised) to hold `rows` x `cols` packed.
void reserve_panels(TensorStorage<float>& data, std::int64_t rows, std::int64_t cols) {
  constexpr std::int64_t W = PackedMatrix::kPanelWidth;
  const auto need = static_cast<std::size_t>(rows * ((cols + W - 1) / W) * W);
  if (data.size() < need) data.resize(need);
}
}  // namespace

void PackedMatrix::repack(ConstMatrixView b) {
  rows_ = b.rows;
  cols_ = b.cols;
  reserve_panels(data_, rows_, cols_);
  const std::int64_t panels = (cols_ + kPanelWidth - 1) / kPanelWidth;
  // Panels split over the threads (a training step repacks every recurrent kernel after Adam).
  parallel_for(panels, 4.0 * double(rows_) * double(cols_), [&](std::int64_t j_begin, std::int64_t j_end) {
    for (std::int64_t j = j_begin; j < j_end; ++j) {
      float* dst = data_.data() + j * rows_ * kPanelWidth;
      const std::int64_t width = std::min(kPanelWidth, cols_ - j * kPanelWidth);
      for (std::int64_t k = 0; k < rows_; ++k) {
        const float* src = b.data + k * b.row_stride + j * kPanelWidth;
        std::copy_n(src, width, dst + k * kPanelWidth);
        std::fill(dst + k * kPanelWidth + width, dst + (k + 1) * kPanelWidth, 0.0f);
      }
    }
  });
}

void PackedMatrix::repack(ConstMatrixView bt, Transposed) {
  rows_ = bt.cols;
  cols_ = bt.rows;
  reserve_panels(data_, rows_, cols_);
  // Panel j holds rows j*16 .. j*16+15 of bt as its columns, written 16 k at a time: the
  // 16 x 16 block is read along bt's rows and written down the panel's columns, both in L1
  // (twice as fast as whole columns at a time, measured on a GRU's [256, 512] h-rows).
  const std::int64_t panels = (cols_ + kPanelWidth - 1) / kPanelWidth;
  constexpr std::int64_t kBlock = 16;
  parallel_for(panels, 4.0 * double(rows_) * double(cols_), [&](std::int64_t j_begin, std::int64_t j_end) {
    for (std::int64_t j = j_begin; j < j_end; ++j) {
      float* dst = data_.data() + j * rows_ * kPanelWidth;
      const std::int64_t width = std::min(kPanelWidth, cols_ - j * kPanelWidth);
      for (std::int64_t k0 = 0; k0 < rows_; k0 += kBlock) {
        const std::int64_t k1 = std::min(rows_, k0 + kBlock);
        for (std::int64_t c = 0; c < width; ++c) {
          const float* src = bt.data + (j * kPanelWidth + c) * bt.row_stride;  // row of bt = column of b
          for (std::int64_t k = k0; k < k1; ++k) dst[k * kPanelWidth + c] = src[k];
        }
        for (std::int64_t k = k0; k < k1; ++k)
          std::fill(dst + k * kPanelWidth + width, dst + (k + 1) * kPanelWidth, 0.0f);
      }
    }
  });
}

namespace {

// R rows of a, packed k-major (ap[k * R + r] = a[r][k]), times one packed panel
// (kc rows of 16 floats) into R x `width` of c; `accumulate` adds to what c holds.
template <int R>
void packed_block(const float* ap, const float* panel, std::int64_t kc, float* c, std::int64_t ldc,
                  std::int64_t width, bool accumulate) {
#if defined(__AVX2__) && defined(__FMA__)
  __m256 lo[R], hi[R];
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
  for (std::int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(panel + k * 16), b1 = _mm256_load_ps(panel + k * 16 + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_broadcast_ss(ap + k * R + r);
      lo[r] = _mm256_fmadd_ps(x, b0, lo[r]);
      hi[r] = _mm256_fmadd_ps(x, b1, hi[r]);
    }
  }
  if (width == 16) {  // full panel: straight from registers
    for (int r = 0; r < R; ++r) {
      float* row = c + r * ldc;
      if (accumulate) {
        lo[r] = _mm256_add_ps(lo[r], _mm256_loadu_ps(row));
        hi[r] = _mm256_add_ps(hi[r], _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, lo[r]);
      _mm256_storeu_ps(row + 8, hi[r]);
    }
    return;
  }
  alignas(32) float acc[R][16];
  for (int r = 0; r < R; ++r) {
    _mm256_store_ps(acc[r], lo[r]);
    _mm256_store_ps(acc[r] + 8, hi[r]);
  }
#elif defined(__wasm_simd128__)
  // 16 SIMD128 registers on the engines' x86 targets: 8 columns at a time
  // (R x 2 accumulators + 2 loads + 1 splat), two passes per panel.
  alignas(16) float acc[R][16];
  for (int half = 0; half < 16; half += 8) {
    v128_t lo[R], hi[R];
    for (int r = 0; r < R; ++r) lo[r] = hi[r] = wasm_f32x4_splat(0.0f);
    for (std::int64_t k = 0; k < kc; ++k) {
      const v128_t b0 = wasm_v128_load(panel + k * 16 + half), b1 = wasm_v128_load(panel + k * 16 + half + 4);
      for (int r = 0; r < R; ++r) {
        const v128_t x = wasm_f32x4_splat(ap[k * R + r]);
        lo[r] = wasm_f32x4_add(lo[r], wasm_f32x4_mul(x, b0));
        hi[r] = wasm_f32x4_add(hi[r], wasm_f32x4_mul(x, b1));
      }
    }
    for (int r = 0; r < R; ++r) {
      wasm_v128_store(acc[r] + half, lo[r]);
      wasm_v128_store(acc[r] + half + 4, hi[r]);
    }
  }
#else
  float acc[R][16] = {};
  for (std::int64_t k = 0; k < kc; ++k)
    for (int r = 0; r < R; ++r) {
      const float x = ap[k * R + r];
      for (int j = 0; j < 16; ++j) acc[r][j] += x * panel[k * 16 + j];
    }
#endif
  for (int r = 0; r < R; ++r) {
    float* row = c + r * ldc;
    for (std::int64_t j = 0; j < width; ++j) row[j] = accumulate ? row[j] + acc[r][j] : acc[r][j];
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// R (1 or 2) rows of a times P full panels side by side (panel p at panel0 + p * panel_stride), into
// R x 16P of c. packed_block<R> has only 2R accumulators, fewer than the 8 two FMA units with a
// 4-cycle latency keep busy: a batch of 1 or 2 ran its recurrent steps at ~30% / ~57% of the core's
// peak, now ~51% / ~94% (bench/packed_kernel_bench). 2RP = 12 here; 3 rows with P = 2 spill a
// register and ran slower than packed_block<3>. Every output element is summed in the same order
// as there (k ascending, one FMA each, then c added once), so results do not change.
template <int R, int P>
void packed_block_wide(const float* ap, const float* panel0, std::int64_t panel_stride, std::int64_t kc, float* c,
                       std::int64_t ldc, bool accumulate) {
  __m256 acc[R][P][2];
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p) acc[r][p][0] = acc[r][p][1] = _mm256_setzero_ps();
  for (std::int64_t k = 0; k < kc; ++k) {
    __m256 x[R];
    for (int r = 0; r < R; ++r) x[r] = _mm256_broadcast_ss(ap + k * R + r);
    for (int p = 0; p < P; ++p) {
      const float* b = panel0 + p * panel_stride + k * 16;
      const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
      for (int r = 0; r < R; ++r) {
        acc[r][p][0] = _mm256_fmadd_ps(x[r], b0, acc[r][p][0]);
        acc[r][p][1] = _mm256_fmadd_ps(x[r], b1, acc[r][p][1]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p) {
      float* row = c + r * ldc + p * 16;
      if (accumulate) {
        acc[r][p][0] = _mm256_add_ps(acc[r][p][0], _mm256_loadu_ps(row));
        acc[r][p][1] = _mm256_add_ps(acc[r][p][1], _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, acc[r][p][0]);
      _mm256_storeu_ps(row + 8, acc[r][p][1]);
    }
}

// The last 1 or 2 rows of a over panels [j, j_end), P full panels at a time; returns the first
// panel left for packed_block<R> (the partial last panel, and fewer than P at the end).
template <int R>
std::int64_t remainder_rows_wide(const float* ap, const PackedMatrix& b, std::int64_t k0, std::int64_t kc,
                                 std::int64_t j, std::int64_t j_end, float* c, std::int64_t ldc, bool accumulate) {
  constexpr int P = 6 / R;
  constexpr std::int64_t W = PackedMatrix::kPanelWidth;
  const std::int64_t full_end = std::min(j_end, b.cols() / W);  // panels of 16 real columns
  const std::int64_t stride = b.rows() * W;
  for (; j + P <= full_end; j += P)
    packed_block_wide<R, P>(ap, b.panel(j) + k0 * W, stride, kc, c + j * W, ldc, accumulate);
  return j;
}
#endif

// Copies rows [i0, i0 + rows) x columns [k0, k0 + kc) of a into blocks of
// kRowBlock rows, each k-major (the last block may have fewer rows): the kernel
// then reads its broadcasts from one contiguous stream.
// 6 rows natively (12 AVX2 accumulators); 4 in wasm: V8's register allocator spills the
// 6-row block's 15 live SIMD128 values, and 4-row blocks run products of 16-64 rows 1.5-1.8x
// faster in Chromium and node (bench/relaxed_simd_probe.mjs). Each output element is summed
// in the same order either way, so the results do not change.
#if defined(__wasm_simd128__)
constexpr std::int64_t kRowBlock = 4;
#else
constexpr std::int64_t kRowBlock = 6;
#endif
#if defined(__AVX2__)
// Eight k of a full 6-row block, transposed in registers: dst[kk * 6 + r] = row[r][k + kk] for
// kk < 8 (48 floats). The scalar loop below stored one float at a time at a stride of 6 and
// took ~1 ns per float, ~5% of a recurrent step's product at one thread.
inline void pack_6x8(const float* const row[6], std::int64_t k, float* dst) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 t0 = _mm256_unpacklo_ps(_mm256_loadu_ps(row[0] + k), _mm256_loadu_ps(row[1] + k));
  const __m256 t1 = _mm256_unpackhi_ps(_mm256_loadu_ps(row[0] + k), _mm256_loadu_ps(row[1] + k));
  const __m256 t2 = _mm256_unpacklo_ps(_mm256_loadu_ps(row[2] + k), _mm256_loadu_ps(row[3] + k));
  const __m256 t3 = _mm256_unpackhi_ps(_mm256_loadu_ps(row[2] + k), _mm256_loadu_ps(row[3] + k));
  const __m256 t4 = _mm256_unpacklo_ps(_mm256_loadu_ps(row[4] + k), _mm256_loadu_ps(row[5] + k));
  const __m256 t5 = _mm256_unpackhi_ps(_mm256_loadu_ps(row[4] + k), _mm256_loadu_ps(row[5] + k));
  // s0 = [r0..r3 of k+0 | of k+4], s1: k+1 | k+5, s2: k+2 | k+6, s3: k+3 | k+7; s4..s7 the same for r4, r5.
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, zero, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, zero, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, zero, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, zero, _MM_SHUFFLE(3, 2, 3, 2));
  // Each 8-wide store writes one k's 6 values and 2 that the next store overwrites; the
  // last k's 6 values are stored as 4 + 2, so nothing is written past the 48 floats.
  _mm256_storeu_ps(dst + 0, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 6, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 12, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 18, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 24, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 30, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 36, _mm256_permute2f128_ps(s2, s6, 0x31));
  const __m256 last = _mm256_permute2f128_ps(s3, s7, 0x31);
  _mm_storeu_ps(dst + 42, _mm256_castps256_ps128(last));
  _mm_storel_pi(reinterpret_cast<__m64*>(dst + 46), _mm256_extractf128_ps(last, 1));
}
#endif

// Row blocks are split over the threads when a is large (every step of a batch at once).
void pack_rows(ConstMatrixView a, std::int64_t k0, std::int64_t kc, float* out) {
  const std::int64_t blocks = (a.rows + kRowBlock - 1) / kRowBlock;
  // One unit of work per float: with pack_6x8 a float costs well under a nanosecond, so only
  // a's of ~200k floats and more (every step of a training batch at once) open a region.
  parallel_for(blocks, double(a.rows) * double(kc), [&](std::int64_t b_begin, std::int64_t b_end) {
    for (std::int64_t bi = b_begin; bi < b_end; ++bi) {
      const std::int64_t i = bi * kRowBlock, r_count = std::min(kRowBlock, a.rows - i);
      float* dst = out + i * kc;  // every block before this one is full
      std::int64_t k_done = 0;
#if defined(__AVX2__)
      if (r_count == 6) {
        static_assert(kRowBlock == 6);
        const float* row[6];
        for (int r = 0; r < 6; ++r) row[r] = a.data + (i + r) * a.row_stride + k0;
        for (; k_done + 8 <= kc; k_done += 8) pack_6x8(row, k_done, dst + k_done * 6);
      }
#endif
      for (std::int64_t r = 0; r < r_count; ++r) {
        const float* src = a.data + (i + r) * a.row_stride + k0;
        for (std::int64_t k = k_done; k < kc; ++k) dst[k * r_count + r] = src[k];
      }
    }
  });
}

}  // namespace

void matmul_packed_into(ConstMatrixView a, const PackedMatrix& b, MatrixView out, bool accumulate) {
  if (a.cols != b.rows() || out.rows != a.rows || out.cols != b.cols())
    shape_error("matmul_packed", "[" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "] @ packed [" +
                                     std::to_string(b.rows()) + ", " + std::to_string(b.cols()) + "] into [" +
                                     std::to_string(out.rows) + ", " + std::to_string(out.cols) + "]");
  constexpr std::int64_t W = PackedMatrix::kPanelWidth;
  // Depth blocks of up to 512: one panel block (512 x 16 floats = 32 KiB) stays
  // in L1 while every 6-row block of a passes over it.
  constexpr std::int64_t kDepthBlock = 512;
  const std::int64_t panels = (b.cols() + W - 1) / W;
  if (b.rows() == 0 && !accumulate)
    for (std::int64_t i = 0; i < out.rows; ++i) std::fill_n(out.data + i * out.row_stride, out.cols, 0.0f);
  // a's depth block, repacked (per thread; grows to the largest block seen, then reused).
  thread_local TensorStorage<float> a_packed;
  const auto need = static_cast<std::size_t>(a.rows * std::min(kDepthBlock, b.rows()));
  if (a_packed.size() < need) a_packed.resize(need);
  for (std::int64_t k0 = 0; k0 < b.rows(); k0 += kDepthBlock) {
    const std::int64_t kc = std::min(kDepthBlock, b.rows() - k0);
    const bool add = accumulate || k0 > 0;
    pack_rows(a, k0, kc, a_packed.data());
    const float* ap = a_packed.data();
    // Each 16-column panel of `out` is computed whole by one thread, the same way for
    // any thread count: results do not depend on it.
    parallel_for(panels, 2.0 * double(a.rows) * double(kc) * double(b.cols()), [&](std::int64_t j_begin,
                                                                                 std::int64_t j_end) {
      const std::int64_t full_rows = a.rows - a.rows % kRowBlock, rest = a.rows - full_rows;
      std::int64_t j_rest = j_begin;  // the first panel whose last `rest` rows are still to do
#if defined(__AVX2__) && defined(__FMA__)
      {
        const float* ai = ap + full_rows * kc;
        float* ci = out.data + full_rows * out.row_stride;
        if (rest == 1) j_rest = remainder_rows_wide<1>(ai, b, k0, kc, j_begin, j_end, ci, out.row_stride, add);
        if (rest == 2) j_rest = remainder_rows_wide<2>(ai, b, k0, kc, j_begin, j_end, ci, out.row_stride, add);
      }
#endif
      for (std::int64_t j = j_begin; j < j_end; ++j) {
        const float* panel = b.panel(j) + k0 * W;
        const std::int64_t width = std::min(W, b.cols() - j * W);
        float* c = out.data + j * W;
        std::int64_t i = 0;
        for (; i < full_rows; i += kRowBlock)
          packed_block<kRowBlock>(ap + i * kc, panel, kc, c + i * out.row_stride, out.row_stride, width, add);
        if (j < j_rest) continue;  // its last rows were done P panels at a time
        const float* ai = ap + i * kc;
        float* ci = c + i * out.row_stride;
        switch (rest) {
          case 5: packed_block<5>(ai, panel, kc, ci, out.row_stride, width, add); break;
          case 4: packed_block<4>(ai, panel, kc, ci, out.row_stride, width, add); break;
          case 3: packed_block<3>(ai, panel, kc, ci, out.row_stride, width, add); break;
          case 2: packed_block<2>(ai, panel, kc, ci, out.row_stride, width, add); break;
          case 1: packed_block<1>(ai, panel, kc, ci, out.row_stride, width, add); break;
          default: break;
        }
      }
    });
  }
}

void bias_add_into(MatrixView out, std::span<const float> bias) {
  if (static_cast<std::int64_t>(bias.size()) != out.cols)
    shape_error("bias_add", "bias has " + std::to_string(bias.size()) + " values for " + std::to_string(out.cols) +
                                " columns");
  Eigen::Map<const Eigen::RowVectorXf> b(bias.data(), static_cast<Eigen::Index>(bias.size()));
  eigen(out).rowwise() += b;
}

void sigmoid_into(MatrixView x) {
  auto m = eigen(x);
  m = (1.0f + (-m.array()).exp()).inverse().matrix();
}
void tanh_into(MatrixView x) {
  auto m = eigen(x);
  m = m.array().tanh().matrix();
}

// ---------------------------------------------------------------- PackedWeights

namespace {
// Rows [row_begin, row_begin + rows) of w's value, checked.
ConstMatrixView rows_of(const Variable& w, std::int64_t row_begin, std::int64_t rows) {
  const ConstMatrixView all = as_matrix(w.value());
  if (row_begin < 0 || rows < 0 || row_begin + rows > all.rows)
    throw ShapeMismatchError("PackedWeights: rows [" + std::to_string(row_begin) + ", " +
                             std::to_string(row_begin + rows) + ") of " + w.name() + " " + w.shape().to_string() +
                             " do not exist");
  return {all.data + row_begin * all.row_stride, rows, all.cols, all.row_stride};
}
}  // namespace

std::shared_ptr<const PackedMatrix> PackedWeights::packed(const Variable& w, ConstMatrixView part,
                                                          std::int64_t row_begin, bool transposed) const {
  std::lock_guard lock(cache_->mutex);
  Cache& c = *cache_;
  if (!c.packed || !c.source || !(*c.source == w) || c.version != w.version() || c.row_begin != row_begin ||
      c.rows != part.rows || c.transposed != transposed) {
    if (c.packed && c.packed.use_count() == 1) {
      // Nobody holds the old copy (copies of c.packed are only made here, under the lock, so
      // the count can only fall): repack into its storage, no allocation and no fresh pages.
      if (transposed)
        c.packed->repack(part, PackedMatrix::Transposed{});
      else
        c.packed->repack(part);
    } else {
      c.packed = transposed ? std::make_shared<PackedMatrix>(part, PackedMatrix::Transposed{})
                            : std::make_shared<PackedMatrix>(part);
    }
    c.source = w;
    c.version = w.version();
    c.row_begin = row_begin;
    c.rows = part.rows;
    c.transposed = transposed;
  }
  return c.packed;
}

void PackedWeights::matmul_into(ConstMatrixView x, const Variable& w, std::int64_t row_begin, std::int64_t rows,
                                MatrixView out, bool accumulate) const {
  const ConstMatrixView part = rows_of(w, row_begin, rows);
  if (!kPackedKernelIsSimd) {
    varscope::matmul_into(x, part, out, accumulate);
    return;
  }
#ifdef EIGEN_USE_BLAS
  // Many rows, and weights not packed yet or changing between uses (a training step's output
  // layer over [B*T, H], once per update): packing a fresh copy for one product would cost
  // more than OpenBLAS's own blocking, so hand the product to it. Weights seen unchanged
  // since their last use (a decoder's output layer over a batch of 64+ rows) are packed then
  // and stay packed.
  if (!every_step_ && x.rows >= 64 && hand_to_blas(w, row_begin, rows)) {
    varscope::matmul_into(x, part, out, accumulate);
    return;
  }
#endif
  matmul_packed_into(x, *packed(w, part, row_begin, false), out, accumulate);
}

bool PackedWeights::hand_to_blas(const Variable& w, std::int64_t row_begin, std::int64_t rows) const {
  std::lock_guard lock(cache_->mutex);
  Cache& c = *cache_;
  const bool same = c.source && *c.source == w && c.row_begin == row_begin && c.rows == rows && !c.transposed;
  if (same && c.packed && c.version == w.version()) return false;  // packed and current
  if (!c.changes_between_uses) {
    if (same && c.version == w.version()) return false;  // unchanged since its last use: pack it now
    if (same) {
      c.changes_between_uses = true;  // changed since its last use: a weight being trained
    } else {  // first use (of this weight or rows): remember the version; a copy of others goes
      c.packed.reset();  // (packed() trusts these fields to describe c.packed)
      c.source = w;
      c.version = w.version();
      c.row_begin = row_begin;
      c.rows = rows;
      c.transposed = false;
    }
  }
  if (c.changes_between_uses && c.packed && c.packed.use_count() == 1) c.packed.reset();  // stale: its memory goes back
  return true;
}

void PackedWeights::matmul_transposed_into(ConstMatrixView x, const Variable& w, MatrixView out) const {
  matmul_transposed_into(x, w, 0, as_matrix(w.value()).rows, out);
}

void PackedWeights::matmul_transposed_into(ConstMatrixView x, const Variable& w, std::int64_t row_begin,
                                           std::int64_t rows, MatrixView out, bool accumulate) const {
  const ConstMatrixView part = rows_of(w, row_begin, rows);
  if (!kPackedKernelIsSimd) {
    varscope::matmul_transposed_b_into(x, part, out, accumulate);
    return;
  }
  matmul_packed_into(x, *packed(w, part, row_begin, true), out, accumulate);
}

}  // namespace varscope

// The test hooks declared in modules/testing.cppm (module varscope.testing). `extern "C++"`
// attaches them to the global module: the same functions those declarations name, and
// not part of `import varscope;`. The library itself never calls them.
extern "C++" {
namespace varscope::testing {

std::int64_t blas_products_started() noexcept { return g_blas_products.load(std::memory_order_relaxed); }

void matmul_reference_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate) {
  if (a.cols != b.rows || out.rows != a.rows || out.cols != b.cols)
    shape_error("matmul_reference", "operand shapes do not fit");
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.cols; ++j) {
      double sum = accumulate ? out.data[i * out.row_stride + j] : 0.0;
      for (std::int64_t k = 0; k < a.cols; ++k)
        sum += double(a.data[i * a.row_stride + k]) * double(b.data[k * b.row_stride + j]);
      out.data[i * out.row_stride + j] = static_cast<float>(sum);
    }
}

int blas_threads() noexcept {
#ifdef EIGEN_USE_BLAS
  return openblas_get_num_threads();
#else
  return 0;
#endif
}

void matmul_eigen_into(ConstMatrixView a, ConstMatrixView b, MatrixView out) {
  if (a.cols != b.rows || out.rows != a.rows || out.cols != b.cols)
    shape_error("matmul_eigen", "operand shapes do not fit");
  eigen(out).noalias() = eigen(a) * eigen(b);
}

}  // namespace varscope::testing
}
