// Threads (varscope:parallel): set_num_threads / VARSCOPE_NUM_THREADS, and results that are
// bit-identical for any thread count. Each check runs the same computation from the same
// seed at 1, 2 and 3 threads and compares the bytes: the products (packed panels, OpenBLAS
// in fixed column blocks, transposed forms), the encoder, greedy and beam search with and
// without attention, and three Adam training steps (forward, backward, update). The shapes
// are chosen so every parallel loop really splits (each is above parallel_for's work
// threshold). tests/CMakeLists.txt also runs it under TSan (the tsan preset) and with
// VARSCOPE_NUM_THREADS set to a good and a bad value.
#define BOOST_TEST_MODULE threads
#include "support/boost_test.hpp"
#include "support/error_message.hpp"  // message_of<E>(f)

#ifdef __EMSCRIPTEN__
#include <emscripten/threading.h>
#else
#include <sched.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

import varscope;
import varscope.testing;  // parallel_regions_opened()

using namespace varscope;

namespace {

// The bytes of a tensor, for exact comparison.
std::vector<unsigned char> bytes(const Tensor& t) {
  std::vector<unsigned char> out;
  if (t.dtype() == DType::int32) {
    const auto d = t.data<std::int32_t>();
    out.resize(d.size_bytes());
    if (!out.empty()) std::memcpy(out.data(), d.data(), out.size());
  } else {
    const auto d = t.data<float>();
    out.resize(d.size_bytes());
    if (!out.empty()) std::memcpy(out.data(), d.data(), out.size());
  }
  return out;
}

// f() at each thread count; every result must equal the 1-thread one byte for byte.
// Returns the number of thread counts compared (so a test can check it ran them all).
int check_same_at_every_thread_count(const std::string& what,
                                     const std::function<std::vector<std::vector<unsigned char>>()>& f) {
  const int saved = num_threads();
  set_num_threads(1);
  const auto reference = f();
  BOOST_TEST_REQUIRE(!reference.empty());
  int compared = 0;
  for (const int n : {2, 3}) {
    set_num_threads(n);
    const std::int64_t regions_before = testing::parallel_regions_opened();
    const auto got = f();
    // The shapes must really split: a check that ran only the serial path proves nothing.
    BOOST_TEST(testing::parallel_regions_opened() > regions_before, what << ": no parallel region at " << n << " threads");
    BOOST_TEST_REQUIRE(got.size() == reference.size(), what);
    for (std::size_t i = 0; i < got.size(); ++i)
      BOOST_TEST((got[i] == reference[i]), what << ": output " << i << " differs at " << n << " threads");
    ++compared;
  }
  set_num_threads(saved);
  return compared;
}

Tensor ints(Shape s, std::int32_t value) {
  Tensor t(DType::int32, s);
  for (auto& x : t.data<std::int32_t>()) x = value;
  return t;
}

Tensor random_ids(std::int64_t rows, std::int64_t cols, std::int32_t vocab, std::uint64_t seed) {
  Tensor t(DType::int32, Shape{rows, cols});
  std::uint64_t x = seed;
  for (auto& v : t.data<std::int32_t>()) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    v = static_cast<std::int32_t>((x >> 33) % static_cast<std::uint64_t>(vocab));
  }
  return t;
}

}  // namespace

// Declared first, so it runs before any product; CTest also runs it alone as threads_blas_pin_test
// with OPENBLAS_NUM_THREADS=2. OpenBLAS must be at one thread from the moment the library loads:
// the products Eigen hands to BLAS itself round differently with OpenBLAS's thread count.
BOOST_AUTO_TEST_CASE(openblas_is_held_at_one_thread_from_load) {
  const int blas = testing::blas_threads();
  if (blas != 0) BOOST_TEST(blas == 1);  // 0: a build without BLAS (nothing to hold)
  const char* env = std::getenv("OPENBLAS_NUM_THREADS");
  if (env && std::string(env) == "2") BOOST_TEST(blas == 1);  // the CTest run: BLAS is linked, must be pinned
}

BOOST_AUTO_TEST_CASE(thread_count_is_set_once_and_checked) {
  BOOST_TEST(threads_available());  // native: LLVM OpenMP; wasm-threads: the pthread team
  const int saved = num_threads();
  BOOST_TEST(saved >= 1);
  set_num_threads(3);
  BOOST_TEST(num_threads() == 3);
  const std::string m = message_of<InvalidArgumentError>([] { set_num_threads(0); });
  BOOST_TEST(m.find("set_num_threads(0)") != std::string::npos, m);
  BOOST_TEST(m.find("at least 1") != std::string::npos, m);
  BOOST_TEST(num_threads() == 3);  // a refused value changes nothing
  set_num_threads(saved);
}

// Run by CTest three ways (tests/CMakeLists.txt): VARSCOPE_NUM_THREADS unset, "3", and "two".
BOOST_AUTO_TEST_CASE(environment_variable_sets_the_default) {
  const char* env = std::getenv("VARSCOPE_NUM_THREADS");
  const std::string value = env ? env : "";
  if (value.empty()) {
#ifdef __EMSCRIPTEN__
    // The logical cores node or the browser reports, at most the caller plus the pthread pool (2).
    BOOST_TEST(num_threads() == std::min(emscripten_num_logical_cores(), 3));
#else
    cpu_set_t cpus;  // the cores this process may run on (taskset / cgroups)
    BOOST_TEST_REQUIRE(sched_getaffinity(0, sizeof cpus, &cpus) == 0);
    BOOST_TEST(num_threads() == CPU_COUNT(&cpus));
#endif
  } else if (value == "3") {
    BOOST_TEST(num_threads() == 3);
  } else {
    const std::string m = message_of<InvalidArgumentError>([] { (void)num_threads(); });
    BOOST_TEST(m.find("VARSCOPE_NUM_THREADS='" + value + "'") != std::string::npos, m);
    BOOST_TEST(m.find("integer from 1 to 1024") != std::string::npos, m);
  }
}

BOOST_AUTO_TEST_CASE(products_are_bit_identical_for_any_thread_count) {
  Graph graph{7};
  DefaultGraphGuard use{graph};
  // K = 700 > the packed kernel's depth block (512); N = 333 leaves a ragged last panel.
  const Tensor a = random_normal({37, 700});
  const Tensor b = random_normal({700, 333});
  const Tensor at = random_normal({700, 37});
  const Tensor bt = random_normal({333, 700});
  const PackedMatrix packed(as_matrix(b));
  const int n = check_same_at_every_thread_count("products", [&] {
    Tensor p(DType::float32, Shape{37, 333}), q(DType::float32, Shape{37, 333});
    Tensor r(DType::float32, Shape{37, 333}), s(DType::float32, Shape{37, 333});
    matmul_packed_into(as_matrix(a), packed, as_matrix(p));
    matmul_into(as_matrix(a), as_matrix(b), as_matrix(q));  // > 8 rows: OpenBLAS in column blocks
    matmul_transposed_a_into(as_matrix(at), as_matrix(b), as_matrix(r));
    matmul_transposed_b_into(as_matrix(a), as_matrix(bt), as_matrix(s));
    matmul_transposed_b_into(as_matrix(a), as_matrix(bt), as_matrix(s), true);  // accumulate
    return std::vector{bytes(p), bytes(q), bytes(r), bytes(s)};
  });
  BOOST_TEST(n == 2);
}

// A GRU seq2seq large enough that the encoder's and decoder's recurrent products, the output
// projection, the log-softmax and beam search's per-row top-K all split over the threads.
struct Seq2Seq {
  static constexpr std::int64_t B = 6, T = 9, E = 24, H = 128, V = 5000, K = 4;
  Graph graph{21};
  DefaultGraphGuard use{graph};
  Tensor embedding = random_normal({V, E}, 0.0f, 0.3f);
  Tensor source = random_normal({B, T, E});
  GRUCell encoder_cell{H, "encoder_cell"};
  GRUCell decoder_cell{H, "decoder_cell"};
  Dense out{V, {.name = "out"}};
  Seq2Seq() {
    {
      auto scope = variable_scope("encoder");
      encoder_cell.build(E);
    }
    auto scope = variable_scope("decoder");
    decoder_cell.build(E);
    out.build(H);
  }
  std::vector<std::vector<unsigned char>> run() {
    std::vector<std::vector<unsigned char>> r;
    const auto encoded = dynamic_rnn(encoder_cell, source, {.scope = "encoder"});
    r.push_back(bytes(encoded.outputs));
    const Tensor h = encoded.final_state.leaf();
    r.push_back(bytes(h));
    BasicDecoder greedy(decoder_cell, GreedyEmbeddingHelper(embedding, ints({B}, 1), 0), h, out);
    const auto g = dynamic_decode(greedy, {.maximum_iterations = 8, .scope = "decoder"});
    r.push_back(bytes(g.rnn_output));
    r.push_back(bytes(g.sample_id));
    BeamSearchDecoder beam(decoder_cell, embedding, ints({B}, 1), 0, tile_batch(h, K), K, out);
    const auto s = dynamic_decode(beam, {.maximum_iterations = 8, .scope = "decoder"});
    r.push_back(bytes(s.predicted_ids));
    r.push_back(bytes(s.scores));
    r.push_back(bytes(s.final_log_probs));
    return r;
  }
};

BOOST_AUTO_TEST_CASE(encoder_and_decoders_are_bit_identical_for_any_thread_count) {
  Seq2Seq m;
  BOOST_TEST(check_same_at_every_thread_count("gru seq2seq", [&] { return m.run(); }) == 2);
}

BOOST_AUTO_TEST_CASE(attention_beam_search_is_bit_identical_for_any_thread_count) {
  constexpr std::int64_t B = 4, Tm = 7, A = 48, E = 24, V = 5000, K = 4;
  Graph graph{5};
  DefaultGraphGuard use{graph};
  const Tensor embedding = random_normal({V, E}, 0.0f, 0.3f);
  const Tensor memory = random_normal({B, Tm, A});
  const Tensor lengths(Shape{B}, std::vector<std::int32_t>{7, 3, 5, 1});
  BahdanauAttention mechanism(A, memory, lengths, true);
  GRUCell gru(A, "cell");
  AttentionWrapper cell(gru, mechanism, {.attention_layer_size = A, .alignment_history = true});
  Dense out{V, {.name = "out"}};
  {
    auto scope = variable_scope("decoder");
    (void)out(cell(random_normal({B, E}), cell.zero_state(B)).output);
  }
  mechanism.setup_memory(tile_batch(memory, K), tile_batch(lengths, K));
  const int n = check_same_at_every_thread_count("attention beam", [&] {
    BeamSearchDecoder d(cell, embedding, ints({B}, 1), 0, cell.zero_state(B * K), K, out);
    const auto r = dynamic_decode(d, {.maximum_iterations = 6, .scope = "decoder"});
    std::vector<std::vector<unsigned char>> v{bytes(r.predicted_ids), bytes(r.scores)};
    for (const auto& row : r.hypotheses)
      for (const auto& hyp : row) v.push_back(bytes(hyp.alignments));
    return v;
  });
  BOOST_TEST(n == 2);
}

// Three Adam steps of a teacher-forced GRU decoder from the same initial weights: every
// variable and slot after them (the backward products in OpenBLAS column blocks, Adam's
// update in element blocks) and the losses, byte for byte.
BOOST_AUTO_TEST_CASE(training_steps_are_bit_identical_for_any_thread_count) {
  constexpr std::int64_t B = 8, T = 12, E = 32, H = 64, V = 700;
  const int n = check_same_at_every_thread_count("adam steps", [&] {
    Graph graph{3};
    DefaultGraphGuard use{graph};
    Variable embedding = get_variable("embedding", {.initializer = random_normal({V, E}, 0.0f, 0.3f)});
    GRUCell cell{H, "cell"};
    Dense out{V, {.name = "out"}};
    const Tensor inputs_ids = random_ids(B, T, V, 11), targets = random_ids(B, T, V, 12);
    const Tensor weights = ones({B, T});
    AdamOptimizer adam({.learning_rate = 0.01f});
    std::vector<std::vector<unsigned char>> r;
    for (int step = 0; step < 3; ++step) {
      const Tensor loss = adam.minimize([&] {
        auto scope = variable_scope("decoder", {.reuse = Reuse::AutoReuse});
        const Tensor x = embedding_lookup(embedding.value(), inputs_ids);
        BasicDecoder d(cell, TrainingHelper(x, ints({B}, static_cast<std::int32_t>(T))), cell.zero_state(B), out);
        return sequence_loss(dynamic_decode(d).rnn_output, targets, weights);
      });
      r.push_back(bytes(loss));
    }
    for (const Variable& v : global_variables()) r.push_back(bytes(v.value()));
    return r;
  });
  BOOST_TEST(n == 2);
}

// LSTM training steps at a batch whose gate math splits over row blocks (LSTMCell::step and
// step_backward), plain and with every option that changes that math: peepholes, cell_clip,
// num_proj with proj_clip.
BOOST_AUTO_TEST_CASE(lstm_training_steps_are_bit_identical_for_any_thread_count) {
  constexpr std::int64_t B = 32, T = 6, E = 24, H = 128, V = 300;
  for (const bool every_option : {false, true}) {
    const int n = check_same_at_every_thread_count(
        every_option ? "lstm (peepholes, clips, num_proj) adam steps" : "lstm adam steps", [&] {
          Graph graph{7};
          DefaultGraphGuard use{graph};
          LSTMCellOptions options{.name = "cell"};
          if (every_option) {
            options.use_peepholes = true;
            options.cell_clip = 0.5f;
            options.num_proj = 96;
            options.proj_clip = 0.3f;
          }
          LSTMCell cell(H, options);
          Dense out{V, {.name = "out"}};
          const Tensor inputs = random_normal({B, T, E});
          const Tensor targets = random_ids(B, T, V, 31), weights = ones({B, T});
          AdamOptimizer adam({.learning_rate = 0.01f});
          std::vector<std::vector<unsigned char>> r;
          for (int step = 0; step < 2; ++step) {
            const Tensor loss = adam.minimize([&] {
              const auto o = dynamic_rnn(cell, inputs, {.scope = "rnn"});
              return sequence_loss(out(o.outputs), targets, weights);
            });
            r.push_back(bytes(loss));
          }
          for (const Variable& v : global_variables()) r.push_back(bytes(v.value()));
          return r;
        });
    BOOST_TEST(n == 2);
  }
}

// A training step of the article's seq2seq at a batch large enough that every loop beside the
// products splits too: the recurrence backward's time-major reorders, the gate math of each
// step forward and backward (GRUCell::step / step_backward, over row blocks) and over every
// step at once (GRUCell::backward_activations), the packing of a's rows, the repacking of the
// recurrent kernels after each update, and TrainingHelper's argmax over [B, T, V].
BOOST_AUTO_TEST_CASE(training_at_a_batch_that_splits_every_loop_is_bit_identical) {
  constexpr std::int64_t B = 32, T = 16, E = 64, H = 256, V = 2000;
  const int n = check_same_at_every_thread_count("seq2seq adam steps", [&] {
    Graph graph{5};
    DefaultGraphGuard use{graph};
    Variable embedding = get_variable("embedding", {.initializer = random_normal({V, E}, 0.0f, 0.3f)});
    GRUCell encoder_cell{H, "cell"}, decoder_cell{H, "cell"};
    Dense out{V, {.use_bias = false, .name = "out"}};
    const Tensor source = random_ids(B, T, V, 21), inputs_ids = random_ids(B, T, V, 22),
                 targets = random_ids(B, T, V, 23);
    const Tensor lengths = ints({B}, static_cast<std::int32_t>(T)), weights = ones({B, T});
    AdamOptimizer adam({.learning_rate = 0.01f});
    std::vector<std::vector<unsigned char>> r;
    for (int step = 0; step < 2; ++step) {
      Tensor sample_id;
      const Tensor loss = adam.minimize([&] {
        const auto enc = dynamic_rnn(encoder_cell, embedding_lookup(embedding.value(), source),
                                     {.sequence_length = lengths, .scope = "encoder"});
        BasicDecoder d(decoder_cell, TrainingHelper(embedding_lookup(embedding.value(), inputs_ids), lengths),
                       enc.final_state, out);
        const auto o = dynamic_decode(d, {.scope = "decoder"});
        sample_id = o.sample_id;
        return sequence_loss(o.rnn_output, targets, weights);
      });
      r.push_back(bytes(loss));
      r.push_back(bytes(sample_id));
    }
    for (const Variable& v : global_variables()) r.push_back(bytes(v.value()));
    return r;
  });
  BOOST_TEST(n == 2);
}
