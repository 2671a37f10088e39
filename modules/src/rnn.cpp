// Implementation of varscope:rnn — GRU steps as fused Eigen expressions over
// views (no copies, no per-step allocation) and the dynamic_rnn loop.
module;
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
module varscope;
#include "eigen_views.hpp"
#include "validate.hpp"
#include "state_checks.hpp"

namespace varscope {

namespace {
using namespace eigen_views;
Eigen::Map<const Eigen::RowVectorXf> row_vector(const Variable& v) {
  const auto d = v.value().data<float>();
  return Eigen::Map<const Eigen::RowVectorXf>(d.data(), static_cast<Eigen::Index>(d.size()));
}
// Rows [begin, begin + count) of a rank-2 variable.
void check_step_shapes(const char* cell, std::int64_t units, std::int64_t projection, const StepArgs& a) {
  const ConstMatrixView p = a.projection, h = a.state;
  const MatrixView out = a.state_out;
  const bool output_fits = !a.output.data || (a.output.cols == units && a.output.rows == h.rows);
  if (p.cols != projection || h.cols != units || out.cols != units || p.rows != h.rows || out.rows != h.rows ||
      !output_fits)
    throw ShapeMismatchError(std::string(cell) + " step: projection [" + std::to_string(p.rows) + ", " +
                             std::to_string(p.cols) + "], state [" + std::to_string(h.rows) + ", " +
                             std::to_string(h.cols) + "], new state [" + std::to_string(out.rows) + ", " +
                             std::to_string(out.cols) + "], output [" + std::to_string(a.output.rows) + ", " +
                             std::to_string(a.output.cols) + "] do not fit " + std::to_string(units) + " units");
}

// The gradient reaching a GRU's new state: d_state_out + d_output (its output IS its
// new state), into workspace slot `slot` when an output gradient flows.
ConstMatrixView state_and_output_grad(const StepBackwardArgs& a, Workspace& workspace, std::size_t slot) {
  if (!a.d_output.data) return a.d_state_out;
  const std::int64_t B = a.d_state_out.rows, H = a.d_state_out.cols;
  Map sum(workspace.buffer(slot, static_cast<std::size_t>(B * H)), B, H, Eigen::OuterStride<>(H));
  sum = eigen(a.d_state_out) + eigen(a.d_output);
  return ConstMatrixView(sum.data(), B, H, H);
}
}  // namespace

float* Workspace::buffer(std::size_t slot, std::size_t count) {
  if (slots_.size() <= slot) slots_.resize(slot + 1);
  if (slots_[slot].size() < count) slots_[slot].resize(count);
  return slots_[slot].data();
}

Workspace& Workspace::child(std::size_t i) {
  if (children_.size() <= i) children_.resize(i + 1);
  if (!children_[i]) children_[i] = std::make_unique<Workspace>();
  return *children_[i];
}


// ---------------------------------------------------------------- RNNCell

CellOutput RNNCell::operator()(const Tensor& inputs, const State& state) {
  validate::require_tensor("RNNCell", "inputs", inputs, DType::float32, {"batch", "depth"});
  const std::int64_t B = inputs.shape()[0];
  const StateSize size = state_size();
  detail::require_state("RNNCell", "state", state, size, B, "batch of the inputs, state size of the cell");
  build(inputs.shape()[1]);
  const std::int64_t S = flat_size(size), O = output_size(), F = forward_saved_size();
  Tensor projection(DType::float32, Shape{B, projection_size()});
  project_inputs(as_matrix(inputs), as_matrix(projection));
  // One step is a recurrence of length 1 over the packed state: states = [h; h'].
  Tensor states(DType::float32, Shape{2 * B, S});
  pack_state(state, size, MatrixView{states.data<float>().data(), B, S, S}, "RNNCell: state");
  Tensor output(DType::float32, Shape{B, O});
  const bool recorded = GradientTape::active() != nullptr;
  Tensor saved = recorded && F > 0 ? Tensor(DType::float32, Shape{B, F}) : Tensor();
  Workspace workspace;
  step({.projection = as_matrix(std::as_const(projection)),
        .state = ConstMatrixView(states.data<float>().data(), B, S, S),
        .state_out = MatrixView{states.data<float>().data() + B * S, B, S, S},
        .output = as_matrix(output),
        .saved = recorded && F > 0 ? as_matrix(saved) : MatrixView{}},
       workspace);
  State new_state = unpack_state(ConstMatrixView(states.data<float>().data() + B * S, B, S, S), size);
  if (recorded) {
    Tensor x(Shape{B, 1, inputs.shape()[1]}, TensorStorage<float>(inputs.data<float>().begin(), inputs.data<float>().end()));
    detail::record_recurrence(*this, inputs, x, &state, std::move(projection), std::move(states), std::move(saved),
                              std::vector<std::int64_t>(static_cast<std::size_t>(B), 1), 1, output, new_state);
  }
  return {std::move(output), std::move(new_state)};
}

std::vector<Variable> RNNCell::gradient_variables() const {
  throw InvalidArgumentError(
      "this RNNCell has no backward pass: override gradient_variables, step_backward, project_inputs_backward and "
      "clone to train it under a GradientTape (GRUCell and ResetAfterGRUCell have them)");
}
std::int64_t RNNCell::backward_activation_size() const {
  (void)gradient_variables();
  return 0;
}
void RNNCell::backward_activations(ConstMatrixView, ConstMatrixView, ConstMatrixView, MatrixView) const {
  (void)gradient_variables();
}
void RNNCell::step_backward(const StepBackwardArgs&, Workspace&) const { (void)gradient_variables(); }
void RNNCell::recurrent_weights_backward(ConstMatrixView, ConstMatrixView, ConstMatrixView, ConstMatrixView,
                                         std::vector<Tensor>&) const {
  (void)gradient_variables();
}
void RNNCell::project_inputs_backward(ConstMatrixView, ConstMatrixView, MatrixView, std::vector<Tensor>&) const {
  (void)gradient_variables();
}
void RNNCell::project_inputs_backward_input(ConstMatrixView, MatrixView) const { (void)gradient_variables(); }
std::shared_ptr<const RNNCell> RNNCell::clone() const {
  (void)gradient_variables();
  return nullptr;
}

State RNNCell::zero_state(std::int64_t batch) const {
  if (const auto cb = constant_batch(); cb && *cb != batch)
    throw ShapeMismatchError(
        "When calling zero_state of " + describe_constants() +
        ": Non-matching batch sizes between the memory (encoder output) and the requested batch size.  Are you using "
        "the BeamSearchDecoder?  If so, make sure your encoder output has been tiled to beam_width via "
        "tf.contrib.seq2seq.tile_batch, and the batch_size= argument passed to zero_state is batch_size * beam_width. "
        "(memory batch " + std::to_string(*cb) + ", requested " + std::to_string(batch) + ")");
  return initial_state_of(batch);
}
State RNNCell::initial_state_of(std::int64_t batch) const { return varscope::zero_state(state_size(), batch); }
std::int64_t RNNCell::flat_state_size() const { return flat_size(state_size()); }

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

void GRUCell::step(const StepArgs& args, Workspace& workspace) const {
  const ConstMatrixView projection = args.projection, state = args.state;
  const MatrixView state_out = args.state_out;
  const std::int64_t H = units_;
  const std::int64_t B = state.rows;
  check_step_shapes("GRUCell", H, 3 * H, args);
  const auto p = eigen(projection);
  const auto h = eigen(state);
  Map g(workspace.buffer(0, static_cast<std::size_t>(B * 2 * H)), B, 2 * H, Eigen::OuterStride<>(2 * H));
  Map rh(workspace.buffer(1, static_cast<std::size_t>(B * H)), B, H, Eigen::OuterStride<>(H));
  // The gate math between the products runs over row blocks split over the threads (a row
  // is computed the same way in any block, so results do not depend on the thread count).
  // [r, u] = sigmoid(x@Kx + b + h@Kh)
  gates_h_.matmul_into(state, *gates_kernel_, input_dim_, H, MatrixView{g.data(), B, 2 * H, 2 * H});
  parallel_for(B, kTranscendentalWork * double(B) * double(2 * H), [&](std::int64_t i0, std::int64_t i1) {
    auto gi = g.middleRows(i0, i1 - i0);
    gi = (1.0f + (-(gi + p.leftCols(2 * H).middleRows(i0, i1 - i0)).array()).exp()).inverse().matrix();
    rh.middleRows(i0, i1 - i0) = gi.leftCols(H).cwiseProduct(h.middleRows(i0, i1 - i0));
  });
  // c = tanh(x@Cx + b + (r*h)@Ch)
  candidate_h_.matmul_into(ConstMatrixView(rh.data(), B, H, H), *candidate_kernel_, input_dim_, H, state_out);
  // A tanh, the update and (recorded) the saved copy and the output: counted like gate math over 2H.
  parallel_for(B, kTranscendentalWork * double(B) * double(2 * H), [&](std::int64_t i0, std::int64_t i1) {
    const std::int64_t n = i1 - i0;
    auto out = eigen(state_out).middleRows(i0, n);
    out = (out + p.rightCols(H).middleRows(i0, n)).array().tanh().matrix();
    if (args.saved.data) {  // recorded: the backward pass's activations [r, u | c | r*h], as computed here
      auto saved = eigen(args.saved).middleRows(i0, n);
      saved.leftCols(2 * H) = g.middleRows(i0, n);
      saved.middleCols(2 * H, H) = out;
      saved.rightCols(H) = rh.middleRows(i0, n);
    }
    // h' = u*h + (1-u)*c  ==  c + u*(h - c)
    const auto u = g.rightCols(H).middleRows(i0, n).array();
    out = (out.array() + u * (h.middleRows(i0, n).array() - out.array())).matrix();
    if (args.output.data) eigen(args.output).middleRows(i0, n) = out;  // the output of a GRU is its new state
  });
}

// Backward of the TF-layout step (d = d_state_out):
//   dc~ = d*(1-u)*(1-c^2) -> d_projection[:, 2H:];  du = d*(h-c);  dh = d*u
//   d(rh) = dc~ @ Ch^T;  dr = d(rh)*h;  dh += d(rh)*r
//   da = [dr*r(1-r), du*u(1-u)] -> d_projection[:, :2H];  dh += da @ Gh^T
//   dGh += h^T da;  dCh += (r*h)^T dc~   (Gh, Ch: the h-rows of the kernels)
// Activations of the backward pass, per (step, row): [r, u | c | r*h] (4H). A recorded step
// saves them (forward_saved_size), so the backward pass copies them instead of running the
// recurrent products a second time (~8% of a medium training step's FLOPs).
std::int64_t GRUCell::backward_activation_size() const { return 4 * units_; }
std::int64_t GRUCell::forward_saved_size() const { return 4 * units_; }

void GRUCell::backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                                   MatrixView activations) const {
  const std::int64_t H = units_, D = input_dim_;
  const std::int64_t N = states.rows;
  if (saved.data) {  // what the steps saved: the same values, no products
    parallel_for(N, 4.0 * double(N) * double(4 * H), [&](std::int64_t i0, std::int64_t i1) {
      eigen(activations).middleRows(i0, i1 - i0) = eigen(saved).middleRows(i0, i1 - i0);
    });
    return;
  }
  // Recomputed from the states and projections (a wrapper that does not pass `saved` on):
  const auto p = eigen(projection);
  const auto h = eigen(states);
  auto g = eigen(columns(activations, 0, 2 * H));
  auto c = eigen(columns(activations, 2 * H, H));
  auto rh = eigen(columns(activations, 3 * H, H));
  // The forward step's products for every step at once: [N, H] @ Gh, then (r*h) @ Ch, on the
  // packed copies the forward steps used (same sums as they did; SIMD128 in wasm, where a plain
  // product over N rows had no packed kernel).
  // The gate math between them runs over row blocks split over the threads (each element is
  // computed the same way in any block: Eigen vectorises along a row).
  gates_h_.matmul_into(states, *gates_kernel_, D, H, columns(activations, 0, 2 * H));
  parallel_for(N, kTranscendentalWork * double(N) * double(2 * H), [&](std::int64_t i0, std::int64_t i1) {
    auto gi = g.middleRows(i0, i1 - i0);
    gi = (1.0f + (-(gi + p.leftCols(2 * H).middleRows(i0, i1 - i0)).array()).exp()).inverse().matrix();
    rh.middleRows(i0, i1 - i0) = gi.leftCols(H).cwiseProduct(h.middleRows(i0, i1 - i0));
  });
  candidate_h_.matmul_into(columns(ConstMatrixView(activations), 3 * H, H), *candidate_kernel_, D, H,
                           columns(activations, 2 * H, H));
  parallel_for(N, kTranscendentalWork * double(N) * double(H), [&](std::int64_t i0, std::int64_t i1) {
    auto ci = c.middleRows(i0, i1 - i0);
    ci = (ci + p.rightCols(H).middleRows(i0, i1 - i0)).array().tanh().matrix();
  });
}

void GRUCell::step_backward(const StepBackwardArgs& args, Workspace& workspace) const {
  const MatrixView activations = args.activations, d_projection = args.d_projection, d_state = args.d_state;
  const ConstMatrixView state = args.state;
  const std::int64_t H = units_, B = state.rows, D = input_dim_;
  const auto h = eigen(state);
  const auto a = eigen(activations);
  Map drh(workspace.buffer(3, static_cast<std::size_t>(B * H)), B, H, Eigen::OuterStride<>(H));
  const auto r = a.leftCols(H).array();
  const auto u = a.middleCols(H, H).array();
  const auto c = a.middleCols(2 * H, H).array();
  auto dp = eigen(d_projection);
  auto dh = eigen(d_state);
  // The element-wise parts run over row blocks split over the threads, as in step(). Each
  // writes two or three [B, H] blocks from four or five: counted like gate math over 2H.
  const double work = kTranscendentalWork * double(B) * double(2 * H);
  float* const d_sum = args.d_output.data ? workspace.buffer(4, static_cast<std::size_t>(B * H)) : nullptr;
  parallel_for(B, work, [&](std::int64_t i0, std::int64_t i1) {
    const std::int64_t n = i1 - i0;
    const auto hi = h.middleRows(i0, n).array();
    const auto ui = u.middleRows(i0, n), ci = c.middleRows(i0, n);
    const auto gates = [&](const auto& d) {
      dp.rightCols(H).middleRows(i0, n) = (d * (1.0f - ui) * (1.0f - ci.square())).matrix();
      dp.middleCols(H, H).middleRows(i0, n) = (d * (hi - ci) * ui * (1.0f - ui)).matrix();
      dh.middleRows(i0, n) = (d * ui).matrix();
    };
    const auto d_out = eigen(args.d_state_out).middleRows(i0, n);
    if (d_sum) {  // a GRU's output IS its new state: both gradients reach it
      auto sum = Map(d_sum, B, H, Eigen::OuterStride<>(H)).middleRows(i0, n);
      sum = d_out + eigen(args.d_output).middleRows(i0, n);
      gates(sum.array());
    } else {
      gates(d_out.array());
    }
  });
  // The two products through the h-rows' transposes, packed once per backward pass (the
  // weights do not change between its steps) and split over the threads.
  candidate_h_t_.matmul_transposed_into(columns(ConstMatrixView(d_projection), 2 * H, H), *candidate_kernel_, D, H,
                                        MatrixView{drh.data(), B, H, H});
  parallel_for(B, work, [&](std::int64_t i0, std::int64_t i1) {
    const std::int64_t n = i1 - i0;
    const auto ri = r.middleRows(i0, n);
    const auto drhi = drh.middleRows(i0, n).array();
    dp.leftCols(H).middleRows(i0, n) = (drhi * h.middleRows(i0, n).array() * ri * (1.0f - ri)).matrix();
    dh.middleRows(i0, n).array() += drhi * ri;
  });
  gates_h_t_.matmul_transposed_into(columns(ConstMatrixView(d_projection), 0, 2 * H), *gates_kernel_, D, H, d_state,
                                    /*accumulate=*/true);
}

void GRUCell::recurrent_weights_backward(ConstMatrixView states, ConstMatrixView, ConstMatrixView d_projection,
                                         ConstMatrixView activations, std::vector<Tensor>& grads) const {
  const std::int64_t H = units_, D = input_dim_;
  // dGh += h^T da;  dCh += (r*h)^T dc~  (the h-rows of the kernels), over every step at once.
  matmul_transposed_a_into(states, columns(d_projection, 0, 2 * H),
                           MatrixView{grads[0].data<float>().data() + D * 2 * H, H, 2 * H, 2 * H}, true);
  matmul_transposed_a_into(columns(activations, 3 * H, H), columns(d_projection, 2 * H, H),
                           MatrixView{grads[2].data<float>().data() + D * H, H, H, H}, true);
}

void GRUCell::project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                      std::vector<Tensor>& grads) const {
  const std::int64_t H = units_, D = input_dim_;
  const auto dp = eigen(d_projection);
  // dGx += x^T dp[:, :2H];  dCx += x^T dp[:, 2H:]  (the x-rows of the kernels)
  matmul_transposed_a_into(x, columns(d_projection, 0, 2 * H), MatrixView{grads[0].data<float>().data(), D, 2 * H, 2 * H},
                           true);
  matmul_transposed_a_into(x, columns(d_projection, 2 * H, H), MatrixView{grads[2].data<float>().data(), D, H, H}, true);
  Eigen::Map<Eigen::RowVectorXf>(grads[1].data<float>().data(), 2 * H) += dp.leftCols(2 * H).colwise().sum();
  Eigen::Map<Eigen::RowVectorXf>(grads[3].data<float>().data(), H) += dp.rightCols(H).colwise().sum();
  if (d_x.data) project_inputs_backward_input(d_projection, d_x);
}

void GRUCell::project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const {
  const std::int64_t H = units_, D = input_dim_;
  // dx = dp[:, :2H] Gx^T + dp[:, 2H:] Cx^T
  matmul_transposed_b_into(columns(d_projection, 0, 2 * H),
                           ConstMatrixView(gates_kernel_->value().data<float>().data(), D, 2 * H, 2 * H), d_x);
  matmul_transposed_b_into(columns(d_projection, 2 * H, H),
                           ConstMatrixView(candidate_kernel_->value().data<float>().data(), D, H, H), d_x, true);
}

std::shared_ptr<const RNNCell> GRUCell::clone() const { return std::make_shared<GRUCell>(*this); }

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

void ResetAfterGRUCell::step(const StepArgs& args, Workspace& workspace) const {
  const ConstMatrixView projection = args.projection, state = args.state;
  const MatrixView state_out = args.state_out;
  const std::int64_t H = units_;
  const std::int64_t B = state.rows;
  check_step_shapes("ResetAfterGRUCell", H, 3 * H, args);
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
  if (args.output.data) eigen(args.output) = out;  // the output of a GRU is its new state
}

// Backward of the reset-after step (d = d_state_out), gh = h @ W_hh^T + b_hh:
//   dn~ = d*(1-z)*(1-n^2) -> d_projection[:, 2H:];  dz = d*(h-n);  dh = d*z
//   dr = dn~*gh_n;  d(gh_n) = dn~*r;  d[r,z] pre-activation = [dr*r(1-r), dz*z(1-z)]
//     -> d_projection[:, :2H] and d(gh)[:, :2H]
//   dW_hh += d(gh)^T h;  db_hh += colsum d(gh);  dh += d(gh) @ W_hh
// Activations of the backward pass, per (step, row): [d(gh) (3H, written by
// step_backward) | r, z | n | gh_n] (7H).
std::int64_t ResetAfterGRUCell::backward_activation_size() const { return 7 * units_; }

void ResetAfterGRUCell::backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView,
                                             MatrixView activations) const {
  const std::int64_t H = units_;
  const auto p = eigen(projection);
  auto gh = eigen(columns(activations, 0, 3 * H));  // scratch until step_backward writes d(gh) there
  auto rz = eigen(columns(activations, 3 * H, 2 * H));
  auto n = eigen(columns(activations, 5 * H, H));
  auto ghn = eigen(columns(activations, 6 * H, H));
  // gh = h @ W_hh^T + b_hh for every step at once.
  matmul_transposed_b_into(states, as_matrix(weight_hh_->value()), columns(activations, 0, 3 * H));
  gh.rowwise() += row_vector(*bias_hh_);
  rz = (1.0f + (-(gh.leftCols(2 * H) + p.leftCols(2 * H)).array()).exp()).inverse().matrix();
  ghn = gh.rightCols(H);
  n = (p.rightCols(H).array() + rz.leftCols(H).array() * ghn.array()).tanh().matrix();
}

void ResetAfterGRUCell::step_backward(const StepBackwardArgs& args, Workspace& workspace) const {
  const MatrixView activations = args.activations, d_projection = args.d_projection, d_state = args.d_state;
  const ConstMatrixView state = args.state;
  const std::int64_t H = units_;
  const auto h = eigen(state);
  const auto d = eigen(state_and_output_grad(args, workspace, 4)).array();
  const MapConst Whh(weight_hh_->value().data<float>().data(), 3 * H, H, Eigen::OuterStride<>(H));
  auto a = eigen(activations);
  auto dgh = a.leftCols(3 * H);  // kept for recurrent_weights_backward
  const auto r = a.middleCols(3 * H, H).array();
  const auto z = a.middleCols(4 * H, H).array();
  const auto n = a.middleCols(5 * H, H).array();
  const auto ghn = a.middleCols(6 * H, H).array();
  auto dp = eigen(d_projection);
  auto dh = eigen(d_state);
  dp.rightCols(H) = (d * (1.0f - z) * (1.0f - n.square())).matrix();
  dp.leftCols(H) = (dp.rightCols(H).array() * ghn * r * (1.0f - r)).matrix();
  dp.middleCols(H, H) = (d * (h.array() - n) * z * (1.0f - z)).matrix();
  dgh.leftCols(2 * H) = dp.leftCols(2 * H);
  dgh.rightCols(H) = (dp.rightCols(H).array() * r).matrix();
  dh = (d * z).matrix();
  matmul_into(columns(ConstMatrixView(activations), 0, 3 * H), ConstMatrixView(Whh.data(), 3 * H, H, H), d_state,
              /*accumulate=*/true);  // dh += d(gh) W_hh
}

void ResetAfterGRUCell::recurrent_weights_backward(ConstMatrixView states, ConstMatrixView, ConstMatrixView,
                                                   ConstMatrixView activations, std::vector<Tensor>& grads) const {
  const std::int64_t H = units_;
  const ConstMatrixView dgh = columns(activations, 0, 3 * H);
  // dW_hh += d(gh)^T h;  db_hh += colsum d(gh), over every step at once.
  matmul_transposed_a_into(dgh, states, MatrixView{grads[1].data<float>().data(), 3 * H, H, H}, true);
  Eigen::Map<Eigen::RowVectorXf>(grads[3].data<float>().data(), 3 * H) += eigen(dgh).colwise().sum();
}

void ResetAfterGRUCell::project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                                std::vector<Tensor>& grads) const {
  const std::int64_t H = units_, D = input_dim_;
  const auto dp = eigen(d_projection);
  // dW_ih += dp^T x
  matmul_transposed_a_into(d_projection, x, MatrixView{grads[0].data<float>().data(), 3 * H, D, D}, true);
  Eigen::Map<Eigen::RowVectorXf>(grads[2].data<float>().data(), 3 * H) += dp.colwise().sum();
  if (d_x.data) project_inputs_backward_input(d_projection, d_x);
}

void ResetAfterGRUCell::project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const {
  const std::int64_t H = units_, D = input_dim_;
  // dx = dp W_ih
  matmul_into(d_projection, ConstMatrixView(weight_ih_->value().data<float>().data(), 3 * H, D, D), d_x);
}

std::shared_ptr<const RNNCell> ResetAfterGRUCell::clone() const { return std::make_shared<ResetAfterGRUCell>(*this); }

// ---------------------------------------------------------------- the recurrence loop

namespace detail {

float* run_recurrence(const Recurrence& r, const RecurrenceBuffers& io, Workspace& workspace) {
  const std::int64_t B = r.batch, T = r.time, P = r.cell.projection_size();
  const std::int64_t S = io.state_size, O = io.output_size, F = io.saved_size;
  float* state = io.state;
  float* next = io.next;
  for (std::int64_t t = 0; t < r.steps; ++t) {
    if (io.saved_states) std::memcpy(io.saved_states + t * B * S, state, sizeof(float) * B * S);
    float* out_t = io.outputs + t * O;
    r.cell.step({.projection = ConstMatrixView(r.projection + t * P, B, P, T * P),
                 .state = ConstMatrixView(state, B, S, S),
                 .state_out = MatrixView{next, B, S, S},
                 .output = MatrixView{out_t, B, O, io.outputs_time * O},
                 .saved = io.saved ? MatrixView{io.saved + t * B * F, B, F, F} : MatrixView{}},
                workspace);
    for (std::int64_t b = 0; b < B; ++b)
      if (t >= r.active[static_cast<std::size_t>(b)]) {  // finished: output zero, every state leaf copied through
        std::fill_n(out_t + b * io.outputs_time * O, O, 0.0f);
        std::memcpy(next + b * S, state + b * S, sizeof(float) * S);
      }
    std::swap(state, next);
  }
  if (io.saved_states) std::memcpy(io.saved_states + r.steps * B * S, state, sizeof(float) * B * S);
  return state;
}

RecurrenceScratch::RecurrenceScratch() {
  // Scratch kept per thread between calls: the input projection is megabytes at
  // real sizes ([B*T, 3H]), and fresh memory costs a page fault per 4 KiB on first
  // touch (perf: ~28% of a medium-shape decoder GRU). A nested call (a custom cell
  // that runs dynamic_rnn inside its step) gets its own scratch.
  thread_local Workspace cached_projection, cached_steps;
  thread_local bool in_use = false;
  if (!in_use) {
    in_use = true;
    flag_ = &in_use;
    projection_ = &cached_projection;
    steps_ = &cached_steps;
  } else {
    own_ = std::make_unique<Workspace[]>(2);
    projection_ = &own_[0];
    steps_ = &own_[1];
  }
}
RecurrenceScratch::~RecurrenceScratch() {
  if (flag_) *flag_ = false;
}

// ---------------------------------------------------------------- recurrence backward (BPTT)

void record_recurrence(const RNNCell& cell, OpInput tracked_inputs, const Tensor& inputs, const State* initial_state,
                       Tensor projection, Tensor states, Tensor saved, std::vector<std::int64_t> active_length,
                       std::int64_t steps, Tensor& outputs, State& final_state) {
  // Inputs: 0 the inputs, 1 + i leaf i of the initial state, 1 + L + j the cell's j-th gradient variable.
  // Outputs: 0 the outputs, 1 + i leaf i of the final state.
  const StateSize size = cell.state_size();
  const auto leaf_sizes = nest::flatten(size);
  const std::size_t L = leaf_sizes.size();
  const auto vars = cell.gradient_variables();
  std::vector<OpInput> op_inputs{tracked_inputs};
  if (initial_state)
    for (const Tensor* leaf : nest::flatten(*initial_state)) op_inputs.emplace_back(*leaf);
  else
    op_inputs.resize(1 + L);  // absent: the loop started from zeros
  op_inputs.insert(op_inputs.end(), vars.begin(), vars.end());
  // The step constants (an attention memory's keys and values) come last: 1 + L + V + k.
  const std::vector<Tensor> constants = cell.step_constants();
  op_inputs.insert(op_inputs.end(), constants.begin(), constants.end());
  std::vector<Tensor*> outs{&outputs};
  for (Tensor* leaf : nest::flatten(final_state)) outs.push_back(leaf);
  record_op(outs, op_inputs, [&](const TrackedInputs&) {
    std::vector<Shape> weight_shapes;
    for (const auto& v : vars) weight_shapes.push_back(v.shape());
    std::vector<std::int64_t> widths;
    for (const std::int64_t* w : leaf_sizes) widths.push_back(*w);
    return [cell = cell.clone(), x = inputs, weight_shapes = std::move(weight_shapes), widths = std::move(widths),
            projection = std::move(projection), states = std::move(states), saved = std::move(saved),
            active = std::move(active_length), steps, constants,
            outputs_time = outputs.shape().rank() == 3 ? outputs.shape()[1] : 1](BackwardContext& ctx) {
      const std::size_t L = widths.size();
      const Tensor* gout = ctx.output_grad(0);
      const std::int64_t B = x.shape()[0], T = x.shape()[1], D = x.shape()[2];
      const std::int64_t P = cell->projection_size(), O = cell->output_size(), F = cell->forward_saved_size();
      std::int64_t S = 0;
      for (auto w : widths) S += w;
      // The final state's gradient, packed [B, S] (zeros where none flowed into a leaf).
      Tensor dh(DType::float32, Shape{B, S});
      {
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < L; ++i) {
          if (const Tensor* g = ctx.output_grad(1 + i))
            for (std::int64_t b = 0; b < B; ++b)
              std::memcpy(dh.data<float>().data() + b * S + offset, g->data<float>().data() + b * widths[i],
                          sizeof(float) * widths[i]);
          offset += widths[i];
        }
      }
      Tensor d_state_out(DType::float32, Shape{B, S}), dh_prev(DType::float32, Shape{B, S});
      Tensor d_output = gout ? Tensor(DType::float32, Shape{B, O}) : Tensor();
      // Per step, time-major (row t*B + b, like `states`): d_projection and what the
      // cell saves, so the recurrent weights' gradient is one product over all steps.
      const std::int64_t A = cell->backward_activation_size(), N = steps * B;
      Tensor dproj_steps = Tensor::uninitialized(DType::float32, Shape{N, P});
      Tensor acts = Tensor::uninitialized(DType::float32, Shape{N, A});
      // The forward activations of every step at once (large products instead of a
      // recomputation per step): the projection reordered time-major first, into
      // dproj_steps, which the loop overwrites afterwards.
      // (Copies of ~3 MB at the medium shape, split over the threads like the products.)
      const double copy_work = 4.0 * double(steps) * double(B) * double(P);
      float* const dps = dproj_steps.data<float>().data();
      const float* const proj = projection.data<float>().data();
      parallel_for(steps, copy_work, [&](std::int64_t t_begin, std::int64_t t_end) {
        for (std::int64_t t = t_begin; t < t_end; ++t)
          for (std::int64_t b = 0; b < B; ++b)
            std::memcpy(dps + (t * B + b) * P, proj + (b * T + t) * P, sizeof(float) * P);
      });
      const float* saved_data = F > 0 ? saved.data<float>().data() : nullptr;
      if (N > 0)
        cell->backward_activations(ConstMatrixView(states.data<float>().data(), N, S, S), as_matrix(dproj_steps),
                                   ConstMatrixView(saved_data, N, F, F), as_matrix(acts));
      std::vector<Tensor> grads;
      for (const auto& shape : weight_shapes) grads.emplace_back(DType::float32, shape);
      Workspace workspace;
      // The constants' gradients, zeroed once, added into by every step; viewed [batch, rest].
      const std::size_t V = weight_shapes.size();
      std::vector<Tensor> d_constants;
      std::vector<MatrixView> d_constant_views;
      for (const Tensor& c : constants) {  // (untracked ones too: the step adds without asking)
        d_constants.emplace_back(DType::float32, c.shape());
        const std::int64_t rows = c.shape()[0], cols = rows > 0 ? c.size() / rows : 0;
        d_constant_views.push_back(MatrixView{d_constants.back().data<float>().data(), rows, cols, cols});
      }
      float* dhv = dh.data<float>().data();
      float* dso = d_state_out.data<float>().data();
      float* dout = gout ? d_output.data<float>().data() : nullptr;
      const float* dprev = dh_prev.data<float>().data();
      for (std::int64_t t = steps; t-- > 0;) {
        for (std::int64_t b = 0; b < B; ++b) {
          if (t < active[static_cast<std::size_t>(b)]) {
            std::memcpy(dso + b * S, dhv + b * S, sizeof(float) * S);
            if (dout) std::memcpy(dout + b * O, gout->data<float>().data() + (b * outputs_time + t) * O, sizeof(float) * O);
          } else {  // past the row's length: nothing flows (d_projection rows come out 0)
            std::fill_n(dso + b * S, S, 0.0f);
            if (dout) std::fill_n(dout + b * O, O, 0.0f);
          }
        }
        cell->step_backward({.activations = MatrixView{acts.data<float>().data() + t * B * A, B, A, A},
                             .state = ConstMatrixView(states.data<float>().data() + t * B * S, B, S, S),
                             .saved = ConstMatrixView(saved_data ? saved_data + t * B * F : nullptr, B, F, F),
                             .d_state_out = as_matrix(std::as_const(d_state_out)),
                             .d_output = dout ? as_matrix(std::as_const(d_output)) : ConstMatrixView(),
                             .d_projection = MatrixView{dproj_steps.data<float>().data() + t * B * P, B, P, P},
                             .d_state = as_matrix(dh_prev),
                             .d_constants = d_constant_views},
                            workspace);
        for (std::int64_t b = 0; b < B; ++b)  // inactive rows pass their gradient through unchanged
          if (t < active[static_cast<std::size_t>(b)]) std::memcpy(dhv + b * S, dprev + b * S, sizeof(float) * S);
      }
      if (N > 0)
        cell->recurrent_weights_backward(ConstMatrixView(states.data<float>().data(), N, S, S),
                                       ConstMatrixView(saved_data, N, F, F), as_matrix(dproj_steps), as_matrix(acts),
                                       grads);
      // The input half pairs rows with x [B*T, D] (row b*T + t): reorder, zeros past `steps`.
      Tensor dproj = Tensor::uninitialized(DType::float32, Shape{B * T, P});
      float* const dpx = dproj.data<float>().data();
      parallel_for(B, copy_work, [&](std::int64_t b_begin, std::int64_t b_end) {
        for (std::int64_t b = b_begin; b < b_end; ++b)
          for (std::int64_t t = 0; t < T; ++t) {
            float* dst = dpx + (b * T + t) * P;
            if (t < steps)
              std::memcpy(dst, dps + (t * B + b) * P, sizeof(float) * P);
            else
              std::fill_n(dst, P, 0.0f);
          }
      });
      if (B * T > 0) {
        const bool ix = ctx.input_tracked(0);
        Tensor dx(DType::float32, x.shape());
        cell->project_inputs_backward(ConstMatrixView(x.data<float>().data(), B * T, D, D), as_matrix(dproj),
                                      ix ? MatrixView{dx.data<float>().data(), B * T, D, D} : MatrixView{}, grads);
        if (ix) ctx.accumulate_input(0, std::move(dx));
      }
      if (L == 1) {
        if (ctx.input_tracked(1)) ctx.accumulate_input(1, std::move(dh));  // [B, S] is the one leaf: no copy
      } else {
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < L; ++i) {
          if (ctx.input_tracked(1 + i)) {
            Tensor leaf(DType::float32, Shape{B, widths[i]});
            for (std::int64_t b = 0; b < B; ++b)
              std::memcpy(leaf.data<float>().data() + b * widths[i], dhv + b * S + offset, sizeof(float) * widths[i]);
            ctx.accumulate_input(1 + i, std::move(leaf));
          }
          offset += widths[i];
        }
      }
      for (std::size_t j = 0; j < grads.size(); ++j)
        if (ctx.input_tracked(1 + L + j)) ctx.accumulate_input(1 + L + j, std::move(grads[j]));
      for (std::size_t k = 0; k < d_constants.size(); ++k)
        if (ctx.input_tracked(1 + L + V + k)) ctx.accumulate_input(1 + L + V + k, std::move(d_constants[k]));
    };
  });
}
}  // namespace detail

// ---------------------------------------------------------------- dynamic_rnn

RNNResult dynamic_rnn(RNNCell& cell, const Tensor& inputs, DynamicRNNOptions options) {
  validate::require_tensor("dynamic_rnn", "inputs", inputs, DType::float32, {"batch", "time", "depth"});
  const std::int64_t B = inputs.shape()[0], T = inputs.shape()[1], D = inputs.shape()[2];
  std::vector<std::int64_t> length(static_cast<std::size_t>(B), T);
  if (options.sequence_length) {
    const Tensor& lens = *options.sequence_length;
    validate::require_tensor("dynamic_rnn", "sequence_length", lens, DType::int32, {B}, "one length per batch row");
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int32_t l = lens.data<std::int32_t>()[b];
      if (l < 0 || l > T)
        throw InvalidArgumentError("dynamic_rnn: sequence_length[" + std::to_string(b) + "] = " + std::to_string(l) +
                                   " is outside [0, " + std::to_string(T) + "] (time steps in inputs)");
      length[b] = l;
    }
  }
  const StateSize size = cell.state_size();
  if (options.initial_state)
    detail::require_state("dynamic_rnn", "initial_state", *options.initial_state, size, B,
                          "batch of the inputs, state size of the cell");

  // An empty scope re-enters the current scope object: variables go where the caller is.
  auto scope = options.scope.empty() ? variable_scope(get_variable_scope()) : variable_scope(options.scope);
  const Graph::ReadingGuard reading(get_default_graph());  // writes elsewhere wait for it (hot reload)
  cell.build(D);
  // Every output row is written: the step's output, or zeros past a sequence's length.
  Tensor outputs = Tensor::uninitialized(DType::float32, Shape{B, T, cell.output_size()});
  const std::int64_t steps = B == 0 ? 0 : *std::max_element(length.begin(), length.end());
  State final_state = detail::run_recorded_recurrence(
      cell, inputs, options.initial_state ? &*options.initial_state : nullptr, "dynamic_rnn: initial_state",
      std::move(length), steps, outputs);
  for (std::int64_t t = steps; t < T; ++t) eigen(time_step(outputs, t)).setZero();  // no sequence reaches t
  return {std::move(outputs), std::move(final_state)};
}

namespace detail {
State run_recorded_recurrence(RNNCell& cell, const Tensor& inputs, const State* initial_state, const char* what,
                              std::vector<std::int64_t> active, std::int64_t steps, Tensor& outputs) {
  const std::int64_t B = inputs.shape()[0], T = inputs.shape()[1], D = inputs.shape()[2];
  const StateSize size = cell.state_size();
  const std::int64_t S = flat_size(size), P = cell.projection_size(), O = cell.output_size(),
                     F = cell.forward_saved_size();
  RecurrenceScratch scratch;
  // Input half of every step at once: [B*T, D] @ ... -> [B*T, P]; step t of row b is row b*T + t.
  float* projection = scratch.projection().buffer(0, static_cast<std::size_t>(B * T * P));
  if (B * T > 0)
    cell.project_inputs(ConstMatrixView(inputs.data<float>().data(), B * T, D, D), MatrixView{projection, B * T, P, P});
  // The packed state [B, S] and its successor; the initial state (or zeros) goes in once.
  float* state = scratch.projection().buffer(1, static_cast<std::size_t>(2 * B * S));
  if (initial_state)
    pack_state(*initial_state, size, MatrixView{state, B, S, S}, what);
  else
    std::fill_n(state, B * S, 0.0f);
  // Under a GradientTape: keep every step's input state (and what the cell saves) for the backward pass.
  const bool recorded = GradientTape::active() != nullptr;
  Tensor states = recorded ? Tensor::uninitialized(DType::float32, Shape{(steps + 1) * B, S}) : Tensor();
  Tensor saved = recorded && F > 0 ? Tensor::uninitialized(DType::float32, Shape{steps * B, F}) : Tensor();
  const float* final_packed = run_recurrence(
      {.cell = cell, .batch = B, .time = T, .steps = steps, .active = active, .projection = projection},
      {.state = state, .next = state + B * S, .state_size = S, .outputs = outputs.data<float>().data(),
       .outputs_time = outputs.shape()[1], .output_size = O,
       .saved_states = recorded ? states.data<float>().data() : nullptr,
       .saved = recorded && F > 0 ? saved.data<float>().data() : nullptr, .saved_size = F},
      scratch.steps());
  State final_state = unpack_state(ConstMatrixView(final_packed, B, S, S), size);
  if (recorded) {  // the recurrence is one BPTT entry
    Tensor saved_projection(Shape{B * T, P}, TensorStorage<float>(projection, projection + B * T * P));
    record_recurrence(cell, inputs, inputs, initial_state, std::move(saved_projection), std::move(states),
                      std::move(saved), std::move(active), steps, outputs, final_state);
  }
  return final_state;
}
}  // namespace detail

// ---------------------------------------------------------------- bidirectional_dynamic_rnn

BidirectionalRNNResult bidirectional_dynamic_rnn(RNNCell& cell_fw, RNNCell& cell_bw, const Tensor& inputs,
                                                 BidirectionalRNNOptions options) {
  // Checked here so errors name this function (dynamic_rnn checks the rest, e.g. the states).
  validate::require_tensor("bidirectional_dynamic_rnn", "inputs", inputs, DType::float32,
                           {"batch", "time", "depth"});
  const std::int64_t B = inputs.shape()[0], T = inputs.shape()[1];
  if (options.sequence_length) {
    const Tensor& lens = *options.sequence_length;
    validate::require_tensor("bidirectional_dynamic_rnn", "sequence_length", lens, DType::int32, {B},
                             "one length per batch row");
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int32_t l = lens.data<std::int32_t>()[b];
      if (l < 0 || l > T)
        throw InvalidArgumentError("bidirectional_dynamic_rnn: sequence_length[" + std::to_string(b) +
                                   "] = " + std::to_string(l) + " is outside [0, " + std::to_string(T) +
                                   "] (time steps in inputs)");
    }
  }
  if (options.initial_state_fw)
    detail::require_state("bidirectional_dynamic_rnn", "initial_state_fw", *options.initial_state_fw,
                          cell_fw.state_size(), B, "batch of the inputs, state size of cell_fw");
  if (options.initial_state_bw)
    detail::require_state("bidirectional_dynamic_rnn", "initial_state_bw", *options.initial_state_bw,
                          cell_bw.state_size(), B, "batch of the inputs, state size of cell_bw");
  // TF: time_axis 1, batch_axis 0 (time_major=False).
  const auto reverse_time = [&](const Tensor& x) {
    return options.sequence_length ? reverse_sequence(x, *options.sequence_length, 1, 0) : reverse(x, 1);
  };
  auto outer = options.scope.empty() ? variable_scope(get_variable_scope()) : variable_scope(options.scope);
  RNNResult fw;
  {
    // TF passes the captured scope object to dynamic_rnn, which re-enters it: scope "" here.
    auto fw_scope = variable_scope("fw");
    fw = dynamic_rnn(cell_fw, inputs,
                     {.sequence_length = options.sequence_length,
                      .initial_state = std::move(options.initial_state_fw),
                      .scope = ""});
  }
  RNNResult bw;
  {
    auto bw_scope = variable_scope("bw");
    bw = dynamic_rnn(cell_bw, reverse_time(inputs),
                     {.sequence_length = options.sequence_length,
                      .initial_state = std::move(options.initial_state_bw),
                      .scope = ""});
  }
  Tensor output_bw = reverse_time(bw.outputs);
  return {{std::move(fw.outputs), std::move(output_bw)},
          State::tuple({std::move(fw.final_state), std::move(bw.final_state)})};
}

}  // namespace varscope
