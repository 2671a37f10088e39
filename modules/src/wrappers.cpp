// Implementation of varscope:wrappers — MultiRNNCell, ResidualWrapper and DropoutWrapper
// on column blocks of the packed state, the activations and what a step saves (views with
// the parent's row stride: no copies), layer by layer.
module;
#include <Eigen/Core>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>
module varscope;
#include "eigen_views.hpp"

namespace varscope {

namespace {
using namespace eigen_views;

// Columns [begin, begin + count) of a view that may be absent (data == nullptr).
ConstMatrixView maybe_columns(ConstMatrixView m, std::int64_t begin, std::int64_t count) {
  if (!m.data) return ConstMatrixView(nullptr, m.rows, count, count);
  return columns(m, begin, count);
}
MatrixView maybe_columns(MatrixView m, std::int64_t begin, std::int64_t count) {
  if (!m.data) return MatrixView{nullptr, m.rows, count, count};
  return columns(m, begin, count);
}

// Moves grads[begin, begin + count) out into their own vector (a layer indexes its
// gradients from 0) and back again.
struct GradRange {
  std::vector<Tensor>& all;
  std::size_t begin;
  std::vector<Tensor> part;
  GradRange(std::vector<Tensor>& grads, std::size_t b, std::size_t count) : all(grads), begin(b) {
    for (std::size_t i = 0; i < count; ++i) part.push_back(std::move(all[begin + i]));
  }
  ~GradRange() {
    for (std::size_t i = 0; i < part.size(); ++i) all[begin + i] = std::move(part[i]);
  }
  GradRange(const GradRange&) = delete;
  GradRange& operator=(const GradRange&) = delete;
};
}  // namespace

// ---------------------------------------------------------------- MultiRNNCell

MultiRNNCell::MultiRNNCell(std::vector<std::reference_wrapper<RNNCell>> cells, bool state_is_tuple, std::string name)
    : state_is_tuple_(state_is_tuple), scope_(std::move(name), "multi_rnn_cell") {
  if (cells.empty())
    throw InvalidArgumentError("MultiRNNCell: Must specify at least one cell for MultiRNNCell (got an empty list)");
  for (std::size_t i = 0; i < cells.size(); ++i) {
    RNNCell& c = cells[i].get();
    if (!state_is_tuple && !c.state_size().is_leaf())
      throw InvalidArgumentError("MultiRNNCell: Some cells return tuples of states, but the flag state_is_tuple is not "
                                 "set (cell " + std::to_string(i) + "'s state is " + c.state_size().structure() +
                                 "); use state_is_tuple = true");
    for (std::size_t j = 0; j < i; ++j)
      if (cells_[j] == &c)
        throw InvalidArgumentError("MultiRNNCell: cell " + std::to_string(i) + " is the same object as cell " +
                                   std::to_string(j) + "; TF 1.x builds each layer as a new cell ([cell() for _ in "
                                   "range(n)]) so that the layers get their own variables");
    cells_.push_back(&c);
    layers_.push_back(&c);
  }
}

StateSize MultiRNNCell::state_size() const {
  if (!state_is_tuple_) {
    std::int64_t total = 0;
    for (const RNNCell* c : layers_) total += c->flat_state_size();
    return total;
  }
  std::vector<StateSize> sizes;
  for (const RNNCell* c : layers_) sizes.push_back(c->state_size());
  return StateSize::tuple(std::move(sizes));
}

std::int64_t MultiRNNCell::output_size() const { return layers_.back()->output_size(); }

void MultiRNNCell::build(std::int64_t input_dim) {
  if (built()) {
    if (!cells_.empty()) cells_[0]->build(input_dim);  // checks the input depth
    return;
  }
  scope_.build_once("MultiRNNCell", [&] {
    std::int64_t depth = input_dim;
    for (std::size_t i = 0; i < cells_.size(); ++i) {
      auto layer_scope = variable_scope("cell_" + std::to_string(i));
      cells_[i]->build(depth);
      depth = cells_[i]->output_size();
    }
  });
  compute_layout();
}

void MultiRNNCell::compute_layout() {
  Layout l;
  const std::size_t n = layers_.size();
  std::size_t vars = 0, constants = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const RNNCell& c = *layers_[i];
    l.state_offset.push_back(l.state);
    l.state_width.push_back(c.flat_state_size());
    l.state += c.flat_state_size();
    l.act_offset.push_back(l.activations);
    l.act_width.push_back(c.backward_activation_size());
    l.activations += c.backward_activation_size();
    const std::size_t count = c.gradient_variables().size();
    l.var_begin.push_back(vars);
    l.var_count.push_back(count);
    vars += count;
    l.const_begin.push_back(constants);
    l.const_count.push_back(c.step_constants().size());
    constants += l.const_count.back();
  }
  for (std::size_t i = 0; i < n; ++i) {  // projections of layers >= 1 after every layer's activations
    l.proj_offset.push_back(i == 0 ? -1 : l.activations);
    if (i > 0) l.activations += layers_[i]->projection_size();
  }
  for (std::size_t i = 0; i < n; ++i) {  // inputs of layers >= 1, then each layer's own saved columns
    l.input_offset.push_back(i == 0 ? -1 : l.saved);
    if (i > 0) l.saved += layers_[i - 1]->output_size();
  }
  for (std::size_t i = 0; i < n; ++i) {
    l.saved_offset.push_back(l.saved);
    l.saved_width.push_back(layers_[i]->forward_saved_size());
    l.saved += layers_[i]->forward_saved_size();
  }
  layout_ = std::move(l);
}

std::int64_t MultiRNNCell::projection_size() const { return layers_[0]->projection_size(); }

void MultiRNNCell::project_inputs(ConstMatrixView x, MatrixView out) const { layers_[0]->project_inputs(x, out); }

std::int64_t MultiRNNCell::forward_saved_size() const {
  if (!built()) throw InvalidArgumentError("MultiRNNCell is not built yet: call it once, or build(input_depth)");
  return layout_.saved;
}

void MultiRNNCell::step(const StepArgs& a, Workspace& workspace) const {
  const std::size_t n = layers_.size();
  const std::int64_t B = a.state.rows;
  if (a.state.cols != layout_.state || a.state_out.cols != layout_.state)
    throw ShapeMismatchError("MultiRNNCell step: the packed state has " + std::to_string(a.state.cols) +
                             " columns, the layers' states " + std::to_string(layout_.state));
  ConstMatrixView input_projection = a.projection;
  for (std::size_t i = 0; i < n; ++i) {
    const RNNCell& c = *layers_[i];
    const std::int64_t O = c.output_size();
    MatrixView out = i + 1 == n && a.output.data
                         ? a.output
                         : MatrixView{workspace.buffer(2 * i + 1, static_cast<std::size_t>(B * O)), B, O, O};
    c.step({.projection = input_projection,
            .state = columns(a.state, layout_.state_offset[i], layout_.state_width[i]),
            .state_out = columns(a.state_out, layout_.state_offset[i], layout_.state_width[i]),
            .output = out,
            .saved = maybe_columns(a.saved, layout_.saved_offset[i], layout_.saved_width[i]),
            .rows = a.rows},
           workspace.child(i));
    if (i + 1 < n) {  // layer i's output is layer i + 1's input
      const RNNCell& next = *layers_[i + 1];
      const std::int64_t P = next.projection_size();
      if (a.saved.data) eigen(columns(a.saved, layout_.input_offset[i + 1], O)) = eigen(out);
      MatrixView p{workspace.buffer(2 * (i + 1), static_cast<std::size_t>(B * P)), B, P, P};
      next.project_inputs(out, p);
      input_projection = p;
    }
  }
}

std::vector<Variable> MultiRNNCell::gradient_variables() const {
  std::vector<Variable> all;
  for (const RNNCell* c : layers_) {
    auto v = c->gradient_variables();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

std::int64_t MultiRNNCell::backward_activation_size() const {
  if (!built()) throw InvalidArgumentError("MultiRNNCell is not built yet: call it once, or build(input_depth)");
  return layout_.activations;
}

void MultiRNNCell::backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                                        MatrixView activations) const {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const RNNCell& c = *layers_[i];
    ConstMatrixView p = projection;
    if (i > 0) {  // layer i's projection for every step at once, from its saved inputs
      const MatrixView pi = columns(activations, layout_.proj_offset[i], c.projection_size());
      c.project_inputs(columns(saved, layout_.input_offset[i], layers_[i - 1]->output_size()), pi);
      p = pi;
    }
    c.backward_activations(columns(states, layout_.state_offset[i], layout_.state_width[i]), p,
                           maybe_columns(saved, layout_.saved_offset[i], layout_.saved_width[i]),
                           columns(activations, layout_.act_offset[i], layout_.act_width[i]));
  }
}

void MultiRNNCell::step_backward(const StepBackwardArgs& a, Workspace& workspace) const {
  const std::int64_t B = a.state.rows;
  ConstMatrixView d_output = a.d_output;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    const RNNCell& c = *layers_[i];
    // Layer i >= 1 keeps its d_projection where its projection was, for recurrent_weights_backward.
    const MatrixView d_projection = i == 0 ? a.d_projection : columns(a.activations, layout_.proj_offset[i], c.projection_size());
    c.step_backward({.activations = columns(a.activations, layout_.act_offset[i], layout_.act_width[i]),
                     .state = columns(a.state, layout_.state_offset[i], layout_.state_width[i]),
                     .saved = maybe_columns(a.saved, layout_.saved_offset[i], layout_.saved_width[i]),
                     .d_state_out = columns(a.d_state_out, layout_.state_offset[i], layout_.state_width[i]),
                     .d_output = d_output,
                     .d_projection = d_projection,
                     .d_state = columns(a.d_state, layout_.state_offset[i], layout_.state_width[i]),
                     .rows = a.rows,
                     .d_constants = a.d_constants.empty()
                                        ? std::span<const MatrixView>()
                                        : a.d_constants.subspan(layout_.const_begin[i], layout_.const_count[i])},
                    workspace.child(i));
    if (i > 0) {  // the gradient of layer i's input is layer i - 1's output gradient
      const std::int64_t D = layers_[i - 1]->output_size();
      const MatrixView dx{workspace.buffer(i, static_cast<std::size_t>(B * D)), B, D, D};
      c.project_inputs_backward_input(d_projection, dx);
      d_output = dx;
    }
  }
}

void MultiRNNCell::recurrent_weights_backward(ConstMatrixView states, ConstMatrixView saved,
                                              ConstMatrixView d_projection, ConstMatrixView activations,
                                              std::vector<Tensor>& grads) const {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const RNNCell& c = *layers_[i];
    GradRange g(grads, layout_.var_begin[i], layout_.var_count[i]);
    const ConstMatrixView dp = i == 0 ? d_projection : columns(activations, layout_.proj_offset[i], c.projection_size());
    c.recurrent_weights_backward(columns(states, layout_.state_offset[i], layout_.state_width[i]),
                                 maybe_columns(saved, layout_.saved_offset[i], layout_.saved_width[i]), dp,
                                 columns(activations, layout_.act_offset[i], layout_.act_width[i]), g.part);
    if (i > 0)  // the input half of layer i, over every step at once: its inputs are saved, d_x not needed
      c.project_inputs_backward(columns(saved, layout_.input_offset[i], layers_[i - 1]->output_size()), dp,
                                MatrixView{}, g.part);
  }
}

void MultiRNNCell::project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                           std::vector<Tensor>& grads) const {
  GradRange g(grads, layout_.var_begin[0], layout_.var_count[0]);
  layers_[0]->project_inputs_backward(x, d_projection, d_x, g.part);
}

void MultiRNNCell::project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const {
  layers_[0]->project_inputs_backward_input(d_projection, d_x);
}

std::vector<Tensor> MultiRNNCell::step_constants() const {
  std::vector<Tensor> all;
  for (const RNNCell* c : layers_) {
    auto k = c->step_constants();
    all.insert(all.end(), k.begin(), k.end());
  }
  return all;
}

std::optional<std::int64_t> MultiRNNCell::constant_batch() const {
  for (const RNNCell* c : layers_)
    if (auto b = c->constant_batch()) return b;
  return std::nullopt;
}

std::string MultiRNNCell::describe_constants() const {
  for (const RNNCell* c : layers_)
    if (c->constant_batch()) return c->describe_constants();
  return RNNCell::describe_constants();
}

State MultiRNNCell::initial_state_of(std::int64_t batch) const {
  if (!state_is_tuple_) return RNNCell::initial_state_of(batch);
  std::vector<State> states;
  for (const RNNCell* c : layers_) states.push_back(c->initial_state_of(batch));
  return State::tuple(std::move(states));
}

std::optional<RNNCell::AlignmentColumns> MultiRNNCell::alignment_columns() const {
  std::int64_t offset = 0;
  for (const RNNCell* c : layers_) {
    if (auto a = c->alignment_columns()) {
      a->offset += offset;
      return a;
    }
    offset += c->flat_state_size();
  }
  return std::nullopt;
}

std::shared_ptr<const RNNCell> MultiRNNCell::clone() const {
  auto copy = std::shared_ptr<MultiRNNCell>(new MultiRNNCell());
  for (const RNNCell* c : layers_) {
    copy->owned_.push_back(c->clone());
    copy->layers_.push_back(copy->owned_.back().get());
  }
  copy->state_is_tuple_ = state_is_tuple_;
  copy->scope_ = scope_;
  copy->layout_ = layout_;
  return copy;
}

// ---------------------------------------------------------------- ResidualWrapper

ResidualWrapper::ResidualWrapper(RNNCell& cell, ResidualWrapperOptions options)
    : mutable_cell_(&cell), cell_(&cell), options_(options) {}

void ResidualWrapper::build(std::int64_t input_dim) {
  if (mutable_cell_) mutable_cell_->build(input_dim);
  const std::int64_t O = cell_->output_size();
  if (options_.input_slice_begin) {
    const std::int64_t begin = *options_.input_slice_begin;
    if (begin < 0 || begin + O > input_dim)
      throw ShapeMismatchError("ResidualWrapper: the input slice [" + std::to_string(begin) + ", " +
                               std::to_string(begin + O) + ") (input_slice_begin " + std::to_string(begin) +
                               ", the cell's output depth " + std::to_string(O) + ") does not fit inputs of depth " +
                               std::to_string(input_dim) + "; choose input_slice_begin in [0, " +
                               std::to_string(std::max<std::int64_t>(input_dim - O, 0)) + "]");
    residual_begin_ = begin;
  } else if (O != input_dim) {
    throw ShapeMismatchError("ResidualWrapper: the inputs have depth " + std::to_string(input_dim) +
                             " but the wrapped cell outputs " + std::to_string(O) +
                             " (TF: \"Shapes must be equal\"); residual connections need inputs and outputs of the "
                             "same depth, or add a slice of the inputs (ResidualWrapperOptions::input_slice_begin)");
  }
  input_dim_ = input_dim;
}

std::int64_t ResidualWrapper::projection_size() const {
  if (input_dim_ < 0) throw InvalidArgumentError("ResidualWrapper is not built yet: call it once, or build(input_depth)");
  return cell_->projection_size() + cell_->output_size();
}

void ResidualWrapper::project_inputs(ConstMatrixView x, MatrixView out) const {
  const std::int64_t P = cell_->projection_size(), O = cell_->output_size();
  cell_->project_inputs(x, columns(out, 0, P));
  eigen(columns(out, P, O)) = eigen(columns(x, residual_begin_, O));  // the residual rides along with the projection
}

void ResidualWrapper::step(const StepArgs& a, Workspace& workspace) const {
  const std::int64_t P = cell_->projection_size();
  const std::int64_t B = a.state.rows, O = cell_->output_size();
  const MatrixView out =
      a.output.data ? a.output : MatrixView{workspace.buffer(0, static_cast<std::size_t>(B * O)), B, O, O};
  cell_->step({.projection = columns(a.projection, 0, P),
               .state = a.state,
               .state_out = a.state_out,
               .output = out,
               .saved = a.saved,
               .rows = a.rows},
              workspace.child(0));
  eigen(out) += eigen(columns(a.projection, P, O));  // output = cell output + inputs (their slice)
}

void ResidualWrapper::backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                                           MatrixView activations) const {
  cell_->backward_activations(states, columns(projection, 0, cell_->projection_size()), saved, activations);
}

void ResidualWrapper::step_backward(const StepBackwardArgs& a, Workspace& workspace) const {
  const std::int64_t P = cell_->projection_size(), O = cell_->output_size();
  cell_->step_backward({.activations = a.activations,
                        .state = a.state,
                        .saved = a.saved,
                        .d_state_out = a.d_state_out,
                        .d_output = a.d_output,
                        .d_projection = columns(a.d_projection, 0, P),
                        .d_state = a.d_state,
                        .rows = a.rows,
                        .d_constants = a.d_constants},
                       workspace.child(0));
  // The residual's gradient: d inputs (their slice) += d output, carried in the projection's x-columns.
  auto dx = eigen(columns(a.d_projection, P, O));
  if (a.d_output.data)
    dx = eigen(a.d_output);
  else
    dx.setZero();
}

void ResidualWrapper::recurrent_weights_backward(ConstMatrixView states, ConstMatrixView saved,
                                                 ConstMatrixView d_projection, ConstMatrixView activations,
                                                 std::vector<Tensor>& grads) const {
  cell_->recurrent_weights_backward(states, saved, columns(d_projection, 0, cell_->projection_size()), activations,
                                    grads);
}

void ResidualWrapper::project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                              std::vector<Tensor>& grads) const {
  const std::int64_t P = cell_->projection_size(), O = cell_->output_size();
  cell_->project_inputs_backward(x, columns(d_projection, 0, P), d_x, grads);
  if (d_x.data) eigen(columns(d_x, residual_begin_, O)) += eigen(columns(d_projection, P, O));
}

void ResidualWrapper::project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const {
  const std::int64_t P = cell_->projection_size(), O = cell_->output_size();
  cell_->project_inputs_backward_input(columns(d_projection, 0, P), d_x);
  eigen(columns(d_x, residual_begin_, O)) += eigen(columns(d_projection, P, O));
}

std::shared_ptr<const RNNCell> ResidualWrapper::clone() const {
  auto copy = std::shared_ptr<ResidualWrapper>(new ResidualWrapper());
  copy->owned_ = cell_->clone();
  copy->cell_ = copy->owned_.get();
  copy->options_ = options_;
  copy->input_dim_ = input_dim_;
  copy->residual_begin_ = residual_begin_;
  return copy;
}

// ---------------------------------------------------------------- DropoutWrapper

namespace {
void check_keep_prob(float keep, const char* name) {
  if (!(keep > 0.0f && keep <= 1.0f))
    throw InvalidArgumentError(std::string("DropoutWrapper: ") + name + " must be in (0, 1], got " +
                               std::to_string(keep) + " (TF: \"Parameter " + name +
                               " must be between 0 and 1\"); 1.0 turns this dropout off");
}

// TF's _default_dropout_state_filter_visitor over the packed columns: an LSTMStateTuple's c
// (item 0) is never dropped, every other leaf is.
void mark_state_columns(const StateSize& s, bool droppable, std::vector<bool>& columns_out) {
  if (s.is_leaf()) {
    columns_out.insert(columns_out.end(), static_cast<std::size_t>(s.leaf()), droppable);
    return;
  }
  for (std::size_t i = 0; i < s.size(); ++i)
    mark_state_columns(s[i], droppable && !(s.kind() == NestKind::lstm_state_tuple && i == 0), columns_out);
}

// TF's dropout_v2 mask, pre-scaled: 1/keep where uniform >= 1 - keep, else 0.
float draw_mask(Rng& rng, float keep) {
  const float rate = 1.0f - keep;
  return rng.uniform01() >= rate ? 1.0f / keep : 0.0f;
}
}  // namespace

DropoutWrapper::DropoutWrapper(RNNCell& cell, DropoutWrapperOptions options)
    : mutable_cell_(&cell), cell_(&cell), options_(options) {
  check_keep_prob(options_.input_keep_prob, "input_keep_prob");
  check_keep_prob(options_.output_keep_prob, "output_keep_prob");
  check_keep_prob(options_.state_keep_prob, "state_keep_prob");
}

void DropoutWrapper::build(std::int64_t input_dim) {
  if (mutable_cell_) mutable_cell_->build(input_dim);  // checks the depth on later calls
  if (input_dim_ >= 0) return;
  input_dim_ = input_dim;
  Layout l;
  mark_state_columns(cell_->state_size(), true, l.state_columns);
  l.input = options_.input_keep_prob < 1.0f;
  l.output = options_.output_keep_prob < 1.0f;
  l.state = options_.state_keep_prob < 1.0f &&
            std::find(l.state_columns.begin(), l.state_columns.end(), true) != l.state_columns.end();
  const auto S = static_cast<std::int64_t>(l.state_columns.size());
  l.cell_saved = l.saved = cell_->forward_saved_size();
  if (l.input) {
    l.dropped_x = l.saved;
    l.input_mask = l.saved + input_dim;
    l.saved += 2 * input_dim;
  }
  if (l.state) l.state_mask = std::exchange(l.saved, l.saved + S);
  if (l.output) l.output_mask = std::exchange(l.saved, l.saved + cell_->output_size());
  l.cell_activations = l.activations = cell_->backward_activation_size();
  if (l.input) l.cell_projection = std::exchange(l.activations, l.activations + cell_->projection_size());
  layout_ = std::move(l);

  Graph& graph = get_default_graph();
  seed_ = options_.seed ? explicit_seed(graph.seed(), *options_.seed) : graph.next_op_seed();
  if (options_.variational_recurrent) {  // TF: noise [1] + size, drawn once
    const auto draw = [&](const char* salt, std::int64_t n, float keep, const std::vector<bool>* droppable) {
      Rng rng(mix_seed(seed_, hash_name(salt)));
      std::vector<float> mask(static_cast<std::size_t>(n));
      for (std::int64_t j = 0; j < n; ++j)
        mask[j] = droppable && !(*droppable)[j] ? 1.0f : draw_mask(rng, keep);
      return mask;
    };
    if (layout_.input) variational_input_ = draw("input", input_dim, options_.input_keep_prob, nullptr);
    if (layout_.state) variational_state_ = draw("state", S, options_.state_keep_prob, &layout_.state_columns);
    if (layout_.output) variational_output_ = draw("output", cell_->output_size(), options_.output_keep_prob, nullptr);
  }
}

const std::vector<bool>& DropoutWrapper::state_dropped_columns() const {
  if (input_dim_ < 0) throw InvalidArgumentError("DropoutWrapper is not built yet: call it once, or build(input_depth)");
  return layout_.state_columns;
}

std::int64_t DropoutWrapper::projection_size() const {
  if (input_dim_ < 0) throw InvalidArgumentError("DropoutWrapper is not built yet: call it once, or build(input_depth)");
  return layout_.input ? input_dim_ : cell_->projection_size();
}

void DropoutWrapper::project_inputs(ConstMatrixView x, MatrixView out) const {
  if (layout_.input)
    eigen(out) = eigen(x);  // the step drops, then projects
  else
    cell_->project_inputs(x, out);
}

std::int64_t DropoutWrapper::forward_saved_size() const {
  if (input_dim_ < 0) throw InvalidArgumentError("DropoutWrapper is not built yet: call it once, or build(input_depth)");
  return layout_.saved;
}

std::int64_t DropoutWrapper::backward_activation_size() const {
  if (input_dim_ < 0) throw InvalidArgumentError("DropoutWrapper is not built yet: call it once, or build(input_depth)");
  return layout_.activations;
}

void DropoutWrapper::draw_masks(std::int64_t rows, MatrixView input_mask, MatrixView state_mask,
                                MatrixView output_mask) const {
  if (options_.variational_recurrent) {
    const auto repeat = [&](MatrixView m, const std::vector<float>& v) {
      if (!m.data) return;
      for (std::int64_t r = 0; r < rows; ++r) std::memcpy(m.data + r * m.row_stride, v.data(), v.size() * sizeof(float));
    };
    repeat(input_mask, variational_input_);
    repeat(state_mask, variational_state_);
    repeat(output_mask, variational_output_);
    return;
  }
  // A fresh stream per call: the masks depend on (seed, call number) only.
  Rng rng(mix_seed(seed_, calls_->fetch_add(1, std::memory_order_relaxed)));
  for (std::int64_t r = 0; r < rows; ++r) {
    if (input_mask.data)
      for (std::int64_t j = 0; j < input_mask.cols; ++j)
        input_mask.data[r * input_mask.row_stride + j] = draw_mask(rng, options_.input_keep_prob);
    if (state_mask.data)
      for (std::int64_t j = 0; j < state_mask.cols; ++j)
        state_mask.data[r * state_mask.row_stride + j] =
            layout_.state_columns[j] ? draw_mask(rng, options_.state_keep_prob) : 1.0f;
    if (output_mask.data)
      for (std::int64_t j = 0; j < output_mask.cols; ++j)
        output_mask.data[r * output_mask.row_stride + j] = draw_mask(rng, options_.output_keep_prob);
  }
}

void DropoutWrapper::step(const StepArgs& a, Workspace& workspace) const {
  const std::int64_t B = a.state.rows, D = input_dim_, O = cell_->output_size();
  const auto S = static_cast<std::int64_t>(layout_.state_columns.size());
  const bool keep = a.saved.data != nullptr;  // recorded: the masks and dropped inputs go to `saved`
  const auto part = [&](bool on, std::int64_t offset, std::int64_t width, std::size_t slot) {
    if (!on) return MatrixView{};
    if (keep) return columns(a.saved, offset, width);
    return MatrixView{workspace.buffer(slot, static_cast<std::size_t>(B * width)), B, width, width};
  };
  const MatrixView input_mask = part(layout_.input, layout_.input_mask, D, 1);
  const MatrixView state_mask = part(layout_.state, layout_.state_mask, S, 3);
  const MatrixView output_mask = part(layout_.output, layout_.output_mask, O, 4);
  draw_masks(B, input_mask, state_mask, output_mask);

  ConstMatrixView projection = a.projection;
  if (layout_.input) {  // dropout(inputs), then the cell's projection of them
    const MatrixView dropped = part(true, layout_.dropped_x, D, 0);
    eigen(dropped) = eigen(a.projection).cwiseProduct(eigen(input_mask));
    const std::int64_t P = cell_->projection_size();
    const MatrixView p{workspace.buffer(2, static_cast<std::size_t>(B * P)), B, P, P};
    cell_->project_inputs(dropped, p);
    projection = p;
  }
  cell_->step({.projection = projection,
               .state = a.state,
               .state_out = a.state_out,
               .output = a.output,
               .saved = maybe_columns(a.saved, 0, layout_.cell_saved),
               .rows = a.rows},
              workspace.child(0));
  if (layout_.state) eigen(a.state_out) = eigen(a.state_out).cwiseProduct(eigen(state_mask));  // c's columns x 1
  if (layout_.output && a.output.data) eigen(a.output) = eigen(a.output).cwiseProduct(eigen(output_mask));
}

void DropoutWrapper::backward_activations(ConstMatrixView states, ConstMatrixView projection, ConstMatrixView saved,
                                          MatrixView activations) const {
  ConstMatrixView p = projection;
  if (layout_.input) {  // the cell's projection of every step's dropped inputs at once
    const MatrixView pc = columns(activations, layout_.cell_projection, cell_->projection_size());
    cell_->project_inputs(columns(saved, layout_.dropped_x, input_dim_), pc);
    p = pc;
  }
  cell_->backward_activations(states, p, maybe_columns(saved, 0, layout_.cell_saved),
                              columns(activations, 0, layout_.cell_activations));
}

void DropoutWrapper::step_backward(const StepBackwardArgs& a, Workspace& workspace) const {
  const std::int64_t B = a.state.rows, D = input_dim_, O = cell_->output_size();
  const auto S = static_cast<std::int64_t>(layout_.state_columns.size());
  ConstMatrixView d_state_out = a.d_state_out, d_output = a.d_output;
  if (layout_.state) {  // through state_out = new_state * mask
    const MatrixView d{workspace.buffer(5, static_cast<std::size_t>(B * S)), B, S, S};
    eigen(d) = eigen(a.d_state_out).cwiseProduct(eigen(columns(a.saved, layout_.state_mask, S)));
    d_state_out = d;
  }
  if (layout_.output && a.d_output.data) {
    const MatrixView d{workspace.buffer(6, static_cast<std::size_t>(B * O)), B, O, O};
    eigen(d) = eigen(a.d_output).cwiseProduct(eigen(columns(a.saved, layout_.output_mask, O)));
    d_output = d;
  }
  // With input dropout the cell's d_projection stays in the activations, where its
  // projection was, for recurrent_weights_backward; ours is d(inputs).
  const MatrixView d_projection =
      layout_.input ? columns(a.activations, layout_.cell_projection, cell_->projection_size()) : a.d_projection;
  cell_->step_backward({.activations = columns(a.activations, 0, layout_.cell_activations),
                        .state = a.state,
                        .saved = maybe_columns(a.saved, 0, layout_.cell_saved),
                        .d_state_out = d_state_out,
                        .d_output = d_output,
                        .d_projection = d_projection,
                        .d_state = a.d_state,
                        .rows = a.rows,
                        .d_constants = a.d_constants},
                       workspace.child(0));
  if (layout_.input) {
    const MatrixView d_dropped{workspace.buffer(7, static_cast<std::size_t>(B * D)), B, D, D};
    cell_->project_inputs_backward_input(d_projection, d_dropped);
    eigen(a.d_projection) = eigen(d_dropped).cwiseProduct(eigen(columns(a.saved, layout_.input_mask, D)));
  }
}

void DropoutWrapper::recurrent_weights_backward(ConstMatrixView states, ConstMatrixView saved,
                                                ConstMatrixView d_projection, ConstMatrixView activations,
                                                std::vector<Tensor>& grads) const {
  const ConstMatrixView cell_saved = maybe_columns(saved, 0, layout_.cell_saved);
  const ConstMatrixView cell_activations = columns(activations, 0, layout_.cell_activations);
  if (!layout_.input) {
    cell_->recurrent_weights_backward(states, cell_saved, d_projection, cell_activations, grads);
    return;
  }
  const ConstMatrixView dp = columns(activations, layout_.cell_projection, cell_->projection_size());
  cell_->recurrent_weights_backward(states, cell_saved, dp, cell_activations, grads);
  // The input weights saw the dropped inputs, saved per step.
  cell_->project_inputs_backward(columns(saved, layout_.dropped_x, input_dim_), dp, MatrixView{}, grads);
}

void DropoutWrapper::project_inputs_backward(ConstMatrixView x, ConstMatrixView d_projection, MatrixView d_x,
                                             std::vector<Tensor>& grads) const {
  if (!layout_.input) {
    cell_->project_inputs_backward(x, d_projection, d_x, grads);
    return;
  }
  if (d_x.data) eigen(d_x) = eigen(d_projection);  // our projection is the inputs themselves
}

void DropoutWrapper::project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const {
  if (!layout_.input)
    cell_->project_inputs_backward_input(d_projection, d_x);
  else
    eigen(d_x) = eigen(d_projection);
}

std::shared_ptr<const RNNCell> DropoutWrapper::clone() const {
  auto copy = std::shared_ptr<DropoutWrapper>(new DropoutWrapper());
  copy->owned_ = cell_->clone();
  copy->cell_ = copy->owned_.get();
  copy->options_ = options_;
  copy->input_dim_ = input_dim_;
  copy->layout_ = layout_;
  copy->seed_ = seed_;
  copy->variational_input_ = variational_input_;
  copy->variational_state_ = variational_state_;
  copy->variational_output_ = variational_output_;
  copy->calls_ = calls_;  // clones draw from the same counter
  return copy;
}

}  // namespace varscope
