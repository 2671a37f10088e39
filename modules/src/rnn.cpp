// Implementation of varscope:rnn — GRU steps as fused Eigen expressions over
// views (no copies, no per-step allocation) and the dynamic_rnn loop.
module;
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
module varscope;
#include "eigen_views.hpp"

namespace varscope {

namespace {
using namespace eigen_views;
Eigen::Map<const Eigen::RowVectorXf> row_vector(const Variable& v) {
  const auto d = v.value().data<float>();
  return Eigen::Map<const Eigen::RowVectorXf>(d.data(), static_cast<Eigen::Index>(d.size()));
}
// Rows [begin, begin + count) of a rank-2 variable.
void check_step_shapes(const char* cell, std::int64_t units, std::int64_t projection, ConstMatrixView p,
                       ConstMatrixView h, MatrixView out) {
  if (p.cols != projection || h.cols != units || out.cols != units || p.rows != h.rows || out.rows != h.rows)
    throw ShapeMismatchError(std::string(cell) + " step: projection [" + std::to_string(p.rows) + ", " +
                             std::to_string(p.cols) + "], state [" + std::to_string(h.rows) + ", " +
                             std::to_string(h.cols) + "], output [" + std::to_string(out.rows) + ", " +
                             std::to_string(out.cols) + "] do not fit " + std::to_string(units) + " units");
}
}  // namespace

float* Workspace::buffer(std::size_t slot, std::size_t count) {
  if (slots_.size() <= slot) slots_.resize(slot + 1);
  if (slots_[slot].size() < count) slots_[slot].resize(count);
  return slots_[slot].data();
}

// ---------------------------------------------------------------- RNNCell

Tensor RNNCell::operator()(const Tensor& inputs, const Tensor& state) {
  if (inputs.dtype() != DType::float32 || inputs.shape().rank() != 2)
    throw ShapeMismatchError("RNNCell: inputs must be float32 [batch, depth], got " +
                             std::string(dtype_name(inputs.dtype())) + " " + inputs.shape().to_string());
  if (state.dtype() != DType::float32 || state.shape() != Shape{inputs.shape()[0], state_size()})
    throw ShapeMismatchError("RNNCell: state must be float32 [" + std::to_string(inputs.shape()[0]) + ", " +
                             std::to_string(state_size()) + "], got " + state.shape().to_string());
  build(inputs.shape()[1]);
  Tensor projection(DType::float32, Shape{inputs.shape()[0], projection_size()});
  project_inputs(as_matrix(inputs), as_matrix(projection));
  Tensor out(DType::float32, state.shape());
  Workspace workspace;
  step(as_matrix(projection), as_matrix(state), as_matrix(out), workspace);
  return out;
}

Tensor RNNCell::zero_state(std::int64_t batch) const { return Tensor(DType::float32, Shape{batch, state_size()}); }

// ---------------------------------------------------------------- GRUCell (TF layout)

GRUCell::GRUCell(std::int64_t num_units, std::string name, std::optional<Initializer> kernel_initializer,
                 std::optional<Initializer> bias_initializer)
    : units_(num_units),
      kernel_initializer_(std::move(kernel_initializer)),
      bias_initializer_(std::move(bias_initializer)),
      scope_(std::move(name), "gru_cell") {
  if (num_units < 1) throw InvalidArgumentError("GRUCell: num_units = " + std::to_string(num_units) + " must be >= 1");
}

void GRUCell::build(std::int64_t input_dim) {
  if (built()) {
    if (input_dim != input_dim_)
      throw ShapeMismatchError("GRUCell '" + scope().name() + "' was built for input depth " +
                               std::to_string(input_dim_) + " but got " + std::to_string(input_dim));
    return;
  }
  if (input_dim < 1) throw InvalidArgumentError("GRUCell: input depth " + std::to_string(input_dim) + " must be >= 1");
  const std::int64_t H = units_;
  scope_.build_once("GRUCell", [&] {
    gates_kernel_ = get_variable("gates/kernel", {.shape = {input_dim + H, 2 * H}, .initializer = kernel_initializer_});
    gates_bias_ = get_variable("gates/bias", {.shape = {2 * H},
                                              .initializer = bias_initializer_ ? *bias_initializer_
                                                                               : constant_initializer(1.0)});
    candidate_kernel_ =
        get_variable("candidate/kernel", {.shape = {input_dim + H, H}, .initializer = kernel_initializer_});
    candidate_bias_ = get_variable("candidate/bias", {.shape = {H},
                                                      .initializer = bias_initializer_ ? *bias_initializer_
                                                                                       : zeros_initializer()});
  });
  input_dim_ = input_dim;
}

std::vector<Variable> GRUCell::variables() const {
  if (!built()) throw InvalidArgumentError("GRUCell is not built yet: call it once");
  return {*gates_kernel_, *gates_bias_, *candidate_kernel_, *candidate_bias_};
}

void GRUCell::project_inputs(ConstMatrixView x, MatrixView out) const {
  if (!built()) throw InvalidArgumentError("GRUCell::project_inputs: build the cell first");
  const std::int64_t H = units_;
  if (x.cols != input_dim_ || out.cols != 3 * H || out.rows != x.rows)
    throw ShapeMismatchError("GRUCell::project_inputs: x has " + std::to_string(x.cols) + " columns (expected " +
                             std::to_string(input_dim_) + "), out has " + std::to_string(out.cols) +
                             " (expected " + std::to_string(3 * H) + ")");
  // x-rows of the kernels: [x, h] @ K == x @ K[:D] + h @ K[D:].
  auto gates = eigen(columns(out, 0, 2 * H));
  auto cand = eigen(columns(out, 2 * H, H));
  gates_x_.matmul_into(x, *gates_kernel_, 0, input_dim_, columns(out, 0, 2 * H));
  gates.rowwise() += row_vector(*gates_bias_);
  candidate_x_.matmul_into(x, *candidate_kernel_, 0, input_dim_, columns(out, 2 * H, H));
  cand.rowwise() += row_vector(*candidate_bias_);
}

void GRUCell::step(ConstMatrixView projection, ConstMatrixView state, MatrixView state_out,
                   Workspace& workspace) const {
  const std::int64_t H = units_;
  const std::int64_t B = state.rows;
  check_step_shapes("GRUCell", H, 3 * H, projection, state, state_out);
  const auto p = eigen(projection);
  const auto h = eigen(state);
  Map g(workspace.buffer(0, static_cast<std::size_t>(B * 2 * H)), B, 2 * H, Eigen::OuterStride<>(2 * H));
  Map rh(workspace.buffer(1, static_cast<std::size_t>(B * H)), B, H, Eigen::OuterStride<>(H));
  // [r, u] = sigmoid(x@Kx + b + h@Kh)
  gates_h_.matmul_into(state, *gates_kernel_, input_dim_, H, MatrixView{g.data(), B, 2 * H, 2 * H});
  g += p.leftCols(2 * H);
  g = (1.0f + (-g.array()).exp()).inverse().matrix();
  // c = tanh(x@Cx + b + (r*h)@Ch)
  rh = g.leftCols(H).cwiseProduct(h);
  auto out = eigen(state_out);
  candidate_h_.matmul_into(ConstMatrixView(rh.data(), B, H, H), *candidate_kernel_, input_dim_, H, state_out);
  out += p.rightCols(H);
  out = out.array().tanh().matrix();
  // h' = u*h + (1-u)*c  ==  c + u*(h - c)
  const auto u = g.rightCols(H).array();
  out = (out.array() + u * (h.array() - out.array())).matrix();
}

// ---------------------------------------------------------------- ResetAfterGRUCell (PyTorch layout)

ResetAfterGRUCell::ResetAfterGRUCell(std::int64_t num_units, std::string name)
    : units_(num_units), scope_(std::move(name), "gru") {
  if (num_units < 1)
    throw InvalidArgumentError("ResetAfterGRUCell: num_units = " + std::to_string(num_units) + " must be >= 1");
}

void ResetAfterGRUCell::build(std::int64_t input_dim) {
  if (built()) {
    if (input_dim != input_dim_)
      throw ShapeMismatchError("ResetAfterGRUCell '" + scope().name() + "' was built for input depth " +
                               std::to_string(input_dim_) + " but got " + std::to_string(input_dim));
    return;
  }
  if (input_dim < 1)
    throw InvalidArgumentError("ResetAfterGRUCell: input depth " + std::to_string(input_dim) + " must be >= 1");
  const std::int64_t H = units_;
  const double bound = 1.0 / std::sqrt(static_cast<double>(H));
  const Initializer init = random_uniform_initializer(-bound, bound);
  scope_.build_once("ResetAfterGRUCell", [&] {
    weight_ih_ = get_variable("weight_ih", {.shape = {3 * H, input_dim}, .initializer = init});
    weight_hh_ = get_variable("weight_hh", {.shape = {3 * H, H}, .initializer = init});
    bias_ih_ = get_variable("bias_ih", {.shape = {3 * H}, .initializer = init});
    bias_hh_ = get_variable("bias_hh", {.shape = {3 * H}, .initializer = init});
  });
  input_dim_ = input_dim;
}

std::vector<Variable> ResetAfterGRUCell::variables() const {
  if (!built()) throw InvalidArgumentError("ResetAfterGRUCell is not built yet: call it once");
  return {*weight_ih_, *weight_hh_, *bias_ih_, *bias_hh_};
}

void ResetAfterGRUCell::project_inputs(ConstMatrixView x, MatrixView out) const {
  if (!built()) throw InvalidArgumentError("ResetAfterGRUCell::project_inputs: build the cell first");
  if (x.cols != input_dim_ || out.cols != 3 * units_ || out.rows != x.rows)
    throw ShapeMismatchError("ResetAfterGRUCell::project_inputs: x has " + std::to_string(x.cols) +
                             " columns (expected " + std::to_string(input_dim_) + ")");
  packed_ih_.matmul_transposed_into(x, *weight_ih_, out);  // x @ W_ih^T
  eigen(out).rowwise() += row_vector(*bias_ih_);
}

void ResetAfterGRUCell::step(ConstMatrixView projection, ConstMatrixView state, MatrixView state_out,
                             Workspace& workspace) const {
  const std::int64_t H = units_;
  const std::int64_t B = state.rows;
  check_step_shapes("ResetAfterGRUCell", H, 3 * H, projection, state, state_out);
  const auto p = eigen(projection);
  const auto h = eigen(state);
  Map gh(workspace.buffer(0, static_cast<std::size_t>(B * 3 * H)), B, 3 * H, Eigen::OuterStride<>(3 * H));
  packed_hh_.matmul_transposed_into(state, *weight_hh_, MatrixView{gh.data(), B, 3 * H, 3 * H});  // h @ W_hh^T
  gh.rowwise() += row_vector(*bias_hh_);
  // r and z in place over gh's first 2H columns.
  auto rz = gh.leftCols(2 * H);
  rz = (1.0f + (-(rz + p.leftCols(2 * H)).array()).exp()).inverse().matrix();
  auto out = eigen(state_out);
  out = (p.rightCols(H).array() + rz.leftCols(H).array() * gh.rightCols(H).array()).tanh().matrix();
  // h' = (1-z)*n + z*h == n + z*(h - n)
  out = (out.array() + rz.rightCols(H).array() * (h.array() - out.array())).matrix();
}

// ---------------------------------------------------------------- dynamic_rnn

RNNResult dynamic_rnn(RNNCell& cell, const Tensor& inputs, DynamicRNNOptions options) {
  if (inputs.dtype() != DType::float32 || inputs.shape().rank() != 3)
    throw ShapeMismatchError("dynamic_rnn: inputs must be float32 [batch, time, depth], got " +
                             std::string(dtype_name(inputs.dtype())) + " " + inputs.shape().to_string());
  const std::int64_t B = inputs.shape()[0], T = inputs.shape()[1], D = inputs.shape()[2];
  const std::int64_t H = cell.state_size();
  std::vector<std::int64_t> length(static_cast<std::size_t>(B), T);
  if (options.sequence_length) {
    const Tensor& lens = *options.sequence_length;
    if (lens.dtype() != DType::int32 || lens.shape() != Shape{B})
      throw ShapeMismatchError("dynamic_rnn: sequence_length must be int32 [" + std::to_string(B) + "], got " +
                               std::string(dtype_name(lens.dtype())) + " " + lens.shape().to_string());
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int32_t l = lens.data<std::int32_t>()[b];
      if (l < 0 || l > T)
        throw InvalidArgumentError("dynamic_rnn: sequence_length[" + std::to_string(b) + "] = " + std::to_string(l) +
                                   " is outside [0, " + std::to_string(T) + "] (time steps in inputs)");
      length[b] = l;
    }
  }
  Tensor state = options.initial_state ? *options.initial_state : Tensor(DType::float32, Shape{B, H});
  if (state.dtype() != DType::float32 || state.shape() != Shape{B, H})
    throw ShapeMismatchError("dynamic_rnn: initial_state must be float32 [" + std::to_string(B) + ", " +
                             std::to_string(H) + "], got " + state.shape().to_string());

  // An empty scope re-enters the current scope object: variables go where the caller is.
  auto scope = options.scope.empty() ? variable_scope(get_variable_scope()) : variable_scope(options.scope);
  const Graph::ReadingGuard reading(get_default_graph());  // assign() elsewhere is refused meanwhile
  cell.build(D);
  const std::int64_t P = cell.projection_size();
  // Scratch kept per thread between calls: the input projection is megabytes at
  // real sizes ([B*T, 3H]), and fresh memory costs a page fault per 4 KiB on first
  // touch (perf: ~28% of a medium-shape decoder GRU). A nested call (a custom cell
  // that runs dynamic_rnn inside its step) gets its own scratch.
  thread_local Workspace cached_projection, cached_steps;
  thread_local bool scratch_in_use = false;
  Workspace own_projection, own_steps;
  const bool use_cached = !scratch_in_use;
  Workspace& projection_space = use_cached ? cached_projection : own_projection;
  Workspace& workspace = use_cached ? cached_steps : own_steps;
  struct InUse {
    bool& flag;
    bool active;
    ~InUse() {
      if (active) flag = false;
    }
  } in_use{scratch_in_use, use_cached};
  scratch_in_use = true;

  // Input half of every step at once: [B*T, D] @ ... -> [B*T, P]; step t of row b is row b*T + t.
  float* projection = projection_space.buffer(0, static_cast<std::size_t>(B * T * P));
  if (B * T > 0)
    cell.project_inputs(ConstMatrixView(inputs.data<float>().data(), B * T, D, D), MatrixView{projection, B * T, P, P});

  // Every output row is written below: the step's output, or zeros past a sequence's length.
  Tensor outputs = Tensor::uninitialized(DType::float32, Shape{B, T, H});
  Tensor next = Tensor::uninitialized(DType::float32, Shape{B, H});
  const std::int64_t steps = B == 0 ? 0 : *std::max_element(length.begin(), length.end());
  for (std::int64_t t = 0; t < steps; ++t) {
    const ConstMatrixView p_t(projection + t * P, B, P, T * P);
    cell.step(p_t, as_matrix(state), as_matrix(next), workspace);
    auto out_t = eigen(time_step(outputs, t));
    auto n = eigen(as_matrix(next));
    const auto s = eigen(as_matrix(static_cast<const Tensor&>(state)));
    for (std::int64_t b = 0; b < B; ++b) {
      if (t < length[b]) {
        out_t.row(b) = n.row(b);
      } else {
        out_t.row(b).setZero();  // finished: output zero, state copied through
        n.row(b) = s.row(b);
      }
    }
    std::swap(state, next);
  }
  for (std::int64_t t = steps; t < T; ++t) eigen(time_step(outputs, t)).setZero();  // no sequence reaches t
  return {std::move(outputs), std::move(state)};
}

}  // namespace varscope
