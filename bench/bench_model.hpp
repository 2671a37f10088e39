// The benchmark model shared by bench/gru_bench.cpp (native, Google Benchmark)
// and bench/wasm_bench.cpp (WebAssembly): embedding, a TF-layout GRU encoder,
// a GRU decoder with an output projection, fixed source/target ids.
// Include after `import varscope;`.
#pragma once
#include <cstdint>
#include <vector>

namespace bench_model {

struct Config {
  std::int64_t vocab, emb, hidden, batch, len;
};
inline constexpr Config kSeed{3000, 256, 256, 2, 8};
inline constexpr Config kMedium{8000, 256, 512, 16, 30};
inline constexpr Config kLarge{32000, 512, 1024, 32, 50};

// The FLOP model docs/benchmarks.md quotes (products only, 2 per multiply-add): a GRU step
// is 2·(E+H)·3H per row (gates and candidate, input and recurrent halves), the output
// projection 2·H·V per row. Beam search counts every one of its B·K rows at every step.
inline double gru_flops(const Config& c, double rows) {
  return rows * 2.0 * double(c.emb + c.hidden) * 3.0 * double(c.hidden);
}
inline double projection_flops(const Config& c, double rows) { return rows * 2.0 * double(c.hidden) * double(c.vocab); }

inline varscope::Tensor ids(const Config& c, std::int32_t salt) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(c.batch * c.len));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int32_t>((i * 7919 + salt) % c.vocab);
  return varscope::Tensor(varscope::Shape{c.batch, c.len}, std::move(v));
}

struct Model {
  varscope::Graph graph{1};
  varscope::DefaultGraphGuard use{graph};
  varscope::Tensor embedding;
  varscope::GRUCell encoder_cell;
  varscope::GRUCell decoder_cell;
  varscope::Dense out_layer;
  varscope::Tensor src, tgt;

  explicit Model(const Config& c)
      : embedding(varscope::random_uniform({c.vocab, c.emb}, -1.0f, 1.0f)),
        encoder_cell(c.hidden, "cell"),
        decoder_cell(c.hidden, "cell"),
        out_layer(c.vocab, {.use_bias = false, .name = "out_layer"}),
        src(ids(c, 1)),
        tgt(ids(c, 2)) {}

  varscope::Tensor encode() {
    return varscope::dynamic_rnn(encoder_cell, varscope::embedding_lookup(embedding, src), {.scope = "encoder"})
        .final_state;
  }
  varscope::Tensor decode_teacher_forced(const varscope::Tensor& state) {
    auto outputs = varscope::dynamic_rnn(decoder_cell, varscope::embedding_lookup(embedding, tgt),
                                         {.initial_state = state, .scope = "decoder"})
                       .outputs;
    return out_layer(outputs);  // [B, T, V] logits
  }
};

}  // namespace bench_model
