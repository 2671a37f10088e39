// varscope:kernels — the matrix kernels everything numeric runs on, apart from
// the API: views over caller-owned buffers (MatrixView), products that write into
// them and never allocate, and the weight cache of the per-step loops.
//
//   matmul_into             the dispatch: a register-blocked small-rows kernel up to
//                           kSmallRowsThreshold rows, OpenBLAS's sgemm above (Eigen in wasm)
//   matmul_transposed_a/b_into  sgemm with transpose flags (gradients)
//   PackedMatrix + matmul_packed_into  a weight packed once into 16-column panels and an
//                           AVX2/FMA (native) or SIMD128 (wasm) 6x16 kernel over it
//   PackedWeights           the packed copy of a Variable, remade when it is assigned
// The fast kernels are proven equal to a plain reference loop in tests/numerics_test.cpp
// (varscope::testing::matmul_reference_into, a test hook in modules/testing.cppm,
// defined in modules/src/kernels.cpp: not part of `import varscope;`).
module;
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>
export module varscope:kernels;
import :errors;
import :parallel;
import :tensor;
import :store;

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

// ---------------------------------------------------------------- products (no allocation)

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
  /// Packs `b` (or the transpose of `bt`) again into this matrix's storage, which only ever
  /// grows: a weight's packed copy remade after every optimizer step, or a product's operand
  /// packed into a per-thread buffer, allocates nothing once warm.
  void repack(ConstMatrixView b);
  void repack(ConstMatrixView bt, Transposed);
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
/// (both proven equal to testing::matmul_reference_into in tests/numerics_test.cpp);
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

/// Products with a weight variable: `x @ w[row_begin : row_begin + rows]`.
/// Where the SIMD packed kernel exists (AVX2/FMA natively, SIMD128 in wasm) every product
/// uses a packed copy of the weights (PackedMatrix) made on first use and remade
/// after the variable is assigned (Variable::version), so a weight used at every
/// time step is packed once, not per product (it beats both the small-rows
/// kernel and OpenBLAS from 1 row up: docs/benchmarks.md). Natively, a product of
/// 64 rows or more goes to OpenBLAS when the weights are used for the first time or
/// change between uses (a training step's output layer, once per update), unless the
/// PackedWeights was made EveryStep; weights used again unchanged (a decoder's output
/// layer over 64+ rows) are packed at the second use. Elsewhere it is
/// matmul_into on the variable's value. Copies of a PackedWeights share the packed copy;
/// using it from several threads at once is safe.
class PackedWeights {
 public:
  PackedWeights() = default;
  /// For weights a loop multiplies at every time step (a recurrent kernel, an attention
  /// layer): always packed, also a product of 64 rows or more after the weights changed
  /// (a training step's recurrence at batch 64+), since the packed copy then serves every
  /// step of the loop, where OpenBLAS would pack the weights again on each call.
  struct EveryStep {};
  explicit PackedWeights(EveryStep) : every_step_(true) {}
  /// out = x @ w[row_begin : row_begin + rows] (+ out when accumulate).
  void matmul_into(ConstMatrixView x, const Variable& w, std::int64_t row_begin, std::int64_t rows, MatrixView out,
                   bool accumulate = false) const;
  /// out = x @ w^T for a PyTorch-layout weight w [out_features, in_features].
  void matmul_transposed_into(ConstMatrixView x, const Variable& w, MatrixView out) const;
  /// out = x @ w[row_begin : row_begin + rows]^T (+ out when accumulate): a backward pass's
  /// per-step product through some rows of a kernel (a GRU's dh = dz Kh^T). Always packed
  /// (once per version of w): the steps of one backward pass share the packed copy.
  void matmul_transposed_into(ConstMatrixView x, const Variable& w, std::int64_t row_begin, std::int64_t rows,
                              MatrixView out, bool accumulate = false) const;

 private:
  // The packed copy for (w, version, rows, transposed), made or remade under the lock.
  std::shared_ptr<const PackedMatrix> packed(const Variable& w, ConstMatrixView part, std::int64_t row_begin,
                                             bool transposed) const;
  // For a product of many rows: true when w is not packed and was not seen unchanged since
  // its last use (first use), or has changed between uses (then always: a weight being trained).
  bool hand_to_blas(const Variable& w, std::int64_t row_begin, std::int64_t rows) const;
  struct Cache {
    std::mutex mutex;
    std::optional<Variable> source;
    std::uint64_t version = 0;
    bool transposed = false;
    std::int64_t row_begin = 0, rows = 0;
    std::shared_ptr<PackedMatrix> packed;  // repacked in place when no caller holds it
    bool changes_between_uses = false;     // see hand_to_blas
  };
  std::shared_ptr<Cache> cache_ = std::make_shared<Cache>();
  bool every_step_ = false;
};

}  // namespace varscope
