// Implementation of varscope:ops. Readable loops for the data-movement ops;
// Eigen maps (no copies) for the arithmetic.
module;
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <optional>
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
using validate::require_int;
using validate::require_rank;
using validate::shape_error;

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
  // Through :kernels' products, so the op gets varscope's threads (fixed column blocks) and
  // the same kernels as the layers; both operands transposed is rare enough for Eigen.
  if (transpose_a && transpose_b) {
    eigen(as_matrix(out)).noalias() = eigen(as_matrix(a)).transpose() * eigen(as_matrix(b)).transpose();
  } else if (transpose_a) {
    matmul_transposed_a_into(as_matrix(a), as_matrix(b), as_matrix(out));
  } else if (transpose_b) {
    matmul_transposed_b_into(as_matrix(a), as_matrix(b), as_matrix(out));
  } else {
    matmul_into(as_matrix(a), as_matrix(b), as_matrix(out));
  }
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
  validate::require_tensor_of_shape("where", "b", b, a.dtype(), a.shape(), "the dtype and shape of a");
  if (a.shape().rank() < 1 || a.shape()[0] != mask.shape()[0])
    shape_error("where", "mask " + mask.shape().to_string() + " must have one entry per row of " +
                             a.shape().to_string());
  Tensor out = untracked(b);  // not differentiable here: a copy must not pass for b
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
  // Split over the outer rows (a training step's TrainingHelper takes the argmax of [B, T, V]
  // logits: millions of compares); each row's pick is the same whoever runs it.
  parallel_for(s.outer, double(s.outer) * double(s.dim) * double(s.inner), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t a = begin; a < end; ++a)
      for (std::int64_t c = 0; c < s.inner; ++c) {
        std::int64_t best = 0;
        for (std::int64_t d = 1; d < s.dim; ++d)
          if (in[(a * s.dim + d) * s.inner + c] > in[(a * s.dim + best) * s.inner + c]) best = d;
        o[a * s.inner + c] = static_cast<std::int32_t>(best);
      }
  });
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

namespace {

// out[i] = x[i with its coordinate k along seq_ax replaced by len - 1 - k when k < len],
// len = lengths[coordinate along batch_ax] (or the whole dimension without lengths).
template <class T>
void reverse_into(std::span<const T> x, std::span<T> out, const Shape& s, std::size_t seq_ax,
                  std::optional<std::size_t> batch_ax, std::span<const std::int32_t> lengths) {
  const AxisSplit seq = around(s, seq_ax);
  std::int64_t batch_stride = 1;
  if (batch_ax)
    for (std::size_t i = *batch_ax + 1; i < s.rank(); ++i) batch_stride *= s[i];
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(out.size()); ++i) {
    const std::int64_t k = (i / seq.inner) % seq.dim;
    const std::int64_t len = batch_ax ? lengths[static_cast<std::size_t>((i / batch_stride) % s[*batch_ax])] : seq.dim;
    const std::int64_t src = k < len ? i + (len - 1 - 2 * k) * seq.inner : i;
    out[static_cast<std::size_t>(i)] = x[static_cast<std::size_t>(src)];
  }
}

Tensor reverse_impl(const Tensor& x, std::size_t seq_ax, std::optional<std::size_t> batch_ax,
                    std::span<const std::int32_t> lengths) {
  Tensor out = Tensor::uninitialized(x.dtype(), x.shape());  // every element written
  if (x.dtype() == DType::float32)
    reverse_into<float>(x.data<float>(), out.data<float>(), x.shape(), seq_ax, batch_ax, lengths);
  else
    reverse_into<std::int32_t>(x.data<std::int32_t>(), out.data<std::int32_t>(), x.shape(), seq_ax, batch_ax,
                               lengths);
  return out;
}

// An axis of `what` (seq_axis, batch_axis, axis) in [-rank, rank), normalized.
std::size_t op_axis(const std::string& op, const char* what, int axis, const Tensor& x) {
  const int r = static_cast<int>(x.shape().rank());
  if (axis < -r || axis >= r)
    throw InvalidArgumentError(op + ": " + what + " " + std::to_string(axis) + " is out of range for input " +
                               validate::describe(x) + " (rank " + std::to_string(r) + "); use an axis in [" +
                               std::to_string(-r) + ", " + std::to_string(r - 1) + "]");
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

struct ReverseSequenceAxes {
  std::size_t seq = 0, batch = 0;
};

ReverseSequenceAxes check_reverse_sequence(const Tensor& input, const Tensor& seq_lengths, int seq_axis,
                                           int batch_axis) {
  const std::string op = "reverse_sequence";
  if (input.shape().rank() < 2)
    shape_error(op, "input must have rank >= 2 (a batch axis and a sequence axis), got " + validate::describe(input));
  const ReverseSequenceAxes ax{op_axis(op, "seq_axis", seq_axis, input), op_axis(op, "batch_axis", batch_axis, input)};
  if (ax.seq == ax.batch)
    throw InvalidArgumentError(op + ": seq_axis " + std::to_string(seq_axis) + " and batch_axis " +
                               std::to_string(batch_axis) + " are both axis " + std::to_string(ax.seq) + " of input " +
                               validate::describe(input) +
                               "; they must differ (batch-major [batch, time, ...]: seq_axis 1, batch_axis 0)");
  const std::int64_t B = input.shape()[ax.batch], T = input.shape()[ax.seq];
  const std::string hint = "one length per entry along batch_axis " + std::to_string(ax.batch) + " of input " +
                           validate::describe(input);
  validate::require_tensor(op, "seq_lengths", seq_lengths, DType::int32, {validate::Dim(B, "batch")}, hint);
  const auto lens = seq_lengths.data<std::int32_t>();
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int32_t l = lens[static_cast<std::size_t>(b)];
    if (l < 0 || l > T)
      throw InvalidArgumentError(op + ": seq_lengths[" + std::to_string(b) + "] = " + std::to_string(l) +
                                 " is outside [0, " + std::to_string(T) + "] (dimension " + std::to_string(ax.seq) +
                                 ", the seq_axis, of input " + validate::describe(input) + ")");
  }
  return ax;
}

}  // namespace

float max_abs_diff(const Tensor& a, const Tensor& b) {
  require_float("max_abs_diff", a, "a");
  require_float("max_abs_diff", b, "b");
  if (a.shape() != b.shape())
    shape_error("max_abs_diff", "shapes differ: " + a.shape().to_string() + " vs " + b.shape().to_string());
  // Never hides a non-finite value (std::max(worst, NaN) would keep worst): a NaN on
  // either side gives NaN, an infinity facing any other value +inf; the same infinity
  // on both sides is equal (tests/compare_self_test.cpp).
  float worst = 0.0f;
  const auto x = a.data<float>();
  const auto y = b.data<float>();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i] == y[i]) continue;  // equal values, identical infinities included
    const float d = std::abs(x[i] - y[i]);
    if (std::isnan(d)) return std::numeric_limits<float>::quiet_NaN();
    worst = std::max(worst, d);
  }
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
  return record_op(std::move(out), {x}, [f](const TrackedInputs&, const Tensor& y) {
    return [y, f](BackwardContext& ctx) { ctx.accumulate_input(0, scale_elementwise(*ctx.output_grad(0), y, f)); };
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  return record_op(matmul_forward(a, b, transpose_a, transpose_b), {a, b},
                   [&](const TrackedInputs& in, const Tensor&) {
                     return [av = in[1] ? a : Tensor(), bv = in[0] ? b : Tensor(), ta = transpose_a,
                             tb = transpose_b](BackwardContext& ctx) {
                       const Tensor& g = *ctx.output_grad(0);
                       // out = op(a) @ op(b): da = g @ op(b)^T (transposed back when ta), db = op(a)^T @ g (likewise).
                       if (ctx.input_tracked(0))
                         ctx.accumulate_input(0, !ta ? matmul_forward(g, bv, false, !tb) : matmul_forward(bv, g, tb, true));
                       if (ctx.input_tracked(1))
                         ctx.accumulate_input(1, !tb ? matmul_forward(av, g, !ta, false) : matmul_forward(g, av, true, ta));
                     };
                   });
}

Tensor add(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return add_forward(a, b);  // the bias case: bias_add records it
  return record_op(add_forward(a, b), {a, b}, [](const TrackedInputs&, const Tensor&) {
    return [](BackwardContext& ctx) {
      ctx.accumulate_input(0, *ctx.output_grad(0));
      ctx.accumulate_input(1, *ctx.output_grad(0));
    };
  });
}

Tensor bias_add(const Tensor& x, const Tensor& bias) {
  return record_op(bias_add_forward(x, bias), {x, bias}, [n = bias.shape()[0]](const TrackedInputs&, const Tensor&) {
    return [n](BackwardContext& ctx) {
      if (ctx.input_tracked(1)) {
        const Tensor& g = *ctx.output_grad(0);
        Tensor& db = ctx.input_grad(1, Shape{n});
        if (g.size() > 0)
          Eigen::Map<Eigen::RowVectorXf>(db.data<float>().data(), n) += eigen(as_matrix(g)).colwise().sum();
      }
      if (ctx.input_tracked(0)) ctx.accumulate_input(0, ctx.take_output_grad(0));  // the same gradient flows to x: no copy
    };
  });
}

namespace {

Tensor scale_forward(const Tensor& x, double scalar) {
  Tensor out = x;
  if (x.dtype() == DType::float32) {
    const auto s = static_cast<float>(scalar);
    for (auto& v : out.data<float>()) v *= s;
    return out;
  }
  if (!(std::trunc(scalar) == scalar && scalar >= std::numeric_limits<std::int32_t>::min() &&
        scalar <= std::numeric_limits<std::int32_t>::max()))
    throw InvalidArgumentError("multiply: scalar " + std::to_string(scalar) + " cannot multiply an int32 tensor " +
                               x.shape().to_string() +
                               "; use a whole number in int32 range, or a float32 tensor for a fractional factor");
  const auto s = static_cast<std::uint32_t>(static_cast<std::int32_t>(scalar));
  for (auto& v : out.data<std::int32_t>())  // wraps like TF's int32 multiply, without signed overflow
    v = static_cast<std::int32_t>(static_cast<std::uint32_t>(v) * s);
  return out;
}

}  // namespace

Tensor operator*(const Tensor& x, double scalar) {
  // An int32 x is never tracked (id_of gives float32 values only).
  return record_op(scale_forward(x, scalar), {x}, [scalar](const TrackedInputs&, const Tensor&) {
    return [scalar](BackwardContext& ctx) { ctx.accumulate_input(0, scale_forward(*ctx.output_grad(0), scalar)); };
  });
}

Tensor operator*(double scalar, const Tensor& x) { return x * scalar; }

Tensor multiply(const Tensor& a, const Tensor& b) {
  return record_op(multiply_forward(a, b), {a, b}, [&](const TrackedInputs& in, const Tensor&) {
    return [av = in[1] ? a : Tensor(), bv = in[0] ? b : Tensor()](BackwardContext& ctx) {
      const Tensor& g = *ctx.output_grad(0);
      if (ctx.input_tracked(0)) ctx.accumulate_input(0, multiply_forward(g, bv));
      if (ctx.input_tracked(1)) ctx.accumulate_input(1, multiply_forward(g, av));
    };
  });
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
  const std::vector<OpInput> inputs(parts.begin(), parts.end());
  Tensor* outs[] = {&out};
  record_op(outs, inputs, [&](const TrackedInputs&) {
    const std::size_t ax = normalize_axis("concat", axis, out.shape().rank());
    std::vector<Shape> shapes;
    for (const auto& p : parts) shapes.push_back(p.shape());
    return [shapes = std::move(shapes), ax](BackwardContext& ctx) {
      const Tensor& g = *ctx.output_grad(0);
      std::int64_t offset = 0;
      for (std::size_t p = 0; p < shapes.size(); ++p) {
        if (ctx.input_tracked(p)) {
          std::vector<std::int64_t> begin(g.shape().rank(), 0);
          begin[ax] = offset;
          ctx.accumulate_input(p, slice_forward(g, begin, shapes[p].dims()));
        }
        offset += shapes[p][ax];
      }
    };
  });
  return out;
}

Tensor slice(const Tensor& x, const std::vector<std::int64_t>& begin, const std::vector<std::int64_t>& size) {
  return record_op(slice_forward(x, begin, size), {x}, [&](const TrackedInputs&, const Tensor&) {
    return [begin, shape = x.shape()](BackwardContext& ctx) {
      scatter_region(ctx.input_grad(0, shape), *ctx.output_grad(0), begin);
    };
  });
}

Tensor gather(const Tensor& params, const Tensor& indices) {
  return record_op(gather_forward(params, indices), {params}, [&](const TrackedInputs&, const Tensor&) {
    // Dense accumulation: rows of repeated ids are summed (what TF's IndexedSlices
    // become once densified or deduplicated by the optimizer).
    return [indices, shape = params.shape()](BackwardContext& ctx) {
      const Tensor& g = *ctx.output_grad(0);
      Tensor& dp = ctx.input_grad(0, shape);
      const std::int64_t row = shape[0] == 0 ? 0 : dp.size() / shape[0];
      const auto ids = indices.data<std::int32_t>();
      const float* src = g.data<float>().data();
      float* dst = dp.data<float>().data();
      for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::int64_t c = 0; c < row; ++c) dst[ids[i] * row + c] += src[static_cast<std::int64_t>(i) * row + c];
    };
  });
}

Tensor reduce_sum(const Tensor& x, int axis) {
  return record_op(reduce_sum_forward(x, axis), {x}, [&](const TrackedInputs&, const Tensor&) {
    const AxisSplit s = around(x.shape(), normalize_axis("reduce_sum", axis, x.shape().rank()));
    return [s, shape = x.shape()](BackwardContext& ctx) {
      const auto g = ctx.output_grad(0)->data<float>();
      auto d = ctx.input_grad(0, shape).data<float>();
      for (std::int64_t a = 0; a < s.outer; ++a)
        for (std::int64_t k = 0; k < s.dim; ++k)
          for (std::int64_t c = 0; c < s.inner; ++c) d[(a * s.dim + k) * s.inner + c] += g[a * s.inner + c];
    };
  });
}

Tensor softmax(const Tensor& logits) {
  return record_op(softmax_forward(logits), {logits}, [](const TrackedInputs&, const Tensor& y) {
    return [y](BackwardContext& ctx) {
      // dx = y * (g - sum(g * y)) per row
      Tensor& d = ctx.input_grad(0, y.shape());
      if (y.size() == 0) return;
      const auto ey = eigen(as_matrix(y)).array();
      const auto eg = eigen(as_matrix(*ctx.output_grad(0))).array();
      const Eigen::ArrayXf dot = (eg * ey).rowwise().sum();
      eigen(as_matrix(d)).array() += ey * (eg.colwise() - dot);
    };
  });
}

Tensor log_softmax(const Tensor& logits) {
  return record_op(log_softmax_forward(logits), {logits}, [](const TrackedInputs&, const Tensor& y) {
    return [y](BackwardContext& ctx) {
      // dx = g - softmax(x) * sum(g) per row, softmax(x) = exp(y)
      Tensor& d = ctx.input_grad(0, y.shape());
      if (y.size() == 0) return;
      const auto ey = eigen(as_matrix(y)).array();
      const auto eg = eigen(as_matrix(*ctx.output_grad(0))).array();
      const Eigen::ArrayXf sum = eg.rowwise().sum();
      eigen(as_matrix(d)).array() += eg - ey.exp().colwise() * sum;
    };
  });
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  return record_op(reshape_forward(x, shape), {x}, [&](const TrackedInputs&, const Tensor&) {
    return [shape = x.shape()](BackwardContext& ctx) {
      ctx.accumulate_input(0, reshape_forward(*ctx.output_grad(0), shape));
    };
  });
}

Tensor reverse_sequence(const Tensor& input, const Tensor& seq_lengths, int seq_axis, int batch_axis) {
  const ReverseSequenceAxes ax = check_reverse_sequence(input, seq_lengths, seq_axis, batch_axis);
  // An int32 input is never tracked (id_of gives float32 values only); the lengths are not differentiable.
  return record_op(reverse_impl(input, ax.seq, ax.batch, seq_lengths.data<std::int32_t>()), {input},
                   [&](const TrackedInputs&, const Tensor&) {
                     return [lengths = seq_lengths, ax](BackwardContext& ctx) {
                       // A permutation within each row: its adjoint is the same permutation.
                       ctx.accumulate_input(
                           0, reverse_impl(*ctx.output_grad(0), ax.seq, ax.batch, lengths.data<std::int32_t>()));
                     };
                   });
}

Tensor reverse(const Tensor& x, int axis) {
  const std::size_t ax = op_axis("reverse", "axis", axis, x);
  return record_op(reverse_impl(x, ax, std::nullopt, {}), {x}, [ax](const TrackedInputs&, const Tensor&) {
    return [ax](BackwardContext& ctx) {
      ctx.accumulate_input(0, reverse_impl(*ctx.output_grad(0), ax, std::nullopt, {}));
    };
  });
}

}  // namespace varscope
