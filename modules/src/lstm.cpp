// Implementation of varscope:lstm — the LSTM step as fused Eigen expressions over
// views of the packed state [c | h] (no copies, no per-step allocation), and its
// backward in the three phases of RNNCell (see modules/rnn.cppm).
module;
#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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
Eigen::Map<Eigen::RowVectorXf> row_vector(Tensor& t) {
  const auto d = t.data<float>();
  return Eigen::Map<Eigen::RowVectorXf>(d.data(), static_cast<Eigen::Index>(d.size()));
}

// sigmoid as the GRU computes it: 1 / (1 + exp(-x)).
template <class A>
auto sigmoid_of(const A& x) {
  return (1.0f + (-x).exp()).inverse();
}

using Ref = Eigen::Ref<RowMatrix, 0, Eigen::OuterStride<>>;
using ConstRef = Eigen::Ref<const RowMatrix, 0, Eigen::OuterStride<>>;

// c_raw = f * c_prev + i * j and c = clip(c_raw) (c may be c_raw itself) from the activated
// gates z [N, 4H] = [i, j, f, o]: gates_and_cell's cell update, and what backward_activations
// redoes from the gates a recorded step saved.
void cell_from_gates(ConstRef z, ConstRef c_prev_m, Ref c_raw_m, Ref c_m, const LSTMCellOptions& options) {
  const Eigen::Index H = c_m.cols();
  const auto c_prev = c_prev_m.array();
  const auto zi = z.leftCols(H).array();
  const auto zj = z.middleCols(H, H).array();
  const auto zf = z.middleCols(2 * H, H).array();
  auto c_raw = c_raw_m.array();
  auto c = c_m.array();
  c_raw = zf * c_prev + zi * zj;
  if (options.cell_clip)
    c = c_raw.max(-*options.cell_clip).min(*options.cell_clip);
  else if (c_m.data() != c_raw_m.data())
    c = c_raw;
}

// The step's math after the products, shared by LSTMCell::step and backward_activations
// (TF 1.15 LSTMCell.call): z [N, 4H] = x@Kx + bias + h@Kh becomes [sigmoid(i), tanh(j),
// sigmoid(f), sigmoid(o)] in place, with forget_bias and the peepholes (w_f, w_i, w_o; absent
// without use_peepholes) added where TF adds them; c_raw = f * c_prev + i * j and
// c = clip(c_raw) (c may be c_raw itself); o's peephole reads the clipped c.
void gates_and_cell(Ref z, ConstRef c_prev_m, Ref c_raw_m, Ref c_m, const LSTMCellOptions& options,
                    const std::optional<Variable>& w_f, const std::optional<Variable>& w_i,
                    const std::optional<Variable>& w_o) {
  const Eigen::Index H = c_m.cols();
  const auto c_prev = c_prev_m.array();
  auto zi = z.leftCols(H).array();
  auto zj = z.middleCols(H, H).array();
  auto zf = z.middleCols(2 * H, H).array();
  auto zo = z.rightCols(H).array();
  zf += options.forget_bias;
  if (options.use_peepholes) {
    zf += c_prev.rowwise() * row_vector(*w_f).array();
    zi += c_prev.rowwise() * row_vector(*w_i).array();
  }
  zi = sigmoid_of(zi);
  zj = zj.tanh();
  zf = sigmoid_of(zf);
  cell_from_gates(z, c_prev_m, c_raw_m, c_m, options);
  if (options.use_peepholes) zo += c_m.array().rowwise() * row_vector(*w_o).array();
  zo = sigmoid_of(zo);
}

// 1 where |x| <= clip (clip_by_value passes the gradient there, TF's _ClipByValueGrad), else 0.
template <class A>
auto inside(const A& x, float clip) {
  return (x.abs() <= clip).template cast<float>();
}

std::string shape_text(std::int64_t rows, std::int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}
}  // namespace

// ---------------------------------------------------------------- construction and variables

LSTMCell::LSTMCell(std::int64_t num_units, LSTMCellOptions options)
    : LSTMCell(num_units, std::move(options), "LSTMCell", "lstm_cell") {}

LSTMCell::LSTMCell(std::int64_t num_units, LSTMCellOptions options, std::string class_name, std::string default_name)
    : units_(num_units),
      options_(std::move(options)),
      class_name_(std::move(class_name)),
      scope_(options_.name, std::move(default_name)) {
  check_options();
}

void LSTMCell::check_options() const {
  const std::string& who = class_name_;
  if (units_ < 1) throw InvalidArgumentError(who + ": num_units = " + std::to_string(units_) + " must be >= 1");
  if (options_.num_proj && *options_.num_proj < 1)
    throw InvalidArgumentError(who + ": num_proj = " + std::to_string(*options_.num_proj) +
                               " must be >= 1 (leave it unset for no projection)");
  if (options_.proj_clip && !options_.num_proj)
    throw InvalidArgumentError(who + ": proj_clip = " + std::to_string(*options_.proj_clip) +
                               " is set without num_proj; TF ignores it silently there, varscope refuses it: set "
                               "num_proj, or drop proj_clip");
  for (const auto& [name, clip] : {std::pair{"cell_clip", options_.cell_clip}, std::pair{"proj_clip", options_.proj_clip}})
    if (clip && !(*clip >= 0.0f && std::isfinite(*clip)))
      throw InvalidArgumentError(who + ": " + name + " = " + std::to_string(*clip) +
                                 " must be a finite number >= 0 (leave it unset for no clipping)");
  if (!std::isfinite(options_.forget_bias))
    throw InvalidArgumentError(who + ": forget_bias = " + std::to_string(options_.forget_bias) + " must be finite");
}

StateSize LSTMCell::state_size() const {
  if (!options_.state_is_tuple) return units_ + h_depth();
  return StateSize::tuple({units_, h_depth()}, NestKind::lstm_state_tuple);
}

void LSTMCell::build(std::int64_t input_dim) {
  if (built()) {
    if (input_dim != input_dim_)
      throw ShapeMismatchError(class_name_ + " '" + scope().name() + "' was built for input depth " +
                               std::to_string(input_dim_) + " but got " + std::to_string(input_dim));
    return;
  }
  if (input_dim < 1)
    throw InvalidArgumentError(class_name_ + ": input depth " + std::to_string(input_dim) + " must be >= 1");
  const std::int64_t H = units_, R = h_depth();
  scope_.build_once(class_name_, [&] {
    const std::optional<Initializer>& init = options_.initializer;
    kernel_ = get_variable("kernel", {.shape = {input_dim + R, 4 * H}, .initializer = init});
    bias_ = get_variable("bias", {.shape = {4 * H}, .initializer = zeros_initializer()});
    if (options_.use_peepholes) {
      w_f_diag_ = get_variable("w_f_diag", {.shape = {H}, .initializer = init});
      w_i_diag_ = get_variable("w_i_diag", {.shape = {H}, .initializer = init});
      w_o_diag_ = get_variable("w_o_diag", {.shape = {H}, .initializer = init});
    }
    if (options_.num_proj) {
      auto projection_scope = variable_scope("projection");
      projection_ = get_variable("kernel", {.shape = {H, R}, .initializer = init});
    }
  });
  input_dim_ = input_dim;
}

std::vector<Variable> LSTMCell::variables() const {
  if (!built()) throw InvalidArgumentError(class_name_ + " is not built yet: call it once, or build(input_depth)");
  std::vector<Variable> v{*kernel_, *bias_};
  if (options_.use_peepholes) v.insert(v.end(), {*w_f_diag_, *w_i_diag_, *w_o_diag_});
  if (options_.num_proj) v.push_back(*projection_);
  return v;
}

std::shared_ptr<const RNNCell> LSTMCell::clone() const { return std::make_shared<LSTMCell>(*this); }

BasicLSTMCell::BasicLSTMCell(std::int64_t num_units, float forget_bias, bool state_is_tuple, std::string name)
    : LSTMCell(num_units,
               LSTMCellOptions{.forget_bias = forget_bias, .state_is_tuple = state_is_tuple, .name = std::move(name)},
               "BasicLSTMCell", "basic_lstm_cell") {}

std::shared_ptr<const RNNCell> BasicLSTMCell::clone() const { return std::make_shared<BasicLSTMCell>(*this); }

// ---------------------------------------------------------------- forward

void LSTMCell::project_inputs(ConstMatrixView x, MatrixView out) const {
  if (!built()) throw InvalidArgumentError(class_name_ + "::project_inputs: build the cell first");
  const std::int64_t H = units_;
  if (x.cols != input_dim_ || out.cols != 4 * H || out.rows != x.rows)
    throw ShapeMismatchError(class_name_ + "::project_inputs: x has " + std::to_string(x.cols) +
                             " columns (expected " + std::to_string(input_dim_) + "), out has " +
                             std::to_string(out.cols) + " (expected " + std::to_string(4 * H) + ")");
  // x-rows of the kernel: [x, h] @ K == x @ K[:D] + h @ K[D:].
  kernel_x_.matmul_into(x, *kernel_, 0, input_dim_, out);
  eigen(out).rowwise() += row_vector(*bias_);
}

void LSTMCell::step(const StepArgs& a, Workspace& workspace) const {
  const std::int64_t H = units_, R = h_depth(), S = H + R, B = a.state.rows;
  if (a.projection.cols != 4 * H || a.state.cols != S || a.state_out.cols != S || a.projection.rows != B ||
      a.state_out.rows != B || (a.output.data && (a.output.cols != R || a.output.rows != B)))
    throw ShapeMismatchError(class_name_ + " step: projection " + shape_text(a.projection.rows, a.projection.cols) +
                             ", state " + shape_text(B, a.state.cols) + ", new state " +
                             shape_text(a.state_out.rows, a.state_out.cols) + ", output " +
                             shape_text(a.output.rows, a.output.cols) + " do not fit " + std::to_string(H) +
                             " units (packed state [c, h] " + std::to_string(S) + " wide)");
  Map z(workspace.buffer(0, static_cast<std::size_t>(B * 4 * H)), B, 4 * H, Eigen::OuterStride<>(4 * H));
  // z = x@Kx + bias (projection) + h@Kh;  i, j, f, o = split(z, 4)
  kernel_h_.matmul_into(columns(a.state, H, R), *kernel_, input_dim_, R, MatrixView{z.data(), B, 4 * H, 4 * H});
  // The gate math runs over row blocks split over the threads (a row is computed the same way
  // in any block, so results do not depend on the thread count).
  Map m(options_.num_proj ? workspace.buffer(1, static_cast<std::size_t>(B * H)) : nullptr, B, H,
        Eigen::OuterStride<>(H));
  parallel_for(B, kTranscendentalWork * double(B) * double(4 * H), [&](std::int64_t i0, std::int64_t i1) {
    const std::int64_t n = i1 - i0;
    auto zr = z.middleRows(i0, n);
    zr += eigen(a.projection).middleRows(i0, n);
    auto c_new = eigen(columns(a.state_out, 0, H)).middleRows(i0, n);
    gates_and_cell(zr, eigen(columns(a.state, 0, H)).middleRows(i0, n), c_new, c_new, options_, w_f_diag_,
                   w_i_diag_, w_o_diag_);
    // Recorded: the activated gates (and with num_proj the projected h before its clip) go to
    // `saved`, so backward_activations needs no product; see forward_saved_size.
    if (a.saved.data) eigen(columns(a.saved, 0, 4 * H)).middleRows(i0, n) = zr;
    const auto c = c_new.array();
    const auto zo = zr.rightCols(H).array();
    if (options_.num_proj)
      m.middleRows(i0, n) = (zo * c.tanh()).matrix();
    else
      eigen(columns(a.state_out, H, H)).middleRows(i0, n) = (zo * c.tanh()).matrix();
  });
  if (options_.num_proj) {
    projection_packed_.matmul_into(ConstMatrixView(m.data(), B, H, H), *projection_, 0, H, columns(a.state_out, H, R));
    if (a.saved.data) eigen(columns(a.saved, 4 * H, R)) = eigen(columns(a.state_out, H, R));
    if (options_.proj_clip) {
      auto h = eigen(columns(a.state_out, H, R)).array();
      h = h.max(-*options_.proj_clip).min(*options_.proj_clip);
    }
  }
  if (a.output.data) eigen(a.output) = eigen(columns(a.state_out, H, R));  // the output is the new h (m)
}

// ---------------------------------------------------------------- backward
//
// Activations per (step, row): [sigmoid(i), tanh(j), sigmoid(f), sigmoid(o) | c before
// the clip | tanh(c) | with num_proj: m | h before the clip, which step_backward
// overwrites with dh before the clip, read by recurrent_weights_backward].
// Per step, with dh = d h_out + d output (the output is h) and dc = d c_out:
//   (proj)  dh~ = dh * [|h~| <= proj_clip];  dm = dh~ @ P^T;  dP += m^T dh~
//   do = dm * tanh(c) * o(1-o);  dc += dm * o * (1 - tanh(c)^2) [+ do * w_o]
//   dc~ = dc * [|c~| <= cell_clip];  di = dc~ * j * i(1-i);  dj = dc~ * i * (1-j^2)
//   df = dc~ * c_prev * f(1-f);  dc_prev = dc~ * f [+ df * w_f + di * w_i]
//   dz = [di, dj, df, do] -> d_projection;  dh_prev = dz @ Kh^T
//   dKh += h_prev^T dz;  dw_f += Σ df*c_prev;  dw_i += Σ di*c_prev;  dw_o += Σ do*c

std::int64_t LSTMCell::backward_activation_size() const {
  return 6 * units_ + (options_.num_proj ? units_ + h_depth() : 0);
}

std::int64_t LSTMCell::forward_saved_size() const { return 4 * units_ + (options_.num_proj ? h_depth() : 0); }

void LSTMCell::backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                                    MatrixView activations) const {
  const std::int64_t H = units_, R = h_depth(), D = input_dim_;
  if (saved.data) {  // the gates (and h before proj_clip) the steps saved: elementwise math only
    const std::int64_t N = states.rows;
    parallel_for(N, kTranscendentalWork * double(N) * double(H), [&](std::int64_t i0, std::int64_t i1) {
      auto acts = eigen(activations).middleRows(i0, i1 - i0);
      const auto kept = eigen(saved).middleRows(i0, i1 - i0);
      acts.leftCols(4 * H) = kept.leftCols(4 * H);
      cell_from_gates(acts.leftCols(4 * H), eigen(columns(states, 0, H)).middleRows(i0, i1 - i0),
                      acts.middleCols(4 * H, H), acts.middleCols(5 * H, H), options_);
      auto tanh_c = acts.middleCols(5 * H, H).array();
      tanh_c = tanh_c.tanh();
      if (options_.num_proj) {
        acts.middleCols(6 * H, H) = (acts.middleCols(3 * H, H).array() * tanh_c).matrix();
        acts.middleCols(7 * H, R) = kept.middleCols(4 * H, R);
      }
    });
    return;
  }
  // Recomputed (a wrapper that does not pass `saved` on):
  // The forward step's products for every step at once: h_prev [N, R] @ Kh, on the packed copy
  // the forward steps used (GRUCell::backward_activations says why).
  kernel_h_.matmul_into(columns(states, H, R), *kernel_, D, R, columns(activations, 0, 4 * H));
  auto acts = eigen(activations);
  auto z = acts.leftCols(4 * H);
  z += eigen(projection);
  gates_and_cell(z, eigen(columns(states, 0, H)), acts.middleCols(4 * H, H), acts.middleCols(5 * H, H), options_,
                 w_f_diag_, w_i_diag_, w_o_diag_);
  const auto zo = z.rightCols(H).array();
  auto tanh_c = acts.middleCols(5 * H, H).array();  // holds c (clipped) until here
  tanh_c = tanh_c.tanh();
  if (options_.num_proj) {
    acts.middleCols(6 * H, H) = (zo * tanh_c).matrix();
    projection_packed_.matmul_into(columns(ConstMatrixView(activations), 6 * H, H), *projection_, 0, H,
                                   columns(activations, 7 * H, R));
  }
}

void LSTMCell::step_backward(const StepBackwardArgs& a, Workspace& workspace) const {
  const std::int64_t H = units_, R = h_depth(), B = a.state.rows, D = input_dim_;
  auto acts = eigen(a.activations);
  Map dm(workspace.buffer(1, static_cast<std::size_t>(B * H)), B, H, Eigen::OuterStride<>(H));
  if (options_.num_proj) {
    // dh: the new h's gradient plus the output's (the output is h), through the projection.
    Map dh(workspace.buffer(0, static_cast<std::size_t>(B * R)), B, R, Eigen::OuterStride<>(R));
    dh = eigen(columns(a.d_state_out, H, R));
    if (a.d_output.data) dh += eigen(a.d_output);
    auto dh_raw = acts.middleCols(7 * H, R);  // h before the clip, replaced by its gradient
    if (options_.proj_clip)
      dh_raw = (dh.array() * inside(dh_raw.array(), *options_.proj_clip)).matrix();
    else
      dh_raw = dh;
    const MapConst P(projection_->value().data<float>().data(), H, R, Eigen::OuterStride<>(R));
    dm.noalias() = dh_raw * P.transpose();
  }
  // The gate math runs over row blocks split over the threads, as in step().
  parallel_for(B, kTranscendentalWork * double(B) * double(4 * H), [&](std::int64_t i0, std::int64_t i1) {
    const std::int64_t n = i1 - i0;
    const auto rows = [&](auto&& m) { return m.middleRows(i0, n); };
    auto dmr = rows(dm);
    if (!options_.num_proj) {  // dm: the new h's gradient plus the output's (the output is h)
      dmr = rows(eigen(columns(a.d_state_out, H, R)));
      if (a.d_output.data) dmr += rows(eigen(a.d_output));
    }
    const auto si = rows(acts.leftCols(H)).array();
    const auto tj = rows(acts.middleCols(H, H)).array();
    const auto sf = rows(acts.middleCols(2 * H, H)).array();
    const auto so = rows(acts.middleCols(3 * H, H)).array();
    const auto c_raw = rows(acts.middleCols(4 * H, H)).array();
    const auto tanh_c = rows(acts.middleCols(5 * H, H)).array();
    const auto c_prev = rows(eigen(columns(a.state, 0, H))).array();
    auto dz = rows(eigen(a.d_projection));
    auto di = dz.leftCols(H).array();
    auto dj = dz.middleCols(H, H).array();
    auto df = dz.middleCols(2 * H, H).array();
    auto d_o = dz.rightCols(H).array();
    d_o = dmr.array() * tanh_c * so * (1.0f - so);
    auto dc_block = rows(eigen(columns(a.d_state, 0, H)));  // dc, then dc_prev in place
    auto dc = dc_block.array();
    dc = rows(eigen(columns(a.d_state_out, 0, H))).array() + dmr.array() * so * (1.0f - tanh_c.square());
    if (options_.use_peepholes) dc += d_o.rowwise() * row_vector(*w_o_diag_).array();
    if (options_.cell_clip) dc *= inside(c_raw, *options_.cell_clip);
    di = dc * tj * si * (1.0f - si);
    dj = dc * si * (1.0f - tj.square());
    df = dc * c_prev * sf * (1.0f - sf);
    dc *= sf;
    if (options_.use_peepholes) {
      dc += df.rowwise() * row_vector(*w_f_diag_).array();
      dc += di.rowwise() * row_vector(*w_i_diag_).array();
    }
  });
  // dh_prev = dz Kh^T (Kh: the h-rows of the kernel, packed once per backward pass), split over the threads.
  kernel_h_t_.matmul_transposed_into(a.d_projection, *kernel_, D, R, columns(a.d_state, H, R));
}

void LSTMCell::recurrent_weights_backward(ConstMatrixView states, ConstMatrixView, ConstMatrixView d_projection,
                                          ConstMatrixView activations, std::vector<Tensor>& grads) const {
  const std::int64_t H = units_, R = h_depth(), D = input_dim_;
  // dKh += h_prev^T dz over every step at once.
  matmul_transposed_a_into(columns(states, H, R), d_projection,
                           MatrixView{grads[0].data<float>().data() + D * 4 * H, R, 4 * H, 4 * H}, true);
  std::size_t next = 2;
  if (options_.use_peepholes) {
    const auto c_prev = eigen(columns(states, 0, H)).array();
    const auto dz = eigen(d_projection);
    const auto c_raw = eigen(columns(activations, 4 * H, H)).array();
    row_vector(grads[2]) += (dz.middleCols(2 * H, H).array() * c_prev).colwise().sum().matrix();  // w_f
    row_vector(grads[3]) += (dz.leftCols(H).array() * c_prev).colwise().sum().matrix();           // w_i
    if (options_.cell_clip)
      row_vector(grads[4]) +=
          (dz.rightCols(H).array() * c_raw.max(-*options_.cell_clip).min(*options_.cell_clip)).colwise().sum().matrix();
    else
      row_vector(grads[4]) += (dz.rightCols(H).array() * c_raw).colwise().sum().matrix();  // w_o sees the new c
    next = 5;
  }
  if (options_.num_proj)  // dP += m^T dh~
    matmul_transposed_a_into(columns(activations, 6 * H, H), columns(activations, 7 * H, R),
                             as_matrix(grads[next]), true);
}

void LSTMCell::project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                       std::vector<Tensor>& grads) const {
  const std::int64_t H = units_, D = input_dim_;
  // dKx += x^T dz;  dbias += colsum dz;  dx = dz @ Kx^T.
  matmul_transposed_a_into(x, d_projection, MatrixView{grads[0].data<float>().data(), D, 4 * H, 4 * H}, true);
  row_vector(grads[1]) += eigen(d_projection).colwise().sum();
  if (d_x.data) project_inputs_backward_input(d_projection, d_x);
}

void LSTMCell::project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const {
  const std::int64_t H = units_, D = input_dim_;
  matmul_transposed_b_into(d_projection, ConstMatrixView(kernel_->value().data<float>().data(), D, 4 * H, 4 * H), d_x);
}

}  // namespace varscope
