# Beyond the article (not from it): the playground's attention entries (issue 21, "The playground").
# tools/gen-playground-blocks.py makes two drop-down entries from this file: [attention-common] followed
# by [attention-trap], and [attention-common] followed by [attention-shared]. The article's Seq2Seq with
# Bahdanau attention: TF 1.x creates memory_layer/kernel when an attention mechanism OBJECT is constructed,
# so a second mechanism for the beam-search decoder makes decoder/memory_layer_1 (the trap; the page shows
# the variable audit's warning), unless both are built in one named scope, the second under reuse=True
# (TF's fix, tensorflow#11904). Run the whole file: `node tools/tf1-python.mjs tests/playground/beyond_attention.py`.
import tensorflow as tf
# [attention-common]
# Beyond the article: its Seq2Seq with Bahdanau attention over the encoder's outputs.
import numpy as np

vocab_size = 3000
embedding_dim = 256
hidden_dim = 256
batch_size = 2
beam_width = 2
max_len = 8
decoder_scope = 'decoder'
cell_name = 'cell'
out_layer_name = 'out_layer'

def create_encoder(inputs, inputs_length, embedding):
    inputs_embedded = tf.nn.embedding_lookup(embedding, inputs)
    cell = tf.nn.rnn_cell.GRUCell(hidden_dim, name=cell_name)
    outputs, final_state = tf.nn.dynamic_rnn(
        cell=cell,
        inputs=inputs_embedded,
        sequence_length=inputs_length,
        dtype=tf.float32,
        scope='encoder'
    )
    return outputs, final_state

def create_trainer_decoder(attention_cell, thought_vector, embedding, inputs, inputs_length):
    output_layer = tf.layers.Dense(vocab_size, use_bias=False, name=out_layer_name)
    inputs_embedded = tf.nn.embedding_lookup(embedding, inputs)
    helper = tf.contrib.seq2seq.TrainingHelper(
        inputs=inputs_embedded,
        sequence_length=inputs_length,
    )
    initial_state = attention_cell.zero_state(batch_size, tf.float32).clone(cell_state=thought_vector)
    decoder = tf.contrib.seq2seq.BasicDecoder(attention_cell, helper, initial_state, output_layer=output_layer)
    outputs, _, _ = tf.contrib.seq2seq.dynamic_decode(decoder, swap_memory=True, scope=decoder_scope)
    return outputs.rnn_output

def create_generation_decoder(attention_cell, thought_vector, embedding):
    output_layer = tf.layers.Dense(vocab_size, use_bias=False, name=out_layer_name)
    start_tokens = tf.ones([batch_size], tf.int32) # BOS==1
    end_token = 2 # EOS==2
    tiled_thought_vector = tf.contrib.seq2seq.tile_batch(thought_vector, multiplier=beam_width)
    initial_state = attention_cell.zero_state(batch_size * beam_width, tf.float32).clone(
        cell_state=tiled_thought_vector)
    decoder = tf.contrib.seq2seq.BeamSearchDecoder(
        cell=attention_cell,
        embedding=embedding,
        start_tokens=start_tokens,
        end_token=end_token,
        initial_state=initial_state,
        beam_width=beam_width,
        output_layer=output_layer,
    )
    decoder_outputs, _, _ = tf.contrib.seq2seq.dynamic_decode(
        decoder=decoder, maximum_iterations=max_len, scope=decoder_scope
    )
    return decoder_outputs.predicted_ids

def build_inputs():
    # The article's inputs (the second source row shorter), the embedding, and the encoder over them.
    encoder_inputs = tf.ones(shape=[batch_size, max_len], dtype=tf.int32)
    encoder_inputs_length = tf.constant([max_len, 5], dtype=tf.int32)
    decoder_inputs = tf.ones(shape=[batch_size, max_len], dtype=tf.int32)
    decoder_inputs_length = tf.ones(shape=[batch_size], dtype=tf.int32) * max_len
    embedding = tf.Variable(tf.random_uniform([vocab_size, embedding_dim], -1.0, 1.0), dtype=tf.float32, name='embedding')
    memory, thought_vector = create_encoder(encoder_inputs, encoder_inputs_length, embedding)
    return embedding, memory, encoder_inputs_length, thought_vector, decoder_inputs, decoder_inputs_length

def run_and_show(sess, train_outputs, generation_outputs):
    sess.run(tf.global_variables_initializer())
    train_result, generation_result = sess.run([train_outputs, generation_outputs])
    print(np.argmax(train_result, axis=-1).shape, generation_result[:,:,0].shape)
    for v in tf.global_variables():
        if 'memory_layer' in v.name:
            print(v.name, v.shape)

# [attention-trap]
# The usual TF 1.x code: one attention mechanism per decoder. The beam-search decoder's mechanism, over
# the tiled memory, creates decoder/memory_layer_1/kernel: a NEW memory layer, never trained. (Under the
# article's scope.reuse_variables() this is TF's ValueError "Variable decoder/memory_layer_1/kernel does
# not exist"; under AUTO_REUSE TF goes on silently.) See the variable audit's warning in the variables panel.
def create_attention_cell(memory, memory_length):
    attention = tf.contrib.seq2seq.BahdanauAttention(hidden_dim, memory, memory_sequence_length=memory_length)
    cell = tf.nn.rnn_cell.GRUCell(hidden_dim, name=cell_name)
    return tf.contrib.seq2seq.AttentionWrapper(cell, attention, attention_layer_size=hidden_dim)

with tf.Session(graph=tf.Graph()) as sess:
    embedding, memory, encoder_inputs_length, thought_vector, decoder_inputs, decoder_inputs_length = build_inputs()
    with tf.variable_scope('decoder', reuse=tf.AUTO_REUSE):
        train_cell = create_attention_cell(memory, encoder_inputs_length)
        train_outputs = create_trainer_decoder(
            train_cell, thought_vector, embedding, decoder_inputs, decoder_inputs_length)
        tiled_memory = tf.contrib.seq2seq.tile_batch(memory, multiplier=beam_width)
        tiled_length = tf.contrib.seq2seq.tile_batch(encoder_inputs_length, multiplier=beam_width)
        generation_cell = create_attention_cell(tiled_memory, tiled_length)  # memory_layer_1
        generation_outputs = create_generation_decoder(generation_cell, thought_vector, embedding)
    run_and_show(sess, train_outputs, generation_outputs)

# [attention-shared]
# TF's fix (tensorflow#11904): build each decoder's mechanism in the same named scope, the beam-search
# one under reuse=True. Leaving a scope opened by name restarts its sub-scopes' names, so the second
# mechanism asks for shared_attention_mechanism/memory_layer again and REUSES it: one memory layer.
def create_attention_cell(memory, memory_length, reuse=None):
    with tf.variable_scope('shared_attention_mechanism', reuse=reuse):
        attention = tf.contrib.seq2seq.BahdanauAttention(hidden_dim, memory, memory_sequence_length=memory_length)
    cell = tf.nn.rnn_cell.GRUCell(hidden_dim, name=cell_name)
    return tf.contrib.seq2seq.AttentionWrapper(cell, attention, attention_layer_size=hidden_dim)

with tf.Session(graph=tf.Graph()) as sess:
    embedding, memory, encoder_inputs_length, thought_vector, decoder_inputs, decoder_inputs_length = build_inputs()
    with tf.variable_scope('decoder') as scope:
        train_cell = create_attention_cell(memory, encoder_inputs_length)
        train_outputs = create_trainer_decoder(
            train_cell, thought_vector, embedding, decoder_inputs, decoder_inputs_length)
        scope.reuse_variables()
        tiled_memory = tf.contrib.seq2seq.tile_batch(memory, multiplier=beam_width)
        tiled_length = tf.contrib.seq2seq.tile_batch(encoder_inputs_length, multiplier=beam_width)
        generation_cell = create_attention_cell(tiled_memory, tiled_length, reuse=True)
        generation_outputs = create_generation_decoder(generation_cell, thought_vector, embedding)
    run_and_show(sess, train_outputs, generation_outputs)
