// The article's Seq2Seq case of tests/data/tf_gru_golden.json (tools/gen-tf-gru-golden.py):
// its batch, the loss built the article's way (seq2seq_train_outputs + sequence_loss,
// weighted 1 on each row's valid steps) and TF's initial values assigned by name. Shared
// by grad_test (gradients against float64 TF math) and train_test (Adam steps).
// Include after `import varscope;` and `import varscope.article;`.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tf_gru_case {

inline varscope::Tensor floats(const nlohmann::json& j) {
  return varscope::Tensor(varscope::Shape(j.at("shape").get<std::vector<std::int64_t>>()),
                          j.at("data").get<std::vector<float>>());
}
inline varscope::Tensor ints(const nlohmann::json& j) {
  return varscope::Tensor(varscope::Shape(j.at("shape").get<std::vector<std::int64_t>>()),
                          j.at("data").get<std::vector<std::int32_t>>());
}

// The "seq2seq" object of the golden file, in the default graph the caller set up.
struct Seq2SeqCase {
  explicit Seq2SeqCase(const nlohmann::json& c)
      : enc(ints(c.at("encoder_inputs"))),
        enc_len(ints(c.at("encoder_inputs_length"))),
        dec(ints(c.at("decoder_inputs"))),
        dec_len(ints(c.at("decoder_inputs_length"))),
        targets(ints(c.at("targets"))),
        weights(varscope::DType::float32, varscope::Shape{dec.shape()[0], dec.shape()[1]}),
        embedding(floats(c.at("params").at("embedding")), "embedding"),
        names(c.at("names").get<std::vector<std::string>>()),
        params(c.at("params")) {
    config.vocab_size = c.at("sizes").at("V");
    config.embedding_dim = c.at("sizes").at("E");
    config.hidden_dim = c.at("sizes").at("H");
    const std::int64_t B = dec.shape()[0], T = dec.shape()[1];
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t t = 0; t < dec_len.data<std::int32_t>()[b]; ++t) weights.data<float>()[b * T + t] = 1.0f;
  }

  // The sequence loss of one forward pass (creates the variables on the first call).
  varscope::Tensor loss() const {
    auto scope = varscope::variable_scope(varscope::get_variable_scope(), {.reuse = varscope::AUTO_REUSE});
    return varscope::sequence_loss(
        varscope::article::seq2seq_train_outputs(embedding, enc, enc_len, dec, dec_len, config), targets, weights);
  }

  // Builds the variables, gives each its value from the file by name, and returns the
  // trainable ones (in the generator's order, which the caller checks against `names`).
  std::vector<varscope::Variable> build_with_tf_values() const {
    (void)loss();
    const auto vars = varscope::trainable_variables();
    for (const auto& v : vars)
      if (params.contains(v.op_name())) v.assign(floats(params.at(v.op_name())));
    return vars;
  }

  varscope::article::Seq2SeqConfig config;
  varscope::Tensor enc, enc_len, dec, dec_len, targets, weights;
  varscope::Variable embedding;
  std::vector<std::string> names;  // the trainable variables, in creation order
  const nlohmann::json& params;
};

}  // namespace tf_gru_case
