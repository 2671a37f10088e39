// Beyond the article: its Seq2Seq with attention ("アテンションメカニズムを使ったりすると他にも
// 変数が増えますが"), and TF 1.x's sharing trap that comes with it. The article shares the
// decoders through `variable_scope('decoder')` + `scope.reuse_variables()`. Written the same way
// with attention, each decoder builds its own BahdanauAttention — and the mechanism's
// memory_layer is a layer created in the constructor, uniquified in the open scope: the second
// one asks for decoder/memory_layer_1 (SPEC-training-attention §A4, tensorflow#11904). The
// section runs the trap (under reuse=True: TF's NotFoundError; under AUTO_REUSE: a new,
// unshared variable the audit reports), then the two working forms side by side.
module;
#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>
module varscope.article;
import varscope;

namespace varscope::article {

namespace {

struct AttentionConfig {
  std::int64_t vocab_size = 30, embedding_dim = 8, hidden_dim = 8, beam_width = 2, max_len = 5, batch_size = 2,
               source_len = 4;
};

// The encoder, as the article's, but returning its outputs too (the attention memory).
RNNResult encode(const Tensor& inputs, const Tensor& inputs_length, const Variable& embedding,
                 const AttentionConfig& c) {
  GRUCell cell(c.hidden_dim, "cell");
  return dynamic_rnn(cell, embedding_lookup(embedding.value(), inputs),
                     {.sequence_length = inputs_length, .scope = "encoder"});
}

// def create_trainer_decoder(encoder, embedding, inputs, inputs_length):        # the trap's version
//     attention = tf.contrib.seq2seq.BahdanauAttention(hidden_dim, encoder.outputs, source_length)
//     cell = tf.contrib.seq2seq.AttentionWrapper(tf.nn.rnn_cell.GRUCell(hidden_dim, name='cell'), attention,
//                                                attention_layer_size=hidden_dim)
//     ... TrainingHelper, BasicDecoder(cell, helper, cell.zero_state(...).clone(cell_state=encoder.final_state)),
//     dynamic_decode(decoder, scope='decoder')
// The mechanism is passed in when `shared` is given (the working form), built here otherwise.
Tensor trainer_decoder(const RNNResult& encoder, const Tensor& source_length, const Variable& embedding,
                       const Tensor& inputs, const Tensor& inputs_length, const AttentionConfig& c,
                       AttentionMechanism* shared) {
  std::optional<BahdanauAttention> own;
  if (!shared) own.emplace(c.hidden_dim, encoder.outputs, source_length);
  AttentionMechanism& attention = shared ? *shared : *own;
  GRUCell gru(c.hidden_dim, "cell");
  AttentionWrapper cell(gru, attention, {.attention_layer_size = c.hidden_dim});
  Dense output_layer(c.vocab_size, {.use_bias = false, .name = "out_layer"});
  TrainingHelper helper(embedding_lookup(embedding.value(), inputs), inputs_length);
  const State initial = AttentionWrapperState::from(cell.zero_state(c.batch_size)).clone({.cell_state = encoder.final_state});
  BasicDecoder decoder(cell, helper, initial, output_layer);
  return dynamic_decode(decoder, {.scope = "decoder"}).rnn_output;
}

// def create_generation_decoder(encoder, embedding):
//     tiled_memory = tf.contrib.seq2seq.tile_batch(encoder.outputs, multiplier=beam_width)  # and the lengths, the state
//     attention = tf.contrib.seq2seq.BahdanauAttention(hidden_dim, tiled_memory, tiled_length)   # <- memory_layer_1
//     ... AttentionWrapper, BeamSearchDecoder(..., initial_state=cell.zero_state(batch * beam_width).clone(...))
BeamSearchResult generation_decoder(const RNNResult& encoder, const Tensor& source_length, const Variable& embedding,
                                    const AttentionConfig& c, AttentionMechanism* shared) {
  const Tensor tiled_memory = tile_batch(encoder.outputs, c.beam_width);
  const Tensor tiled_length = tile_batch(source_length, c.beam_width);
  std::optional<BahdanauAttention> own;
  if (shared)
    shared->setup_memory(tiled_memory, tiled_length);  // the same memory_layer over the tiled memory
  else
    own.emplace(c.hidden_dim, tiled_memory, tiled_length);
  AttentionMechanism& attention = shared ? *shared : *own;
  GRUCell gru(c.hidden_dim, "cell");
  AttentionWrapper cell(gru, attention, {.attention_layer_size = c.hidden_dim});
  Dense output_layer(c.vocab_size, {.use_bias = false, .name = "out_layer"});
  const State initial = AttentionWrapperState::from(cell.zero_state(c.batch_size * c.beam_width))
                            .clone({.cell_state = tile_batch(encoder.final_state, c.beam_width)});
  BeamSearchDecoder decoder(cell, embedding, ones({c.batch_size}, DType::int32), 2, initial, c.beam_width,
                            output_layer);
  return dynamic_decode(decoder, {.maximum_iterations = c.max_len, .scope = "decoder"});
}

struct Inputs {
  Tensor source, source_length, target, target_length;
  explicit Inputs(const AttentionConfig& c)
      : source(ones({c.batch_size, c.source_len}, DType::int32) * 3),
        source_length(Tensor(Shape{c.batch_size}, std::vector<std::int32_t>{4, 2})),
        target(ones({c.batch_size, c.max_len}, DType::int32)),
        target_length(ones({c.batch_size}, DType::int32) * c.max_len) {}
};

void print_sorted_variables(std::ostream& out) {
  std::vector<std::string> names;
  for (const auto& v : global_variables()) names.push_back(v.name() + " " + v.shape().to_string());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) out << "  " << n << '\n';
}

}  // namespace

void attention_section(std::ostream& out) {
  const AttentionConfig c;
  // 1. The trap, in the article's style: both decoders inside variable_scope('decoder'), the
  //    second after scope.reuse_variables(); each builds its own mechanism.
  {
    Graph graph(5);
    auto session = graph.as_default();
    const Inputs in(c);
    auto embedding = Variable(random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");
    const RNNResult encoder = encode(in.source, in.source_length, embedding, c);
    out << "# 1. one mechanism per decoder, the second under reuse=True (the article's pattern):\n";
    auto scope = variable_scope("decoder");
    (void)trainer_decoder(encoder, in.source_length, embedding, in.target, in.target_length, c, nullptr);
    scope.reuse_variables();
    try {
      (void)generation_decoder(encoder, in.source_length, embedding, c, nullptr);
      out << "no error (unexpected)\n";
    } catch (const NotFoundError& e) {
      const std::string m = e.what();
      out << "NotFoundError: " << m.substr(0, m.find(',')) << '\n';
    }
  }
  // 2. The same under AUTO_REUSE: TF silently creates decoder/memory_layer_1, an untrained
  //    layer the beam decoder then uses. The variable audit reports it.
  {
    Graph graph(5);
    auto session = graph.as_default();
    const Inputs in(c);
    auto embedding = Variable(random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");
    const RNNResult encoder = encode(in.source, in.source_length, embedding, c);
    out << "# 2. the same under AUTO_REUSE: a new, unshared memory layer, and the audit's warning:\n";
    auto scope = variable_scope("decoder", {.reuse = AUTO_REUSE});
    (void)trainer_decoder(encoder, in.source_length, embedding, in.target, in.target_length, c, nullptr);
    VariableAudit audit;
    (void)generation_decoder(encoder, in.source_length, embedding, c, nullptr);
    for (const auto& w : audit.warnings()) out << "  ! " << w.substr(0, w.find("): ") + 1) << '\n';
  }
  // 3. The fix: one mechanism, built once in the decoder scope; the beam decoder rebinds it to
  //    the tiled memory (setup_memory). Every decoder variable is shared.
  {
    Graph graph(5);
    auto session = graph.as_default();
    const Inputs in(c);
    auto embedding = Variable(random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");
    const RNNResult encoder = encode(in.source, in.source_length, embedding, c);
    out << "# 3. one mechanism, setup_memory(tile_batch(memory, K), tile_batch(lengths, K)) for beam search:\n";
    auto scope = variable_scope("decoder");
    BahdanauAttention attention(c.hidden_dim, encoder.outputs, in.source_length);
    (void)trainer_decoder(encoder, in.source_length, embedding, in.target, in.target_length, c, &attention);
    scope.reuse_variables();
    VariableAudit audit;
    const BeamSearchResult beams = generation_decoder(encoder, in.source_length, embedding, c, &attention);
    out << "generation created " << audit.created().size() << " variables, reused " << audit.reused().size()
        << ", warnings " << audit.warnings().size() << '\n';
    print_sorted_variables(out);
    // The best hypothesis' attention over the source: one row per output token, summing to 1,
    // exactly 0 past the source's length (row 1 has 2 tokens).
    const Tensor& a = beams.hypotheses[1][0].alignments;
    out << "best hypothesis of row 1: attention " << a.shape().to_string() << ", positions 2-3 all zero: ";
    bool zero = true;
    for (std::int64_t t = 0; t < a.shape()[0]; ++t) zero = zero && a.data<float>()[t * 4 + 2] == 0.0f && a.data<float>()[t * 4 + 3] == 0.0f;
    out << (zero ? "True" : "False") << '\n';
  }
}

}  // namespace varscope::article
