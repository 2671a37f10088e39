// varscope.nmt implementation: tensorflow/nmt's model.py / model_helper.py / attention_model.py,
// function by function (the Python each one follows is quoted above it).
module;
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
module varscope.nmt;
import varscope;

namespace varscope::nmt {

void Hparams::check() const {
  auto bad = [](const std::string& what) { return InvalidArgumentError("nmt hparams: " + what); };
  if (unit_type != "lstm" && unit_type != "gru")
    throw bad("unit_type " + unit_type + " is not supported; use lstm or gru");
  if (encoder_type != "uni" && encoder_type != "bi")
    throw bad("encoder_type " + encoder_type + " is not supported; use uni or bi");
  if (num_units < 1 || num_layers < 1) throw bad("num_units and num_layers must be >= 1");
  // nmt.py: "For bi, num_encoder_layers %d should be even"
  if (encoder_type == "bi" && num_layers % 2 != 0)
    throw bad("For bi, num_encoder_layers " + std::to_string(num_layers) + " should be even");
  if (src_vocab_size < 1 || tgt_vocab_size < 1) throw bad("src_vocab_size and tgt_vocab_size must be >= 1");
  if (share_vocab && src_vocab_size != tgt_vocab_size)
    throw bad("share_vocab=True but the vocab sizes differ (" + std::to_string(src_vocab_size) + " vs " +
              std::to_string(tgt_vocab_size) + ")");
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw bad("dropout " + std::to_string(dropout) + " must be in [0, 1) (the keep probability is 1 - dropout)");
  if (embed_size < 0 || tgt_max_len_infer < 1) throw bad("embed_size must be >= 0 and tgt_max_len_infer >= 1");
  if (!attention.empty() && attention != "luong" && attention != "scaled_luong" && attention != "bahdanau" &&
      attention != "normed_bahdanau")
    throw bad("Unknown attention option " + attention + "; use luong, scaled_luong, bahdanau or normed_bahdanau");
  // model.py: "For non-attentional model, pass_hidden_state needs to be set to True"
  if (attention.empty() && !pass_hidden_state)
    throw bad("For non-attentional model, pass_hidden_state needs to be set to True");
}

// def _single_cell(unit_type, num_units, forget_bias, dropout, mode, residual_connection=False, ...):
//   dropout = dropout if mode == tf.contrib.learn.ModeKeys.TRAIN else 0.0
//   if unit_type == "lstm": single_cell = tf.contrib.rnn.BasicLSTMCell(num_units, forget_bias=forget_bias)
//   elif unit_type == "gru": single_cell = tf.contrib.rnn.GRUCell(num_units)
//   if dropout > 0.0: single_cell = tf.contrib.rnn.DropoutWrapper(cell=single_cell, input_keep_prob=(1.0 - dropout))
//   if residual_connection: single_cell = tf.contrib.rnn.ResidualWrapper(single_cell, residual_fn=residual_fn)
//
// def _cell_list(...):
//   for i in range(num_layers):
//     single_cell = _single_cell(..., residual_connection=(i >= num_layers - num_residual_layers), ...)
//
// def create_rnn_cell(...):
//   cell_list = _cell_list(...)
//   if len(cell_list) == 1: return cell_list[0]      # Single layer.
//   else: return tf.contrib.rnn.MultiRNNCell(cell_list)
RNNCellStack create_rnn_cell(const std::string& unit_type, std::int64_t num_units, std::int64_t num_layers,
                             std::int64_t num_residual_layers, float forget_bias, float dropout, Mode mode,
                             std::optional<std::uint64_t> dropout_seed) {
  if (mode != Mode::train) dropout = 0.0f;
  RNNCellStack s;
  std::vector<std::reference_wrapper<RNNCell>> cell_list;
  for (std::int64_t i = 0; i < num_layers; ++i) {
    std::unique_ptr<RNNCell> single_cell;
    if (unit_type == "lstm") single_cell = std::make_unique<BasicLSTMCell>(num_units, forget_bias);
    else single_cell = std::make_unique<GRUCell>(num_units);
    RNNCell* top = single_cell.get();
    s.parts.push_back(std::move(single_cell));
    if (dropout > 0.0f) {
      DropoutWrapperOptions o{.input_keep_prob = 1.0f - dropout};
      if (dropout_seed) o.seed = *dropout_seed + static_cast<std::uint64_t>(i);
      s.parts.push_back(std::make_unique<DropoutWrapper>(*top, o));
      top = s.parts.back().get();
    }
    if (i >= num_layers - num_residual_layers) {
      s.parts.push_back(std::make_unique<ResidualWrapper>(*top));
      top = s.parts.back().get();
    }
    cell_list.emplace_back(*top);
  }
  if (cell_list.size() == 1) {
    s.cell = &cell_list[0].get();
  } else {
    s.parts.push_back(std::make_unique<MultiRNNCell>(std::move(cell_list)));
    s.cell = s.parts.back().get();
  }
  return s;
}

Model::Model(Hparams hparams) : hp_(std::move(hparams)) { hp_.check(); }

namespace {

// BaseModel._set_params_initializer: init_op "uniform" →
// tf.get_variable_scope().set_initializer(tf.random_uniform_initializer(-init_weight, init_weight)).
VariableScopeGuard root_scope(const Hparams& hp, Reuse reuse) {
  return variable_scope(get_variable_scope(),
                        {.reuse = reuse, .initializer = random_uniform_initializer(-hp.init_weight, hp.init_weight)});
}

std::string model_scope(const Hparams& hp) { return hp.scope.value_or("dynamic_seq2seq"); }

// start_tokens = tf.fill([self.batch_size], tgt_sos_id)
Tensor start_tokens_for(const Tensor& source, const Hparams& hp) {
  const std::int64_t batch_size = source.shape()[0];
  return Tensor(Shape{batch_size}, std::vector<std::int32_t>(static_cast<std::size_t>(batch_size), hp.tgt_sos_id));
}

}  // namespace

// model_helper.create_emb_for_encoder_and_decoder(share_vocab, ..., scope=scope):
//   with tf.variable_scope(scope or "embeddings", dtype=dtype) as scope:
//     if share_vocab: embedding_encoder = _create_or_load_embed("embedding_share", ...)   # tf.get_variable
//                     embedding_decoder = embedding_encoder
//     else:
//       with tf.variable_scope("encoder"): embedding_encoder = ...("embedding_encoder", [src_V, src_embed_size])
//       with tf.variable_scope("decoder"): embedding_decoder = ...("embedding_decoder", [tgt_V, tgt_embed_size])
Model::Embeddings Model::init_embeddings() {
  const std::int64_t size = hp_.embed_size > 0 ? hp_.embed_size : hp_.num_units;
  auto scope = variable_scope(hp_.scope.value_or("embeddings"));
  if (hp_.share_vocab) {
    const Tensor shared = get_variable("embedding_share", {.shape = {hp_.src_vocab_size, size}}).value();
    return {shared, shared};
  }
  Embeddings e;
  {
    auto enc = variable_scope("encoder");
    e.encoder = get_variable("embedding_encoder", {.shape = {hp_.src_vocab_size, size}}).value();
  }
  {
    auto dec = variable_scope("decoder");
    e.decoder = get_variable("embedding_decoder", {.shape = {hp_.tgt_vocab_size, size}}).value();
  }
  return e;
}

// def _build_encoder(self, hparams):                       (model.Model; batch major here)
//   with tf.variable_scope("encoder") as scope:
//     encoder_emb_inp = tf.nn.embedding_lookup(self.embedding_encoder, source)
//     if hparams.encoder_type == "uni":
//       cell = self._build_encoder_cell(hparams, num_layers, num_residual_layers)
//       encoder_outputs, encoder_state = tf.nn.dynamic_rnn(cell, encoder_emb_inp, dtype=dtype,
//           sequence_length=iterator.source_sequence_length, time_major=self.time_major, swap_memory=True)
//     elif hparams.encoder_type == "bi":
//       num_bi_layers = int(num_layers / 2)
//       num_bi_residual_layers = int(num_residual_layers / 2)
//       encoder_outputs, bi_encoder_state = self._build_bidirectional_rnn(...)   # bidirectional_dynamic_rnn
//       encoder_outputs = tf.concat(bi_outputs, -1)
//       if num_bi_layers == 1:
//         encoder_state = bi_encoder_state
//       else:
//         encoder_state = []
//         for layer_id in range(num_bi_layers):
//           encoder_state.append(bi_encoder_state[0][layer_id])  # forward
//           encoder_state.append(bi_encoder_state[1][layer_id])  # backward
//         encoder_state = tuple(encoder_state)
Model::Encoded Model::build_encoder(const Embeddings& e, const Tensor& source, const Tensor& source_length, Mode mode,
                                    std::optional<std::uint64_t> dropout_seed) {
  // Distinct seeds per stack: encoder (fw) +0, bw +100, decoder +200 (train_logits).
  const auto seed_at = [&](std::uint64_t offset) -> std::optional<std::uint64_t> {
    if (!dropout_seed) return std::nullopt;
    return *dropout_seed * 1000 + offset;
  };
  auto scope = variable_scope("encoder");
  const Tensor encoder_emb_inp = embedding_lookup(e.encoder, source);
  if (hp_.encoder_type == "uni") {
    auto cell = create_rnn_cell(hp_.unit_type, hp_.num_units, hp_.num_layers, hp_.num_residual_layers(),
                                hp_.forget_bias, hp_.dropout, mode, seed_at(0));
    auto [outputs, state] = dynamic_rnn(*cell, encoder_emb_inp, {.sequence_length = source_length});
    return {outputs, state};
  }
  const std::int64_t num_bi_layers = hp_.num_layers / 2;
  const std::int64_t num_bi_residual_layers = hp_.num_residual_layers() / 2;
  auto fw_cell = create_rnn_cell(hp_.unit_type, hp_.num_units, num_bi_layers, num_bi_residual_layers, hp_.forget_bias,
                                 hp_.dropout, mode, seed_at(0));
  auto bw_cell = create_rnn_cell(hp_.unit_type, hp_.num_units, num_bi_layers, num_bi_residual_layers, hp_.forget_bias,
                                 hp_.dropout, mode, seed_at(100));
  auto [bi_outputs, bi_encoder_state] =
      bidirectional_dynamic_rnn(*fw_cell, *bw_cell, encoder_emb_inp, {.sequence_length = source_length});
  Encoded out;
  out.outputs = concat({bi_outputs.first, bi_outputs.second}, -1);
  if (num_bi_layers == 1) {
    out.state = bi_encoder_state;
  } else {
    std::vector<State> encoder_state;
    for (std::int64_t layer_id = 0; layer_id < num_bi_layers; ++layer_id) {
      encoder_state.push_back(bi_encoder_state[0][static_cast<std::size_t>(layer_id)]);  // forward
      encoder_state.push_back(bi_encoder_state[1][static_cast<std::size_t>(layer_id)]);  // backward
    }
    out.state = State::tuple(std::move(encoder_state));
  }
  return out;
}

// attention_model.py:
// def create_attention_mechanism(attention_option, num_units, memory, source_sequence_length, mode):
//   if attention_option == "luong": LuongAttention(num_units, memory, memory_sequence_length=...)
//   elif "scaled_luong": LuongAttention(..., scale=True)
//   elif "bahdanau": BahdanauAttention(...)
//   elif "normed_bahdanau": BahdanauAttention(..., normalize=True)
//
// def _build_decoder_cell(self, hparams, encoder_outputs, encoder_state, source_sequence_length):
//   memory = encoder_outputs (batch major)
//   if INFER and infer_mode == "beam_search":
//     memory, source_sequence_length, encoder_state = tile_batch(..., multiplier=beam_width)
//     batch_size = self.batch_size * beam_width
//   attention_mechanism = self.attention_mechanism_fn(attention_option, num_units, memory, source_sequence_length, mode)
//   cell = model_helper.create_rnn_cell(...)
//   alignment_history = (self.mode == INFER and infer_mode != "beam_search")
//   cell = tf.contrib.seq2seq.AttentionWrapper(cell, attention_mechanism, attention_layer_size=num_units,
//       alignment_history=alignment_history, output_attention=hparams.output_attention, name="attention")
//   if hparams.pass_hidden_state:
//     decoder_initial_state = cell.zero_state(batch_size, dtype).clone(cell_state=encoder_state)
//   else: decoder_initial_state = cell.zero_state(batch_size, dtype)
//
// It runs inside `with tf.variable_scope("decoder") as decoder_scope`, so memory_layer is
// <model>/decoder/memory_layer. Here the scope "decoder" is opened for the mechanism and closed
// again (dynamic_decode re-enters it by name); closing it resets its sub-scopes' counters, so the
// inference graph's mechanism finds memory_layer again under reuse.
Model::DecoderCell Model::build_decoder_cell(const Encoded& enc, const Tensor& source_length, Mode mode,
                                             bool greedy_infer, std::int64_t beam_width,
                                             std::optional<std::uint64_t> dropout_seed) {
  DecoderCell d;
  d.stack = create_rnn_cell(hp_.unit_type, hp_.num_units, hp_.num_layers, hp_.num_residual_layers(), hp_.forget_bias,
                            hp_.dropout, mode, dropout_seed);
  const bool beam = beam_width > 0;
  if (hp_.attention.empty()) {
    d.initial_state = beam ? tile_batch(enc.state, beam_width) : enc.state;
    return d;
  }
  const Tensor memory = beam ? tile_batch(enc.outputs, beam_width) : enc.outputs;
  const Tensor lengths = beam ? tile_batch(source_length, beam_width) : source_length;
  const State encoder_state = beam ? tile_batch(enc.state, beam_width) : enc.state;
  {
    auto decoder_scope = variable_scope("decoder");
    const bool scaled = hp_.attention == "scaled_luong" || hp_.attention == "normed_bahdanau";
    if (hp_.attention == "luong" || hp_.attention == "scaled_luong")
      d.mechanism = std::make_unique<LuongAttention>(hp_.num_units, memory, lengths, scaled);
    else
      d.mechanism = std::make_unique<BahdanauAttention>(hp_.num_units, memory, lengths, scaled);
  }
  d.wrapper = std::make_unique<AttentionWrapper>(*d.stack, *d.mechanism,
                                                 AttentionWrapperOptions{.attention_layer_size = hp_.num_units,
                                                                         .alignment_history = greedy_infer,
                                                                         .output_attention = hp_.output_attention,
                                                                         .name = "attention"});
  const std::int64_t batch_size = memory.shape()[0];
  const State zero = d.wrapper->zero_state(batch_size);
  d.initial_state = hp_.pass_hidden_state
                        ? State(AttentionWrapperState::from(zero).clone({.cell_state = encoder_state}))
                        : zero;
  return d;
}

// build_graph: with tf.variable_scope(scope or "dynamic_seq2seq"):
//   encoder_outputs, encoder_state = self._build_encoder(hparams)
//   logits, ... = self._build_decoder(encoder_outputs, encoder_state, hparams)
//
// def _build_decoder(self, encoder_outputs, encoder_state, hparams):
//   with tf.variable_scope("decoder") as decoder_scope:
//     cell, decoder_initial_state = self._build_decoder_cell(...)   # create_rnn_cell; encoder_state
//     if self.mode != INFER:
//       decoder_emb_inp = tf.nn.embedding_lookup(self.embedding_decoder, target_input)
//       helper = tf.contrib.seq2seq.TrainingHelper(decoder_emb_inp, target_sequence_length)
//       my_decoder = tf.contrib.seq2seq.BasicDecoder(cell, helper, decoder_initial_state)
//       outputs, final_context_state, _ = tf.contrib.seq2seq.dynamic_decode(my_decoder, scope=decoder_scope)
//       logits = self.output_layer(outputs.rnn_output)
//
// The output layer is tf.layers.Dense(tgt_vocab_size, use_bias=False, name="output_projection"),
// named where it is first called: dynamic_seq2seq/decoder/output_projection/kernel.
// varscope's dynamic_decode takes the decoder scope by name: called from dynamic_seq2seq with
// scope "decoder" it enters dynamic_seq2seq/decoder, the scope nmt passes as an object.
Tensor Model::train_logits(const Tensor& source, const Tensor& source_length, const Tensor& target_input,
                           const Tensor& target_length, std::optional<std::uint64_t> dropout_seed) {
  auto root = root_scope(hp_, Reuse::None);
  const Embeddings e = init_embeddings();
  auto model = variable_scope(model_scope(hp_));
  const Encoded enc = build_encoder(e, source, source_length, Mode::train, dropout_seed);
  Dense output_layer(hp_.tgt_vocab_size, {.use_bias = false, .name = "output_projection"});
  const DecoderCell cell = build_decoder_cell(
      enc, source_length, Mode::train, false, 0,
      dropout_seed ? std::optional<std::uint64_t>(*dropout_seed * 1000 + 200) : std::nullopt);
  const Tensor decoder_emb_inp = embedding_lookup(e.decoder, target_input);
  TrainingHelper helper(decoder_emb_inp, target_length);
  BasicDecoder my_decoder(cell.cell(), helper, cell.initial_state);
  auto outputs = dynamic_decode(my_decoder, {.scope = "decoder"});
  auto decoder_scope = variable_scope("decoder");
  return output_layer(outputs.rnn_output);
}

//     else:  # INFER, infer_mode == "beam_search"
//       decoder_initial_state = tf.contrib.seq2seq.tile_batch(encoder_state, multiplier=beam_width)
//       my_decoder = tf.contrib.seq2seq.BeamSearchDecoder(cell=cell, embedding=self.embedding_decoder,
//           start_tokens=start_tokens, end_token=end_token, initial_state=decoder_initial_state,
//           beam_width=beam_width, output_layer=self.output_layer, length_penalty_weight=...)
//       outputs, final_context_state, _ = tf.contrib.seq2seq.dynamic_decode(my_decoder,
//           maximum_iterations=maximum_iterations, scope=decoder_scope)
BeamSearchResult Model::beam_search(const Tensor& source, const Tensor& source_length, std::int64_t beam_width,
                                    float length_penalty_weight, std::int64_t num_hypotheses) {
  auto root = root_scope(hp_, Reuse::True);
  const Embeddings e = init_embeddings();
  auto model = variable_scope(model_scope(hp_));
  const Encoded enc = build_encoder(e, source, source_length, Mode::infer, std::nullopt);
  Dense output_layer(hp_.tgt_vocab_size, {.use_bias = false, .name = "output_projection"});
  // INFER: no DropoutWrapper; memory, lengths and state tiled
  const DecoderCell cell = build_decoder_cell(enc, source_length, Mode::infer, false, beam_width, std::nullopt);
  const Tensor start_tokens = start_tokens_for(source, hp_);
  BeamSearchDecoder my_decoder(cell.cell(), e.decoder, start_tokens, hp_.tgt_eos_id, cell.initial_state,
                               {.beam_width = beam_width,
                                .length_penalty_weight = length_penalty_weight,
                                .num_hypotheses = num_hypotheses},
                               output_layer);
  return dynamic_decode(my_decoder, {.maximum_iterations = hp_.tgt_max_len_infer, .scope = "decoder"});
}

//     else:  # INFER, infer_mode == "greedy"
//       helper = tf.contrib.seq2seq.GreedyEmbeddingHelper(self.embedding_decoder, start_tokens, end_token)
//       my_decoder = tf.contrib.seq2seq.BasicDecoder(cell, helper, decoder_initial_state,
//           output_layer=self.output_layer)  # applied per timestep
BasicDecodeResult Model::greedy(const Tensor& source, const Tensor& source_length) {
  auto root = root_scope(hp_, Reuse::True);
  const Embeddings e = init_embeddings();
  auto model = variable_scope(model_scope(hp_));
  const Encoded enc = build_encoder(e, source, source_length, Mode::infer, std::nullopt);
  Dense output_layer(hp_.tgt_vocab_size, {.use_bias = false, .name = "output_projection"});
  // INFER: no DropoutWrapper; with attention, alignment_history on
  const DecoderCell cell = build_decoder_cell(enc, source_length, Mode::infer, true, 0, std::nullopt);
  const Tensor start_tokens = start_tokens_for(source, hp_);
  GreedyEmbeddingHelper helper(e.decoder, start_tokens, hp_.tgt_eos_id);
  BasicDecoder my_decoder(cell.cell(), helper, cell.initial_state, output_layer);
  return dynamic_decode(my_decoder, {.maximum_iterations = hp_.tgt_max_len_infer, .scope = "decoder"});
}

DecodingResult Model::decode(const Tensor& source, const Tensor& source_length, DecodingOptions options) {
  auto root = root_scope(hp_, Reuse::True);
  const Embeddings e = init_embeddings();
  auto model = variable_scope(model_scope(hp_));
  const Encoded enc = build_encoder(e, source, source_length, Mode::infer, std::nullopt);
  Dense output_layer(hp_.tgt_vocab_size, {.use_bias = false, .name = "output_projection"});
  auto cell = create_rnn_cell(hp_.unit_type, hp_.num_units, hp_.num_layers, hp_.num_residual_layers(),
                              hp_.forget_bias, hp_.dropout, Mode::infer);  // INFER: no DropoutWrapper
  if (!options.maximum_iterations) options.maximum_iterations = hp_.tgt_max_len_infer;
  options.scope = "decoder";
  return varscope::decode(*cell, e.decoder, start_tokens_for(source, hp_), hp_.tgt_eos_id, enc.state, options,
                          output_layer);
}

}  // namespace varscope::nmt
