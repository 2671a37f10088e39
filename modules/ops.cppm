// varscope:ops — the numeric ops the layers, RNNs and decoders are built from.
// Every op checks shapes and dtypes and throws a typed error naming the op, the
// shapes and any offending index. Eigen does the math (AVX2/FMA natively with
// -march=x86-64-v3, wasm SIMD128 in the browser build).
//
// Two kinds of entry points:
//  * value ops (`matmul(a, b)`) allocate and return a new Tensor — for clarity;
//  * `*_into` kernels write into caller-owned buffers through views, never
//    allocate, and are what per-time-step loops use.
// Each forward op is a plain function of its inputs, so a reverse-mode gradient
// can later be added beside it (a `*_backward` taking the same inputs plus the
// output gradient) without restructuring.
module;
#include <cstdint>
#include <span>
#include <vector>
export module varscope:ops;
import :errors;
import :tensor;

export namespace varscope {

/// A row-major float matrix view over someone else's buffer; rows may be
/// strided (row i starts at data + i * row_stride), so a time step of a
/// [B, T, D] tensor is a view, not a copy.
struct MatrixView {
  float* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;
};
struct ConstMatrixView {
  const float* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;
  ConstMatrixView() = default;
  ConstMatrixView(const float* d, std::int64_t r, std::int64_t c, std::int64_t stride)
      : data(d), rows(r), cols(c), row_stride(stride) {}
  ConstMatrixView(const MatrixView& m) : data(m.data), rows(m.rows), cols(m.cols), row_stride(m.row_stride) {}
};

/// A float tensor of rank >= 1 seen as [prod(leading dims), last dim].
[[nodiscard]] ConstMatrixView as_matrix(const Tensor& t);
[[nodiscard]] MatrixView as_matrix(Tensor& t);
/// Time step `t` of a [B, T, D] float tensor: a [B, D] view with row stride T*D.
[[nodiscard]] ConstMatrixView time_step(const Tensor& t, std::int64_t step);
[[nodiscard]] MatrixView time_step(Tensor& t, std::int64_t step);
/// Columns [begin, begin + count) of a view (same rows, same stride).
[[nodiscard]] ConstMatrixView columns(ConstMatrixView m, std::int64_t begin, std::int64_t count);
[[nodiscard]] MatrixView columns(MatrixView m, std::int64_t begin, std::int64_t count);

// ---------------------------------------------------------------- kernels (no allocation)

/// Up to this many rows, matmul_into uses a register-blocked kernel that reads b
/// once per 4 rows and needs no packing (recurrent steps: batch x hidden);
/// above it, Eigen's GEMM (which calls OpenBLAS natively). In WebAssembly Eigen
/// has no SIMD GEMM kernel, so the (auto-vectorised, SIMD128) kernel is always used.
#if defined(__EMSCRIPTEN__)
inline constexpr std::int64_t kSmallRowsThreshold = std::int64_t{1} << 62;
#else
inline constexpr std::int64_t kSmallRowsThreshold = 8;
#endif
/// out = a @ b (+ out when accumulate). Shapes [M, K] @ [K, N] -> [M, N].
void matmul_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate = false);
/// out = a^T @ b (+ out when accumulate): [K, M]^T @ [K, N] -> [M, N] (a weight
/// gradient x^T dz). OpenBLAS natively, Eigen in wasm; no copy of the transpose.
void matmul_transposed_a_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate = false);
/// out = a @ b^T (+ out when accumulate): [M, K] @ [N, K]^T -> [M, N] (an input
/// gradient dz W^T).
void matmul_transposed_b_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate = false);
/// The readable reference: a triple loop accumulating in double (for tests).
void matmul_reference_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate = false);
/// Always Eigen's GEMM (for tests and benchmarks of the dispatch).
void matmul_eigen_into(ConstMatrixView a, ConstMatrixView b, MatrixView out);
/// A constant right-hand matrix b [K, N] repacked once into panels of
/// kPackedPanelWidth columns (each panel: K rows of 16 contiguous floats, the
/// last panel zero-padded), for matmul_packed_into. A general GEMM repacks its
/// operand on every call; a weight used at every time step (a recurrent kernel,
/// the output projection in beam search) is packed once instead.
class PackedMatrix {
 public:
  static constexpr std::int64_t kPanelWidth = 16;
  PackedMatrix() = default;
  /// Copies and packs `b` [K, N].
  explicit PackedMatrix(ConstMatrixView b);
  struct Transposed {};
  /// Copies and packs the transpose of `bt` [N, K] (a PyTorch-layout weight):
  /// then matmul_packed_into computes a @ bt^T.
  PackedMatrix(ConstMatrixView bt, Transposed);
  [[nodiscard]] std::int64_t rows() const noexcept { return rows_; }
  [[nodiscard]] std::int64_t cols() const noexcept { return cols_; }
  /// Panel j: rows() x kPanelWidth floats, row-major.
  [[nodiscard]] const float* panel(std::int64_t j) const noexcept {
    return data_.data() + j * rows_ * kPanelWidth;
  }

 private:
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  TensorStorage<float> data_;
};
/// out = a @ b (+ out when accumulate) with b packed: [M, K] @ [K, N] -> [M, N].
/// An AVX2/FMA 6x16 register-blocked kernel natively, a SIMD128 one in wasm
/// (both proven equal to matmul_reference_into in tests/numerics_test.cpp);
/// portable loops elsewhere.
void matmul_packed_into(ConstMatrixView a, const PackedMatrix& b, MatrixView out, bool accumulate = false);
/// True when matmul_packed_into runs the SIMD kernel (so packing pays off).
#if (defined(__AVX2__) && defined(__FMA__)) || defined(__wasm_simd128__)
inline constexpr bool kPackedKernelIsSimd = true;
#else
inline constexpr bool kPackedKernelIsSimd = false;
#endif
/// out += bias (broadcast over rows).
void bias_add_into(MatrixView out, std::span<const float> bias);
void sigmoid_into(MatrixView x);
void tanh_into(MatrixView x);

// ---------------------------------------------------------------- value ops

/// Matrix product of rank-2 tensors, optionally transposing either operand.
[[nodiscard]] Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// Elementwise sum; `b` may also be a vector matching `a`'s last dimension (bias).
[[nodiscard]] Tensor add(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor bias_add(const Tensor& x, const Tensor& bias);
/// Elementwise product of same-shaped tensors.
[[nodiscard]] Tensor multiply(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor sigmoid(const Tensor& x);
[[nodiscard]] Tensor tanh(const Tensor& x);
[[nodiscard]] Tensor relu(const Tensor& x);
/// Joins tensors along `axis` (negative counts from the end); other dims must match.
[[nodiscard]] Tensor concat(const std::vector<Tensor>& parts, int axis);
/// Splits along `axis` into pieces of the given sizes (must sum to the dimension).
[[nodiscard]] std::vector<Tensor> split(const Tensor& x, const std::vector<std::int64_t>& sizes, int axis);
/// x[begin[i] : begin[i] + size[i]] per axis; size -1 means "to the end".
[[nodiscard]] Tensor slice(const Tensor& x, const std::vector<std::int64_t>& begin,
                           const std::vector<std::int64_t>& size);
/// Rows of `params` [V, ...] picked by int32 `indices` (any shape) -> indices.shape + params.shape[1:].
/// An index outside [0, V) is an InvalidArgumentError naming the index and its position.
[[nodiscard]] Tensor gather(const Tensor& params, const Tensor& indices);
/// tf.nn.embedding_lookup(params, ids) == gather(params, ids).
[[nodiscard]] Tensor embedding_lookup(const Tensor& params, const Tensor& ids);
/// Row select: out[b] = mask[b] ? a[b] : b_[b]; mask is int32 [B] (non-zero = true), a and b are [B, ...].
[[nodiscard]] Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
/// Reductions over one axis (negative counts from the end); the axis is removed.
[[nodiscard]] Tensor reduce_sum(const Tensor& x, int axis);
[[nodiscard]] Tensor reduce_max(const Tensor& x, int axis);
/// Index of the maximum along `axis` (first one on ties), int32.
[[nodiscard]] Tensor argmax(const Tensor& x, int axis);
/// Numerically stable softmax / log_softmax over the last axis.
[[nodiscard]] Tensor softmax(const Tensor& logits);
[[nodiscard]] Tensor log_softmax(const Tensor& logits);

struct TopK {
  Tensor values;   ///< [..., k] float32, best first
  Tensor indices;  ///< [..., k] int32; on ties the lower index comes first
};
/// The k largest entries of each last-axis row, sorted descending (stable on ties).
[[nodiscard]] TopK top_k(const Tensor& x, std::int64_t k);
/// tf.tile: repeats the whole tensor `multiples[i]` times along each axis.
[[nodiscard]] Tensor tile(const Tensor& x, const std::vector<std::int64_t>& multiples);
/// seq2seq tile_batch: each batch row repeated `multiplier` times adjacently
/// (t0, t0, ..., t1, t1, ...) — not tf.tile.
[[nodiscard]] Tensor tile_batch(const Tensor& x, std::int64_t multiplier);
/// Same values, new shape with the same element count (one dim may be -1).
[[nodiscard]] Tensor reshape(const Tensor& x, const Shape& shape);
/// Largest |a - b| over same-shaped float tensors.
[[nodiscard]] float max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace varscope
