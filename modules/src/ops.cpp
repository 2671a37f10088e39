// Implementation of varscope:ops. Readable loops for the data-movement ops;
// Eigen maps (no copies) for the arithmetic.
module;
#include <Eigen/Core>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#elif defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>
module varscope;
#include "eigen_views.hpp"

namespace varscope {

namespace {

using namespace eigen_views;

[[noreturn]] void shape_error(const std::string& op, const std::string& detail) {
  throw ShapeMismatchError(op + ": " + detail);
}

void require_float(const std::string& op, const Tensor& t, const char* what = "input") {
  if (t.dtype() != DType::float32)
    throw DTypeMismatchError(op + ": " + what + " must be float32, got " + std::string(dtype_name(t.dtype())) +
                             " with shape " + t.shape().to_string());
}
void require_int(const std::string& op, const Tensor& t, const char* what) {
  if (t.dtype() != DType::int32)
    throw DTypeMismatchError(op + ": " + what + " must be int32, got " + std::string(dtype_name(t.dtype())) +
                             " with shape " + t.shape().to_string());
}
void require_rank(const std::string& op, const Tensor& t, std::size_t rank, const char* what = "input") {
  if (t.shape().rank() != rank)
    shape_error(op, std::string(what) + " must have rank " + std::to_string(rank) + ", got shape " +
                        t.shape().to_string());
}

std::size_t normalize_axis(const std::string& op, int axis, std::size_t rank) {
  const int r = static_cast<int>(rank);
  if (axis < -r || axis >= r)
    throw InvalidArgumentError(op + ": axis " + std::to_string(axis) + " is out of range for rank " +
                               std::to_string(rank));
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// [outer, axis, inner] decomposition of a shape around one axis.
struct AxisSplit {
  std::int64_t outer = 1, dim = 1, inner = 1;
};
AxisSplit around(const Shape& s, std::size_t axis) {
  AxisSplit a;
  for (std::size_t i = 0; i < axis; ++i) a.outer *= s[i];
  a.dim = s[axis];
  for (std::size_t i = axis + 1; i < s.rank(); ++i) a.inner *= s[i];
  return a;
}

Shape without_axis(const Shape& s, std::size_t axis) {
  std::vector<std::int64_t> d = s.dims();
  d.erase(d.begin() + static_cast<std::ptrdiff_t>(axis));
  return Shape(std::move(d));
}

// Applies f to each element of a copy of x.
template <class F>
Tensor map_float(const std::string& op, const Tensor& x, F f) {
  require_float(op, x);
  Tensor out = x;
  for (auto& v : out.data<float>()) v = f(v);
  return out;
}

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
  if (out.rows == 0 || out.cols == 0) return;
  const char no_transpose = 'N';
  const int m = static_cast<int>(out.cols), n = static_cast<int>(out.rows), k = static_cast<int>(a.cols);
  const int lda = static_cast<int>(std::max<std::int64_t>(b.row_stride, std::max(m, 1)));
  const int ldb = static_cast<int>(std::max<std::int64_t>(a.row_stride, std::max(k, 1)));
  const int ldc = static_cast<int>(std::max<std::int64_t>(out.row_stride, std::max(m, 1)));
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  sgemm_(&no_transpose, &no_transpose, &m, &n, &k, &alpha, b.data, &lda, a.data, &ldb, &beta, out.data, &ldc);
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
  const char ta = transpose_a ? 'T' : 'N', tb = transpose_b ? 'T' : 'N';
  const int bm = static_cast<int>(n), bn = static_cast<int>(m), bk = static_cast<int>(k);
  const int lda = static_cast<int>(std::max<std::int64_t>(b.row_stride, 1));
  const int ldb = static_cast<int>(std::max<std::int64_t>(a.row_stride, 1));
  const int ldc = static_cast<int>(std::max<std::int64_t>(out.row_stride, 1));
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  sgemm_(&tb, &ta, &bm, &bn, &bk, &alpha, b.data, &lda, a.data, &ldb, &beta, out.data, &ldc);
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

PackedMatrix::PackedMatrix(ConstMatrixView b)
    : rows_(b.rows), cols_(b.cols),
      data_(static_cast<std::size_t>(b.rows * ((b.cols + kPanelWidth - 1) / kPanelWidth) * kPanelWidth)) {
  const std::int64_t panels = (cols_ + kPanelWidth - 1) / kPanelWidth;
  for (std::int64_t j = 0; j < panels; ++j) {
    float* dst = data_.data() + j * rows_ * kPanelWidth;
    const std::int64_t width = std::min(kPanelWidth, cols_ - j * kPanelWidth);
    for (std::int64_t k = 0; k < rows_; ++k) {
      const float* src = b.data + k * b.row_stride + j * kPanelWidth;
      std::copy_n(src, width, dst + k * kPanelWidth);
      std::fill(dst + k * kPanelWidth + width, dst + (k + 1) * kPanelWidth, 0.0f);
    }
  }
}

PackedMatrix::PackedMatrix(ConstMatrixView bt, Transposed)
    : rows_(bt.cols), cols_(bt.rows),
      data_(static_cast<std::size_t>(bt.cols * ((bt.rows + kPanelWidth - 1) / kPanelWidth) * kPanelWidth)) {
  const std::int64_t panels = (cols_ + kPanelWidth - 1) / kPanelWidth;
  for (std::int64_t j = 0; j < panels; ++j) {
    float* dst = data_.data() + j * rows_ * kPanelWidth;
    for (std::int64_t c = 0; c < kPanelWidth; ++c) {
      const std::int64_t n = j * kPanelWidth + c;  // column of b = row of bt
      for (std::int64_t k = 0; k < rows_; ++k) dst[k * kPanelWidth + c] = n < cols_ ? bt.data[n * bt.row_stride + k] : 0.0f;
    }
  }
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

// Copies rows [i0, i0 + rows) x columns [k0, k0 + kc) of a into blocks of
// kRowBlock rows, each k-major (the last block may have fewer rows): the kernel
// then reads its broadcasts from one contiguous stream.
constexpr std::int64_t kRowBlock = 6;
void pack_rows(ConstMatrixView a, std::int64_t k0, std::int64_t kc, float* out) {
  for (std::int64_t i = 0; i < a.rows; i += kRowBlock) {
    const std::int64_t r_count = std::min(kRowBlock, a.rows - i);
    for (std::int64_t r = 0; r < r_count; ++r) {
      const float* src = a.data + (i + r) * a.row_stride + k0;
      for (std::int64_t k = 0; k < kc; ++k) out[k * r_count + r] = src[k];
    }
    out += r_count * kc;
  }
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
    for (std::int64_t j = 0; j < panels; ++j) {
      const float* panel = b.panel(j) + k0 * W;
      const std::int64_t width = std::min(W, b.cols() - j * W);
      float* c = out.data + j * W;
      std::int64_t i = 0;
      for (; i + kRowBlock <= a.rows; i += kRowBlock)
        packed_block<6>(a_packed.data() + i * kc, panel, kc, c + i * out.row_stride, out.row_stride, width, add);
      const float* ai = a_packed.data() + i * kc;
      float* ci = c + i * out.row_stride;
      switch (a.rows - i) {
        case 5: packed_block<5>(ai, panel, kc, ci, out.row_stride, width, add); break;
        case 4: packed_block<4>(ai, panel, kc, ci, out.row_stride, width, add); break;
        case 3: packed_block<3>(ai, panel, kc, ci, out.row_stride, width, add); break;
        case 2: packed_block<2>(ai, panel, kc, ci, out.row_stride, width, add); break;
        case 1: packed_block<1>(ai, panel, kc, ci, out.row_stride, width, add); break;
        default: break;
      }
    }
  }
}

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

void matmul_eigen_into(ConstMatrixView a, ConstMatrixView b, MatrixView out) {
  if (a.cols != b.rows || out.rows != a.rows || out.cols != b.cols)
    shape_error("matmul_eigen", "operand shapes do not fit");
  eigen(out).noalias() = eigen(a) * eigen(b);
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

// ---------------------------------------------------------------- value ops

Tensor matmul_forward(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  require_float("matmul", a, "a");
  require_float("matmul", b, "b");
  require_rank("matmul", a, 2, "a");
  require_rank("matmul", b, 2, "b");
  const std::int64_t m = transpose_a ? a.shape()[1] : a.shape()[0];
  const std::int64_t k = transpose_a ? a.shape()[0] : a.shape()[1];
  const std::int64_t kb = transpose_b ? b.shape()[1] : b.shape()[0];
  const std::int64_t n = transpose_b ? b.shape()[0] : b.shape()[1];
  if (k != kb)
    shape_error("matmul", "inner dimensions differ: a " + a.shape().to_string() + (transpose_a ? "^T" : "") +
                              " @ b " + b.shape().to_string() + (transpose_b ? "^T" : "") + " (" +
                              std::to_string(k) + " vs " + std::to_string(kb) + ")");
  Tensor out = Tensor::uninitialized(DType::float32, Shape{m, n});
  const auto ea = eigen(as_matrix(a));
  const auto eb = eigen(as_matrix(b));
  auto eo = eigen(as_matrix(out));
  if (transpose_a && transpose_b)
    eo.noalias() = ea.transpose() * eb.transpose();
  else if (transpose_a)
    eo.noalias() = ea.transpose() * eb;
  else if (transpose_b)
    eo.noalias() = ea * eb.transpose();
  else
    eo.noalias() = ea * eb;
  return out;
}

Tensor add_forward(const Tensor& a, const Tensor& b) {
  require_float("add", a, "a");
  require_float("add", b, "b");
  if (a.shape() == b.shape()) {
    Tensor out = a;
    auto o = out.data<float>();
    auto bv = b.data<float>();
    for (std::size_t i = 0; i < o.size(); ++i) o[i] += bv[i];
    return out;
  }
  if (b.shape().rank() == 1 && a.shape().rank() >= 1 && a.shape()[a.shape().rank() - 1] == b.shape()[0])
    return bias_add(a, b);
  shape_error("add", "shapes " + a.shape().to_string() + " and " + b.shape().to_string() +
                         " are neither equal nor [..., n] + [n]");
}

Tensor bias_add_forward(const Tensor& x, const Tensor& bias) {
  require_float("bias_add", x, "x");
  require_float("bias_add", bias, "bias");
  require_rank("bias_add", bias, 1, "bias");
  if (x.shape().rank() == 0 || x.shape()[x.shape().rank() - 1] != bias.shape()[0])
    shape_error("bias_add", "bias " + bias.shape().to_string() + " does not match the last dimension of x " +
                                x.shape().to_string());
  Tensor out = x;
  bias_add_into(as_matrix(out), bias.data<float>());
  return out;
}

Tensor multiply_forward(const Tensor& a, const Tensor& b) {
  require_float("multiply", a, "a");
  require_float("multiply", b, "b");
  if (a.shape() != b.shape())
    shape_error("multiply", "shapes differ: " + a.shape().to_string() + " vs " + b.shape().to_string());
  Tensor out = a;
  auto o = out.data<float>();
  auto bv = b.data<float>();
  for (std::size_t i = 0; i < o.size(); ++i) o[i] *= bv[i];
  return out;
}

Tensor sigmoid_forward(const Tensor& x) {
  require_float("sigmoid", x);
  Tensor out = x;
  if (out.size() > 0) sigmoid_into(as_matrix(out));
  return out;
}
Tensor tanh_forward(const Tensor& x) {
  require_float("tanh", x);
  Tensor out = x;
  if (out.size() > 0) tanh_into(as_matrix(out));
  return out;
}
Tensor relu_forward(const Tensor& x) {
  return map_float("relu", x, [](float v) { return v > 0.0f ? v : 0.0f; });
}

Tensor concat_forward(const std::vector<Tensor>& parts, int axis) {
  if (parts.empty()) throw InvalidArgumentError("concat: needs at least one tensor");
  const Shape& first = parts[0].shape();
  const std::size_t ax = normalize_axis("concat", axis, first.rank());
  std::vector<std::int64_t> dims = first.dims();
  dims[ax] = 0;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const Shape& s = parts[p].shape();
    if (parts[p].dtype() != parts[0].dtype())
      throw DTypeMismatchError("concat: tensor " + std::to_string(p) + " is " +
                               std::string(dtype_name(parts[p].dtype())) + ", tensor 0 is " +
                               std::string(dtype_name(parts[0].dtype())));
    bool ok = s.rank() == first.rank();
    for (std::size_t i = 0; ok && i < s.rank(); ++i) ok = i == ax || s[i] == first[i];
    if (!ok)
      shape_error("concat", "tensor " + std::to_string(p) + " has shape " + s.to_string() + ", tensor 0 has " +
                                first.to_string() + " (only axis " + std::to_string(ax) + " may differ)");
    dims[ax] += s[ax];
  }
  Tensor out(parts[0].dtype(), Shape(dims));
  const AxisSplit o = around(out.shape(), ax);
  std::int64_t offset = 0;
  for (const auto& part : parts) {
    const AxisSplit p = around(part.shape(), ax);
    const std::size_t chunk = static_cast<std::size_t>(p.dim * p.inner);
    for (std::int64_t r = 0; r < p.outer; ++r) {
      const std::size_t src = static_cast<std::size_t>(r * p.dim * p.inner);
      const std::size_t dst = static_cast<std::size_t>(r * o.dim * o.inner + offset * o.inner);
      if (part.dtype() == DType::float32)
        std::copy_n(part.data<float>().begin() + src, chunk, out.data<float>().begin() + dst);
      else
        std::copy_n(part.data<std::int32_t>().begin() + src, chunk, out.data<std::int32_t>().begin() + dst);
    }
    offset += p.dim;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, int axis) {
  const std::size_t ax = normalize_axis("split", axis, x.shape().rank());
  std::int64_t total = 0;
  for (auto s : sizes) {
    if (s < 0) throw InvalidArgumentError("split: size " + std::to_string(s) + " is negative");
    total += s;
  }
  if (total != x.shape()[ax])
    shape_error("split", "sizes sum to " + std::to_string(total) + " but axis " + std::to_string(ax) + " of " +
                             x.shape().to_string() + " has " + std::to_string(x.shape()[ax]));
  std::vector<Tensor> out;
  std::int64_t begin = 0;
  for (auto s : sizes) {
    std::vector<std::int64_t> b(x.shape().rank(), 0), n = x.shape().dims();
    b[ax] = begin;
    n[ax] = s;
    out.push_back(slice(x, b, n));
    begin += s;
  }
  return out;
}

Tensor slice_forward(const Tensor& x, const std::vector<std::int64_t>& begin, const std::vector<std::int64_t>& size) {
  const Shape& s = x.shape();
  if (begin.size() != s.rank() || size.size() != s.rank())
    shape_error("slice", "begin/size need " + std::to_string(s.rank()) + " entries for shape " + s.to_string());
  std::vector<std::int64_t> dims(s.rank());
  for (std::size_t i = 0; i < s.rank(); ++i) {
    dims[i] = size[i] == -1 ? s[i] - begin[i] : size[i];
    if (begin[i] < 0 || dims[i] < 0 || begin[i] + dims[i] > s[i])
      throw InvalidArgumentError("slice: axis " + std::to_string(i) + " range [" + std::to_string(begin[i]) + ", " +
                                 std::to_string(begin[i] + dims[i]) + ") is outside [0, " + std::to_string(s[i]) +
                                 ") of shape " + s.to_string());
  }
  Tensor out(x.dtype(), Shape(dims));
  const std::size_t rank = s.rank();
  if (out.size() == 0) return out;
  // Walk the output in row-major order; copy contiguous last-axis runs.
  std::vector<std::int64_t> idx(rank, 0), stride(rank, 1);
  for (std::size_t i = rank; i-- > 1;) stride[i - 1] = stride[i] * s[i];
  const std::int64_t run = rank ? dims[rank - 1] : 1;
  std::int64_t dst = 0;
  for (;;) {
    std::int64_t src = 0;
    for (std::size_t i = 0; i < rank; ++i) src += (begin[i] + (i + 1 == rank ? 0 : idx[i])) * stride[i];
    if (x.dtype() == DType::float32)
      std::copy_n(x.data<float>().begin() + src, run, out.data<float>().begin() + dst);
    else
      std::copy_n(x.data<std::int32_t>().begin() + src, run, out.data<std::int32_t>().begin() + dst);
    dst += run;
    if (rank <= 1) break;
    std::size_t i = rank - 1;
    while (i-- > 0) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
      if (i == 0) return out;
    }
  }
  return out;
}

Tensor gather_forward(const Tensor& params, const Tensor& indices) {
  require_int("gather", indices, "indices");
  if (params.shape().rank() < 1) shape_error("gather", "params must have rank >= 1, got a scalar");
  const std::int64_t vocab = params.shape()[0];
  const std::int64_t row = vocab == 0 ? 0 : params.size() / vocab;
  std::vector<std::int64_t> dims = indices.shape().dims();
  for (std::size_t i = 1; i < params.shape().rank(); ++i) dims.push_back(params.shape()[i]);
  Tensor out = Tensor::uninitialized(params.dtype(), Shape(dims));  // every row written below
  const auto ids = indices.data<std::int32_t>();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int32_t id = ids[i];
    if (id < 0 || id >= vocab) {
      // Name the position as a multi-index of `indices`.
      std::string pos;
      std::size_t rest = i;
      for (std::size_t a = indices.shape().rank(); a-- > 0;) {
        const auto d = static_cast<std::size_t>(indices.shape()[a]);
        pos = std::to_string(rest % d) + (pos.empty() ? "" : ", ") + pos;
        rest /= d;
      }
      throw InvalidArgumentError("gather/embedding_lookup: id " + std::to_string(id) + " at position [" + pos +
                                 "] of ids " + indices.shape().to_string() + " is outside [0, " +
                                 std::to_string(vocab) + ") (params " + params.shape().to_string() + ")");
    }
    if (params.dtype() == DType::float32)
      std::copy_n(params.data<float>().begin() + id * row, row, out.data<float>().begin() + i * row);
    else
      std::copy_n(params.data<std::int32_t>().begin() + id * row, row, out.data<std::int32_t>().begin() + i * row);
  }
  return out;
}

Tensor embedding_lookup(const Tensor& params, const Tensor& ids) { return gather(params, ids); }

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  require_int("where", mask, "mask");
  require_rank("where", mask, 1, "mask");
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    shape_error("where", "a " + a.shape().to_string() + " and b " + b.shape().to_string() + " must match");
  if (a.shape().rank() < 1 || a.shape()[0] != mask.shape()[0])
    shape_error("where", "mask " + mask.shape().to_string() + " must have one entry per row of " +
                             a.shape().to_string());
  Tensor out = b;
  out.set_tape_id(0);  // not differentiable here: a copy must not pass for b
  const std::int64_t rows = mask.shape()[0];
  const std::int64_t row = rows == 0 ? 0 : a.size() / rows;
  const auto m = mask.data<std::int32_t>();
  for (std::int64_t r = 0; r < rows; ++r) {
    if (!m[r]) continue;
    if (a.dtype() == DType::float32)
      std::copy_n(a.data<float>().begin() + r * row, row, out.data<float>().begin() + r * row);
    else
      std::copy_n(a.data<std::int32_t>().begin() + r * row, row, out.data<std::int32_t>().begin() + r * row);
  }
  return out;
}

namespace {
template <class Reduce>
Tensor reduce(const std::string& op, const Tensor& x, int axis, float init, Reduce f) {
  require_float(op, x);
  const std::size_t ax = normalize_axis(op, axis, x.shape().rank());
  const AxisSplit s = around(x.shape(), ax);
  if (s.dim == 0 && op == "reduce_max")
    throw InvalidArgumentError("reduce_max: axis " + std::to_string(ax) + " of " + x.shape().to_string() +
                               " is empty");
  Tensor out(DType::float32, without_axis(x.shape(), ax));
  const auto in = x.data<float>();
  auto o = out.data<float>();
  for (std::int64_t a = 0; a < s.outer; ++a)
    for (std::int64_t c = 0; c < s.inner; ++c) {
      float acc = init;
      for (std::int64_t d = 0; d < s.dim; ++d) acc = f(acc, in[(a * s.dim + d) * s.inner + c]);
      o[a * s.inner + c] = acc;
    }
  return out;
}
}  // namespace

Tensor reduce_sum_forward(const Tensor& x, int axis) {
  return reduce("reduce_sum", x, axis, 0.0f, [](float acc, float v) { return acc + v; });
}
Tensor reduce_max(const Tensor& x, int axis) {
  return reduce("reduce_max", x, axis, -std::numeric_limits<float>::infinity(),
                [](float acc, float v) { return v > acc ? v : acc; });
}

Tensor argmax(const Tensor& x, int axis) {
  require_float("argmax", x);
  const std::size_t ax = normalize_axis("argmax", axis, x.shape().rank());
  const AxisSplit s = around(x.shape(), ax);
  if (s.dim == 0)
    throw InvalidArgumentError("argmax: axis " + std::to_string(ax) + " of " + x.shape().to_string() + " is empty");
  Tensor out(DType::int32, without_axis(x.shape(), ax));
  const auto in = x.data<float>();
  auto o = out.data<std::int32_t>();
  for (std::int64_t a = 0; a < s.outer; ++a)
    for (std::int64_t c = 0; c < s.inner; ++c) {
      std::int64_t best = 0;
      for (std::int64_t d = 1; d < s.dim; ++d)
        if (in[(a * s.dim + d) * s.inner + c] > in[(a * s.dim + best) * s.inner + c]) best = d;
      o[a * s.inner + c] = static_cast<std::int32_t>(best);
    }
  return out;
}

namespace {
Tensor softmax_impl(const std::string& op, const Tensor& logits, bool log) {
  require_float(op, logits);
  if (logits.shape().rank() < 1) shape_error(op, "needs rank >= 1, got a scalar");
  Tensor out = logits;
  if (out.size() == 0) return out;
  auto m = eigen(as_matrix(out)).array();
  const Eigen::ArrayXf row_max = m.rowwise().maxCoeff();
  m.colwise() -= row_max;  // largest entry is 0: exp never overflows
  if (log) {
    const Eigen::ArrayXf lse = m.exp().rowwise().sum().log();
    m.colwise() -= lse;
  } else {
    m = m.exp();
    const Eigen::ArrayXf sum = m.rowwise().sum();
    m.colwise() /= sum;
  }
  return out;
}
}  // namespace

Tensor softmax_forward(const Tensor& logits) { return softmax_impl("softmax", logits, false); }
Tensor log_softmax_forward(const Tensor& logits) { return softmax_impl("log_softmax", logits, true); }

TopK top_k(const Tensor& x, std::int64_t k) {
  require_float("top_k", x);
  if (x.shape().rank() < 1) shape_error("top_k", "needs rank >= 1, got a scalar");
  const std::int64_t n = x.shape()[x.shape().rank() - 1];
  if (k < 0 || k > n)
    throw InvalidArgumentError("top_k: k = " + std::to_string(k) + " must be in [0, " + std::to_string(n) +
                               "] for shape " + x.shape().to_string());
  std::vector<std::int64_t> dims = x.shape().dims();
  dims.back() = k;
  TopK out{Tensor(DType::float32, Shape(dims)), Tensor(DType::int32, Shape(dims))};
  const std::int64_t rows = n == 0 ? 0 : x.size() / n;
  const auto in = x.data<float>();
  std::vector<std::int32_t> order(static_cast<std::size_t>(n));
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = in.data() + r * n;
    std::iota(order.begin(), order.end(), 0);
    // Larger value first; on ties the lower index first (stable).
    auto better = [row](std::int32_t a, std::int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
    for (std::int64_t j = 0; j < k; ++j) {
      out.values.data<float>()[r * k + j] = row[order[j]];
      out.indices.data<std::int32_t>()[r * k + j] = order[j];
    }
  }
  return out;
}

Tensor tile(const Tensor& x, const std::vector<std::int64_t>& multiples) {
  const Shape& s = x.shape();
  if (multiples.size() != s.rank())
    shape_error("tile", "multiples has " + std::to_string(multiples.size()) + " entries for shape " + s.to_string());
  Tensor out = x;
  for (std::size_t ax = 0; ax < s.rank(); ++ax) {
    if (multiples[ax] < 0)
      throw InvalidArgumentError("tile: multiple " + std::to_string(multiples[ax]) + " for axis " +
                                 std::to_string(ax) + " is negative");
    if (multiples[ax] == 1) continue;
    out = concat(std::vector<Tensor>(static_cast<std::size_t>(multiples[ax]), out), static_cast<int>(ax));
  }
  return out;
}

Tensor tile_batch(const Tensor& x, std::int64_t multiplier) {
  if (multiplier < 1)
    throw InvalidArgumentError("tile_batch: multiplier " + std::to_string(multiplier) + " must be >= 1");
  if (x.shape().rank() < 1) shape_error("tile_batch", "needs a batch axis, got a scalar");
  std::vector<std::int64_t> dims = x.shape().dims();
  const std::int64_t batch = dims[0];
  dims[0] *= multiplier;
  Tensor out(x.dtype(), Shape(dims));
  const std::int64_t row = batch == 0 ? 0 : x.size() / batch;
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t m = 0; m < multiplier; ++m) {
      const std::int64_t dst = (b * multiplier + m) * row;
      if (x.dtype() == DType::float32)
        std::copy_n(x.data<float>().begin() + b * row, row, out.data<float>().begin() + dst);
      else
        std::copy_n(x.data<std::int32_t>().begin() + b * row, row, out.data<std::int32_t>().begin() + dst);
    }
  return out;
}

Tensor reshape_forward(const Tensor& x, const Shape& shape) {
  std::vector<std::int64_t> dims = shape.dims();
  std::int64_t known = 1;
  int unknown_at = -1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (unknown_at >= 0) throw InvalidArgumentError("reshape: at most one -1 in " + shape.to_string());
      unknown_at = static_cast<int>(i);
    } else if (dims[i] < 0) {
      throw InvalidArgumentError("reshape: dimension " + std::to_string(dims[i]) + " in " + shape.to_string());
    } else {
      known *= dims[i];
    }
  }
  if (unknown_at >= 0) {
    if (known == 0 || x.size() % known != 0)
      shape_error("reshape", "cannot infer -1: " + std::to_string(x.size()) + " elements into " + shape.to_string());
    dims[static_cast<std::size_t>(unknown_at)] = x.size() / known;
  }
  const Shape target(dims);
  if (checked_num_elements(target, "reshape") != x.size())
    shape_error("reshape", x.shape().to_string() + " has " + std::to_string(x.size()) + " elements, " +
                               target.to_string() + " needs " + std::to_string(target.num_elements()));
  if (x.dtype() == DType::float32) {
    auto d = x.data<float>();
    return Tensor(target, TensorStorage<float>(d.begin(), d.end()));
  }
  auto d = x.data<std::int32_t>();
  return Tensor(target, TensorStorage<std::int32_t>(d.begin(), d.end()));
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  require_float("max_abs_diff", a, "a");
  require_float("max_abs_diff", b, "b");
  if (a.shape() != b.shape())
    shape_error("max_abs_diff", "shapes differ: " + a.shape().to_string() + " vs " + b.shape().to_string());
  float worst = 0.0f;
  const auto x = a.data<float>();
  const auto y = b.data<float>();
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  return worst;
}

// ---------------------------------------------------------------- recorded value ops
// The public value ops: the forward above, then (only while a GradientTape
// records and an input is tracked) a backward entry. Each backward is the
// textbook derivative, written with the forward ops themselves; they are checked
// against float64 finite differences in tests/grad_test.cpp.

namespace {

// dst (zeros of the full shape) receives src at offset `begin` (slice's adjoint).
void scatter_region(Tensor& dst, const Tensor& src, const std::vector<std::int64_t>& begin) {
  const Shape& full = dst.shape();
  const Shape& part = src.shape();
  const std::size_t rank = full.rank();
  std::vector<std::int64_t> stride(rank, 1);
  for (std::size_t i = rank; i-- > 1;) stride[i - 1] = stride[i] * full[i];
  const auto g = src.data<float>();
  auto d = dst.data<float>();
  std::vector<std::int64_t> idx(rank, 0);
  for (std::size_t flat = 0; flat < g.size(); ++flat) {
    std::size_t rest = flat;
    std::int64_t off = 0;
    for (std::size_t a = rank; a-- > 0;) {
      const auto n = static_cast<std::size_t>(part[a]);
      off += (begin[a] + static_cast<std::int64_t>(rest % n)) * stride[a];
      rest /= n;
    }
    d[static_cast<std::size_t>(off)] += g[flat];
  }
}

Tensor scale_elementwise(const Tensor& g, const Tensor& y, float (*f)(float g, float y)) {
  Tensor out = g;
  auto o = out.data<float>();
  const auto yv = y.data<float>();
  for (std::size_t i = 0; i < o.size(); ++i) o[i] = f(o[i], yv[i]);
  return out;
}

// Records a one-input elementwise op whose derivative is a function of the output.
Tensor unary_from_output(Tensor out, const Tensor& x, float (*f)(float g, float y)) {
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    if (const auto ix = tape->id_of(x)) {
      Tensor y = out;
      tape->record({&out}, [ix, y = std::move(y), f](BackwardContext& ctx) {
        ctx.accumulate(ix, scale_elementwise(*ctx.output_grad(0), y, f));
      });
    }
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  Tensor out = matmul_forward(a, b, transpose_a, transpose_b);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    const auto ia = tape->id_of(a), ib = tape->id_of(b);
    if (ia || ib)
      tape->record({&out}, [ia, ib, av = ib ? a : Tensor(), bv = ia ? b : Tensor(), ta = transpose_a,
                            tb = transpose_b](BackwardContext& ctx) {
        const Tensor& g = *ctx.output_grad(0);
        // out = op(a) @ op(b): da = g @ op(b)^T (transposed back when ta), db = op(a)^T @ g (likewise).
        if (ia) ctx.accumulate(ia, !ta ? matmul_forward(g, bv, false, !tb) : matmul_forward(bv, g, tb, true));
        if (ib) ctx.accumulate(ib, !tb ? matmul_forward(av, g, !ta, false) : matmul_forward(g, av, true, ta));
      });
  }
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return add_forward(a, b);  // the bias case: bias_add records it
  Tensor out = add_forward(a, b);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    const auto ia = tape->id_of(a), ib = tape->id_of(b);
    if (ia || ib)
      tape->record({&out}, [ia, ib](BackwardContext& ctx) {
        ctx.accumulate(ia, *ctx.output_grad(0));
        ctx.accumulate(ib, *ctx.output_grad(0));
      });
  }
  return out;
}

Tensor bias_add(const Tensor& x, const Tensor& bias) {
  Tensor out = bias_add_forward(x, bias);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    const auto ix = tape->id_of(x), ib = tape->id_of(bias);
    if (ix || ib)
      tape->record({&out}, [ix, ib, n = bias.shape()[0]](BackwardContext& ctx) {
        if (ib) {
          const Tensor& g = *ctx.output_grad(0);
          Tensor& db = ctx.grad(ib, Shape{n});
          if (g.size() > 0)
            Eigen::Map<Eigen::RowVectorXf>(db.data<float>().data(), n) += eigen(as_matrix(g)).colwise().sum();
        }
        if (ix) ctx.accumulate(ix, ctx.take_output_grad(0));  // the same gradient flows to x: no copy
      });
  }
  return out;
}

Tensor multiply(const Tensor& a, const Tensor& b) {
  Tensor out = multiply_forward(a, b);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    const auto ia = tape->id_of(a), ib = tape->id_of(b);
    if (ia || ib)
      tape->record({&out}, [ia, ib, av = ib ? a : Tensor(), bv = ia ? b : Tensor()](BackwardContext& ctx) {
        const Tensor& g = *ctx.output_grad(0);
        if (ia) ctx.accumulate(ia, multiply_forward(g, bv));
        if (ib) ctx.accumulate(ib, multiply_forward(g, av));
      });
  }
  return out;
}

Tensor sigmoid(const Tensor& x) {
  return unary_from_output(sigmoid_forward(x), x, [](float g, float y) { return g * y * (1.0f - y); });
}
Tensor tanh(const Tensor& x) {
  return unary_from_output(tanh_forward(x), x, [](float g, float y) { return g * (1.0f - y * y); });
}
Tensor relu(const Tensor& x) {
  return unary_from_output(relu_forward(x), x, [](float g, float y) { return y > 0.0f ? g : 0.0f; });
}

Tensor concat(const std::vector<Tensor>& parts, int axis) {
  Tensor out = concat_forward(parts, axis);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    std::vector<std::uint64_t> ids;
    bool any = false;
    for (const auto& p : parts) {
      ids.push_back(tape->id_of(p));
      any = any || ids.back() != 0;
    }
    if (any) {
      const std::size_t ax = normalize_axis("concat", axis, out.shape().rank());
      std::vector<Shape> shapes;
      for (const auto& p : parts) shapes.push_back(p.shape());
      tape->record({&out}, [ids = std::move(ids), shapes = std::move(shapes), ax](BackwardContext& ctx) {
        const Tensor& g = *ctx.output_grad(0);
        std::int64_t offset = 0;
        for (std::size_t p = 0; p < ids.size(); ++p) {
          if (ids[p]) {
            std::vector<std::int64_t> begin(g.shape().rank(), 0);
            begin[ax] = offset;
            ctx.accumulate(ids[p], slice_forward(g, begin, shapes[p].dims()));
          }
          offset += shapes[p][ax];
        }
      });
    }
  }
  return out;
}

Tensor slice(const Tensor& x, const std::vector<std::int64_t>& begin, const std::vector<std::int64_t>& size) {
  Tensor out = slice_forward(x, begin, size);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    if (const auto ix = tape->id_of(x))
      tape->record({&out}, [ix, begin, shape = x.shape()](BackwardContext& ctx) {
        scatter_region(ctx.grad(ix, shape), *ctx.output_grad(0), begin);
      });
  }
  return out;
}

Tensor gather(const Tensor& params, const Tensor& indices) {
  Tensor out = gather_forward(params, indices);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    if (const auto ip = tape->id_of(params))
      // Dense accumulation: rows of repeated ids are summed (what TF's IndexedSlices
      // become once densified or deduplicated by the optimizer).
      tape->record({&out}, [ip, indices, shape = params.shape()](BackwardContext& ctx) {
        const Tensor& g = *ctx.output_grad(0);
        Tensor& dp = ctx.grad(ip, shape);
        const std::int64_t row = shape[0] == 0 ? 0 : dp.size() / shape[0];
        const auto ids = indices.data<std::int32_t>();
        const float* src = g.data<float>().data();
        float* dst = dp.data<float>().data();
        for (std::size_t i = 0; i < ids.size(); ++i)
          for (std::int64_t c = 0; c < row; ++c) dst[ids[i] * row + c] += src[static_cast<std::int64_t>(i) * row + c];
      });
  }
  return out;
}

Tensor reduce_sum(const Tensor& x, int axis) {
  Tensor out = reduce_sum_forward(x, axis);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    if (const auto ix = tape->id_of(x)) {
      const AxisSplit s = around(x.shape(), normalize_axis("reduce_sum", axis, x.shape().rank()));
      tape->record({&out}, [ix, s, shape = x.shape()](BackwardContext& ctx) {
        const auto g = ctx.output_grad(0)->data<float>();
        auto d = ctx.grad(ix, shape).data<float>();
        for (std::int64_t a = 0; a < s.outer; ++a)
          for (std::int64_t k = 0; k < s.dim; ++k)
            for (std::int64_t c = 0; c < s.inner; ++c) d[(a * s.dim + k) * s.inner + c] += g[a * s.inner + c];
      });
    }
  }
  return out;
}

Tensor softmax(const Tensor& logits) {
  Tensor out = softmax_forward(logits);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    if (const auto ix = tape->id_of(logits))
      tape->record({&out}, [ix, y = out](BackwardContext& ctx) {
        // dx = y * (g - sum(g * y)) per row
        Tensor& d = ctx.grad(ix, y.shape());
        if (y.size() == 0) return;
        const auto ey = eigen(as_matrix(y)).array();
        const auto eg = eigen(as_matrix(*ctx.output_grad(0))).array();
        const Eigen::ArrayXf dot = (eg * ey).rowwise().sum();
        eigen(as_matrix(d)).array() += ey * (eg.colwise() - dot);
      });
  }
  return out;
}

Tensor log_softmax(const Tensor& logits) {
  Tensor out = log_softmax_forward(logits);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    if (const auto ix = tape->id_of(logits))
      tape->record({&out}, [ix, y = out](BackwardContext& ctx) {
        // dx = g - softmax(x) * sum(g) per row, softmax(x) = exp(y)
        Tensor& d = ctx.grad(ix, y.shape());
        if (y.size() == 0) return;
        const auto ey = eigen(as_matrix(y)).array();
        const auto eg = eigen(as_matrix(*ctx.output_grad(0))).array();
        const Eigen::ArrayXf sum = eg.rowwise().sum();
        eigen(as_matrix(d)).array() += eg - ey.exp().colwise() * sum;
      });
  }
  return out;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  Tensor out = reshape_forward(x, shape);
  out.set_tape_id(0);  // a copy of an input must not pass for it
  if (auto* tape = GradientTape::active()) {
    if (const auto ix = tape->id_of(x))
      tape->record({&out}, [ix, shape = x.shape()](BackwardContext& ctx) {
        ctx.accumulate(ix, reshape_forward(*ctx.output_grad(0), shape));
      });
  }
  return out;
}

}  // namespace varscope
