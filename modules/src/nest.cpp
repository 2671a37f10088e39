// Implementation of varscope:nest: the non-template parts. LSTMStateTuple's conversions,
// zero_state, tile_batch per leaf, and the packed [B, S] layout the recurrence loops use
// (pack_state validates every leaf and says which one is wrong and how to fix it).
module;
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
module varscope;

namespace varscope {

namespace {

std::string str(std::int64_t v) { return std::to_string(v); }

// Every leaf of `size` with its path ("state[1].h") and column offset in the packed layout.
struct LeafSlot {
  std::string path;
  std::int64_t offset = 0, width = 0;
};

void collect_slots(const StateSize& size, const std::string& path, std::vector<LeafSlot>& out, std::int64_t& offset) {
  if (size.is_leaf()) {
    const std::int64_t width = size.leaf();
    if (width < 0)
      throw InvalidArgumentError("state size " + path + " = " + str(width) + " must be >= 0");
    out.push_back({path, offset, width});
    offset += width;
    return;
  }
  for (std::size_t i = 0; i < size.size(); ++i)
    collect_slots(size[i], detail::nest_child_path(path, size.kind(), i), out, offset);
}

std::vector<LeafSlot> slots_of(const StateSize& size, std::int64_t& total) {
  std::vector<LeafSlot> slots;
  total = 0;
  collect_slots(size, "state", slots, total);
  return slots;
}

void require_width(std::string_view who, std::int64_t cols, std::int64_t total, const StateSize& size) {
  if (cols != total)
    throw InvalidArgumentError(std::string(who) + ": the packed state has " + str(cols) + " columns but the state " +
                               "size " + size.structure() + " needs " + str(total) +
                               " (flat_size: the sum of the leaf sizes)");
}

}  // namespace

LSTMStateTuple::operator State() const { return State::tuple({State(c), State(h)}, NestKind::lstm_state_tuple); }

LSTMStateTuple LSTMStateTuple::from(const State& s) {
  const bool pair = (s.kind() == NestKind::lstm_state_tuple || s.kind() == NestKind::tuple) && s.size() == 2;
  if (!pair || !s[0].is_leaf() || !s[1].is_leaf())
    throw InvalidArgumentError("LSTMStateTuple::from: expected an LSTMStateTuple(c, h) or a 2-tuple of tensors "
                               "(c, h), got " + s.structure() +
                               "; for a stacked state take one layer first: LSTMStateTuple::from(state[i])");
  return {s[0].leaf(), s[1].leaf()};
}

State zero_state(const StateSize& size, std::int64_t batch) {
  if (batch < 0) throw InvalidArgumentError("zero_state: batch " + str(batch) + " must be >= 0");
  std::int64_t total = 0;
  (void)slots_of(size, total);  // validates the sizes (>= 0), naming the leaf
  return nest::map_structure([batch](std::int64_t s) { return Tensor(DType::float32, Shape{batch, s}); }, size);
}

State tile_batch(const State& state, std::int64_t multiplier) {
  return nest::map_structure([multiplier](const Tensor& t) { return tile_batch(t, multiplier); }, state);
}

std::int64_t flat_size(const StateSize& size) {
  std::int64_t total = 0;
  (void)slots_of(size, total);
  return total;
}

void pack_state(const State& s, const StateSize& size, MatrixView packed, std::string_view who) {
  const detail::NestDifference d = detail::nest_first_difference(s, size, "state");
  if (d.differs)
    throw InvalidArgumentError(std::string(who) + ": the state is " + s.structure() + " but the state size is " +
                               size.structure() + ": " + (d.path == "state" ? "at the top" : "at " + d.path) +
                               " the state has " + d.first + " where the state size has " + d.second +
                               "; build the state in the state size's structure (zero_state(state_size, batch), "
                               "LSTMStateTuple{c, h} where it shows LSTMStateTuple(c, h))");
  std::int64_t total = 0;
  const std::vector<LeafSlot> slots = slots_of(size, total);
  require_width(who, packed.cols, total, size);
  const std::vector<const Tensor*> leaves = nest::flatten(s);
  const std::int64_t batch = packed.rows;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const Tensor& t = *leaves[i];
    const LeafSlot& slot = slots[i];
    const std::string wanted = "[" + str(batch) + ", " + str(slot.width) + "]";
    if (t.dtype() != DType::float32)
      throw DTypeMismatchError(std::string(who) + ": state leaf " + slot.path + " is " +
                               std::string(dtype_name(t.dtype())) + " " + t.shape().to_string() +
                               "; every state leaf is float32 " + wanted + ": build it from float values");
    if (t.shape().rank() != 2 || t.shape()[1] != slot.width)
      throw ShapeMismatchError(std::string(who) + ": state leaf " + slot.path + " has shape " + t.shape().to_string() +
                               " but the state size there is " + str(slot.width) + ": it must be " + wanted +
                               " (make the state with zero_state(state_size, batch) of the same cell)");
    if (t.shape()[0] != batch)
      throw ShapeMismatchError(std::string(who) + ": state leaf " + slot.path + " has shape " + t.shape().to_string() +
                               " but the batch is " + str(batch) + " rows: it must be " + wanted +
                               " (every leaf has one row per batch entry; for beam search tile the whole state "
                               "with tile_batch(state, beam_width))");
  }
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const float* src = leaves[i]->data<float>().data();
    const std::int64_t w = slots[i].width;
    for (std::int64_t b = 0; b < batch; ++b)
      std::copy_n(src + b * w, w, packed.data + b * packed.row_stride + slots[i].offset);
  }
}

State unpack_state(ConstMatrixView packed, const StateSize& size) {
  std::int64_t total = 0;
  const std::vector<LeafSlot> slots = slots_of(size, total);
  require_width("unpack_state", packed.cols, total, size);
  std::vector<Tensor> leaves;
  leaves.reserve(slots.size());
  for (const LeafSlot& slot : slots) {
    Tensor t = Tensor::uninitialized(DType::float32, Shape{packed.rows, slot.width});
    float* dst = t.data<float>().data();
    for (std::int64_t b = 0; b < packed.rows; ++b)
      std::copy_n(packed.data + b * packed.row_stride + slot.offset, slot.width, dst + b * slot.width);
    leaves.push_back(std::move(t));
  }
  return nest::pack_sequence_as(size, std::move(leaves));
}

}  // namespace varscope
