// The article's Seq2Seq block in C++: an encoder (dynamic_rnn, scope
// 'encoder'), a training decoder and a beam-search decoder that share the same
// decoder variables through variable_scope('decoder') + scope.reuse_variables().
module;
#include <cstdint>
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

Tensor int_fill(const Shape& shape, std::int32_t value) {
  Tensor t(DType::int32, shape);
  for (auto& x : t.data<std::int32_t>()) x = value;
  return t;
}

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

// The variables a decoder's layers hold: the cell's, then the output layer's kernel.
std::vector<Variable> layer_variables(const GRUCell& cell, const Dense& output_layer) {
  auto vars = cell.variables();
  vars.push_back(output_layer.kernel());
  return vars;
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
                              const Tensor& inputs_length, const Seq2SeqConfig& c, std::vector<Variable>& used) {
  GRUCell cell(c.hidden_dim, cell_name);
  Dense output_layer(c.vocab_size, {.use_bias = false, .name = out_layer_name});
  auto inputs_embedded = embedding_lookup(embedding.value(), inputs);
  TrainingHelper helper(inputs_embedded, inputs_length);
  BasicDecoder decoder(cell, helper, thought_vector, &output_layer);
  auto outputs = dynamic_decode(decoder, {.scope = decoder_scope});
  used = layer_variables(cell, output_layer);
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
BeamSearchResult create_generation_decoder(const Tensor& thought_vector, const Variable& embedding,
                                           const Seq2SeqConfig& c, std::vector<Variable>& used) {
  GRUCell cell(c.hidden_dim, cell_name);
  Dense output_layer(c.vocab_size, {.use_bias = false, .name = out_layer_name});
  const std::int64_t batch_size = thought_vector.shape()[0];
  auto start_tokens = int_fill({batch_size}, c.bos);  // BOS==1
  const std::int32_t end_token = c.eos;               // EOS==2
  auto tiled_thought_vector = tile_batch(thought_vector, c.beam_width);
  BeamSearchDecoder::Options options;
  options.length_penalty_weight = c.length_penalty_weight;
  BeamSearchDecoder decoder(cell, embedding.value(), start_tokens, end_token, tiled_thought_vector, c.beam_width,
                            &output_layer, options);
  auto decoder_outputs = dynamic_decode(decoder, {.maximum_iterations = c.max_len, .scope = decoder_scope});
  used = layer_variables(cell, output_layer);
  return decoder_outputs;
}

// generation_ids = generation_result[:,:,0]
Tensor beam0(const Tensor& predicted_ids) {
  const std::int64_t B = predicted_ids.shape()[0], T = predicted_ids.shape()[1], K = predicted_ids.shape()[2];
  Tensor out(DType::int32, Shape{B, T});
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      out.data<std::int32_t>()[b * T + t] = predicted_ids.data<std::int32_t>()[(b * T + t) * K];
  return out;
}

}  // namespace

//     thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding)
//     with tf.variable_scope('decoder') as scope:
//         train_outputs = create_trainer_decoder(thought_vector, embedding, decoder_inputs, decoder_inputs_length)
//         scope.reuse_variables()
//         generation_outputs = create_generation_decoder(thought_vector, embedding)
Seq2SeqOutputs seq2seq_shared_decoders(const Variable& embedding, const Tensor& encoder_inputs,
                                       const Tensor& encoder_inputs_length, const Tensor& decoder_inputs,
                                       const Tensor& decoder_inputs_length, const Seq2SeqConfig& config) {
  auto thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding, config);
  Seq2SeqOutputs out;
  {
    auto scope = variable_scope("decoder");
    out.train_outputs = create_trainer_decoder(thought_vector, embedding, decoder_inputs, decoder_inputs_length,
                                               config, out.trainer_variables);
    scope.reuse_variables();
    out.generation = create_generation_decoder(thought_vector, embedding, config, out.generation_variables);
  }
  return out;
}

// with tf.Session(graph=tf.Graph()) as sess:
//     encoder_inputs = tf.ones(shape=[batch_size, max_len], dtype=tf.int32)
//     ... (seq2seq_shared_decoders above)
//     train_ids = np.argmax(train_result, axis=-1)
//     generation_ids = generation_result[:,:,0]
//     print(train_ids); print(generation_ids); show_variables()
void seq2seq_section(std::ostream& out) {
  const Seq2SeqConfig c;  // the article's sizes
  const std::int64_t batch_size = 2;
  Graph graph;
  auto session = graph.as_default();
  auto encoder_inputs = int_fill({batch_size, c.max_len}, 1);
  auto encoder_inputs_length = int_fill({batch_size}, static_cast<std::int32_t>(c.max_len));
  auto decoder_inputs = int_fill({batch_size, c.max_len}, 1);
  auto decoder_inputs_length = int_fill({batch_size}, static_cast<std::int32_t>(c.max_len));
  auto embedding = Variable(random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");
  const auto result = seq2seq_shared_decoders(embedding, encoder_inputs, encoder_inputs_length, decoder_inputs,
                                              decoder_inputs_length, c);
  auto train_ids = argmax(result.train_outputs, -1);
  auto generation_ids = beam0(result.generation.predicted_ids);
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

}  // namespace varscope::article
