"""The playground shim's tf.contrib.seq2seq attention (issue 24 for issue 21), under node:
  node tools/tf1-python.mjs --wasm build/wasm/varscope_web.mjs --data tests/data --data web/playground \
      tests/playground/attention_checks.py          # CTest playground_attention
1. the six cases of tests/data/attention_golden.json (float64 code written from TF 1.15's equations,
   tools/gen-attention-golden.py; ragged memory lengths [5, 2, 1]): TF's variable names in creation
   order, the golden weights loaded with Variable.load (memory_layer/kernel too: the mechanism's keys are
   recomputed), then tf.nn.dynamic_rnn's outputs and every final-state field against the golden;
2. the drop-down's "(beyond the article)" attention entries run by the page's driver (_playground.run):
   the trap makes decoder/memory_layer_1 and the variable audit's warning names it, TF's names for the
   rest (docs/attention.md); the TF-correct way makes one memory layer, reused, and no warning;
3. an untiled memory refused with TF's texts (zero_state, BeamSearchDecoder), a tiled one decoding, the
   BeamSearchDecoder's final_state; alignment_history.stack() after a greedy decode; clone()'s checks;
   unsupported arguments raising NotImplementedError."""
import tensorflow as tf
import _playground
from checks import check, close, finish, flat, golden, load_golden_params, load_json, raises

seq2seq = tf.contrib.seq2seq
GOLDEN = load_json("/varscope/data/data/attention_golden.json")
BLOCKS = load_json("/varscope/data/playground/article-blocks.json")
TOL = 1e-5  # the native attention_test's worst error is 2.2e-6; wasm's float32 rounding differs a little


# ---------------------------------------------------------------- 1. the golden cases
def golden_case(c):
    cfg = c["config"]
    name = c["name"]
    with tf.Session(graph=tf.Graph()) as sess:
        memory = golden(c["memory"])
        lengths = golden(c["memory_sequence_length"], tf.int32)
        inputs = golden(c["inputs"])
        if cfg["mechanism"] == "luong":
            mechanism = seq2seq.LuongAttention(cfg["num_units"], memory, memory_sequence_length=lengths,
                                               scale=cfg["scale"])
        else:
            mechanism = seq2seq.BahdanauAttention(cfg["num_units"], memory, memory_sequence_length=lengths,
                                                  normalize=cfg["normalize"])
        if cfg["cell"] == "gru":
            inner = tf.nn.rnn_cell.GRUCell(cfg["cell_units"])
            cell_state = golden(c["initial_cell_state"]["cell_state"])
        else:
            inner = tf.nn.rnn_cell.BasicLSTMCell(cfg["cell_units"])
            cell_state = tf.nn.rnn_cell.LSTMStateTuple(golden(c["initial_cell_state"]["cell_state/c"]),
                                                       golden(c["initial_cell_state"]["cell_state/h"]))
        cell = seq2seq.AttentionWrapper(inner, mechanism, attention_layer_size=cfg["attention_layer_size"],
                                        output_attention=cfg["output_attention"])
        batch = memory.shape.as_list()[0]
        initial = cell.zero_state(batch, tf.float32).clone(cell_state=cell_state)
        tf.nn.dynamic_rnn(cell, inputs, initial_state=initial)  # builds every variable, under rnn/
        load_golden_params(c["params"], sess, f"{name}: ")
        outputs, state = tf.nn.dynamic_rnn(cell, inputs, initial_state=initial)
        outputs, state = sess.run([outputs, state])
        close(outputs, c["outputs"]["data"], TOL, f"{name}: outputs")
        want = c["final_state"]
        if cfg["cell"] == "gru":
            close(state.cell_state, want["cell_state"]["data"], TOL, f"{name}: final cell_state")
        else:
            close(state.cell_state.c, want["cell_state/c"]["data"], TOL, f"{name}: final cell_state.c")
            close(state.cell_state.h, want["cell_state/h"]["data"], TOL, f"{name}: final cell_state.h")
        for field in ("attention", "alignments", "attention_state"):
            close(getattr(state, field), want[field]["data"], TOL, f"{name}: final {field}")
        check(set(flat(state.time)) == {float(want["time"])}, f"{name}: final time {flat(state.time)[:1]} (TF: {want['time']})")
        # Masking: positions at or past a row's length get exactly 0.
        t_mem = memory.shape.as_list()[1]
        align = flat(state.alignments)
        lens = flat(c["memory_sequence_length"]["data"])
        padded = [align[b * t_mem + t] for b in range(batch) for t in range(lens[b], t_mem)]
        check(padded and all(a == 0.0 for a in padded), f"{name}: padded alignments are exactly 0")


for case in GOLDEN["cases"]:
    golden_case(case)


# ---------------------------------------------------------------- 2. the drop-down's attention entries
def entry(entry_id):
    return next(e for e in BLOCKS["entries"] if e["id"] == entry_id)


def run_entry(entry_id):
    result = _playground.run(entry(entry_id)["code"])
    check(result["exitCode"] == 0, f"{entry_id}: runs (exit {result['exitCode']})")
    return result["graphs"][-1]


trap = run_entry("beyond-attention-trap")
names = sorted(v["name"] for v in trap["variables"])
H = 256
want_names = sorted([
    "embedding:0",
    "encoder/cell/gates/kernel:0", "encoder/cell/gates/bias:0",
    "encoder/cell/candidate/kernel:0", "encoder/cell/candidate/bias:0",
    "decoder/memory_layer/kernel:0", "decoder/memory_layer_1/kernel:0",
    "decoder/decoder/attention_wrapper/cell/gates/kernel:0", "decoder/decoder/attention_wrapper/cell/gates/bias:0",
    "decoder/decoder/attention_wrapper/cell/candidate/kernel:0",
    "decoder/decoder/attention_wrapper/cell/candidate/bias:0",
    "decoder/decoder/attention_wrapper/bahdanau_attention/query_layer/kernel:0",
    "decoder/decoder/attention_wrapper/bahdanau_attention/attention_v:0",
    "decoder/decoder/attention_wrapper/attention_layer/kernel:0",
    "decoder/decoder/out_layer/kernel:0",
])
check(names == want_names, f"trap: TF's variable names (docs/attention.md) + memory_layer_1: {names}")
shapes = {v["name"]: v["shape"] for v in trap["variables"]}
check(shapes.get("decoder/decoder/attention_wrapper/cell/gates/kernel:0") == [256 + H + H, 2 * H] and
      shapes.get("decoder/decoder/attention_wrapper/attention_layer/kernel:0") == [H + H, H] and
      shapes.get("decoder/memory_layer_1/kernel:0") == [H, H],
      "trap: the cell's kernel is [E + L + D, 2D], attention_layer [D + Dm, L], memory_layer_1 [Dm, A]")
warned = [v["name"] for v in trap["variables"] if v["warned"]]
check(warned == ["decoder/memory_layer_1/kernel:0"], f"trap: the audit flags memory_layer_1 only: {warned}")
check(len(trap["warnings"]) == 1 and trap["warnings"][0].startswith(
    "decoder/memory_layer_1/kernel was created next to decoder/memory_layer/kernel"),
    f"trap: the audit's warning: {trap['warnings']}")

shared = run_entry("beyond-attention-shared")
memory_layers = [v for v in shared["variables"] if "memory_layer" in v["name"]]
check([v["name"] for v in memory_layers] == ["decoder/shared_attention_mechanism/memory_layer/kernel:0"] and
      memory_layers[0]["reused"] == 1, f"shared: one memory layer, reused once: {memory_layers}")
check(shared["warnings"] == [] and not any(v["warned"] for v in shared["variables"]), "shared: no audit warning")
check(all(v["reused"] >= 1 for v in shared["variables"] if v["name"].startswith("decoder/decoder/")),
      "shared: the beam-search decoder reuses every decoder/decoder/ variable")


# ---------------------------------------------------------------- 3. beam search, alignment_history, errors
B, K, T_MEM, V = 2, 3, 5, 7
with tf.Session(graph=tf.Graph()) as sess:
    memory = tf.random_uniform([B, T_MEM, 6], -1.0, 1.0)
    lengths = tf.constant([5, 3], dtype=tf.int32)
    embedding = tf.get_variable("embedding", [V, 4])
    layer = tf.layers.Dense(V, use_bias=False, name="out")
    mechanism = seq2seq.BahdanauAttention(4, memory, memory_sequence_length=lengths, normalize=True)
    cell = seq2seq.AttentionWrapper(tf.nn.rnn_cell.GRUCell(4), mechanism, attention_layer_size=4,
                                    alignment_history=True)
    raises(ValueError, lambda: cell.zero_state(B * K, tf.float32),
           starts="When calling zero_state of AttentionWrapper attention_wrapper: Non-matching batch sizes between "
                  "the memory (encoder output) and the requested batch size.", what="zero_state(B * K) untiled")
    untiled = seq2seq.tile_batch(cell.zero_state(B, tf.float32), K)
    raises(ValueError, lambda: seq2seq.BeamSearchDecoder(cell, embedding, tf.ones([B], tf.int32), 2, untiled, K,
                                                         output_layer=layer),
           contains="You may need to tile your memory input via the tf.contrib.seq2seq.tile_batch function with "
                    "argument multiple=beam_width", what="BeamSearchDecoder over an untiled memory")
    state0 = cell.zero_state(B, tf.float32)
    raises(ValueError, lambda: state0.clone(attention=tf.zeros([B, 5])), starts="AttentionWrapperState.clone: "
           "Invalid shape for tensor attention, expected [2, 4], got [2, 5].", what="clone with another shape")
    raises(ValueError, lambda: state0.clone(cell_stat=tf.zeros([B, 4])), contains="cell_stat",
           what="clone with an unknown field")

    greedy = seq2seq.BasicDecoder(cell, seq2seq.GreedyEmbeddingHelper(embedding, tf.ones([B], tf.int32), 2),
                                  state0, output_layer=layer)
    outputs, final, _ = seq2seq.dynamic_decode(greedy, maximum_iterations=4, scope="greedy")
    stacked = final.alignment_history.stack()
    steps = outputs.sample_id.shape.as_list()[1]
    check(stacked.shape.as_list() == [steps, B, T_MEM], f"alignment_history.stack() is [T, B, T_mem]: "
          f"{stacked.shape.as_list()}")
    rows = flat(stacked)
    sums = [sum(rows[i:i + T_MEM]) for i in range(0, len(rows), T_MEM)]
    check(all(abs(s - 1.0) < 1e-5 for s in sums) and all(rows[i * T_MEM + t] == 0.0 for i in range(1, len(sums), 2)
                                                         for t in (3, 4)),
          "alignment_history: every step's row sums to 1, row 1's padded positions are 0")
    close(rows[-B * T_MEM:], final.alignments, 0.0, "alignment_history's last step == final_state.alignments")
    _, rnn_final = tf.nn.dynamic_rnn(cell, tf.ones([B, 3, 4]), initial_state=state0)
    raises(NotImplementedError, lambda: rnn_final.alignment_history.stack(), contains="tf.nn.dynamic_rnn",
           what="alignment_history.stack() after dynamic_rnn")

    tiled_mechanism = seq2seq.BahdanauAttention(4, seq2seq.tile_batch(memory, K),
                                                memory_sequence_length=seq2seq.tile_batch(lengths, K), normalize=True)
    tiled_cell = seq2seq.AttentionWrapper(tf.nn.rnn_cell.GRUCell(4), tiled_mechanism, attention_layer_size=4)
    beam = seq2seq.BeamSearchDecoder(tiled_cell, embedding, tf.ones([B], tf.int32), 2,
                                     tiled_cell.zero_state(B * K, tf.float32), K, output_layer=layer)
    beam_out, beam_state, beam_lengths = seq2seq.dynamic_decode(beam, maximum_iterations=5, scope="beam")
    ids = beam_out.predicted_ids.shape.as_list()
    check(ids[0] == B and ids[2] == K and 1 <= ids[1] <= 5, f"beam search over the tiled memory: ids {ids}")
    check(beam_state.log_probs.shape.as_list() == [B, K] and flat(beam_state.lengths) == flat(beam_lengths),
          "BeamSearchDecoder final_state: log_probs [B, K], lengths == final_sequence_lengths")
    raises(NotImplementedError, lambda: beam_state.cell_state.h, contains="final_state.cell_state",
           what="final_state.cell_state of beam search")

    raises(NotImplementedError, lambda: seq2seq.AttentionWrapper(tf.nn.rnn_cell.GRUCell(4), [mechanism]),
           contains="list of attention mechanisms", what="AttentionWrapper([mechanisms])")
    raises(NotImplementedError, lambda: seq2seq.LuongAttention(4, memory, probability_fn=tf.nn.softmax),
           contains="LuongAttention(probability_fn=...)", what="LuongAttention(probability_fn=...)")
    raises(TypeError, lambda: seq2seq.AttentionWrapper(tf.nn.rnn_cell.GRUCell(4), "mechanism"),
           contains="attention_mechanism must be an AttentionMechanism", what="AttentionWrapper(mechanism=str)")

finish()
