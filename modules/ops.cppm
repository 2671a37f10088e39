// varscope:ops — the value ops the layers, RNNs and decoders are built from
// (matmul, concat, gather, softmax, top_k, ...). Every op checks shapes and dtypes
// and throws a typed error naming the op, the shapes and any offending index. Each
// allocates and returns a new Tensor, is recorded by an active GradientTape, and
// computes through the `*_into` kernels of :kernels (views over its buffers).
module;
#include <cstdint>
#include <span>
#include <vector>
export module varscope:ops;
import :errors;
import :tensor;
import :autograd;  // the implementation records backward functions on the tape
import :kernels;

export namespace varscope {

// ---------------------------------------------------------------- value ops

/// Matrix product of rank-2 tensors, optionally transposing either operand.
[[nodiscard]] Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// Elementwise sum; `b` may also be a vector matching `a`'s last dimension (bias).
[[nodiscard]] Tensor add(const Tensor& a, const Tensor& b);
[[nodiscard]] Tensor bias_add(const Tensor& x, const Tensor& bias);
/// Elementwise product of same-shaped tensors.
[[nodiscard]] Tensor multiply(const Tensor& a, const Tensor& b);
/// TF's `tensor * number`: every element times `scalar`, in x's dtype
/// (`tf.ones([n], tf.int32) * max_len`). For int32 the scalar must be a whole
/// number in int32 range (else InvalidArgumentError naming it) and the product
/// wraps as TF's int32 multiply does; for float32 it is rounded to float32 and
/// the op is differentiable in x.
[[nodiscard]] Tensor operator*(const Tensor& x, double scalar);
[[nodiscard]] Tensor operator*(double scalar, const Tensor& x);
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
/// tf.reverse_sequence: row b (index b along `batch_axis`) has its first
/// `seq_lengths[b]` entries along `seq_axis` reversed; entries at and past the length
/// are copied unchanged. `input` is float32 or int32 with rank >= 2; `seq_lengths` is
/// int32 [input.shape[batch_axis]] with every length in [0, input.shape[seq_axis]].
/// Negative axes count from the end. bidirectional_dynamic_rnn reverses each
/// sequence's valid steps with it (seq_axis 1, batch_axis 0):
///   reverse_sequence(x [2, 4, ...], lengths {2, 4}, 1, 0): row 0 reads x1 x0 x2 x3, row 1 x3 x2 x1 x0.
/// The gradient is reverse_sequence of the output's gradient with the same lengths.
/// Errors name the offending value: an axis outside [-rank, rank) or seq_axis ==
/// batch_axis (InvalidArgumentError), seq_lengths not int32 (DTypeMismatchError) or not
/// [batch] (ShapeMismatchError), a length < 0 or > the time dimension (InvalidArgumentError).
[[nodiscard]] Tensor reverse_sequence(const Tensor& input, const Tensor& seq_lengths, int seq_axis, int batch_axis);
/// tf.reverse(x, axis=[axis]): the order of the entries along `axis` reversed (negative
/// counts from the end); float32 or int32, rank >= 1. Gradient: the gradient reversed.
/// InvalidArgumentError naming the axis when it is outside [-rank, rank).
[[nodiscard]] Tensor reverse(const Tensor& x, int axis);
/// Largest |a - b| over same-shaped float tensors. A comparison must not let a
/// non-finite value pass: NaN on either side at any position gives NaN (so
/// `max_abs_diff(a, b) <= tol` is false), an infinity facing a different value gives
/// +inf; the same infinity on both sides counts as equal (0), as bitwise_equal says
/// (e.g. the -inf scores of dead beam hypotheses).
[[nodiscard]] float max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace varscope
