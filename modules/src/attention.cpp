// Implementation of varscope:attention — the mechanisms' memory binding (a masked copy of
// the memory and memory_layer over it, both recorded ops, once per memory) and the
// AttentionWrapper's step and backward on column blocks of the packed state:
//   [cell_state | attention (L) | time (1) | alignments (T) | attention_state (T)]
// The scores and the context are per-row products with the memory row the step row reads
// (StepArgs::rows), the weight products are one GEMM per step, and the weights' gradients
// one GEMM over all steps (RNNCell's phase 3). Math: docs/design/issue-21-attention.md §3.
module;
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
module varscope;
#include "eigen_views.hpp"
#include "validate.hpp"

namespace varscope {

namespace {
using namespace eigen_views;
// A contiguous row-major block (a memory row's [len, A] keys or [len, Dm] values).
using MapConstRows = Eigen::Map<const RowMatrix>;
using MapRows = Eigen::Map<RowMatrix>;

const char* class_of(AttentionKind k) { return k == AttentionKind::luong ? "LuongAttention" : "BahdanauAttention"; }

std::string shape_text(const Shape& s) { return s.to_string(); }

// The lengths of `memory_sequence_length` (T for every row when absent), checked as TF does.
std::vector<std::int64_t> checked_lengths(const char* who, const Tensor& memory,
                                          const std::optional<Tensor>& memory_sequence_length) {
  const std::int64_t B = memory.shape()[0], T = memory.shape()[1];
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(B), T);
  if (!memory_sequence_length) return lengths;
  validate::require_tensor(who, "memory_sequence_length", *memory_sequence_length, DType::int32, {B},
                           "one length per memory row (tile it with tile_batch too when the memory is tiled)");
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int32_t l = memory_sequence_length->data<std::int32_t>()[b];
    if (l <= 0)
      throw InvalidArgumentError(std::string(who) +
                                 ": All values in memory_sequence_length must be greater than zero. (row " +
                                 std::to_string(b) + " has length " + std::to_string(l) +
                                 "; an empty memory row has nothing to attend to: drop the row or give it a token)");
    if (l > T)
      throw InvalidArgumentError(std::string(who) + ": memory_sequence_length[" + std::to_string(b) + "] = " +
                                 std::to_string(l) + " is larger than the memory's " + std::to_string(T) +
                                 " time steps");
    lengths[static_cast<std::size_t>(b)] = l;
  }
  return lengths;
}

// TF's _prepare_memory: memory * sequence_mask(lengths, T), recorded (the gradient is masked too).
Tensor masked_memory(const Tensor& memory, const std::vector<std::int64_t>& lengths) {
  const std::int64_t B = memory.shape()[0], T = memory.shape()[1], D = memory.shape()[2];
  Tensor out(DType::float32, memory.shape());
  const auto mask_into = [B, T, D](const float* src, float* dst, const std::vector<std::int64_t>& len) {
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t valid = len[static_cast<std::size_t>(b)];
      std::memcpy(dst + b * T * D, src + b * T * D, sizeof(float) * valid * D);
      std::fill_n(dst + (b * T + valid) * D, (T - valid) * D, 0.0f);
    }
  };
  mask_into(memory.data<float>().data(), out.data<float>().data(), lengths);
  return record_op(std::move(out), {memory}, [mask_into, lengths](const TrackedInputs&, const Tensor&) {
    return [mask_into, lengths](BackwardContext& ctx) {
      const Tensor& g = *ctx.output_grad(0);
      Tensor d(DType::float32, g.shape());
      mask_into(g.data<float>().data(), d.data<float>().data(), lengths);
      ctx.accumulate_input(0, std::move(d));
    };
  });
}

std::shared_ptr<const AttentionMemory> bind_memory(const char* who, Dense& memory_layer, std::int64_t units,
                                                   const Tensor& memory,
                                                   const std::optional<Tensor>& memory_sequence_length) {
  if (memory.dtype() != DType::float32 || memory.shape().rank() != 3)
    throw ShapeMismatchError(std::string(who) + ": Expected memory to have fully defined inner dims, but saw shape: " +
                             shape_text(memory.shape()) + " (" + std::string(dtype_name(memory.dtype())) +
                             "); the memory is float32 [batch, time, depth] (the encoder's outputs)");
  auto m = std::make_shared<AttentionMemory>();
  m->lengths = checked_lengths(who, memory, memory_sequence_length);
  m->batch = memory.shape()[0];
  m->time = memory.shape()[1];
  m->depth = memory.shape()[2];
  m->units = units;
  m->values = masked_memory(memory, m->lengths);
  m->keys = memory_layer(m->values);
  return m;
}

// Bahdanau's score for one row: s[t] = v' · tanh(keys[t] + pq (+ b)), t < len; e [len, A] kept.
// Luong's: s[t] = g (keys[t] · h).
}  // namespace

// ---------------------------------------------------------------- mechanisms

AttentionMechanism::AttentionMechanism(AttentionKind kind, std::int64_t num_units, const Tensor& memory,
                                       std::optional<Tensor> memory_sequence_length, bool flag)
    : kind_(kind),
      units_(num_units),
      flag_(flag),
      memory_layer_(num_units, {.use_bias = false, .default_name = "memory_layer", .creator = class_of(kind)}) {
  if (num_units < 1)
    throw InvalidArgumentError(std::string(class_of(kind)) + ": num_units = " + std::to_string(num_units) +
                               " must be >= 1");
  memory_ = bind_memory(class_of(kind), memory_layer_, units_, memory, memory_sequence_length);
}

Tensor AttentionMechanism::memory_sequence_length() const {
  std::vector<std::int32_t> l(memory_->lengths.begin(), memory_->lengths.end());
  return Tensor(Shape{memory_->batch}, std::move(l));
}

void AttentionMechanism::setup_memory(const Tensor& memory, std::optional<Tensor> memory_sequence_length) {
  if (memory.shape().rank() == 3 && memory.shape()[2] != memory_->depth)
    throw ShapeMismatchError(std::string(class_of(kind_)) + "::setup_memory: the new memory has depth " +
                             std::to_string(memory.shape()[2]) + " but memory_layer/kernel was built for depth " +
                             std::to_string(memory_->depth) + "; a memory of another depth needs another mechanism");
  memory_ = bind_memory(class_of(kind_), memory_layer_, units_, memory, memory_sequence_length);
}

std::string AttentionMechanism::score_scope_name() const {
  return kind_ == AttentionKind::luong ? "luong_attention" : "bahdanau_attention";
}
std::string AttentionMechanism::class_name() const { return class_of(kind_); }

BahdanauAttention::BahdanauAttention(std::int64_t num_units, const Tensor& memory,
                                     std::optional<Tensor> memory_sequence_length, bool normalize)
    : AttentionMechanism(AttentionKind::bahdanau, num_units, memory, std::move(memory_sequence_length), normalize) {}

LuongAttention::LuongAttention(std::int64_t num_units, const Tensor& memory,
                               std::optional<Tensor> memory_sequence_length, bool scale)
    : AttentionMechanism(AttentionKind::luong, num_units, memory, std::move(memory_sequence_length), scale) {}

// ---------------------------------------------------------------- AttentionWrapperState

AttentionWrapperState::operator State() const {
  return State::tuple({cell_state, State(attention), State(time), State(alignments), alignment_history,
                       State(attention_state)},
                      NestKind::attention_wrapper_state);
}

AttentionWrapperState AttentionWrapperState::from(const State& s) {
  if (s.kind() != NestKind::attention_wrapper_state)
    throw InvalidArgumentError("Expected state to be instance of AttentionWrapperState. Received type " +
                               s.structure() + " instead.");
  return {s[0], s[1].leaf(), s[2].leaf(), s[3].leaf(), s[4], s[5].leaf()};
}

AttentionWrapperState AttentionWrapperState::clone(const AttentionWrapperStateFields& fields) const {
  AttentionWrapperState out = *this;
  const auto same = [](const char* field, const Tensor& old, const Tensor& now) {
    if (old.shape() != now.shape())
      throw ShapeMismatchError("AttentionWrapperState.clone: Invalid shape for tensor " + std::string(field) +
                               ", expected " + old.shape().to_string() + ", got " + now.shape().to_string() + ".");
  };
  if (fields.cell_state) {
    nest::assert_same_structure(cell_state, *fields.cell_state, "AttentionWrapperState.clone(cell_state)");
    const auto a = nest::flatten(cell_state);
    const auto b = nest::flatten(*fields.cell_state);
    for (std::size_t i = 0; i < a.size(); ++i) same("cell_state", *a[i], *b[i]);
    out.cell_state = *fields.cell_state;
  }
  if (fields.attention) same("attention", attention, *fields.attention), out.attention = *fields.attention;
  if (fields.time) same("time", time, *fields.time), out.time = *fields.time;
  if (fields.alignments) same("alignments", alignments, *fields.alignments), out.alignments = *fields.alignments;
  if (fields.attention_state)
    same("attention_state", attention_state, *fields.attention_state), out.attention_state = *fields.attention_state;
  return out;
}

// ---------------------------------------------------------------- AttentionWrapper

AttentionWrapper::AttentionWrapper(RNNCell& cell, AttentionMechanism& mechanism, AttentionWrapperOptions options)
    : mutable_cell_(&cell),
      cell_(&cell),
      mechanism_(&mechanism),
      kind_(mechanism.kind()),
      flag_(mechanism.scaled_or_normalized()),
      units_(mechanism.num_units()),
      memory_depth_(mechanism.values_depth()),
      options_(std::move(options)),
      scope_(options_.name, "attention_wrapper") {
  if (options_.attention_layer_size && *options_.attention_layer_size < 1)
    throw InvalidArgumentError("AttentionWrapper: attention_layer_size = " +
                               std::to_string(*options_.attention_layer_size) +
                               " must be >= 1 (leave it unset for attention = context)");
  if (options_.initial_cell_state) {
    nest::assert_same_structure(*options_.initial_cell_state, cell.state_size(),
                                "AttentionWrapper: initial_cell_state vs the cell's state_size");
    for (const Tensor* leaf : nest::flatten(*options_.initial_cell_state))
      if (leaf->shape().rank() != 2 || leaf->shape()[0] != mechanism.batch_size())
        throw ShapeMismatchError(
            "When constructing AttentionWrapper " + scope_.base_name() +
            ": Non-matching batch sizes between the memory (encoder output) and initial_cell_state.  Are you using "
            "the BeamSearchDecoder?  You may need to tile your initial state via the tf.contrib.seq2seq.tile_batch "
            "function with argument multiple=beam_width. (memory batch " + std::to_string(mechanism.batch_size()) +
            ", initial_cell_state leaf " + leaf->shape().to_string() + ")");
  }
}

std::int64_t AttentionWrapper::attention_size() const noexcept {
  return options_.attention_layer_size ? *options_.attention_layer_size : memory_depth_;
}

StateSize AttentionWrapper::state_size() const {
  const std::int64_t T = memory().time;
  return StateSize::tuple({cell_->state_size(), attention_size(), 1, T, StateSize(), T},
                          NestKind::attention_wrapper_state);
}

std::int64_t AttentionWrapper::output_size() const {
  return options_.output_attention ? attention_size() : cell_->output_size();
}

void AttentionWrapper::build(std::int64_t input_dim) {
  if (built()) {
    if (input_dim != input_dim_)
      throw ShapeMismatchError("AttentionWrapper " + scope_.base_name() + ": built for inputs of depth " +
                               std::to_string(input_dim_) + ", called with depth " + std::to_string(input_dim));
    return;
  }
  const std::int64_t L = attention_size(), Dm = memory_depth_, A = units_;
  scope_.build_once("AttentionWrapper", [&] {
    // TF's call order: the inner cell on concat(x, attention), then the score, then attention_layer.
    if (mutable_cell_) mutable_cell_->build(input_dim + L);
    const std::int64_t D = cell_->output_size();
    {
      auto mech_scope = variable_scope(std::nullopt, {.default_name = mechanism_->score_scope_name()});
      if (kind_ == AttentionKind::luong) {
        if (D != A)
          throw ShapeMismatchError(
              "LuongAttention: Incompatible or unknown inner dimensions between query and keys.  Query (the cell's "
              "output) has units: " + std::to_string(D) + ".  Keys (memory_layer) have units: " + std::to_string(A) +
              ".  Perhaps you need to set num_units to the keys' dimension (" + std::to_string(D) + ")?");
        if (flag_) attention_g_ = get_variable("attention_g", {.shape = Shape{}, .initializer = ones_initializer()});
      } else {
        Dense query_layer(A, {.use_bias = false, .default_name = "query_layer", .creator = mechanism_->class_name()});
        query_layer.build(D);
        query_kernel_ = query_layer.kernel();
        attention_v_ = get_variable("attention_v", {.shape = Shape{A}});
        if (flag_) {
          attention_g_ = get_variable(
              "attention_g",
              {.shape = Shape{}, .initializer = constant_initializer(std::sqrt(1.0 / static_cast<double>(A)))});
          attention_b_ = get_variable("attention_b", {.shape = Shape{A}, .initializer = zeros_initializer()});
        }
      }
    }
    if (options_.attention_layer_size) {
      Dense attention_layer(L, {.use_bias = false, .default_name = "attention_layer", .creator = "AttentionWrapper"});
      attention_layer.build(D + Dm);
      attention_kernel_ = attention_layer.kernel();
    }
  });
  input_dim_ = input_dim;
  // The layout of the packed state, what a step saves and the activations.
  Layout l;
  const std::int64_t D = cell_->output_size();
  l.cell_state = 0;
  l.attention = cell_->flat_state_size();
  l.time = l.attention + L;
  l.alignments = l.time + 1;
  l.cell_saved = cell_->forward_saved_size();
  l.u = l.cell_saved;
  l.h = l.u + input_dim + L;
  l.context = l.h + D;  // [h, context] side by side: attention_layer's input
  l.align = l.context + Dm;
  l.cell_acts = cell_->backward_activation_size();
  l.cell_projection = l.cell_acts;
  l.d_att = l.cell_projection + cell_->projection_size();
  l.extra = l.d_att + L;  // Luong: d_g per row (1); Bahdanau: pq, d_pq, d_v' per row (3A)
  l.acts = l.extra + (kind_ == AttentionKind::luong ? 1 : 3 * A);
  layout_ = l;
}

std::int64_t AttentionWrapper::projection_size() const {
  if (input_dim_ < 0) throw InvalidArgumentError("AttentionWrapper is not built yet: call it once, or build(input_depth)");
  return input_dim_;
}

void AttentionWrapper::project_inputs(ConstMatrixView x, MatrixView out) const { eigen(out) = eigen(x); }

std::int64_t AttentionWrapper::forward_saved_size() const {
  if (input_dim_ < 0) throw InvalidArgumentError("AttentionWrapper is not built yet: call it once, or build(input_depth)");
  return layout_.align + memory().time;
}

std::int64_t AttentionWrapper::backward_activation_size() const {
  if (input_dim_ < 0) throw InvalidArgumentError("AttentionWrapper is not built yet: call it once, or build(input_depth)");
  return layout_.acts;
}

void AttentionWrapper::effective_v(float* out) const {
  const auto v = attention_v_->value().data<float>();
  const std::int64_t A = units_;
  if (!flag_) {
    std::copy_n(v.data(), A, out);
    return;
  }
  double sq = 0.0;
  for (std::int64_t a = 0; a < A; ++a) sq += static_cast<double>(v[a]) * v[a];
  const float scale = attention_g_->value().data<float>()[0] / static_cast<float>(std::sqrt(sq));
  for (std::int64_t a = 0; a < A; ++a) out[a] = scale * v[a];
}

void AttentionWrapper::step(const StepArgs& a, Workspace& workspace) const {
  const AttentionMemory& mem = memory();
  const std::int64_t N = a.state.rows, E = input_dim_, L = attention_size(), D = cell_->output_size();
  const std::int64_t T = mem.time, A = units_, Dm = mem.depth, P = cell_->projection_size();
  const Layout& l = layout_;
  if (a.rows.empty() && N != mem.batch)
    throw ShapeMismatchError(
        "When applying AttentionWrapper " + scope_.base_name() +
        ": Non-matching batch sizes between the memory (encoder output) and the query (decoder output).  Are you "
        "using the BeamSearchDecoder?  You may need to tile your memory input via the tf.contrib.seq2seq.tile_batch "
        "function with argument multiple=beam_width. (memory batch " + std::to_string(mem.batch) + ", query batch " +
        std::to_string(N) + ")");
  const bool keep = a.saved.data != nullptr;
  // u = [x, attention_{t-1}], h and context side by side, the alignments: in `saved` when recorded.
  const std::int64_t hc_width = D + Dm;
  const MatrixView u = keep ? columns(a.saved, l.u, E + L)
                            : MatrixView{workspace.buffer(0, static_cast<std::size_t>(N * (E + L))), N, E + L, E + L};
  const MatrixView hc = keep ? columns(a.saved, l.h, hc_width)
                             : MatrixView{workspace.buffer(2, static_cast<std::size_t>(N * hc_width)), N, hc_width,
                                          hc_width};
  eigen(columns(u, 0, E)) = eigen(a.projection);
  eigen(columns(u, E, L)) = eigen(columns(a.state, l.attention, L));
  const MatrixView p{workspace.buffer(1, static_cast<std::size_t>(N * P)), N, P, P};
  cell_->project_inputs(u, p);
  const MatrixView h = columns(hc, 0, D), context = columns(hc, D, Dm);
  cell_->step({.projection = p,
               .state = columns(a.state, l.cell_state, l.attention),
               .state_out = columns(a.state_out, l.cell_state, l.attention),
               .output = h,
               .saved = keep ? columns(a.saved, 0, l.cell_saved) : MatrixView{nullptr, N, l.cell_saved, l.cell_saved}},
              workspace.child(0));
  // The scores, straight into the alignments' columns of state_out, then softmax in place.
  const MatrixView align = columns(a.state_out, l.alignments, T);
  float* pq = nullptr;
  float* vprime = nullptr;
  float* bias = nullptr;
  if (kind_ == AttentionKind::bahdanau) {
    pq = workspace.buffer(3, static_cast<std::size_t>(N * A + 2 * A));
    vprime = pq + N * A;
    query_packed_.matmul_into(h, *query_kernel_, 0, D, MatrixView{pq, N, A, A});
    effective_v(vprime);
    if (attention_b_) {
      bias = vprime + A;
      std::copy_n(attention_b_->value().data<float>().data(), A, bias);
    }
  }
  const float g = kind_ == AttentionKind::luong && attention_g_ ? attention_g_->value().data<float>()[0] : 1.0f;
  const float* keys = mem.keys.data<float>().data();
  const float* values = mem.values.data<float>().data();
  // Per row: the scores against its memory row (a [len, A] GEMV, or Bahdanau's vectorised
  // tanh over [len, A]), the softmax over t < len, and the context (a [len, Dm] GEMV).
  float* e = kind_ == AttentionKind::bahdanau ? workspace.buffer(5, static_cast<std::size_t>(T * A + A)) : nullptr;
  for (std::int64_t i = 0; i < N; ++i) {
    const std::int64_t m = a.rows.empty() ? i : a.rows[static_cast<std::size_t>(i)];
    const std::int64_t len = mem.lengths[static_cast<std::size_t>(m)];
    Eigen::Map<Eigen::RowVectorXf> score(align.data + i * align.row_stride, len);
    const MapConstRows Km(keys + m * T * A, len, A);
    if (kind_ == AttentionKind::luong) {
      const Eigen::Map<const Eigen::VectorXf> hi(h.data + i * h.row_stride, A);
      score.transpose().noalias() = Km * hi;
      if (g != 1.0f) score *= g;
    } else {
      Eigen::Map<Eigen::RowVectorXf> qb(e + T * A, A);  // query_layer(h) (+ b)
      qb = Eigen::Map<const Eigen::RowVectorXf>(pq + i * A, A);
      if (bias) qb += Eigen::Map<const Eigen::RowVectorXf>(bias, A);
      MapRows E(e, len, A);
      E = (Km.rowwise() + qb).array().tanh().matrix();
      score.transpose().noalias() = E * Eigen::Map<const Eigen::VectorXf>(vprime, A);
    }
    // softmax over t < len; the masked scores are -inf, i.e. exactly 0 after it.
    score = (score.array() - score.maxCoeff()).exp().matrix();
    score /= score.sum();
    std::fill(align.data + i * align.row_stride + len, align.data + i * align.row_stride + T, 0.0f);
    // context = alignments · values (the masked memory)
    Eigen::Map<Eigen::RowVectorXf> ci(context.data + i * context.row_stride, Dm);
    ci.noalias() = score * MapConstRows(values + m * T * Dm, len, Dm);
  }
  const MatrixView att = columns(a.state_out, l.attention, L);
  if (attention_kernel_)
    attention_packed_.matmul_into(hc, *attention_kernel_, 0, D + Dm, att);
  else
    eigen(att) = eigen(context);
  for (std::int64_t i = 0; i < N; ++i)
    a.state_out.data[i * a.state_out.row_stride + l.time] = a.state.data[i * a.state.row_stride + l.time] + 1.0f;
  eigen(columns(a.state_out, l.alignments + T, T)) = eigen(align);  // attention_state
  if (keep) eigen(columns(a.saved, l.align, T)) = eigen(align);
  if (a.output.data) eigen(a.output) = options_.output_attention ? eigen(att) : eigen(h);
}

void AttentionWrapper::backward_activations(ConstMatrixView states, ConstMatrixView, ConstMatrixView saved,
                                            MatrixView activations) const {
  const Layout& l = layout_;
  const std::int64_t N = states.rows, P = cell_->projection_size(), L = attention_size();
  // The inner cell's projection of every step's [x, attention] at once.
  const MatrixView pc = columns(activations, l.cell_projection, P);
  cell_->project_inputs(columns(saved, l.u, input_dim_ + L), pc);
  cell_->backward_activations(columns(states, l.cell_state, l.attention), pc,
                              ConstMatrixView(saved.data, N, l.cell_saved, saved.row_stride),
                              columns(activations, 0, l.cell_acts));
  if (kind_ == AttentionKind::bahdanau)  // pq = h @ query_layer for every step
    matmul_into(columns(saved, l.h, cell_->output_size()), as_matrix(query_kernel_->value()),
                columns(activations, l.extra, units_));
}

void AttentionWrapper::step_backward(const StepBackwardArgs& a, Workspace& workspace) const {
  const AttentionMemory& mem = memory();
  const Layout& l = layout_;
  const std::int64_t N = a.state.rows, E = input_dim_, L = attention_size(), D = cell_->output_size();
  const std::int64_t T = mem.time, A = units_, Dm = mem.depth, P = cell_->projection_size();
  const std::int64_t Sc = l.attention;
  // d_att = d(attention of state_out) + d_output (when the output is the attention).
  const MatrixView d_att = columns(a.activations, l.d_att, L);
  eigen(d_att) = eigen(columns(a.d_state_out, l.attention, L));
  const MatrixView d_h{workspace.buffer(1, static_cast<std::size_t>(N * D)), N, D, D};
  eigen(d_h).setZero();
  if (a.d_output.data) {
    if (options_.output_attention)
      eigen(d_att) += eigen(a.d_output);
    else
      eigen(d_h) = eigen(a.d_output);
  }
  // [d_h1, d_context] = d_att @ attention_layerᵀ (or d_context = d_att).
  const std::int64_t hc_width = D + Dm;
  const MatrixView d_hc{workspace.buffer(0, static_cast<std::size_t>(N * hc_width)), N, hc_width, hc_width};
  if (attention_kernel_) {
    matmul_transposed_b_into(d_att, as_matrix(attention_kernel_->value()), d_hc);
  } else {
    eigen(columns(d_hc, 0, D)).setZero();
    eigen(columns(d_hc, D, Dm)) = eigen(d_att);
  }
  const ConstMatrixView h = columns(a.saved, l.h, D), align = columns(a.saved, l.align, T);
  const ConstMatrixView d_align_next = columns(a.d_state_out, l.alignments, T);
  const ConstMatrixView d_attstate_next = columns(a.d_state_out, l.alignments + T, T);
  const float* keys = mem.keys.data<float>().data();
  const float* values = mem.values.data<float>().data();
  const bool has_constants = a.d_constants.size() >= 2;
  float* dkeys = has_constants ? a.d_constants[0].data : nullptr;
  float* dvalues = has_constants ? a.d_constants[1].data : nullptr;
  float* ds = workspace.buffer(4, static_cast<std::size_t>(2 * T + 3 * A));
  float* da = ds + T;
  float* vprime = da + T;
  float* bias = vprime + A;
  float* e = nullptr;
  const float g = kind_ == AttentionKind::luong && attention_g_ ? attention_g_->value().data<float>()[0] : 1.0f;
  if (kind_ == AttentionKind::bahdanau) {
    effective_v(vprime);
    if (attention_b_)
      std::copy_n(attention_b_->value().data<float>().data(), A, bias);
    else
      std::fill_n(bias, A, 0.0f);
    e = workspace.buffer(3, static_cast<std::size_t>(T * A + A));
  }
  for (std::int64_t i = 0; i < N; ++i) {
    const std::int64_t m = a.rows.empty() ? i : a.rows[static_cast<std::size_t>(i)];
    const std::int64_t len = mem.lengths[static_cast<std::size_t>(m)];
    const Eigen::Map<const Eigen::RowVectorXf> ai(align.data + i * align.row_stride, len);
    const Eigen::Map<const Eigen::RowVectorXf> dci(d_hc.data + i * d_hc.row_stride + D, Dm);
    const MapConstRows Vm(values + m * T * Dm, len, Dm), Km(keys + m * T * A, len, A);
    // d_a = values · d_context + d(alignments) + d(attention_state); d_values += a ⊗ d_context
    Eigen::Map<Eigen::RowVectorXf> dav(da, len), dsv(ds, len);
    dav.transpose().noalias() = Vm * dci.transpose();
    dav += Eigen::Map<const Eigen::RowVectorXf>(d_align_next.data + i * d_align_next.row_stride, len) +
           Eigen::Map<const Eigen::RowVectorXf>(d_attstate_next.data + i * d_attstate_next.row_stride, len);
    if (dvalues) MapRows(dvalues + m * T * Dm, len, Dm).noalias() += ai.transpose() * dci;
    dsv = (ai.array() * (dav.array() - ai.dot(dav))).matrix();  // softmax backward
    const Eigen::Map<const Eigen::RowVectorXf> hi(h.data + i * h.row_stride, D);  // D == A for Luong
    Eigen::Map<Eigen::RowVectorXf> dhi(d_h.data + i * d_h.row_stride, D);
    float* extra = a.activations.data + i * a.activations.row_stride + l.extra;
    if (kind_ == AttentionKind::luong) {
      // s = g (keys · h): d_g = d_s · (keys h), d_h += g d_sᵀ keys, d_keys += g d_s ⊗ h
      extra[0] = dsv.dot((Km * hi.transpose()).transpose());
      dhi.noalias() += g * (dsv * Km);
      if (dkeys) MapRows(dkeys + m * T * A, len, A).noalias() += (g * dsv.transpose()) * hi;
    } else {
      // s = v' · tanh(keys + pq + b): d_v' = Eᵀ d_s, d_pre = (d_s ⊗ v') ⊙ (1 - E²) into keys and pq
      Eigen::Map<Eigen::RowVectorXf> qb(e + T * A, A);
      qb = Eigen::Map<const Eigen::RowVectorXf>(extra, A) + Eigen::Map<const Eigen::RowVectorXf>(bias, A);
      MapRows E(e, len, A);
      E = (Km.rowwise() + qb).array().tanh().matrix();
      Eigen::Map<Eigen::RowVectorXf> dpq(extra + A, A), dvrow(extra + 2 * A, A);
      dvrow.noalias() = dsv * E;
      // d_pre overwrites E: (d_s ⊗ v') ⊙ (1 - E²)
      const Eigen::Map<const Eigen::RowVectorXf> vp(vprime, A);
      E = ((dsv.transpose() * vp).array() * (1.0f - E.array().square())).matrix();
      dpq = E.colwise().sum();
      if (dkeys) MapRows(dkeys + m * T * A, len, A) += E;
    }
  }
  if (kind_ == AttentionKind::bahdanau)  // d_h += d_pq @ query_layerᵀ
    matmul_transposed_b_into(columns(a.activations, l.extra + A, A), as_matrix(query_kernel_->value()), d_h, true);
  eigen(d_h) += eigen(columns(d_hc, 0, D));
  // The inner cell: d_output = d_h, d_state_out = its columns; its d_projection stays in the
  // activations (phase 3 reads it), and d_u = [d_x, d_attention_{t-1}] follows from it.
  const MatrixView d_proj_inner = columns(a.activations, l.cell_projection, P);
  cell_->step_backward({.activations = columns(a.activations, 0, l.cell_acts),
                        .state = columns(a.state, l.cell_state, Sc),
                        .saved = ConstMatrixView(a.saved.data, N, l.cell_saved, a.saved.row_stride),
                        .d_state_out = columns(a.d_state_out, l.cell_state, Sc),
                        .d_output = d_h,
                        .d_projection = d_proj_inner,
                        .d_state = columns(a.d_state, l.cell_state, Sc)},
                       workspace.child(0));
  const MatrixView d_u{workspace.buffer(2, static_cast<std::size_t>(N * (E + L))), N, E + L, E + L};
  cell_->project_inputs_backward_input(d_proj_inner, d_u);
  eigen(a.d_projection) = eigen(columns(d_u, 0, E));
  eigen(columns(a.d_state, l.attention, L)) = eigen(columns(d_u, E, L));
  eigen(columns(a.d_state, l.time, 1 + 2 * T)).setZero();  // time, alignments, attention_state: not read by a step
}

void AttentionWrapper::recurrent_weights_backward(ConstMatrixView states, ConstMatrixView saved,
                                                  ConstMatrixView, ConstMatrixView activations,
                                                  std::vector<Tensor>& grads) const {
  const Layout& l = layout_;
  const std::int64_t N = states.rows, L = attention_size(), D = cell_->output_size(), A = units_;
  const std::int64_t P = cell_->projection_size(), Dm = memory_depth_;
  const std::size_t inner = cell_->gradient_variables().size();
  std::vector<Tensor> part;
  for (std::size_t i = 0; i < inner; ++i) part.push_back(std::move(grads[i]));
  const ConstMatrixView dp = columns(activations, l.cell_projection, P);
  cell_->recurrent_weights_backward(columns(states, l.cell_state, l.attention),
                                    ConstMatrixView(saved.data, N, l.cell_saved, saved.row_stride), dp,
                                    columns(activations, 0, l.cell_acts), part);
  // The inner cell's input weights saw u = [x, attention] of every step (saved).
  cell_->project_inputs_backward(columns(saved, l.u, input_dim_ + L), dp, MatrixView{}, part);
  for (std::size_t i = 0; i < inner; ++i) grads[i] = std::move(part[i]);
  std::size_t next = inner;
  if (kind_ == AttentionKind::luong) {
    if (attention_g_) {
      double dg = 0.0;
      for (std::int64_t r = 0; r < N; ++r) dg += activations.data[r * activations.row_stride + l.extra];
      grads[next++].data<float>()[0] += static_cast<float>(dg);
    }
  } else {
    const ConstMatrixView dpq = columns(activations, l.extra + A, A), dvrow = columns(activations, l.extra + 2 * A, A);
    matmul_transposed_a_into(columns(saved, l.h, D), dpq, as_matrix(grads[next++]), true);  // query_layer
    std::vector<double> dvp(static_cast<std::size_t>(A), 0.0);
    for (std::int64_t r = 0; r < N; ++r)
      for (std::int64_t c = 0; c < A; ++c) dvp[c] += dvrow.data[r * dvrow.row_stride + c];
    Tensor& dv = grads[next++];
    const auto v = attention_v_->value().data<float>();
    if (!flag_) {
      for (std::int64_t c = 0; c < A; ++c) dv.data<float>()[c] += static_cast<float>(dvp[c]);
    } else {
      // v' = g v / ||v||: d_g = d_v' · v̂, d_v = (g / ||v||)(d_v' - (v̂ · d_v') v̂)
      double sq = 0.0;
      for (std::int64_t c = 0; c < A; ++c) sq += static_cast<double>(v[c]) * v[c];
      const double norm = std::sqrt(sq), gv = attention_g_->value().data<float>()[0];
      double proj = 0.0;
      for (std::int64_t c = 0; c < A; ++c) proj += dvp[c] * v[c] / norm;
      for (std::int64_t c = 0; c < A; ++c)
        dv.data<float>()[c] += static_cast<float>(gv / norm * (dvp[c] - proj * v[c] / norm));
      grads[next++].data<float>()[0] += static_cast<float>(proj);
      Tensor& db = grads[next++];
      for (std::int64_t r = 0; r < N; ++r)
        for (std::int64_t c = 0; c < A; ++c) db.data<float>()[c] += dpq.data[r * dpq.row_stride + c];
    }
  }
  if (attention_kernel_)  // d attention_layer += [h, context]ᵀ d_att
    matmul_transposed_a_into(columns(saved, l.h, D + Dm), columns(activations, l.d_att, L), as_matrix(grads[next]),
                             true);
}

void AttentionWrapper::project_inputs_backward(ConstMatrixView, ConstMatrixView d_projection, MatrixView d_x,
                                               std::vector<Tensor>&) const {
  if (d_x.data) eigen(d_x) = eigen(d_projection);  // the projection is the inputs themselves
}

void AttentionWrapper::project_inputs_backward_input(ConstMatrixView d_projection, MatrixView d_x) const {
  eigen(d_x) = eigen(d_projection);
}

std::vector<Variable> AttentionWrapper::gradient_variables() const {
  std::vector<Variable> all = cell_->gradient_variables();
  for (const auto* v : {&query_kernel_, &attention_v_, &attention_g_, &attention_b_, &attention_kernel_})
    if (*v) all.push_back(**v);
  return all;
}

std::shared_ptr<const RNNCell> AttentionWrapper::clone() const {
  auto copy = std::shared_ptr<AttentionWrapper>(new AttentionWrapper());
  copy->owned_ = cell_->clone();
  copy->cell_ = copy->owned_.get();
  copy->frozen_ = frozen_ ? frozen_ : mechanism_->bound_memory();
  copy->kind_ = kind_;
  copy->flag_ = flag_;
  copy->units_ = units_;
  copy->memory_depth_ = memory_depth_;
  copy->options_ = options_;
  copy->options_.initial_cell_state.reset();
  copy->scope_ = scope_;
  copy->input_dim_ = input_dim_;
  copy->layout_ = layout_;
  copy->query_kernel_ = query_kernel_;
  copy->attention_v_ = attention_v_;
  copy->attention_g_ = attention_g_;
  copy->attention_b_ = attention_b_;
  copy->attention_kernel_ = attention_kernel_;
  copy->query_packed_ = query_packed_;
  copy->attention_packed_ = attention_packed_;
  return copy;
}

std::vector<Tensor> AttentionWrapper::step_constants() const { return {memory().keys, memory().values}; }

std::optional<std::int64_t> AttentionWrapper::constant_batch() const { return memory().batch; }

std::string AttentionWrapper::describe_constants() const { return "AttentionWrapper " + scope_.base_name(); }

std::optional<RNNCell::AlignmentColumns> AttentionWrapper::alignment_columns() const {
  const std::int64_t offset = cell_->flat_state_size() + attention_size() + 1;  // == layout_.alignments once built
  return AlignmentColumns{offset, memory().time, options_.alignment_history};
}

State AttentionWrapper::initial_state_of(std::int64_t batch) const {
  State s = varscope::zero_state(state_size(), batch);
  if (options_.initial_cell_state) s[0] = *options_.initial_cell_state;
  return s;
}

}  // namespace varscope
