// varscope.article — the code blocks of the source article
// (seed/blog-variable-scope-ja.txt, TF 1.5) in C++, one function per block,
// in the article's order. `varscope tour` runs them; tests check their output
// against the article's printed lines.
module;
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>
export module varscope.article;
import varscope;

export namespace varscope::article {

/// One article code block: a stable id, the article's heading, and the C++ version.
struct Section {
  std::string id;
  std::string title;
  std::function<void(std::ostream&)> run;
};

/// All blocks covered so far, in article order.
[[nodiscard]] const std::vector<Section>& sections();
/// Sections *beyond the article* (ids start with "beyond-"): what the article's code
/// can do once varscope trains it. The tour prints them after the article's blocks,
/// under headers marked "beyond the article"; they are not the article's lines.
[[nodiscard]] const std::vector<Section>& beyond_sections();

/// The article's feed_forward(inputs): dense(20, name='dense_a') then dense(30, name='dense_b')
/// in the current variable scope.
[[nodiscard]] Tensor feed_forward(const Tensor& inputs);

/// The two outputs of one feed-forward block.
struct FeedForwardOutputs {
  Tensor outputs_x, outputs_y;
};
/// The unshared block's networks, in the default graph:
/// feed_forward(inputs) in variable_scope('feed_forward_x'), then in 'feed_forward_y'.
[[nodiscard]] FeedForwardOutputs feed_forward_unshared(const Tensor& inputs);
/// The shared block's networks: in variable_scope('feed_forward_shared') as scope,
/// feed_forward(inputs), scope.reuse_variables(), feed_forward(inputs).
[[nodiscard]] FeedForwardOutputs feed_forward_shared(const Tensor& inputs);

/// The Seq2Seq block's hyper-parameters; the defaults are the article's.
struct Seq2SeqConfig {
  std::int64_t vocab_size = 3000;
  std::int64_t embedding_dim = 256;
  std::int64_t hidden_dim = 256;
  std::int64_t beam_width = 2;
  std::int64_t max_len = 8;
  /// Beyond the article (it uses 0): the GNMT length penalty weight.
  float length_penalty_weight = 0.0f;
  /// Beyond the article: hypotheses kept per row of the beam-search result, best first, in
  /// [0, beam_width] (0 = all beam_width); the search itself is the article's.
  std::int64_t num_hypotheses = 0;
  std::int32_t bos = 1;  ///< start token; must be 1: the generation decoder starts from tf.ones, as the article
  std::int32_t eos = 2;  ///< end token
};

/// What one pass of the Seq2Seq block produces.
struct Seq2SeqOutputs {
  Tensor train_outputs;         ///< the training decoder's rnn_output [batch, time, vocab]
  BeamSearchResult generation;  ///< the beam-search decoder's result
  /// The variables each decoder's get_variable calls returned, created or
  /// reused (its cell's, then its out_layer's), recorded by a VariableAudit
  /// around each create_*_decoder call: the same variables when sharing works.
  std::vector<Variable> trainer_variables, generation_variables;
};

/// The article's Seq2Seq block on the given inputs, in the default graph:
/// Beyond the article: the variables `audit` saw get_variable return (created or reused), once
/// each, in first-use order: what a decoder's own layer objects hold (its cell's, then its
/// output layer's). Looked up in the default graph.
[[nodiscard]] std::vector<Variable> variables_returned(const VariableAudit& audit);

/// create_encoder (dynamic_rnn, scope 'encoder'), then inside
/// variable_scope('decoder') create_trainer_decoder, scope.reuse_variables(),
/// create_generation_decoder. `embedding` is [vocab_size, embedding_dim].
[[nodiscard]] Seq2SeqOutputs seq2seq_shared_decoders(const Variable& embedding, const Tensor& encoder_inputs,
                                                     const Tensor& encoder_inputs_length, const Tensor& decoder_inputs,
                                                     const Tensor& decoder_inputs_length,
                                                     const Seq2SeqConfig& config = {});

/// Beyond the article: the same block's two halves built separately, for a
/// training loop (no beam search per step) and for serving (no training decoder).
/// Same functions and scopes as seq2seq_shared_decoders, so the same variable
/// names: embedding, encoder/..., decoder/... . Call the first under
/// AUTO_REUSE (it creates the variables); the second reuses them (reuse=True:
/// NotFoundError before they exist). Greedy decoding is beam_width 1.
[[nodiscard]] Tensor seq2seq_train_outputs(const Variable& embedding, const Tensor& encoder_inputs,
                                           const Tensor& encoder_inputs_length, const Tensor& decoder_inputs,
                                           const Tensor& decoder_inputs_length, const Seq2SeqConfig& config);
[[nodiscard]] BeamSearchResult seq2seq_generate(const Variable& embedding, const Tensor& encoder_inputs,
                                                const Tensor& encoder_inputs_length, const Seq2SeqConfig& config);
/// Beyond the article: the generation decoder's cell and output layer (reuse=True) run by
/// whichever strategy `options` asks for (greedy, beam, sampling; decode()); maximum_iterations
/// defaults to config.max_len and the loop's scope is the article's "decoder".
[[nodiscard]] DecodingResult seq2seq_decode(const Variable& embedding, const Tensor& encoder_inputs,
                                            const Tensor& encoder_inputs_length, const Seq2SeqConfig& config,
                                            DecodingOptions options);

/// Prints "== [id] title ==" and the block's output for every section (or only
/// `only`, when non-empty). Throws std::invalid_argument for an unknown id.
void run_tour(std::ostream& out, std::string_view only = "");

}  // namespace varscope::article

// Helpers the article's blocks share across its implementation units (foundation.cpp,
// numerics.cpp): module linkage, not exported.
namespace varscope::article {

/// The article's show_variables(): the name of every global variable, one a line
/// (defined in foundation.cpp).
void show_variables(std::ostream& out);

}  // namespace varscope::article
