// Implementation of varscope:layers — lazy layer scopes and Dense.
module;
#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
module varscope;
#include "eigen_views.hpp"

namespace varscope {

using namespace eigen_views;

std::string_view activation_name(Activation a) noexcept {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
  }
  return "?";
}

void apply_activation(Activation a, MatrixView x) {
  switch (a) {
    case Activation::linear: return;
    case Activation::tanh: return tanh_into(x);
    case Activation::sigmoid: return sigmoid_into(x);
    case Activation::relu:
      for (std::int64_t r = 0; r < x.rows; ++r)
        for (std::int64_t c = 0; c < x.cols; ++c) {
          float& v = x.data[r * x.row_stride + c];
          v = v > 0.0f ? v : 0.0f;
        }
      return;
  }
}

// ---------------------------------------------------------------- LayerScope

void LayerScope::build_once(std::string_view creator, const std::function<void()>& create) {
  if (scope_) return;
  auto run = [&](VariableScopeGuard& entered) {
    CreatorLabel label(std::string(creator) + " '" + entered.name() + "'");
    create();
    scope_ = VariableScope(entered);
  };
  if (!name_.empty()) {
    auto entered = variable_scope(name_, {.reuse = reuse_});
    run(entered);
  } else if (reuse_ != Reuse::None) {
    // TF: a layer built with reuse opens its base name, which must exist.
    auto entered = variable_scope(default_name_, {.reuse = reuse_});
    run(entered);
  } else {
    auto entered = variable_scope(std::nullopt, {.default_name = default_name_});
    run(entered);
  }
}

const VariableScope& LayerScope::scope() const {
  if (!scope_)
    throw InvalidArgumentError("layer '" + base_name() + "' has no scope yet: it is chosen by build() or the first call");
  return *scope_;
}

// ---------------------------------------------------------------- Dense

Dense::Dense(std::int64_t units, DenseOptions options)
    : units_(units), options_(std::move(options)), scope_(options_.name, options_.default_name, options_.reuse) {
  if (units < 1) throw InvalidArgumentError("Dense: units = " + std::to_string(units) + " must be >= 1");
}

void Dense::build(std::int64_t input_dim) {
  if (built()) {
    if (kernel_->shape()[0] != input_dim)
      throw ShapeMismatchError("Dense '" + scope().name() + "' was built for " +
                               std::to_string(kernel_->shape()[0]) + " inputs but got " + std::to_string(input_dim));
    return;
  }
  if (input_dim < 1)
    throw InvalidArgumentError("Dense: input dimension " + std::to_string(input_dim) + " must be >= 1");
  scope_.build_once(options_.creator, [&] {
    kernel_ = get_variable("kernel", {.shape = {input_dim, units_},
                                      .initializer = options_.kernel_initializer,
                                      .trainable = options_.trainable});
    if (options_.use_bias)
      bias_ = get_variable("bias", {.shape = {units_},
                                    .initializer = options_.bias_initializer ? *options_.bias_initializer
                                                                             : zeros_initializer(),
                                    .trainable = options_.trainable});
  });
}

const Variable& Dense::kernel() const {
  if (!kernel_) throw InvalidArgumentError("Dense '" + scope_.base_name() + "' is not built yet");
  return *kernel_;
}

void Dense::apply_into(ConstMatrixView inputs, MatrixView out) const {
  packed_kernel_.matmul_into(inputs, kernel(), 0, kernel().shape()[0], out);
  if (bias_) bias_add_into(out, bias_->value().data<float>());
  apply_activation(options_.activation, out);
}

Tensor Dense::operator()(const Tensor& inputs) {
  if (inputs.dtype() != DType::float32)
    throw DTypeMismatchError("Dense: inputs must be float32, got " + std::string(dtype_name(inputs.dtype())));
  if (inputs.shape().rank() < 2)
    throw ShapeMismatchError("Dense: inputs must have rank >= 2 ([batch, ..., features]), got shape " +
                             inputs.shape().to_string() +
                             " (as TF's Dense: expected min_ndim=2); add a batch dimension, e.g. [1, n]");
  const std::int64_t in = inputs.shape()[inputs.shape().rank() - 1];
  build(in);
  std::vector<std::int64_t> dims = inputs.shape().dims();
  dims.back() = units_;
  Tensor out = Tensor::uninitialized(DType::float32, Shape(dims));
  if (out.size() > 0) apply_into(as_matrix(inputs), as_matrix(out));
  // One fused entry: z = x @ kernel + bias, y = activation(z). Inputs: 0 x, 1 kernel, 2 bias (absent without one).
  return record_op(std::move(out), {inputs, *kernel_, bias_ ? OpInput(*bias_) : OpInput()},
                   [&](const TrackedInputs&, const Tensor& y_out) {
    // The output is kept only when the activation's derivative needs it.
    return [x = inputs, y = options_.activation == Activation::linear ? Tensor() : y_out, kernel = *kernel_,
            act = options_.activation, units = units_](BackwardContext& ctx) {
      const Tensor& dy = *ctx.output_grad(0);
      if (dy.size() == 0) return;
      Tensor scaled;  // dz = dy * activation'(z); for a linear layer dz is dy itself (no copy)
      if (act != Activation::linear) {
        scaled = dy;
        auto Z = eigen(as_matrix(scaled));
        const auto Y = eigen(as_matrix(y)).array();
        switch (act) {
          case Activation::linear: break;
          case Activation::tanh: Z.array() *= 1.0f - Y.square(); break;
          case Activation::sigmoid: Z.array() *= Y * (1.0f - Y); break;
          case Activation::relu: Z.array() *= (Y > 0.0f).cast<float>(); break;
        }
      }
      const ConstMatrixView z = as_matrix(act == Activation::linear ? dy : scaled);
      const ConstMatrixView xm = as_matrix(x);
      if (ctx.input_tracked(1)) {
        bool fresh = false;
        Tensor& dk = ctx.input_grad(1, kernel.shape(), fresh);
        matmul_transposed_a_into(xm, z, as_matrix(dk), /*accumulate=*/!fresh);  // dK (+)= x^T dz
      }
      if (ctx.input_tracked(2))
        Eigen::Map<Eigen::RowVectorXf>(ctx.input_grad(2, Shape{units}).data<float>().data(), units) +=
            eigen(z).colwise().sum();
      if (ctx.input_tracked(0)) {
        Tensor dx = Tensor::uninitialized(DType::float32, x.shape());
        matmul_transposed_b_into(z, as_matrix(kernel.value()), as_matrix(dx));  // dx = dz K^T
        ctx.accumulate_input(0, std::move(dx));
      }
    };
  });
}

Tensor dense(const Tensor& inputs, std::int64_t units, DenseOptions options) {
  Dense layer(units, std::move(options));
  return layer(inputs);
}

}  // namespace varscope
