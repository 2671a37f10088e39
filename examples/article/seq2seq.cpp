// The article's Seq2Seq block in C++: an encoder (dynamic_rnn, scope
// 'encoder'), a training decoder and a beam-search decoder that share the same
// decoder variables through variable_scope('decoder') + scope.reuse_variables().
module;
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <vector>
module varscope.article;
import varscope;

namespace varscope::article {

namespace {

const std::string decoder_scope = "decoder";
const std::string cell_name = "cell";
const std::string out_layer_name = "out_layer";

// def create_encoder(inputs, inputs_length, embedding):
//     inputs_embedded = tf.nn.embedding_lookup(embedding, inputs)
//     cell = tf.nn.rnn_cell.GRUCell(hidden_dim, name=cell_name)
//     outputs, final_state = tf.nn.dynamic_rnn(cell=cell, inputs=inputs_embedded,
//         sequence_length=inputs_length, dtype=tf.float32, scope='encoder')
//     return final_state
Tensor create_encoder(const Tensor& inputs, const Tensor& inputs_length, const Variable& embedding,
                      const Seq2SeqConfig& c) {
  auto inputs_embedded = embedding_lookup(embedding.value(), inputs);
  GRUCell cell(c.hidden_dim, cell_name);
  auto [outputs, final_state] =
      dynamic_rnn(cell, inputs_embedded, {.sequence_length = inputs_length, .scope = "encoder"});
  return final_state;
}

// def create_trainer_decoder(thought_vector, embedding, inputs, inputs_length):
//     cell = tf.nn.rnn_cell.GRUCell(hidden_dim, name=cell_name)
//     output_layer = tf.layers.Dense(vocab_size, use_bias=False, name=out_layer_name)
//     inputs_embedded = tf.nn.embedding_lookup(embedding, inputs)
//     helper = tf.contrib.seq2seq.TrainingHelper(inputs=inputs_embedded, sequence_length=inputs_length)
//     decoder = tf.contrib.seq2seq.BasicDecoder(cell, helper, thought_vector, output_layer=output_layer)
//     outputs, _, _ = tf.contrib.seq2seq.dynamic_decode(decoder, swap_memory=True, scope=decoder_scope)
//     return outputs.rnn_output
Tensor create_trainer_decoder(const Tensor& thought_vector, const Variable& embedding, const Tensor& inputs,
                              const Tensor& inputs_length, const Seq2SeqConfig& c) {
  GRUCell cell(c.hidden_dim, cell_name);
  Dense output_layer(c.vocab_size, {.use_bias = false, .name = out_layer_name});
  auto inputs_embedded = embedding_lookup(embedding.value(), inputs);
  TrainingHelper helper(inputs_embedded, inputs_length);
  BasicDecoder decoder(cell, helper, thought_vector, output_layer);
  auto outputs = dynamic_decode(decoder, {.scope = decoder_scope});
  return outputs.rnn_output;
}

// def create_generation_decoder(thought_vector, embedding):
//     cell = tf.nn.rnn_cell.GRUCell(hidden_dim, name=cell_name)
//     output_layer = tf.layers.Dense(vocab_size, use_bias=False, name=out_layer_name)
//     start_tokens = tf.ones([batch_size], tf.int32)  # BOS==1
//     end_token = 2  # EOS==2
//     tiled_thought_vector = tf.contrib.seq2seq.tile_batch(thought_vector, multiplier=beam_width)
//     decoder = tf.contrib.seq2seq.BeamSearchDecoder(cell=cell, embedding=embedding,
//         start_tokens=start_tokens, end_token=end_token, initial_state=tiled_thought_vector,
//         beam_width=beam_width, output_layer=output_layer)
//     decoder_outputs, _, _ = tf.contrib.seq2seq.dynamic_decode(
//         decoder=decoder, maximum_iterations=max_len, scope=decoder_scope)
//     return decoder_outputs.predicted_ids
// (Beyond the article: TF's length_penalty_weight argument from the config, and
// the whole result, hypotheses best-first included.)
BeamSearchResult create_generation_decoder(const Tensor& thought_vector, const Variable& embedding,
                                           const Seq2SeqConfig& c) {
  GRUCell cell(c.hidden_dim, cell_name);
  Dense output_layer(c.vocab_size, {.use_bias = false, .name = out_layer_name});
  const std::int64_t batch_size = thought_vector.shape()[0];
  auto start_tokens = ones({batch_size}, DType::int32);  // BOS==1
  const std::int32_t end_token = c.eos;                  // EOS==2
  auto tiled_thought_vector = tile_batch(thought_vector, c.beam_width);
  BeamSearchDecoder decoder(cell, embedding, start_tokens, end_token, tiled_thought_vector, c.beam_width,
                            output_layer, c.length_penalty_weight);
  auto decoder_outputs = dynamic_decode(decoder, {.maximum_iterations = c.max_len, .scope = decoder_scope});
  return decoder_outputs;
}

// Beyond the article: keeps the config's num_hypotheses best of each row's
// hypotheses (already best first; 0 keeps all beam_width of them).
BeamSearchResult keep_best_hypotheses(BeamSearchResult result, const Seq2SeqConfig& c) {
  check_decoding_options({.beam_width = c.beam_width, .num_hypotheses = c.num_hypotheses}, {.who = "Seq2SeqConfig"});
  if (c.num_hypotheses > 0)
    for (auto& row : result.hypotheses) row.resize(static_cast<std::size_t>(c.num_hypotheses));
  return result;
}

// The generation decoder starts from tf.ones (BOS==1), as in the article.
void require_article_bos(const Seq2SeqConfig& c) {
  if (c.bos != 1)
    throw InvalidArgumentError("Seq2SeqConfig: bos " + std::to_string(c.bos) +
                               " must be 1: the article's generation decoder starts from tf.ones([batch_size])");
}

}  // namespace

// Beyond the article: the variables a block's get_variable calls returned
// (created or reused), once each, in first-use order, as recorded by `audit`
// — for a decoder, its cell's and then its output layer's.
std::vector<Variable> variables_returned(const VariableAudit& audit) {
  std::vector<Variable> vars;
  std::vector<std::string> seen;
  for (const auto& entry : audit.entries()) {
    if (std::find(seen.begin(), seen.end(), entry.name) != seen.end()) continue;
    seen.push_back(entry.name);
    vars.push_back(get_default_graph().store().find(entry.name).value());
  }
  return vars;
}

//     thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding)
//     with tf.variable_scope('decoder') as scope:
//         train_outputs = create_trainer_decoder(thought_vector, embedding, decoder_inputs, decoder_inputs_length)
//         scope.reuse_variables()
//         generation_outputs = create_generation_decoder(thought_vector, embedding)
Seq2SeqOutputs seq2seq_shared_decoders(const Variable& embedding, const Tensor& encoder_inputs,
                                       const Tensor& encoder_inputs_length, const Tensor& decoder_inputs,
                                       const Tensor& decoder_inputs_length, const Seq2SeqConfig& config) {
  require_article_bos(config);
  auto thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding, config);
  Seq2SeqOutputs out;
  {
    auto scope = variable_scope("decoder");
    std::optional<VariableAudit> trainer_audit(std::in_place), generation_audit;  // beyond the article
    out.train_outputs =
        create_trainer_decoder(thought_vector, embedding, decoder_inputs, decoder_inputs_length, config);
    out.trainer_variables = variables_returned(*trainer_audit);
    trainer_audit.reset();
    scope.reuse_variables();
    generation_audit.emplace();
    out.generation = keep_best_hypotheses(create_generation_decoder(thought_vector, embedding, config), config);
    out.generation_variables = variables_returned(*generation_audit);
  }
  return out;
}

Tensor seq2seq_train_outputs(const Variable& embedding, const Tensor& encoder_inputs, const Tensor& encoder_inputs_length,
                             const Tensor& decoder_inputs, const Tensor& decoder_inputs_length, const Seq2SeqConfig& config) {
  auto thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding, config);
  auto scope = variable_scope("decoder");
  return create_trainer_decoder(thought_vector, embedding, decoder_inputs, decoder_inputs_length, config);
}

BeamSearchResult seq2seq_generate(const Variable& embedding, const Tensor& encoder_inputs,
                                  const Tensor& encoder_inputs_length, const Seq2SeqConfig& config) {
  require_article_bos(config);
  auto thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding, config);
  auto scope = variable_scope("decoder");
  scope.reuse_variables();
  return keep_best_hypotheses(create_generation_decoder(thought_vector, embedding, config), config);
}

DecodingResult seq2seq_decode(const Variable& embedding, const Tensor& encoder_inputs,
                              const Tensor& encoder_inputs_length, const Seq2SeqConfig& config,
                              DecodingOptions options) {
  require_article_bos(config);
  auto thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding, config);
  auto scope = variable_scope("decoder");
  scope.reuse_variables();
  GRUCell cell(config.hidden_dim, cell_name);
  Dense output_layer(config.vocab_size, {.use_bias = false, .name = out_layer_name});
  if (!options.maximum_iterations) options.maximum_iterations = config.max_len;
  options.scope = decoder_scope;
  const auto start_tokens = ones({thought_vector.shape()[0]}, DType::int32);  // BOS==1
  return decode(cell, embedding.value(), start_tokens, config.eos, thought_vector, options, output_layer);
}

// with tf.Session(graph=tf.Graph()) as sess:
//     encoder_inputs = tf.ones(shape=[batch_size, max_len], dtype=tf.int32)
//     encoder_inputs_length = tf.ones(shape=[batch_size], dtype=tf.int32) * max_len
//     decoder_inputs = tf.ones(shape=[batch_size, max_len], dtype=tf.int32)
//     decoder_inputs_length = tf.ones(shape=[batch_size], dtype=tf.int32) * max_len
//     embedding = tf.Variable(tf.random_uniform([vocab_size, embedding_dim], -1.0, 1.0), dtype=tf.float32, name='embedding')
//     ... (seq2seq_shared_decoders above)
//     train_ids = np.argmax(train_result, axis=-1)
//     generation_ids = generation_result[:,:,0]
//     print(train_ids); print(generation_ids); show_variables()
void seq2seq_section(std::ostream& out) {
  const Seq2SeqConfig c;  // the article's sizes
  const std::int64_t batch_size = 2;
  Graph graph;
  auto session = graph.as_default();
  auto encoder_inputs = ones({batch_size, c.max_len}, DType::int32);
  auto encoder_inputs_length = ones({batch_size}, DType::int32) * c.max_len;
  auto decoder_inputs = ones({batch_size, c.max_len}, DType::int32);
  auto decoder_inputs_length = ones({batch_size}, DType::int32) * c.max_len;
  auto embedding = Variable(random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");
  const auto result = seq2seq_shared_decoders(embedding, encoder_inputs, encoder_inputs_length, decoder_inputs,
                                              decoder_inputs_length, c);
  auto train_ids = argmax(result.train_outputs, -1);
  const auto& generation_result = result.generation.predicted_ids;
  auto generation_ids = reshape(slice(generation_result, {0, 0, 0}, {-1, -1, 1}), {batch_size, -1});  // [:,:,0]
  out << train_ids << '\n';
  out << generation_ids << '\n';
  for (const auto& v : global_variables()) out << v.name() << '\n';
  // The article: the first time step agrees (shared weights), later ones differ.
  bool first_step_agrees = true;
  for (std::int64_t b = 0; b < batch_size; ++b)
    first_step_agrees = first_step_agrees && train_ids.data<std::int32_t>()[b * c.max_len] ==
                                                 generation_ids.data<std::int32_t>()[b * generation_ids.shape()[1]];
  out << "# first time step agrees between the two decoders: " << (first_step_agrees ? "True" : "False") << '\n';
}

// Beyond the article: the same Seq2Seq block, trained. A toy copy task
// (encoder input x, decoder input BOS x, target x EOS) at a tiny size; the
// training decoder's loss goes into AdamOptimizer, and the beam-search decoder,
// which holds the same decoder/... variables, is run after each round with no
// copying: it improves because the variables it reads are the trained ones.
void training_section(std::ostream& out) {
  Seq2SeqConfig c;
  c.vocab_size = 8;  // 0 pad, 1 BOS, 2 EOS, 3..7 tokens
  c.embedding_dim = 16;
  c.hidden_dim = 32;
  c.beam_width = 3;
  c.max_len = 6;
  constexpr std::int64_t B = 12, L = 4, T = L + 1;
  Graph graph(11);
  auto session = graph.as_default();
  std::vector<std::int32_t> enc(B * L, 0), dec(B * T, 0), tgt(B * T, 0), enc_len(B), dec_len(B);
  std::vector<float> w(B * T, 0.0f);
  std::uint32_t s = 7;
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t len = b % 2 == 0 ? L : L - 1;
    enc_len[b] = static_cast<std::int32_t>(len);
    dec_len[b] = static_cast<std::int32_t>(len + 1);
    dec[b * T] = c.bos;
    for (std::int64_t t = 0; t < len; ++t) {
      s = s * 1664525u + 1013904223u;
      const auto tok = static_cast<std::int32_t>(3 + (s >> 16) % 5);
      enc[b * L + t] = dec[b * T + t + 1] = tgt[b * T + t] = tok;
    }
    tgt[b * T + len] = c.eos;
    for (std::int64_t t = 0; t <= len; ++t) w[b * T + t] = 1.0f;
  }
  const Tensor enc_ids({B, L}, enc), dec_ids({B, T}, dec), targets({B, T}, tgt);
  const Tensor enc_lengths({B}, enc_len), dec_lengths({B}, dec_len), weights({B, T}, w);
  auto embedding = Variable(random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");
  auto run = [&] {  // the article's block; AUTO_REUSE: the first call creates, later calls share
    auto scope = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
    return seq2seq_shared_decoders(embedding, enc_ids, enc_lengths, dec_ids, dec_lengths, c);
  };
  auto accuracy = [&](const BeamSearchResult& r) {
    const std::int64_t steps = r.predicted_ids.shape()[1], K = r.predicted_ids.shape()[2];
    int right = 0, total = 0;
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t t = 0; t < dec_len[b]; ++t, ++total)
        right += t < steps && r.predicted_ids.data<std::int32_t>()[(b * steps + t) * K] == tgt[b * T + t];
    return static_cast<double>(right) / total;
  };
  auto show = [&](const Tensor& ids, std::int64_t b) {
    std::string text = "[";
    const std::int64_t steps = ids.shape()[1], K = ids.shape()[2];
    for (std::int64_t t = 0; t < steps; ++t) {
      const std::int32_t id = ids.data<std::int32_t>()[(b * steps + t) * K];
      text += (t ? " " : "") + std::to_string(id);
      if (id == c.eos) break;
    }
    return text + "]";
  };
  out << "# copy task: " << B << " sequences of 3-4 tokens from 5, vocab " << c.vocab_size << ", embedding "
      << c.embedding_dim << ", hidden " << c.hidden_dim << ", beam width " << c.beam_width << "\n";
  out << "# loss = sequence_loss(train_outputs, targets, weights); AdamOptimizer(learning_rate=0.02).minimize(loss)\n";
  const auto before = run();
  AdamOptimizer opt({.learning_rate = 0.02f});
  auto step = get_or_create_global_step();
  char line[160];
  for (int i = 0; i <= 300; ++i) {
    if (i == 10 || i == 20 || i == 30 || i % 50 == 0) {
      const auto now = run();
      const float loss = sequence_loss(now.train_outputs, targets, weights).data<float>()[0];
      std::snprintf(line, sizeof line, "step %3d  loss %.4f  beam-search decoder: beam-0 token accuracy %.2f\n", i,
                    static_cast<double>(loss), accuracy(now.generation));
      out << line;
    }
    if (i < 300) opt.minimize([&] { return sequence_loss(run().train_outputs, targets, weights); }, step);
  }
  const auto after = run();
  out << "input " << show(Tensor({B, L, 1}, enc), 0) << "  beam-0 before training " << show(before.generation.predicted_ids, 0)
      << "  after " << show(after.generation.predicted_ids, 0) << "\n";
  bool same = after.trainer_variables.size() == after.generation_variables.size();
  for (std::size_t i = 0; same && i < after.trainer_variables.size(); ++i)
    same = after.trainer_variables[i] == after.generation_variables[i];
  out << "# the beam-search decoder holds the training decoder's variables (" << after.generation_variables.size()
      << " shared: " << (same ? "True" : "False") << "); no weights were copied\n";
  out << "# trainable " << trainable_variables().size() << ", with optimizer state " << global_variables().size()
      << " (each X gets X/Adam, X/Adam_1; plus beta1_power, beta2_power, global_step = "
      << step.value().data<std::int32_t>()[0] << ")\n";
}

}  // namespace varscope::article
