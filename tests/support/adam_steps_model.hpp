// The small model of tests/data/adam_steps_golden.json (issue 11: "native == wasm for
// a few steps of a small model"): the article's Seq2Seq (shared embedding, GRU encoder
// via dynamic_rnn(scope='encoder'), training decoder under decoder/ with a Dense output
// layer without bias) at tiny sizes, trained as `varscope train` does (sequence_loss,
// clip_by_global_norm, TF 1.x Adam) on one fixed ragged batch. Written natively by
// tools/gen-adam-steps-golden.cpp, replayed by tests/adam_steps_test.cpp natively and
// in wasm. Include after `import varscope; import varscope.article;`.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace adam_steps_model {

inline constexpr std::uint64_t kGraphSeed = 20261202;
inline constexpr int kSteps = 3;         ///< Adam steps pinned by the golden file
inline constexpr float kLearningRate = 0.01f;
inline constexpr float kClipNorm = 5.0f;

inline varscope::article::Seq2SeqConfig config() {
  varscope::article::Seq2SeqConfig c;
  c.vocab_size = 11;
  c.embedding_dim = 5;
  c.hidden_dim = 7;
  c.max_len = 5;
  return c;
}

// A model in its own seeded graph; the constructor creates every variable and the
// optimizer's state (so a checkpoint of a fresh model already has the Adam slots).
struct Model {
  varscope::Graph graph{kGraphSeed};
  varscope::DefaultGraphGuard use{graph};
  varscope::Variable embedding{varscope::random_uniform({config().vocab_size, config().embedding_dim}, -1.0f, 1.0f),
                               "embedding"};
  varscope::AdamOptimizer opt{{.learning_rate = kLearningRate}};
  varscope::Variable global_step = varscope::get_or_create_global_step();
  // Batch 3, ragged sources (lengths 6, 3, 1), teacher-forced targets of length 4 with
  // the last row's final position masked out.
  const varscope::Tensor enc{varscope::Shape{3, 6}, std::vector<std::int32_t>{4, 7, 9, 3, 10, 5, 8, 8, 6, 0, 0, 0, 3, 0, 0, 0, 0, 0}};
  const varscope::Tensor enc_len{varscope::Shape{3}, std::vector<std::int32_t>{6, 3, 1}};
  const varscope::Tensor dec{varscope::Shape{3, 4}, std::vector<std::int32_t>{1, 5, 3, 9, 1, 6, 8, 8, 1, 3, 4, 0}};
  const varscope::Tensor dec_len{varscope::Shape{3}, std::vector<std::int32_t>{4, 4, 3}};
  const varscope::Tensor targets{varscope::Shape{3, 4}, std::vector<std::int32_t>{5, 3, 9, 2, 6, 8, 8, 2, 3, 4, 2, 0}};
  const varscope::Tensor weights{varscope::Shape{3, 4}, std::vector<float>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0}};

  Model() {
    (void)loss();
    opt.create_state(varscope::trainable_variables());
  }

  varscope::Tensor loss() {
    auto scope = varscope::variable_scope(varscope::get_variable_scope(), {.reuse = varscope::AUTO_REUSE});
    return varscope::sequence_loss(
        varscope::article::seq2seq_train_outputs(embedding, enc, enc_len, dec, dec_len, config()), targets, weights);
  }

  // `steps` training steps exactly as tools/varscope-cli/dates.cpp runs them.
  void train(int steps) {
    for (int i = 0; i < steps; ++i) {
      auto gv = opt.compute_gradients([&] { return loss(); });
      std::vector<std::optional<varscope::Tensor>> grads;
      for (auto& [g, v] : gv) grads.push_back(std::move(g));
      auto clipped = varscope::clip_by_global_norm(grads, kClipNorm);
      for (std::size_t k = 0; k < gv.size(); ++k) gv[k].first = std::move(clipped.clipped[k]);
      opt.apply_gradients(gv, global_step);
    }
  }
};

}  // namespace adam_steps_model
