// Implementation of varscope:loss — cross-entropy rows with a vectorised
// float32 log-sum-exp (as TF's kernel), and one fused backward entry per call.
module;
#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>
#include <initializer_list>
#include <string_view>
module varscope;
#include "validate.hpp"

namespace varscope {

namespace {

std::string position(std::size_t flat, const Shape& shape) {
  std::string pos;
  for (std::size_t a = shape.rank(); a-- > 0;) {
    const auto d = static_cast<std::size_t>(shape[a]);
    pos = std::to_string(flat % d) + (pos.empty() ? "" : ", ") + pos;
    flat /= d;
  }
  return "[" + pos + "]";
}

// ce[i] for rows of logits [N, V]; checks the labels first (like TF's CPU kernel).
// With `probs` (under a GradientTape) also writes softmax(row i) there: the
// backward pass then needs neither the logits nor a second exp pass.
std::vector<float> cross_entropy_rows(const float* logits, const std::int32_t* labels, std::int64_t n, std::int64_t v,
                                      const Shape& label_shape, float* probs = nullptr) {
  for (std::int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= v) {
      std::string values;
      for (std::int64_t j = 0; j < n && j < 10; ++j) values += (j ? " " : "") + std::to_string(labels[j]);
      throw InvalidArgumentError("sparse_softmax_cross_entropy_with_logits: Received a label value of " +
                                 std::to_string(labels[i]) + " which is outside the valid range of [0, " +
                                 std::to_string(v) + ").  Label values: " + values + (n > 10 ? " ..." : "") +
                                 " (at " + position(static_cast<std::size_t>(i), label_shape) +
                                 "; padding ids must be valid too: weights apply only after this check)");
    }
  std::vector<float> ce(static_cast<std::size_t>(n));
  // Rows are independent: spread over the threads (the same bits for any count).
  parallel_for(n, 20.0 * double(n) * double(v), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const Eigen::Map<const Eigen::ArrayXf> row(logits + i * v, v);
      const float m = row.maxCoeff();
      float sum = 0.0f;
      if (probs) {
        Eigen::Map<Eigen::ArrayXf> p(probs + i * v, v);
        p = (row - m).exp();
        sum = p.sum();
        p *= 1.0f / sum;
      } else {
        sum = (row - m).exp().sum();
      }
      ce[i] = std::log(sum) - (row[labels[i]] - m);
    }
  });
  return ce;
}

// probs[i] <- scale[i] * (probs[i] - onehot(label i)), in place: d ce / d logits.
void cross_entropy_backward(float* probs, const std::int32_t* labels, const float* scale, std::int64_t n,
                            std::int64_t v) {
  parallel_for(n, 2.0 * double(n) * double(v), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      Eigen::Map<Eigen::ArrayXf> d(probs + i * v, v);
      if (scale[i] == 0.0f) {
        d.setZero();
        continue;
      }
      d *= scale[i];
      d[labels[i]] -= scale[i];
    }
  });
}

}  // namespace

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  const char* op = "sparse_softmax_cross_entropy_with_logits";
  validate::require_float(op, logits, "logits");
  validate::require_int(op, labels, "labels (class ids)");
  if (logits.shape().rank() == 0)
    throw ShapeMismatchError(std::string(op) + ": Logits cannot be scalars - received shape " + logits.shape().to_string() + ".");
  if (labels.shape().rank() + 1 != logits.shape().rank())
    throw ShapeMismatchError(std::string(op) + ": Rank mismatch: Rank of labels (received " +
                             std::to_string(labels.shape().rank()) + ") should equal rank of logits minus 1 (received " +
                             std::to_string(logits.shape().rank()) + ").");
  for (std::size_t a = 0; a < labels.shape().rank(); ++a)
    if (labels.shape()[a] != logits.shape()[a])
      throw ShapeMismatchError(std::string(op) + ": Shape mismatch: The shape of labels (received " +
                               labels.shape().to_string() +
                               ") should equal the shape of logits except for the last dimension (received " +
                               logits.shape().to_string() + ").");
  const std::int64_t v = logits.shape()[logits.shape().rank() - 1];
  const std::int64_t n = labels.size();
  if (v == 0 && n > 0) throw InvalidArgumentError(std::string(op) + ": logits have 0 classes");
  const bool recorded = will_record({logits});  // the backward needs the softmax: keep it only then
  Tensor probs = recorded ? Tensor::uninitialized(DType::float32, logits.shape()) : Tensor();
  auto ce = cross_entropy_rows(logits.data<float>().data(), labels.data<std::int32_t>().data(), n, v, labels.shape(),
                               recorded ? probs.data<float>().data() : nullptr);
  Tensor out(labels.shape(), TensorStorage<float>(ce.begin(), ce.end()));
  return record_op(std::move(out), {logits}, [&](const TrackedInputs&, const Tensor&) {
    return [labels, probs = std::move(probs), n, v](BackwardContext& ctx) mutable {
      cross_entropy_backward(probs.data<float>().data(), labels.data<std::int32_t>().data(),
                             ctx.output_grad(0)->data<float>().data(), n, v);
      ctx.accumulate_input(0, std::move(probs));
    };
  });
}

Tensor sequence_loss(const Tensor& logits, const Tensor& targets, const Tensor& weights, SequenceLossOptions o) {
  // A wrong dtype is a DTypeMismatchError, a wrong rank or size a ShapeMismatchError (validate.hpp).
  validate::require_tensor("sequence_loss", "logits", logits, DType::float32,
                           {"batch_size", "sequence_length", "num_classes"});
  const std::int64_t B = logits.shape()[0], T = logits.shape()[1], V = logits.shape()[2];
  validate::require_tensor("sequence_loss", "targets", targets, DType::int32,
                           {{B, "batch_size"}, {T, "sequence_length"}}, "batch_size and sequence_length of the logits");
  validate::require_tensor("sequence_loss", "weights", weights, DType::float32,
                           {{B, "batch_size"}, {T, "sequence_length"}}, "batch_size and sequence_length of the logits");
  if (o.average_across_timesteps && o.sum_over_timesteps)
    throw InvalidArgumentError(
        "sequence_loss: average_across_timesteps and sum_over_timesteps cannot be set to True at same time.");
  if (o.average_across_batch && o.sum_over_batch)
    throw InvalidArgumentError("sequence_loss: average_across_batch and sum_over_batch cannot be set to True at same time.");
  const bool avg = o.average_across_timesteps || o.average_across_batch;
  const bool sum = o.sum_over_timesteps || o.sum_over_batch;
  if (avg && sum)
    throw InvalidArgumentError(
        "sequence_loss: average_across_* and sum_over_* were mixed on different axes; set either the two "
        "average_* flags or the two sum_over_* flags (or one of a kind)");
  const bool over_t = o.average_across_timesteps || o.sum_over_timesteps;
  const bool over_b = o.average_across_batch || o.sum_over_batch;
  Shape out_shape = over_t && over_b ? Shape{} : over_t ? Shape{B} : over_b ? Shape{T} : Shape{B, T};
  const auto slot = [over_t, over_b, T](std::int64_t b, std::int64_t t) -> std::int64_t {
    return over_t && over_b ? 0 : over_t ? b : over_b ? t : b * T + t;
  };
  const bool recorded = will_record({logits});  // the backward needs the softmax: keep it only then
  Tensor probs = recorded ? Tensor::uninitialized(DType::float32, logits.shape()) : Tensor();
  const auto ce = cross_entropy_rows(logits.data<float>().data(), targets.data<std::int32_t>().data(), B * T, V,
                                     targets.shape(), recorded ? probs.data<float>().data() : nullptr);
  const auto w = weights.data<float>();
  Tensor out(DType::float32, out_shape);
  const auto n_out = static_cast<std::size_t>(out.size());
  std::vector<double> num(n_out, 0.0), den(n_out, 0.0);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t) {
      const auto i = static_cast<std::size_t>(b * T + t);
      const auto k = static_cast<std::size_t>(slot(b, t));
      num[k] += static_cast<double>(ce[i]) * w[i];
      den[k] += sum ? (w[i] != 0.0f ? 1.0 : 0.0) : w[i];
    }
  // scale[k]: what d(out[k]) / d(ce * w) is.
  std::vector<float> inv(n_out, 1.0f);
  for (std::size_t k = 0; k < n_out; ++k) {
    if (avg) inv[k] = static_cast<float>(1.0 / (den[k] + 1e-12));
    if (sum) inv[k] = den[k] == 0.0 ? 0.0f : static_cast<float>(1.0 / den[k]);
    out.data<float>()[k] = avg || sum ? static_cast<float>(num[k] * (avg ? 1.0 / (den[k] + 1e-12) : den[k] == 0.0 ? 0.0 : 1.0 / den[k]))
                                      : static_cast<float>(num[k]);
  }
  return record_op(std::move(out), {logits}, [&](const TrackedInputs&, const Tensor&) {
    return [probs = std::move(probs), targets, weights, inv = std::move(inv), slot, B, T, V](BackwardContext& ctx) mutable {
      const auto g = ctx.output_grad(0)->data<float>();
      const auto w = weights.data<float>();
      std::vector<float> scale(static_cast<std::size_t>(B * T));
      for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t t = 0; t < T; ++t) {
          const auto k = static_cast<std::size_t>(slot(b, t));
          scale[b * T + t] = g[k] * inv[k] * w[b * T + t];
        }
      cross_entropy_backward(probs.data<float>().data(), targets.data<std::int32_t>().data(), scale.data(), B * T, V);
      ctx.accumulate_input(0, std::move(probs));
    };
  });
}

}  // namespace varscope
