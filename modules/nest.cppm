// varscope:nest — TF's nested structures for RNN state (tf.nest / tf.contrib.framework.nest):
// a state is a tensor or a tuple of states, e.g. a 2-layer LSTM's
// (LSTMStateTuple(c, h), LSTMStateTuple(c, h)). Design: docs/design/issue-20-structured-state.md §2b.
//
//   Nest<T>, State, StateSize  a leaf or a tuple of nests (tagged struct; no std::variant, see below)
//   LSTMStateTuple             namedtuple("LSTMStateTuple", ("c", "h")): c first
//   CellOutput                 a cell's (output, new_state)
//   nest::flatten / pack_sequence_as / map_structure / assert_same_structure   TF's names
//   zero_state, tile_batch     TF's zero_state and seq2seq tile_batch, per leaf
//   pack_state / unpack_state  the loops' packed [B, S] layout: leaves side by side in flatten
//                              order, which is TF's state_is_tuple=False concatenation
//
// The templates here stay Eigen-free (an exported template whose body uses Eigen fails to
// compile in importers) and Nest is a tagged struct: clang 19's AST reader crashes on
// std::visit in this build (CHANGELOG). pack/unpack/zero_state/tile_batch live in
// modules/src/nest.cpp.
module;
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>
export module varscope:nest;
import :errors;
import :tensor;
import :kernels;
import :ops;

export namespace varscope {

/// What a nest node is. Tuple kinds other than `tuple` are the namedtuples the library gives a
/// meaning to (field names in structure() and leaf paths; DropoutWrapper never drops `c`).
/// attention_wrapper_state is TF 1.15's AttentionWrapperState: 6 items (cell_state, attention,
/// time, alignments, alignment_history, attention_state); see :attention.
enum class NestKind : std::uint8_t { leaf, tuple, lstm_state_tuple, attention_wrapper_state };

namespace detail {
/// The field names of a namedtuple kind ({} for a plain tuple).
[[nodiscard]] inline std::vector<std::string_view> nest_field_names(NestKind kind) {
  if (kind == NestKind::lstm_state_tuple) return {"c", "h"};
  if (kind == NestKind::attention_wrapper_state)
    return {"cell_state", "attention", "time", "alignments", "alignment_history", "attention_state"};
  return {};
}
}  // namespace detail

/// TF's nest: a leaf or a tuple of nests. `Nest()` is TF's empty tuple `()`.
///
///   State s = h;                                        // a tensor is a state (GRU)
///   State lstm = LSTMStateTuple{c, h};                  // kind lstm_state_tuple
///   State two = State::tuple({lstm, lstm});             // MultiRNNCell's tuple of layer states
///   const Tensor& t = s;                                // a leaf converts back; a tuple throws
///
/// The conversions both ways are implicit, so a GRU's state is used as a tensor unchanged
/// (`return final_state;`). Member access does not convert: write `s.leaf().shape()`.
template <class T>
class Nest {
 public:
  Nest() : kind_(NestKind::tuple) {}
  Nest(T leaf) : kind_(NestKind::leaf), leaf_(std::move(leaf)) {}  // NOLINT: implicit on purpose

  /// A tuple of `items`. `kind` lstm_state_tuple takes exactly two items (c, h);
  /// InvalidArgumentError otherwise, and for kind leaf (construct a leaf from the value).
  [[nodiscard]] static Nest tuple(std::vector<Nest> items, NestKind kind = NestKind::tuple) {
    if (kind == NestKind::leaf)
      throw InvalidArgumentError("Nest::tuple: kind leaf is not a tuple kind; make a leaf from the value: Nest(value)");
    if (kind == NestKind::lstm_state_tuple && items.size() != 2)
      throw InvalidArgumentError("Nest::tuple: an LSTMStateTuple holds 2 items (c, h), got " +
                                 std::to_string(items.size()) + "; use LSTMStateTuple{c, h}");
    if (kind == NestKind::attention_wrapper_state && items.size() != 6)
      throw InvalidArgumentError("Nest::tuple: an AttentionWrapperState holds 6 items (cell_state, attention, time, "
                                 "alignments, alignment_history, attention_state), got " +
                                 std::to_string(items.size()) + "; use AttentionWrapperState{...}");
    Nest n;
    n.kind_ = kind;
    n.items_ = std::move(items);
    return n;
  }

  [[nodiscard]] NestKind kind() const noexcept { return kind_; }
  [[nodiscard]] bool is_leaf() const noexcept { return kind_ == NestKind::leaf; }

  /// The value of a leaf. InvalidArgumentError naming structure() when this is a tuple.
  [[nodiscard]] const T& leaf() const {
    if (!is_leaf()) throw_not_a_leaf();
    return *leaf_;
  }
  [[nodiscard]] T& leaf() {
    if (!is_leaf()) throw_not_a_leaf();
    return *leaf_;
  }
  /// Implicit: a GRU's state is a tensor (`return final_state;`, `tile_batch(h, k)`). Throws as leaf().
  operator const T&() const { return leaf(); }  // NOLINT: implicit on purpose

  /// Number of items of a tuple (0 for a leaf).
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  /// Item `i` of a tuple. InvalidArgumentError for a leaf or an index out of range.
  [[nodiscard]] const Nest& operator[](std::size_t i) const {
    check_index(i);
    return items_[i];
  }
  [[nodiscard]] Nest& operator[](std::size_t i) {
    check_index(i);
    return items_[i];
  }

  /// The shape of the nesting, for messages: "(LSTMStateTuple(c, h), LSTMStateTuple(c, h))",
  /// "tensor" (a State leaf), "size" (a StateSize leaf), "()", "(tensor,)".
  [[nodiscard]] std::string structure() const {
    if (is_leaf()) {
      if constexpr (std::is_same_v<T, Tensor>) return "tensor";
      else if constexpr (std::is_same_v<T, std::int64_t>) return "size";
      else return "leaf";
    }
    const auto fields = detail::nest_field_names(kind_);
    const bool named = !fields.empty();
    std::string s = kind_ == NestKind::lstm_state_tuple            ? "LSTMStateTuple("
                    : kind_ == NestKind::attention_wrapper_state ? "AttentionWrapperState("
                                                                  : "(";
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (i) s += ", ";
      if (named) {
        s += fields[i];
        if (!items_[i].is_leaf()) s += "=" + items_[i].structure();
      } else {
        s += items_[i].structure();
      }
    }
    if (!named && items_.size() == 1) s += ",";
    return s + ")";
  }

 private:
  [[noreturn]] void throw_not_a_leaf() const {
    throw InvalidArgumentError("the nest is " + structure() +
                               ", not a single leaf: take an item (s[i], LSTMStateTuple::from(s).h) or every "
                               "leaf (nest::flatten(s))");
  }
  void check_index(std::size_t i) const {
    if (is_leaf())
      throw InvalidArgumentError("the nest is a single leaf, not a tuple: it has no item [" + std::to_string(i) +
                                 "]; use it as the value (leaf())");
    if (i >= items_.size())
      throw InvalidArgumentError("the nest " + structure() + " has " + std::to_string(items_.size()) +
                                 " items: index " + std::to_string(i) + " is out of range");
  }

  NestKind kind_;
  std::optional<T> leaf_;
  std::vector<Nest> items_;
};

/// An RNN state: every leaf float32 [batch, size].
using State = Nest<Tensor>;
/// TF's state_size: the size of each leaf (its batch left out), in the state's structure.
using StateSize = Nest<std::int64_t>;

/// TF's `LSTMStateTuple = namedtuple("LSTMStateTuple", ("c", "h"))`: c (the memory) first, h (the
/// output) second, so nest flattens it as c then h (SPEC-cells-state §1c).
struct LSTMStateTuple {
  Tensor c, h;
  /// The State of kind lstm_state_tuple with leaves c, h.
  operator State() const;  // NOLINT: implicit on purpose
  /// The (c, h) of a State of kind lstm_state_tuple, or of a plain 2-tuple of tensors (TF's
  /// testBasicLSTMCellStateTupleType: regular tuples in, LSTMStateTuples out).
  /// InvalidArgumentError naming s.structure() for anything else.
  [[nodiscard]] static LSTMStateTuple from(const State& s);
};

/// A cell's (output, new_state), TF's `output, new_state = cell(x, state)`:
/// `auto [output, state] = cell(x, h);`.
struct CellOutput {
  Tensor output;
  State state;
};

// The templates' helpers (not API): leaf paths, structure comparison, recursion.
namespace detail {
/// Leaf path of item `i` below `path` in a nest of `kind`: "state[1]", "state[1].c".
[[nodiscard]] inline std::string nest_child_path(const std::string& path, NestKind kind, std::size_t i) {
  const auto fields = nest_field_names(kind);
  if (!fields.empty()) return path + (path.empty() ? "" : ".") + std::string(fields[i]);
  return path + "[" + std::to_string(i) + "]";
}
/// "a leaf", "a tuple of 2", "an LSTMStateTuple": one node, for structure mismatch messages.
template <class T>
[[nodiscard]] std::string nest_node_text(const Nest<T>& n) {
  if (n.is_leaf()) return "a leaf";
  if (n.kind() == NestKind::lstm_state_tuple) return "an LSTMStateTuple";
  if (n.kind() == NestKind::attention_wrapper_state) return "an AttentionWrapperState";
  return "a tuple of " + std::to_string(n.size());
}
template <class T, class Ptr, class N>
void nest_flatten_into(N& n, std::vector<Ptr>& out) {
  if (n.is_leaf()) {
    out.push_back(&n.leaf());
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) nest_flatten_into<T>(n[i], out);
}
template <class T, class U>
Nest<T> nest_pack(const Nest<U>& structure, std::vector<T>& flat, std::size_t& next) {
  if (structure.is_leaf()) return Nest<T>(std::move(flat[next++]));
  std::vector<Nest<T>> items;
  items.reserve(structure.size());
  for (std::size_t i = 0; i < structure.size(); ++i) items.push_back(nest_pack<T>(structure[i], flat, next));
  return Nest<T>::tuple(std::move(items), structure.kind());
}
template <class T>
[[nodiscard]] std::size_t nest_leaf_count(const Nest<T>& n) {
  if (n.is_leaf()) return 1;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n.size(); ++i) count += nest_leaf_count(n[i]);
  return count;
}
// The first place where a and b differ: its path (`path` for the root) and the two nodes there
// (nest_node_text); `differs` false when a and b have the same structure.
struct NestDifference {
  bool differs = false;
  std::string path, first, second;
};
template <class T, class U>
[[nodiscard]] NestDifference nest_first_difference(const Nest<T>& a, const Nest<U>& b, const std::string& path) {
  if (a.is_leaf() && b.is_leaf()) return {};
  if (a.is_leaf() != b.is_leaf() || a.kind() != b.kind() || a.size() != b.size())
    return {true, path, nest_node_text(a), nest_node_text(b)};
  for (std::size_t i = 0; i < a.size(); ++i) {
    NestDifference d = nest_first_difference(a[i], b[i], nest_child_path(path, a.kind(), i));
    if (d.differs) return d;
  }
  return {};
}
template <class F, class T>
auto nest_map(F& f, const Nest<T>& a) -> Nest<std::decay_t<std::invoke_result_t<F&, const T&>>> {
  using R = std::decay_t<std::invoke_result_t<F&, const T&>>;
  if (a.is_leaf()) return Nest<R>(f(a.leaf()));
  std::vector<Nest<R>> items;
  items.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) items.push_back(nest_map(f, a[i]));
  return Nest<R>::tuple(std::move(items), a.kind());
}
template <class F, class T, class U>
auto nest_zip(F& f, const Nest<T>& a, const Nest<U>& b)
    -> Nest<std::decay_t<std::invoke_result_t<F&, const T&, const U&>>> {
  using R = std::decay_t<std::invoke_result_t<F&, const T&, const U&>>;
  if (a.is_leaf()) return Nest<R>(f(a.leaf(), b.leaf()));
  std::vector<Nest<R>> items;
  items.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) items.push_back(nest_zip(f, a[i], b[i]));
  return Nest<R>::tuple(std::move(items), a.kind());
}
}  // namespace detail

/// TF's nest functions. Structures compare as TF's with check_types=True: an LSTMStateTuple and
/// a plain 2-tuple differ.
namespace nest {

/// InvalidArgumentError when a and b do not have the same nesting (tuple sizes and kinds; leaf
/// values are not compared). The message starts with `who`, names the first place they differ and
/// both structure() strings, e.g. "decoder: the structures differ at [1]: a tuple of 2 in the first
/// and an LSTMStateTuple in the second (first: ((tensor, tensor), (tensor, tensor)), second:
/// (LSTMStateTuple(c, h), LSTMStateTuple(c, h)))".
template <class T, class U>
void assert_same_structure(const Nest<T>& a, const Nest<U>& b, std::string_view who) {
  const detail::NestDifference d = detail::nest_first_difference(a, b, "");
  if (!d.differs) return;
  throw InvalidArgumentError(std::string(who) + ": the structures differ " +
                             (d.path.empty() ? std::string("at the top") : "at " + d.path) + ": " + d.first +
                             " in the first and " + d.second + " in the second (first: " + a.structure() +
                             ", second: " + b.structure() + ")");
}

/// The leaves in order (depth first; an LSTMStateTuple gives c then h), as pointers: no copies.
template <class T>
[[nodiscard]] std::vector<const T*> flatten(const Nest<T>& n) {
  std::vector<const T*> out;
  detail::nest_flatten_into<T>(n, out);
  return out;
}
template <class T>
[[nodiscard]] std::vector<T*> flatten(Nest<T>& n) {
  std::vector<T*> out;
  detail::nest_flatten_into<T>(n, out);
  return out;
}

/// `flat` put back into the nesting of `structure` (kinds included): the inverse of flatten.
/// InvalidArgumentError when the counts differ.
template <class T, class U>
[[nodiscard]] Nest<T> pack_sequence_as(const Nest<U>& structure, std::vector<T> flat) {
  const std::size_t leaves = detail::nest_leaf_count(structure);
  if (leaves != flat.size())
    throw InvalidArgumentError("pack_sequence_as: the structure " + structure.structure() + " has " +
                               std::to_string(leaves) + " leaves but " + std::to_string(flat.size()) +
                               " values were given; pass one value per leaf, in nest::flatten order");
  std::size_t next = 0;
  return detail::nest_pack<T>(structure, flat, next);
}

/// f applied to every leaf, in a nest of the same structure: Nest<decltype(f(leaf))>.
template <class F, class T>
[[nodiscard]] auto map_structure(F&& f, const Nest<T>& a) {
  return detail::nest_map(f, a);
}
/// f(leaf of a, leaf of b) over two nests of the same structure (assert_same_structure first).
template <class F, class T, class U>
[[nodiscard]] auto map_structure(F&& f, const Nest<T>& a, const Nest<U>& b) {
  assert_same_structure(a, b, "map_structure");
  return detail::nest_zip(f, a, b);
}

}  // namespace nest

/// TF's zero_state: map_structure(s -> zeros([batch, s]), size), float32.
/// InvalidArgumentError for a negative batch or size.
[[nodiscard]] State zero_state(const StateSize& size, std::int64_t batch);
/// seq2seq tile_batch over every leaf (SPEC-cells-state §4a): each leaf's batch rows repeated
/// `multiplier` times adjacently (t0, t0, ..., t1, t1, ...). Untracked, as tile_batch(Tensor).
[[nodiscard]] State tile_batch(const State& state, std::int64_t multiplier);
/// S: the sum of the leaf sizes (the width of the packed layout).
[[nodiscard]] std::int64_t flat_size(const StateSize& size);
/// Copies `s` into `packed` [B, S]: leaves side by side in flatten order, leaf i in columns
/// [offset_i, offset_i + size_i). That is TF's state_is_tuple=False layout ([c, h]; a 2-layer
/// MultiRNNCell [c0, h0, c1, h1], SPEC-cells-state §6a). Checks that `s` has `size`'s structure
/// (InvalidArgumentError naming the first place they differ), that every leaf is float32 (DTypeMismatchError) and [B, size_i]
/// (ShapeMismatchError), each message starting with `who` and naming the leaf ("state[1].h") and
/// its shape. InvalidArgumentError when `packed` is not S columns wide.
void pack_state(const State& s, const StateSize& size, MatrixView packed, std::string_view who);
/// The State of structure `size` whose leaves are the column blocks of `packed` [B, S]: fresh
/// (copied), untracked float32 [B, size_i] tensors. InvalidArgumentError when `packed` is not S wide.
[[nodiscard]] State unpack_state(ConstMatrixView packed, const StateSize& size);

}  // namespace varscope
