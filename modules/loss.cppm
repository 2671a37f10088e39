// varscope:loss — TF 1.x's sparse softmax cross-entropy and
// tf.contrib.seq2seq.sequence_loss, forward and (fused) backward.
//
//   Tensor loss = sequence_loss(logits /*[B,T,V]*/, targets /*[B,T] int32*/, weights /*[B,T]*/);
//   // = sum(weights * crossent) / (sum(weights) + 1e-12)   (TF's defaults)
module;
#include <cstdint>
export module varscope:loss;
import :errors;
import :parallel;
import :tensor;
import :autograd;  // the implementation records backward functions on the tape

export namespace varscope {

/// tf.nn.sparse_softmax_cross_entropy_with_logits(labels=, logits=):
/// labels int32 [...], logits float32 [..., V] -> loss [...],
/// loss = log(sum_j exp(l_j - max)) - (l_label - max). Labels outside [0, V) are an
/// InvalidArgumentError naming the value and its position (TF's CPU kernel check,
/// made before any weighting). Backward (fused): softmax - onehot(label).
[[nodiscard]] Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);

/// The flags of sequence_loss (TF 1.14+ names and defaults).
struct SequenceLossOptions {
  bool average_across_timesteps = true;
  bool average_across_batch = true;
  bool sum_over_timesteps = false;
  bool sum_over_batch = false;
};

/// tf.contrib.seq2seq.sequence_loss(logits [B,T,V], targets int32 [B,T], weights float32 [B,T]).
/// ce = cross-entropy per position, then (reduced axes: batch when average_across_batch
/// or sum_over_batch, time when *_timesteps):
///   average_*: sum(ce * w) / (sum(w) + 1e-12) over the reduced axes;
///   sum_over_*: sum(ce * w) / count_nonzero(w) over the reduced axes (0 when the count is 0);
///   nothing reduced: ce * w [B,T].
/// Result shape: [] (both axes), [B] (time only), [T] (batch only) or [B,T].
/// Errors (TF's texts): logits not rank 3, targets/weights not [B,T], average_* and
/// sum_over_* set on the same axis, or mixed on different axes. Differentiable with
/// respect to logits (weights are constants).
[[nodiscard]] Tensor sequence_loss(const Tensor& logits, const Tensor& targets, const Tensor& weights,
                                   SequenceLossOptions options = {});

}  // namespace varscope
