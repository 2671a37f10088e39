// Proves the per-time-step loops allocate nothing: global operator new is
// counted, and a loop of T steps must allocate exactly as often as a loop of 1
// step (everything is sized before the first step and reused).
#define BOOST_TEST_MODULE allocations
#include "support/boost_test.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

import varscope;
import varscope.testing;  // parallel_regions_opened()

namespace {
std::atomic<long> g_allocations{0};
std::atomic<long> g_live{0};  // allocations not yet freed
void release(void* p) noexcept {
  if (p) --g_live;
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) {
    ++g_live;
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
// Tensor storage uses the aligned forms (64-byte blocks): count those too.
void* operator new(std::size_t size, std::align_val_t alignment) {
  ++g_allocations;
  const auto a = static_cast<std::size_t>(alignment);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) {
    ++g_live;
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p, std::align_val_t) noexcept { release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { release(p); }

using namespace varscope;

namespace {

template <class F>
long allocations_of(F&& f) {
  const long before = g_allocations.load();
  f();
  return g_allocations.load() - before;
}

Tensor ints(Shape s, std::int32_t value) {
  Tensor t(DType::int32, s);
  for (auto& x : t.data<std::int32_t>()) x = value;
  return t;
}

struct Model {
  Graph graph{11};
  DefaultGraphGuard use{graph};
  Tensor embedding = random_normal({50, 8});
  GRUCell cell{16, "cell"};
  Dense out{50, {.name = "out"}};
  Tensor h0 = random_normal({3, 16});
  Model() {
    auto scope = variable_scope("decoder");
    (void)out(cell(random_normal({1, 8}), cell.zero_state(1)).output);
  }
};

// A nested state ((c0, h0), (c1, h1)): two LSTM layers, the second residual, with an
// LSTM projection in layer 0 (output != state).
struct StackedLstmModel {
  Graph graph{11};
  DefaultGraphGuard use{graph};
  Tensor embedding = random_normal({50, 8});
  LSTMCell l0{8, {.num_proj = 8, .name = "l0"}};
  BasicLSTMCell l1{8};
  ResidualWrapper r1{l1};
  MultiRNNCell cell{{l0, r1}};
  Dense out{50, {.name = "out"}};
  State h0 = State::tuple({LSTMStateTuple{random_normal({3, 8}), random_normal({3, 8})},
                           LSTMStateTuple{random_normal({3, 8}), random_normal({3, 8})}});
  StackedLstmModel() {
    auto scope = variable_scope("decoder");
    (void)out(cell(random_normal({1, 8}), cell.zero_state(1)).output);
    Tensor bias(DType::float32, Shape{50});  // token 0 (the end token) never wins: beams run max steps
    bias.data<float>()[3] = 20.0f;
    bias.data<float>()[0] = -1000.0f;
    out.bias()->assign(bias);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_counter_sees_tensor_storage) {
  // Guards the other cases against passing vacuously: tensor values (aligned
  // allocations) and plain vectors are both counted.
  BOOST_TEST(allocations_of([] { Tensor t(DType::float32, Shape{1000}); }) >= 1);
  BOOST_TEST(allocations_of([] { auto t = Tensor::uninitialized(DType::int32, Shape{1000}); }) >= 1);
  BOOST_TEST(allocations_of([] { std::vector<float> v(1000); }) >= 1);
}

BOOST_AUTO_TEST_CASE(freed_large_tensor_blocks_are_reused_not_refaulted) {
  // Tensor storage of 64 KiB and more goes to a bounded cache when freed and serves
  // the next request of the same size or up to 1/8 smaller (a training step's logits,
  // gradients, recorded activations, for batches whose length varies).
  release_cached_tensor_blocks();
  BOOST_TEST(cached_tensor_bytes() == 0u);
  constexpr std::int64_t kFloats = std::int64_t{1} << 19;  // 2 MiB
  const float* first = nullptr;
  {
    const Tensor t = Tensor::uninitialized(DType::float32, Shape{kFloats});
    first = t.data<float>().data();
  }
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VARSCOPE_TEST_ASAN 1
#endif
#endif
#ifdef VARSCOPE_TEST_ASAN
  // AddressSanitizer must see every free: the cache is off.
  BOOST_TEST(cached_tensor_bytes() == 0u);
  const long small = allocations_of([] { const Tensor t = Tensor::uninitialized(DType::float32, Shape{16}); });
  BOOST_TEST(allocations_of([] { const Tensor t = Tensor::uninitialized(DType::float32, Shape{kFloats}); }) == small);
#else
  BOOST_TEST(cached_tensor_bytes() == static_cast<std::size_t>(kFloats) * sizeof(float));
  const float* again = nullptr;
  const long fresh = allocations_of([&] {
    const Tensor t = Tensor::uninitialized(DType::float32, Shape{kFloats});
    again = t.data<float>().data();
  });
  // A small tensor costs its bookkeeping (shape) plus one storage block.
  const long small = allocations_of([] { const Tensor t = Tensor::uninitialized(DType::float32, Shape{16}); });
  BOOST_TEST(fresh == small - 1);  // the storage came from the cache: no operator new for it
  BOOST_TEST(again == first);      // the same block
  BOOST_TEST(allocations_of([] { const Tensor t = Tensor::uninitialized(DType::float32, Shape{kFloats + 1}); }) ==
             small);               // a larger size: a new block
  // A request up to 1/8 smaller (a batch with shorter sequences) is served by the cached block,
  // which goes back to the cache whole when freed; one more than 1/8 smaller gets a new block.
  const float* smaller = nullptr;
  const std::size_t before = cached_tensor_bytes();
  BOOST_TEST(allocations_of([&] {
               const Tensor t = Tensor::uninitialized(DType::float32, Shape{kFloats - kFloats / 8});
               smaller = t.data<float>().data();
             }) == small - 1);
  BOOST_TEST(smaller == first);
  BOOST_TEST(cached_tensor_bytes() == before);  // the whole block came back
  BOOST_TEST(allocations_of([] { const Tensor t = Tensor::uninitialized(DType::float32, Shape{kFloats - kFloats / 8 - 1024}); }) ==
             small);
  // The smallest cached size is 64 KiB (the date model's recorded sequences and their
  // gradients are 0.1-1.5 MiB): a 64 KiB block is kept, one 4 KiB smaller is not.
  release_cached_tensor_blocks();
  constexpr std::int64_t k64KiB = 16 * 1024;  // floats
  { const Tensor t = Tensor::uninitialized(DType::float32, Shape{k64KiB}); }
  BOOST_TEST(cached_tensor_bytes() == std::size_t{64} << 10);
  BOOST_TEST(allocations_of([] { const Tensor t = Tensor::uninitialized(DType::float32, Shape{k64KiB}); }) ==
             small - 1);
  release_cached_tensor_blocks();
  { const Tensor t = Tensor::uninitialized(DType::float32, Shape{k64KiB - 1024}); }
  BOOST_TEST(cached_tensor_bytes() == 0u);
  // Bounded: three freed 100 MiB blocks (never touched, so never resident) keep at most 256 MiB.
  release_cached_tensor_blocks();
  {
    std::vector<Tensor> big;
    for (int i = 0; i < 3; ++i) big.push_back(Tensor::uninitialized(DType::float32, Shape{std::int64_t{25} << 20}));
  }
  BOOST_TEST(cached_tensor_bytes() == std::size_t{200} << 20);
  BOOST_TEST(release_cached_tensor_blocks() == std::size_t{200} << 20);
  BOOST_TEST(cached_tensor_bytes() == 0u);
#endif
  (void)first;
}

BOOST_AUTO_TEST_CASE(dynamic_rnn_allocations_do_not_grow_with_time) {
  Model m;
  auto run = [&](std::int64_t T) {
    const Tensor x = random_normal({3, T, 8});
    return allocations_of([&] { (void)dynamic_rnn(m.cell, x, {.initial_state = m.h0, .scope = "decoder"}); });
  };
  // dynamic_rnn keeps its input-projection scratch per thread: warm it to the
  // larger size first, then a 40-step call allocates exactly as often as a 1-step one
  // (min of two calls each: see the name-table note in the beam-search case).
  (void)run(40);
  const long one = std::min(run(1), run(1)), many = std::min(run(40), run(40));
  BOOST_TEST(one > 0);
  BOOST_TEST(many == one);
}

BOOST_AUTO_TEST_CASE(training_decode_allocations_do_not_grow_with_time) {
  Model m;
  auto run = [&](std::int32_t T) {
    const Tensor x = random_normal({3, T, 8});
    return allocations_of([&] {
      BasicDecoder d(m.cell, TrainingHelper(x, ints({3}, T)), m.h0, m.out);
      (void)dynamic_decode(d);
    });
  };
  // Warm-up: the first large call packs the weights (PackedWeights) once.
  (void)run(40);
  const long one = std::min(run(1), run(1)), many = std::min(run(40), run(40));
  BOOST_TEST(many == one);
}

BOOST_AUTO_TEST_CASE(greedy_and_beam_search_allocations_do_not_grow_with_steps) {
  Model m;
  // An end token that is never produced keeps every beam running for max steps:
  // the output bias makes token 3 likely and token 0 (the end token) impossible.
  Tensor bias(DType::float32, Shape{50});
  bias.data<float>()[3] = 20.0f;
  bias.data<float>()[0] = -1000.0f;
  m.out.bias()->assign(bias);
  auto greedy = [&](std::int64_t steps) {
    return allocations_of([&] {
      BasicDecoder d(m.cell, GreedyEmbeddingHelper(m.embedding, ints({3}, 1), 0), m.h0, m.out);
      const auto r = dynamic_decode(d, {.maximum_iterations = steps});
      BOOST_TEST(r.sample_id.shape()[1] == steps);
    });
  };
  auto beam = [&](std::int64_t steps) {
    const Tensor tiled = tile_batch(m.h0, 4);
    return allocations_of([&] {
      BeamSearchDecoder d(m.cell, m.embedding, ints({3}, 1), 0, tiled, 4, m.out);
      const auto r = dynamic_decode(d, {.maximum_iterations = steps});
      BOOST_TEST(r.predicted_ids.shape()[1] == steps);
    });
  };
  // (min of two calls each: see the name-table note below)
  const long g30a = greedy(30), g1a = greedy(1), g30b = greedy(30), g1b = greedy(1);
  BOOST_TEST(std::min(g30a, g30b) == std::min(g1a, g1b));
  (void)beam(30);  // warm-up: 12 beam rows run on packed weights, packed on first use
  // 30 steps allocate exactly as often as 2 (hypothesis ids are reserved to
  // their final length). Step 1 runs only the live beam 0 of each row, so the
  // step workspace reaches full size at step 2: compare against 2 steps.
  // Each decode also registers a new name scope (decoder_N) in the graph, whose
  // name table rehashes now and then (once per doubling): of two calls in a
  // row at most one can hit that, so compare the smaller count of two calls each.
  const long b30a = beam(30), b2a = beam(2), b30b = beam(30), b2b = beam(2);
  const long b30 = std::min(b30a, b30b), b2 = std::min(b2a, b2b);
  BOOST_TEST(b30 == b2, "beam 2 steps: " << b2 << ", 30 steps: " << b30);
}

BOOST_AUTO_TEST_CASE(graphs_and_layers_release_everything_they_allocate) {
  // A whole model's lifetime (graph, variables, layers with their packed weight
  // copies, decodes) leaves nothing behind: after a warm-up cycle (per-thread
  // scratch that is kept on purpose), a second cycle ends with exactly as many
  // live allocations as it started with.
  auto cycle = [] {
    Model m;
    BasicDecoder greedy(m.cell, GreedyEmbeddingHelper(m.embedding, ints({3}, 1), 0), m.h0, m.out);
    (void)dynamic_decode(greedy, {.maximum_iterations = 5});
    BeamSearchDecoder beam(m.cell, m.embedding, ints({3}, 1), 0, tile_batch(m.h0, 2), 2, m.out);
    (void)dynamic_decode(beam, {.maximum_iterations = 5});
    (void)dynamic_rnn(m.cell, random_normal({3, 4, 8}), {.initial_state = m.h0, .scope = "decoder"});
  };
  cycle();
  const long live = g_live.load();
  cycle();
  BOOST_TEST(g_live.load() == live);

  // A layer's packed copy of its weights goes with the layer, while the graph and
  // its variables live on: a second Dense sharing the variables packs its own copy
  // on first use and frees it when destroyed.
  Graph graph(3);
  auto use = graph.as_default();
  const Tensor x = random_normal({4, 64});
  Dense first(256, {.name = "shared"});
  (void)first(x);
  // Each reusing entry registers a new name scope (shared_1, shared_2, ...): the
  // first creates the registry's run entry, later ones only extend it. Measure the
  // second use.
  long before = 0, during = 0;
  for (int round = 0; round < 2; ++round) {
    before = g_live.load();
    auto reuse = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
    Dense second(256, {.name = "shared"});
    const Tensor y = second(x);
    BOOST_TEST((second.kernel() == first.kernel()));  // the same variable, shared
    during = g_live.load();
  }
  BOOST_TEST(during > before);  // the packed copy (and y) existed
  BOOST_TEST(g_live.load() == before);
}

BOOST_AUTO_TEST_CASE(training_step_allocations_do_not_grow_with_time) {
  // Forward under a GradientTape and the backward pass (BPTT): the states and the
  // projection are saved in one buffer each, the backward loop runs on buffers
  // sized before its first step, so T steps allocate exactly as often as 1.
  Model m;
  const auto vars = m.cell.variables();
  auto rnn = [&](std::int64_t T) {
    const Tensor x = random_normal({3, T, 8});
    const Tensor r = random_normal({3, T, 16});
    return allocations_of([&] {
      GradientTape tape;
      auto out = dynamic_rnn(m.cell, x, {.initial_state = m.h0, .scope = "decoder"});
      const auto grads = tape.gradient(out.outputs, vars, r);
      BOOST_TEST(grads[0].has_value());
    });
  };
  auto decoder = [&](std::int32_t T) {
    const Tensor x = random_normal({3, T, 8});
    Tensor targets(DType::int32, Shape{3, T});
    Tensor weights(DType::float32, Shape{3, T});
    for (auto& w : weights.data<float>()) w = 1.0f;
    return allocations_of([&] {
      GradientTape tape;
      BasicDecoder d(m.cell, TrainingHelper(x, ints({3}, T)), m.h0, m.out);
      const auto loss = sequence_loss(dynamic_decode(d, {.scope = "decoder"}).rnn_output, targets, weights);
      const auto grads = tape.gradient(loss, {vars[0], m.out.kernel()});
      BOOST_TEST(grads[1].has_value());
    });
  };
  (void)rnn(40);
  (void)decoder(40);
  const long r1 = std::min(rnn(1), rnn(1)), r40 = std::min(rnn(40), rnn(40));
  BOOST_TEST(r40 == r1, "dynamic_rnn + backward: 1 step " << r1 << ", 40 steps " << r40);
  const long d1 = std::min(decoder(1), decoder(1)), d40 = std::min(decoder(40), decoder(40));
  BOOST_TEST(d40 == d1, "training decoder + sequence_loss + backward: 1 step " << d1 << ", 40 steps " << d40);
}

// The same guarantees with a nested state and composite cells: the packed state is sized
// once per call, the layers' scratch comes from Workspace::child (kept), and no State is
// built inside the loops.
BOOST_AUTO_TEST_CASE(nested_state_loops_allocations_do_not_grow_with_time) {
  StackedLstmModel m;
  auto rnn = [&](std::int64_t T) {
    const Tensor x = random_normal({3, T, 8});
    return allocations_of([&] { (void)dynamic_rnn(m.cell, x, {.initial_state = m.h0, .scope = "decoder"}); });
  };
  (void)rnn(40);
  BOOST_TEST(std::min(rnn(1), rnn(1)) == std::min(rnn(40), rnn(40)));
  auto teacher = [&](std::int32_t T) {
    const Tensor x = random_normal({3, T, 8});
    return allocations_of([&] {
      BasicDecoder d(m.cell, TrainingHelper(x, ints({3}, T)), m.h0, m.out);
      (void)dynamic_decode(d);
    });
  };
  (void)teacher(40);
  BOOST_TEST(std::min(teacher(1), teacher(1)) == std::min(teacher(40), teacher(40)));
  auto greedy = [&](std::int64_t steps) {
    return allocations_of([&] {
      BasicDecoder d(m.cell, GreedyEmbeddingHelper(m.embedding, ints({3}, 1), 0), m.h0, m.out);
      (void)dynamic_decode(d, {.maximum_iterations = steps});
    });
  };
  (void)greedy(30);
  BOOST_TEST(std::min(greedy(30), greedy(30)) == std::min(greedy(1), greedy(1)));
  const State tiled = tile_batch(m.h0, 4);
  auto beam = [&](std::int64_t steps) {
    return allocations_of([&] {
      BeamSearchDecoder d(m.cell, m.embedding, ints({3}, 1), 0, tiled, 4, m.out);
      const auto r = dynamic_decode(d, {.maximum_iterations = steps});
      BOOST_TEST(r.predicted_ids.shape()[1] == steps);
    });
  };
  (void)beam(30);
  const long b30 = std::min(beam(30), beam(30)), b2 = std::min(beam(2), beam(2));
  BOOST_TEST(b30 == b2, "beam 2 steps: " << b2 << ", 30 steps: " << b30);
}

// An attention decoder (AttentionWrapper over a GRU, scaled Luong, a 3-row memory with ragged
// lengths): greedy with alignment_history and beam search with per-hypothesis alignments
// allocate as often for 30 steps as for 2, as do dynamic_rnn and the teacher-forced decoder.
BOOST_AUTO_TEST_CASE(attention_loops_allocations_do_not_grow_with_time) {
  Graph graph{11};
  DefaultGraphGuard use{graph};
  const Tensor embedding = random_normal({50, 8});
  const Tensor memory = random_normal({3, 6, 16});
  const Tensor lengths = Tensor(Shape{3}, std::vector<std::int32_t>{6, 3, 1});
  LuongAttention mechanism(16, memory, lengths, true);
  GRUCell gru(16, "cell");
  AttentionWrapper cell(gru, mechanism, {.attention_layer_size = 16, .alignment_history = true});
  Dense out{50, {.name = "out"}};
  {
    auto scope = variable_scope("decoder");
    (void)out(cell(random_normal({3, 8}), cell.zero_state(3)).output);
  }
  Tensor bias(DType::float32, Shape{50});  // the end token 0 never wins: every row runs max steps
  bias.data<float>()[3] = 20.0f;
  bias.data<float>()[0] = -1000.0f;
  out.bias()->assign(bias);
  auto rnn = [&](std::int64_t T) {
    const Tensor x = random_normal({3, T, 8});
    return allocations_of([&] { (void)dynamic_rnn(cell, x, {.scope = "decoder"}); });
  };
  (void)rnn(40);
  BOOST_TEST(std::min(rnn(1), rnn(1)) == std::min(rnn(40), rnn(40)));
  const State z3 = cell.zero_state(3);
  auto greedy = [&](std::int64_t steps) {
    return allocations_of([&] {
      BasicDecoder d(cell, GreedyEmbeddingHelper(embedding, ints({3}, 1), 0), z3, out);
      const auto r = dynamic_decode(d, {.maximum_iterations = steps});
      BOOST_TEST(r.alignment_history.shape()[0] == steps);
    });
  };
  (void)greedy(30);
  BOOST_TEST(std::min(greedy(30), greedy(30)) == std::min(greedy(1), greedy(1)));
  mechanism.setup_memory(tile_batch(memory, 4), tile_batch(lengths, 4));
  const State z12 = cell.zero_state(12);
  auto beam = [&](std::int64_t steps) {
    return allocations_of([&] {
      BeamSearchDecoder d(cell, embedding, ints({3}, 1), 0, z12, 4, out);
      const auto r = dynamic_decode(d, {.maximum_iterations = steps});
      BOOST_TEST(r.hypotheses[1][0].alignments.shape()[0] == steps);
    });
  };
  (void)beam(30);
  const long b30 = std::min(beam(30), beam(30)), b2 = std::min(beam(2), beam(2));
  BOOST_TEST(b30 == b2, "beam 2 steps: " << b2 << ", 30 steps: " << b30);
}

#if !defined(__EMSCRIPTEN__)  // the wasm build has no threads (threads_available() is false)
// The same at 2 threads, on shapes large enough that the products, the log-softmax and
// beam search's top-K really split (parallel_regions_opened grows): the worker threads
// allocate nothing either, so the per-step loops stay allocation-free per thread.
BOOST_AUTO_TEST_CASE(parallel_loops_allocations_do_not_grow_with_time) {
  const int saved = num_threads();
  set_num_threads(2);
  Graph graph{13};
  DefaultGraphGuard use{graph};
  constexpr std::int64_t B = 3, E = 24, H = 128, V = 5000, K = 4;
  const Tensor embedding = random_normal({V, E});
  GRUCell cell{H, "cell"};
  Dense out{V, {.name = "out"}};
  {
    auto scope = variable_scope("decoder");
    (void)out(cell(random_normal({B, E}), cell.zero_state(B)).output);
  }
  Tensor bias(DType::float32, Shape{V});  // the end token 0 never wins: every row runs max steps
  bias.data<float>()[0] = -1000.0f;
  out.bias()->assign(bias);
  const Tensor h0 = random_normal({B, H});
  const Tensor tiled = tile_batch(h0, K);
  const std::int64_t regions_before = testing::parallel_regions_opened();
  auto rnn = [&](std::int64_t T) {
    const Tensor x = random_normal({B, T, E});
    return allocations_of([&] { (void)dynamic_rnn(cell, x, {.initial_state = h0, .scope = "decoder"}); });
  };
  (void)rnn(40);
  BOOST_TEST(std::min(rnn(1), rnn(1)) == std::min(rnn(40), rnn(40)));
  auto beam = [&](std::int64_t steps) {
    return allocations_of([&] {
      BeamSearchDecoder d(cell, embedding, ints({B}, 1), 0, tiled, K, out);
      const auto r = dynamic_decode(d, {.maximum_iterations = steps});
      BOOST_TEST(r.hypotheses[0][0].length == steps);
    });
  };
  (void)beam(30);
  const long b30 = std::min(beam(30), beam(30)), b2 = std::min(beam(2), beam(2));
  BOOST_TEST(b30 == b2, "beam at 2 threads, 2 steps: " << b2 << ", 30 steps: " << b30);
  BOOST_TEST(testing::parallel_regions_opened() > regions_before);  // the loops did split
  set_num_threads(saved);
}
#endif
