// varscope:nest (docs/design/issue-20-structured-state.md, slice S2): TF's nested state.
// flatten order (an LSTMStateTuple is c then h), pack_sequence_as ∘ flatten = identity,
// map_structure (map and zip), assert_same_structure's exact messages, tile_batch per leaf
// (adjacent repeats, SPEC-cells-state §4a), the packed [B, S] layout (TF's state_is_tuple=False
// [c0, h0, c1, h1], §6a) and its round trip, pack_state's errors naming the leaf, zero_state,
// and that tile_batch(tensor, k) / tile_batch(state, k) resolve without ambiguity (design Risk 5).
#define BOOST_TEST_MODULE nest
#include "support/boost_test.hpp"

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

import varscope;
#include "support/error_message.hpp"  // message_of<E>(f)

using namespace varscope;

namespace {

// [rows, cols] float32 with values base + 0, base + 1, ... (row-major): every leaf distinct.
Tensor counting(std::int64_t rows, std::int64_t cols, float base) {
  std::vector<float> v(static_cast<std::size_t>(rows * cols));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = base + static_cast<float>(i);
  return Tensor(Shape{rows, cols}, v);
}

float at(const Tensor& t, std::int64_t r, std::int64_t c) { return t.data<float>()[r * t.shape()[1] + c]; }

// ((c0, h0), (c1, h1)) as a MultiRNNCell of two LSTMs gives it.
struct TwoLayers {
  Tensor c0 = counting(2, 3, 0), h0 = counting(2, 3, 100), c1 = counting(2, 4, 200), h1 = counting(2, 4, 300);
  State state() const { return State::tuple({LSTMStateTuple{c0, h0}, LSTMStateTuple{c1, h1}}); }
  static StateSize size() {
    return StateSize::tuple({StateSize::tuple({3, 3}, NestKind::lstm_state_tuple),
                             StateSize::tuple({4, 4}, NestKind::lstm_state_tuple)});
  }
};

// Risk 5: both overloads resolve, each to its exact match; an LSTMStateTuple goes to the State one.
static_assert(std::is_same_v<decltype(tile_batch(std::declval<const Tensor&>(), 2)), Tensor>);
static_assert(std::is_same_v<decltype(tile_batch(std::declval<Tensor&>(), std::int64_t{2})), Tensor>);
static_assert(std::is_same_v<decltype(tile_batch(std::declval<const State&>(), 2)), State>);
static_assert(std::is_same_v<decltype(tile_batch(std::declval<State&>(), std::int64_t{2})), State>);
static_assert(std::is_same_v<decltype(tile_batch(std::declval<LSTMStateTuple>(), 2)), State>);
static_assert(std::is_convertible_v<Tensor, State> && std::is_convertible_v<State, const Tensor&>);
static_assert(std::is_convertible_v<LSTMStateTuple, State>);

}  // namespace

BOOST_AUTO_TEST_CASE(flatten_gives_c_then_h_layer_by_layer) {
  const TwoLayers m;
  const State one = LSTMStateTuple{m.c0, m.h0};
  BOOST_TEST((one.kind() == NestKind::lstm_state_tuple));
  const std::vector<const Tensor*> flat1 = nest::flatten(one);
  BOOST_TEST_REQUIRE(flat1.size() == 2u);
  BOOST_TEST(flat1[0]->bitwise_equal(m.c0));
  BOOST_TEST(flat1[1]->bitwise_equal(m.h0));

  const State two = m.state();
  const std::vector<const Tensor*> flat = nest::flatten(two);
  BOOST_TEST_REQUIRE(flat.size() == 4u);
  const Tensor* want[] = {&m.c0, &m.h0, &m.c1, &m.h1};
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(flat[i]->bitwise_equal(*want[i]), "leaf " << i);
  // No copies: the pointers are the leaves themselves.
  BOOST_TEST(flat[3] == &two[1][1].leaf());

  // The non-const form edits in place.
  State edit = m.state();
  for (Tensor* t : nest::flatten(edit)) t->data<float>()[0] = -1.0f;
  BOOST_TEST(LSTMStateTuple::from(edit[1]).h.data<float>()[0] == -1.0f);
  BOOST_TEST(LSTMStateTuple::from(edit[1]).h.data<float>()[1] == 301.0f);

  // A leaf flattens to itself, () to nothing.
  BOOST_TEST(nest::flatten(State(m.c0)).size() == 1u);
  BOOST_TEST(nest::flatten(State()).empty());
}

BOOST_AUTO_TEST_CASE(pack_sequence_as_of_flatten_is_the_identity) {
  const TwoLayers m;
  // Mixed kinds and depths: (LSTMStateTuple(c, h), (tensor,), tensor, ()).
  const State s = State::tuple({LSTMStateTuple{m.c0, m.h0}, State::tuple({m.c1}), m.h1, State()});
  std::vector<Tensor> values;
  for (const Tensor* t : nest::flatten(s)) values.push_back(*t);
  const State back = nest::pack_sequence_as(s, values);
  BOOST_TEST(back.structure() == "(LSTMStateTuple(c, h), (tensor,), tensor, ())");
  BOOST_TEST(back.structure() == s.structure());
  BOOST_TEST((back[0].kind() == NestKind::lstm_state_tuple));
  const std::vector<const Tensor*> a = nest::flatten(std::as_const(s)), b = nest::flatten(back);
  BOOST_TEST_REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i]->bitwise_equal(*b[i]), "leaf " << i);

  // Another leaf type on the same structure (TF packs anything).
  const StateSize sizes = nest::pack_sequence_as(s, std::vector<std::int64_t>{1, 2, 3, 4});
  BOOST_TEST(sizes.structure() == "(LSTMStateTuple(c, h), (size,), size, ())");
  BOOST_TEST(sizes[1][0].leaf() == 3);

  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)nest::pack_sequence_as(s, std::vector<Tensor>(3)); }) ==
             "pack_sequence_as: the structure (LSTMStateTuple(c, h), (tensor,), tensor, ()) has 4 leaves but 3 "
             "values were given; pass one value per leaf, in nest::flatten order");
}

BOOST_AUTO_TEST_CASE(map_structure_maps_and_zips) {
  const StateSize size = TwoLayers::size();
  const StateSize doubled = nest::map_structure([](std::int64_t s) { return s * 2; }, size);
  BOOST_TEST(doubled.structure() == size.structure());
  BOOST_TEST((doubled[0].kind() == NestKind::lstm_state_tuple));
  std::vector<std::int64_t> got;
  for (const std::int64_t* s : nest::flatten(doubled)) got.push_back(*s);
  BOOST_TEST(got == (std::vector<std::int64_t>{6, 6, 8, 8}), boost::test_tools::per_element());

  // map to another leaf type
  const TwoLayers m;
  const Nest<std::string> shapes = nest::map_structure([](const Tensor& t) { return t.shape().to_string(); }, m.state());
  BOOST_TEST(shapes[1][0].leaf() == "[2, 4]");

  // zip: leaf i of a with leaf i of b, in order
  std::vector<std::string> calls;
  const Nest<bool> fits = nest::map_structure(
      [&](const Tensor& t, std::int64_t s) {
        calls.push_back(std::to_string(static_cast<int>(at(t, 0, 0))) + ":" + std::to_string(s));
        return t.shape()[1] == s;
      },
      m.state(), size);
  BOOST_TEST(calls == (std::vector<std::string>{"0:3", "100:3", "200:4", "300:4"}), boost::test_tools::per_element());
  for (const bool* f : nest::flatten(fits)) BOOST_TEST(*f);

  // zip checks the structures first
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               (void)nest::map_structure([](const Tensor&, std::int64_t s) { return s; }, m.state(), size[0]);
             }) ==
             "map_structure: the structures differ at the top: a tuple of 2 in the first and an LSTMStateTuple in "
             "the second (first: (LSTMStateTuple(c, h), LSTMStateTuple(c, h)), second: LSTMStateTuple(c, h))");
}

BOOST_AUTO_TEST_CASE(assert_same_structure_names_both_structures) {
  const TwoLayers m;
  const StateSize size = TwoLayers::size();
  BOOST_CHECK_NO_THROW(nest::assert_same_structure(m.state(), size, "decoder"));

  // TF's check_types=True: a plain 2-tuple is not an LSTMStateTuple.
  const State plain = State::tuple({State::tuple({m.c0, m.h0}), State::tuple({m.c1, m.h1})});
  BOOST_TEST(message_of<InvalidArgumentError>([&] { nest::assert_same_structure(size, plain, "decoder"); }) ==
             "decoder: the structures differ at [0]: an LSTMStateTuple in the first and a tuple of 2 in the second "
             "(first: (LSTMStateTuple(c, h), LSTMStateTuple(c, h)), second: ((tensor, tensor), (tensor, tensor)))");

  BOOST_TEST(message_of<InvalidArgumentError>([&] { nest::assert_same_structure(StateSize(4), m.state(), "cell"); }) ==
             "cell: the structures differ at the top: a leaf in the first and a tuple of 2 in the second "
             "(first: size, second: (LSTMStateTuple(c, h), LSTMStateTuple(c, h)))");

  const StateSize three = StateSize::tuple({4, 4, 4});
  BOOST_TEST(message_of<InvalidArgumentError>(
                 [&] { nest::assert_same_structure(StateSize::tuple({4, 4}), three, "MultiRNNCell"); }) ==
             "MultiRNNCell: the structures differ at the top: a tuple of 2 in the first and a tuple of 3 in the "
             "second (first: (size, size), second: (size, size, size))");

  // The first difference deep down, with its path.
  const StateSize deep = StateSize::tuple(
      {size[0], StateSize::tuple({4, StateSize::tuple({2, 2})}, NestKind::lstm_state_tuple)});
  BOOST_TEST(message_of<InvalidArgumentError>([&] { nest::assert_same_structure(m.state(), deep, "f"); }) ==
             "f: the structures differ at [1].h: a leaf in the first and a tuple of 2 in the second "
             "(first: (LSTMStateTuple(c, h), LSTMStateTuple(c, h)), second: "
             "(LSTMStateTuple(c, h), LSTMStateTuple(c, h=(size, size))))");
}

BOOST_AUTO_TEST_CASE(a_tuple_state_is_not_a_tensor) {
  const TwoLayers m;
  const State two = m.state();
  const std::string msg = message_of<InvalidArgumentError>([&] {
    const Tensor& t = two;  // the implicit conversion
    (void)t;
  });
  BOOST_TEST(msg == "the nest is (LSTMStateTuple(c, h), LSTMStateTuple(c, h)), not a single leaf: take an item "
                    "(s[i], LSTMStateTuple::from(s).h) or every leaf (nest::flatten(s))");
  BOOST_TEST(msg.find(two.structure()) != std::string::npos);
  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)two[0].leaf(); }).find("LSTMStateTuple(c, h)") !=
             std::string::npos);

  // A leaf converts to its tensor, without a copy.
  const State gru = m.h0;
  const Tensor& h = gru;
  BOOST_TEST(&h == &gru.leaf());
  BOOST_TEST(h.bitwise_equal(m.h0));

  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)gru[0]; }) ==
             "the nest is a single leaf, not a tuple: it has no item [0]; use it as the value (leaf())");
  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)two[2]; }) ==
             "the nest (LSTMStateTuple(c, h), LSTMStateTuple(c, h)) has 2 items: index 2 is out of range");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               (void)State::tuple({m.c0, m.h0, m.c1}, NestKind::lstm_state_tuple);
             }) == "Nest::tuple: an LSTMStateTuple holds 2 items (c, h), got 3; use LSTMStateTuple{c, h}");
  BOOST_TEST(State().structure() == "()");
  BOOST_TEST(State::tuple({m.c0}).structure() == "(tensor,)");
}

BOOST_AUTO_TEST_CASE(lstm_state_tuple_from_a_state) {
  const TwoLayers m;
  const LSTMStateTuple a = LSTMStateTuple::from(LSTMStateTuple{m.c0, m.h0});
  BOOST_TEST(a.c.bitwise_equal(m.c0));
  BOOST_TEST(a.h.bitwise_equal(m.h0));
  // A regular tuple in, an LSTMStateTuple out (testBasicLSTMCellStateTupleType).
  const LSTMStateTuple b = LSTMStateTuple::from(State::tuple({m.c1, m.h1}));
  BOOST_TEST(b.c.bitwise_equal(m.c1));
  BOOST_TEST(b.h.bitwise_equal(m.h1));
  BOOST_TEST((State(b).kind() == NestKind::lstm_state_tuple));
  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)LSTMStateTuple::from(m.state()); }) ==
             "LSTMStateTuple::from: expected an LSTMStateTuple(c, h) or a 2-tuple of tensors (c, h), got "
             "(LSTMStateTuple(c, h), LSTMStateTuple(c, h)); for a stacked state take one layer first: "
             "LSTMStateTuple::from(state[i])");
  BOOST_CHECK_THROW((void)LSTMStateTuple::from(State(m.c0)), InvalidArgumentError);
  BOOST_CHECK_THROW((void)LSTMStateTuple::from(State::tuple({m.c0, m.h0, m.c1})), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(tile_batch_repeats_the_rows_of_every_leaf_adjacently) {
  const TwoLayers m;
  constexpr std::int64_t k = 3;
  // The expectation by hand: row r of a tiled leaf is row r / k of the original.
  auto check_tiled = [&](const Tensor& got, const Tensor& original, const std::string& leaf) {
    const std::int64_t rows = original.shape()[0], cols = original.shape()[1];
    BOOST_TEST_REQUIRE(got.shape() == (Shape{rows * k, cols}), leaf);
    for (std::int64_t r = 0; r < rows * k; ++r)
      for (std::int64_t c = 0; c < cols; ++c)
        BOOST_TEST(at(got, r, c) == at(original, r / k, c), leaf << " row " << r << " col " << c);
    BOOST_TEST(got.tape_id() == 0u);
  };

  const State one = tile_batch(LSTMStateTuple{m.c0, m.h0}, k);
  BOOST_TEST((one.kind() == NestKind::lstm_state_tuple));
  const LSTMStateTuple t = LSTMStateTuple::from(one);
  check_tiled(t.c, m.c0, "c");
  check_tiled(t.h, m.h0, "h");
  // Adjacent repeats, spelled out: rows c0[0], c0[0], c0[0], c0[1], ...
  BOOST_TEST(at(t.c, 2, 0) == 0.0f);
  BOOST_TEST(at(t.c, 3, 0) == 3.0f);

  const State two = tile_batch(m.state(), k);
  BOOST_TEST(two.structure() == "(LSTMStateTuple(c, h), LSTMStateTuple(c, h))");
  const std::vector<const Tensor*> flat = nest::flatten(two);
  BOOST_TEST_REQUIRE(flat.size() == 4u);
  const Tensor* originals[] = {&m.c0, &m.h0, &m.c1, &m.h1};
  const char* names[] = {"[0].c", "[0].h", "[1].c", "[1].h"};
  for (std::size_t i = 0; i < 4; ++i) check_tiled(*flat[i], *originals[i], names[i]);

  // A tensor still goes to the tensor overload, and a GRU state (one leaf) tiles the same.
  const Tensor plain = tile_batch(m.h1, k);
  check_tiled(plain, m.h1, "tensor");
  const State gru = m.h1;
  check_tiled(tile_batch(gru, k).leaf(), m.h1, "state leaf");
}

BOOST_AUTO_TEST_CASE(zero_state_and_flat_size_follow_the_state_size) {
  const StateSize size = StateSize::tuple({StateSize::tuple({4, 4}, NestKind::lstm_state_tuple), 3});
  BOOST_TEST(flat_size(size) == 11);
  BOOST_TEST(flat_size(StateSize(5)) == 5);
  BOOST_TEST(flat_size(StateSize()) == 0);
  const State z = zero_state(size, 2);
  BOOST_TEST(z.structure() == "(LSTMStateTuple(c, h), tensor)");
  const std::vector<const Tensor*> flat = nest::flatten(z);
  BOOST_TEST_REQUIRE(flat.size() == 3u);
  const Shape want[] = {Shape{2, 4}, Shape{2, 4}, Shape{2, 3}};
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(flat[i]->shape() == want[i], "leaf " << i);
    BOOST_TEST(flat[i]->dtype() == DType::float32);
    for (float v : flat[i]->data<float>()) BOOST_TEST(v == 0.0f);
  }
  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)zero_state(size, -1); }) ==
             "zero_state: batch -1 must be >= 0");
  BOOST_TEST(message_of<InvalidArgumentError>([&] {
               (void)zero_state(StateSize::tuple({4, -2}), 2);
             }) == "state size state[1] = -2 must be >= 0");
}

BOOST_AUTO_TEST_CASE(packed_layout_is_tf_non_tuple_concatenation) {
  const TwoLayers m;
  const StateSize size = TwoLayers::size();
  const std::int64_t S = flat_size(size);
  BOOST_TEST(S == 14);
  Tensor packed(DType::float32, Shape{2, S});
  pack_state(m.state(), size, as_matrix(packed), "test");
  // TF's state_is_tuple=False state of a 2-layer MultiRNNCell: [c0, h0, c1, h1] along axis 1.
  BOOST_TEST(packed.bitwise_equal(concat({m.c0, m.h0, m.c1, m.h1}, 1)));
  // By hand too: row 1, first column of h1 (offset 3 + 3 + 4 = 10) is h1[1][0].
  BOOST_TEST(at(packed, 1, 10) == at(m.h1, 1, 0));
}

BOOST_AUTO_TEST_CASE(pack_then_unpack_round_trips_into_fresh_untracked_leaves) {
  const TwoLayers m;
  const StateSize size = TwoLayers::size();
  const std::int64_t S = flat_size(size);
  // A strided destination (row stride S + 5): a view into a wider buffer.
  std::vector<float> buffer(static_cast<std::size_t>(2 * (S + 5)), -7.0f);
  const MatrixView view{buffer.data(), 2, S, S + 5};
  State s = m.state();
  GradientTape tape;
  for (Tensor* t : nest::flatten(s)) tape.watch(*t);
  pack_state(s, size, view, "test");
  // The padding after each row is untouched.
  for (std::int64_t b = 0; b < 2; ++b)
    for (std::int64_t c = S; c < S + 5; ++c) BOOST_TEST(buffer[static_cast<std::size_t>(b * (S + 5) + c)] == -7.0f);

  const State back = unpack_state(view, size);
  BOOST_TEST(back.structure() == s.structure());
  BOOST_TEST((back[1].kind() == NestKind::lstm_state_tuple));
  const std::vector<const Tensor*> a = nest::flatten(std::as_const(s)), b = nest::flatten(back);
  BOOST_TEST_REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i]->tape_id() != 0u);  // watched
    BOOST_TEST(b[i]->bitwise_equal(*a[i]), "leaf " << i);
    BOOST_TEST(b[i]->tape_id() == 0u, "leaf " << i);
  }
  // Fresh: later writes to the buffer do not reach them.
  buffer[0] = 42.0f;
  BOOST_TEST(at(LSTMStateTuple::from(back[0]).c, 0, 0) == 0.0f);

  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)unpack_state(ConstMatrixView(view), size[0]); }) ==
             "unpack_state: the packed state has 14 columns but the state size LSTMStateTuple(c, h) needs 6 "
             "(flat_size: the sum of the leaf sizes)");
}

BOOST_AUTO_TEST_CASE(pack_state_errors_name_the_leaf_and_the_fix) {
  const TwoLayers m;
  const StateSize size = TwoLayers::size();
  Tensor packed(DType::float32, Shape{2, flat_size(size)});
  const MatrixView out = as_matrix(packed);

  // Wrong structure: one layer's state for a two-layer cell.
  BOOST_TEST(message_of<InvalidArgumentError>([&] { pack_state(LSTMStateTuple{m.c0, m.h0}, size, out, "dynamic_rnn"); }) ==
             "dynamic_rnn: the state is LSTMStateTuple(c, h) but the state size is (LSTMStateTuple(c, h), "
             "LSTMStateTuple(c, h)): at the top the state has an LSTMStateTuple where the state size has a tuple of 2; "
             "build the state in the state size's structure (zero_state(state_size, batch), LSTMStateTuple{c, h} "
             "where it shows LSTMStateTuple(c, h))");
  // A plain (c, h) tuple where the cell has an LSTMStateTuple, one level down: the path names it.
  const State plain = State::tuple({LSTMStateTuple{m.c0, m.h0}, State::tuple({m.c1, m.h1})});
  BOOST_TEST(message_of<InvalidArgumentError>([&] { pack_state(plain, size, out, "f"); }) ==
             "f: the state is (LSTMStateTuple(c, h), (tensor, tensor)) but the state size is (LSTMStateTuple(c, h), "
             "LSTMStateTuple(c, h)): at state[1] the state has a tuple of 2 where the state size has an "
             "LSTMStateTuple; build the state in the state size's structure (zero_state(state_size, batch), "
             "LSTMStateTuple{c, h} where it shows LSTMStateTuple(c, h))");

  // Wrong batch in layer 1's h.
  State s = m.state();
  s[1][1].leaf() = counting(3, 4, 0);
  BOOST_TEST(message_of<ShapeMismatchError>([&] { pack_state(s, size, out, "dynamic_rnn"); }) ==
             "dynamic_rnn: state leaf state[1].h has shape [3, 4] but the batch is 2 rows: it must be [2, 4] (every "
             "leaf has one row per batch entry; for beam search tile the whole state with "
             "tile_batch(state, beam_width))");

  // Wrong width in layer 0's c.
  s = m.state();
  s[0][0].leaf() = counting(2, 5, 0);
  BOOST_TEST(message_of<ShapeMismatchError>([&] { pack_state(s, size, out, "BasicDecoder"); }) ==
             "BasicDecoder: state leaf state[0].c has shape [2, 5] but the state size there is 3: it must be [2, 3] "
             "(make the state with zero_state(state_size, batch) of the same cell)");

  // Wrong rank.
  s = m.state();
  s[0][1].leaf() = Tensor(DType::float32, Shape{2});
  BOOST_TEST(message_of<ShapeMismatchError>([&] { pack_state(s, size, out, "f"); }).find("state leaf state[0].h has "
                                                                                       "shape [2] ") !=
             std::string::npos);

  // Wrong dtype.
  s = m.state();
  s[1][0].leaf() = Tensor(DType::int32, Shape{2, 4});
  BOOST_TEST(message_of<DTypeMismatchError>([&] { pack_state(s, size, out, "dynamic_rnn"); }) ==
             "dynamic_rnn: state leaf state[1].c is int32 [2, 4]; every state leaf is float32 [2, 4]: build it from "
             "float values");

  // A single-leaf state is named "state".
  Tensor narrow(DType::float32, Shape{2, 3});
  BOOST_TEST(message_of<ShapeMismatchError>([&] {
               pack_state(State(counting(2, 4, 0)), StateSize(3), as_matrix(narrow), "GRU");
             }) == "GRU: state leaf state has shape [2, 4] but the state size there is 3: it must be [2, 3] (make the "
                   "state with zero_state(state_size, batch) of the same cell)");

  // The destination must be S wide.
  BOOST_TEST(message_of<InvalidArgumentError>([&] { pack_state(m.state(), size, as_matrix(narrow), "f"); }) ==
             "f: the packed state has 3 columns but the state size (LSTMStateTuple(c, h), LSTMStateTuple(c, h)) "
             "needs 14 (flat_size: the sum of the leaf sizes)");
}
