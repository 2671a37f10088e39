// Learn to output the previous token: a GRU over embeddings, a Dense to logits, Adam.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>
import varscope;
using namespace varscope;

constexpr std::int64_t kVocab = 8, kBatch = 32, kTime = 6;

struct Model {  // the layers, built once, outside the loss function
  Variable embedding = get_variable("embedding", {.shape = {kVocab, 8}});
  GRUCell cell{32, "encoder"};
  Dense logits{kVocab, {.name = "logits"}};
  Model() { cell.build(8); logits.build(32); }  // every variable now, as TF's Layer.build
  Tensor operator()(const Tensor& ids) {
    return logits(dynamic_rnn(cell, embedding_lookup(embedding.value(), ids)).outputs);
  }
};

struct Batch {
  Tensor ids, targets, weights;
};
Batch make_batch(std::mt19937& rng) {  // targets[t] = ids[t - 1] (0 at t = 0)
  std::vector<std::int32_t> ids(kBatch * kTime), prev(kBatch * kTime, 0);
  for (std::size_t j = 0; j < ids.size(); ++j) ids[j] = std::int32_t(rng() % kVocab);
  for (std::size_t j = 0; j < ids.size(); ++j) prev[j] = j % kTime ? ids[j - 1] : 0;
  return {Tensor({kBatch, kTime}, ids), Tensor({kBatch, kTime}, prev),
          Tensor({kBatch, kTime}, std::vector<float>(kBatch * kTime, 1.0f))};
}

int main(int argc, char** argv) {
  Graph graph(/*seed=*/1);
  auto use = graph.as_default();
  Model model;
  AdamOptimizer opt({.learning_rate = 0.02f});
  auto step = get_or_create_global_step();
  std::mt19937 rng(7);
  float first = 0, last = 0;
  for (int i = 0; i < 150; ++i) {
    Batch b = make_batch(rng);
    auto loss_fn = [&] { return sequence_loss(model(b.ids), b.targets, b.weights); };
    auto [grads, norm] = clip_by_global_norm(opt.compute_gradients(loss_fn), 5.0f);
    opt.apply_gradients(grads, step);
    last = opt.last_loss().item<float>();
    if (i == 0) first = last;
    if (i % 50 == 0) std::printf("step %d  loss %.4f  grad norm %.3f\n", i, last, norm);
  }
  std::string path = argc > 1 ? argv[1] : "model.json";
  save(graph, path);
  auto ckpt = read_checkpoint(path);
  std::printf("loss %.4f -> %.4f; %s %s\n", first, last, ckpt.at("logits/kernel").name.c_str(),
              ckpt.at("logits/kernel").shape.to_string().c_str());
  return last < first / 2 ? 0 : 1;  // it learned
}
