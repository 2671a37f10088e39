// The training API as README's Training section uses it (README's block is the program,
// compiled and run as training_example; this is the contract of each piece): Tensor::item<T>, clip_by_global_norm
// over compute_gradients' (gradient, variable) pairs, the AlreadyExistsError fix named
// inside an optimizer's loss function, Layer::build without a forward pass (Dense,
// GRUCell, ResetAfterGRUCell: names, and later calls create nothing), and checkpoint
// entries by name (Checkpoint::at / find, CheckpointEntry(name, tensor)).
#define BOOST_TEST_MODULE training_api
#include "support/boost_test.hpp"
#include "support/error_message.hpp"  // message_of<E>(f)

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

import varscope;

using namespace varscope;

namespace {

struct Fresh {
  Graph graph{3};
  DefaultGraphGuard use{graph};
};

std::vector<std::string> names(const std::vector<Variable>& vars) {
  std::vector<std::string> out;
  for (const auto& v : vars) out.push_back(v.op_name());
  return out;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(item)

BOOST_AUTO_TEST_CASE(one_element_of_any_shape) {
  BOOST_TEST(Tensor(Shape{}, std::vector<float>{2.5f}).item<float>() == 2.5f);
  BOOST_TEST(Tensor(Shape{1, 1}, std::vector<float>{-0.75f}).item<float>() == -0.75f);
  BOOST_TEST(Tensor(Shape{1}, std::vector<std::int32_t>{42}).item<std::int32_t>() == 42);
}

BOOST_AUTO_TEST_CASE(several_values_name_the_shape) {
  const Tensor t(Shape{2, 3}, std::vector<float>(6, 1.0f));
  const std::string m = message_of<InvalidArgumentError>([&] { (void)t.item<float>(); });
  BOOST_TEST(has(m, "shape [2, 3] (6 values)"), m);
  BOOST_TEST(has(m, "data<T>()"), m);
  const Tensor empty(DType::float32, Shape{0});
  BOOST_TEST(has(message_of<InvalidArgumentError>([&] { (void)empty.item<float>(); }), "(0 values)"));
}

BOOST_AUTO_TEST_CASE(wrong_dtype) {
  const Tensor t(Shape{}, std::vector<float>{1.0f});
  const std::string m = message_of<DTypeMismatchError>([&] { (void)t.item<std::int32_t>(); });
  BOOST_TEST(has(m, "accessed as int32 but it holds float32"), m);
}

BOOST_AUTO_TEST_CASE(minimize_returns_the_loss) {
  Fresh f;
  auto w = get_variable("w", {.shape = {2}, .initializer = constant_initializer(3.0)});
  GradientDescentOptimizer opt(0.1f);
  // loss = sum(w * w) = 18 before the step.
  const float loss = opt.minimize([&] { return reduce_sum(multiply(w.value(), w.value()), 0); }).item<float>();
  BOOST_TEST(loss == 18.0f);
  BOOST_TEST(w.value().data<float>()[0] == 3.0f - 0.1f * 6.0f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(clip_grads_and_vars)

BOOST_AUTO_TEST_CASE(clips_together_and_keeps_the_pairs) {
  Fresh f;
  auto a = get_variable("a", {.shape = {2}});
  auto b = get_variable("b", {.shape = {1}});
  auto c = get_variable("c", {.shape = {3}});
  // Global norm sqrt(3^2 + 4^2 + 12^2) = 13; clip_norm 6.5 halves every gradient.
  const GradsAndVars gv = {{Tensor(Shape{2}, std::vector<float>{3, 4}), a},
                           {std::nullopt, b},
                           {Tensor(Shape{3}, std::vector<float>{0, 0, 12}), c}};
  const auto [clipped, norm] = clip_by_global_norm(gv, 6.5f);
  BOOST_TEST(norm == 13.0f);
  BOOST_REQUIRE(clipped.size() == 3u);
  BOOST_TEST(clipped[0].second.op_name() == "a");
  BOOST_TEST(!clipped[1].first.has_value());
  BOOST_TEST(clipped[1].second.op_name() == "b");
  BOOST_TEST(clipped[2].second.op_name() == "c");
  BOOST_TEST(clipped[0].first->data<float>()[0] == 1.5f);
  BOOST_TEST(clipped[0].first->data<float>()[1] == 2.0f);
  BOOST_TEST(clipped[2].first->data<float>()[2] == 6.0f);
  // The same numbers as the tensor-list overload.
  const auto list = clip_by_global_norm({gv[0].first, gv[1].first, gv[2].first}, 6.5f);
  BOOST_TEST(list.global_norm == norm);
  BOOST_TEST(list.clipped[2]->bitwise_equal(*clipped[2].first));
  // Under the clip norm: unchanged.
  const auto loose = clip_by_global_norm(gv, 100.0f);
  BOOST_TEST(loose.grads_and_vars[0].first->bitwise_equal(*gv[0].first));
  BOOST_TEST(loose.global_norm == 13.0f);
  BOOST_TEST(has(message_of<InvalidArgumentError>([&] { (void)clip_by_global_norm(gv, 0.0f); }), "must be > 0"));
}

BOOST_AUTO_TEST_CASE(one_line_between_compute_and_apply) {
  Fresh f;
  auto w = get_variable("w", {.shape = {2}, .initializer = constant_initializer(0.0)});
  const Tensor target(Shape{2}, std::vector<float>{3, 4});
  GradientDescentOptimizer opt(1.0f);
  auto step = get_or_create_global_step();
  // loss = sum(w * target): gradient = target, norm 5; clipped to norm 1: [0.6, 0.8].
  auto loss_fn = [&] { return reduce_sum(multiply(w.value(), target), 0); };
  auto [grads, norm] = clip_by_global_norm(opt.compute_gradients(loss_fn), 1.0f);
  opt.apply_gradients(grads, step);
  BOOST_TEST(norm == 5.0f);
  BOOST_TEST(w.value().data<float>()[0] == -0.6f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(w.value().data<float>()[1] == -0.8f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(step.value().item<std::int32_t>() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(layers_inside_the_loss_function)

BOOST_AUTO_TEST_CASE(step_two_names_the_fix) {
  Fresh f;
  const Tensor x(Shape{2, 3}, std::vector<float>(6, 1.0f));
  AdamOptimizer opt;
  auto loss_fn = [&] {
    Dense out(1, {.name = "out"});  // the mistake: a new layer object on every step
    return reduce_sum(reshape(out(x), Shape{-1}), 0);
  };
  (void)opt.minimize(loss_fn);  // step 1 creates out/kernel, out/bias
  const std::string m = message_of<AlreadyExistsError>([&] { (void)opt.minimize(loss_fn); });
  BOOST_TEST(has(m, "Variable out/kernel already exists"), m);
  BOOST_TEST(has(m, "inside the loss function of an optimizer (minimize / compute_gradients)"), m);
  BOOST_TEST(has(m, "construct the layer objects once, outside the loss function (hold them in a model struct"), m);
  // Through compute_gradients too.
  BOOST_TEST(has(message_of<AlreadyExistsError>([&] { (void)opt.compute_gradients(loss_fn); }), "model struct"));
  // Outside an optimizer (the flag is reset after the throw): TF's message only.
  const std::string outside = message_of<AlreadyExistsError>([&] { (void)loss_fn(); });
  BOOST_TEST(has(outside, "Variable out/kernel already exists"), outside);
  BOOST_TEST(!has(outside, "loss function"), outside);
}

BOOST_AUTO_TEST_CASE(an_unnamed_layer_gets_new_variables_every_step) {
  // What README warns about: no error, but step 2 trains fresh variables.
  Fresh f;
  const Tensor x(Shape{2, 3}, std::vector<float>(6, 1.0f));
  GradientDescentOptimizer opt(0.1f);
  auto loss_fn = [&] {
    Dense out(1);
    return reduce_sum(reshape(out(x), Shape{-1}), 0);
  };
  (void)opt.minimize(loss_fn);
  (void)opt.minimize(loss_fn);
  BOOST_TEST(names(trainable_variables()) ==
                 (std::vector<std::string>{"dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_model_struct_trains) {
  Fresh f;
  struct Model {
    Dense out{1, {.name = "out"}};
  } model;
  const Tensor x(Shape{2, 3}, std::vector<float>(6, 1.0f));
  AdamOptimizer opt;
  auto loss_fn = [&] { return reduce_sum(reshape(model.out(x), Shape{-1}), 0); };
  for (int i = 0; i < 3; ++i) (void)opt.minimize(loss_fn);
  BOOST_TEST(names(trainable_variables()) == (std::vector<std::string>{"out/kernel", "out/bias"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(build_without_a_forward_pass)

BOOST_AUTO_TEST_CASE(dense) {
  Fresh f;
  Dense d(4);
  {
    auto scope = variable_scope("decoder");
    d.build(3);
  }
  BOOST_TEST(d.built());
  BOOST_TEST(names(global_variables()) == (std::vector<std::string>{"decoder/dense/kernel", "decoder/dense/bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(d.kernel().shape() == (Shape{3, 4}));
  // A later call, in another scope, uses the built variables: nothing is created.
  VariableAudit audit;
  const Tensor y = d(Tensor(Shape{2, 3}, std::vector<float>(6, 1.0f)));
  BOOST_TEST(audit.created().empty(), audit.summary());
  BOOST_TEST(global_variables().size() == 2u);
  BOOST_TEST(y.shape() == (Shape{2, 4}));
  BOOST_TEST(d.scope().name() == "decoder/dense");
  // Built for 3 inputs: 5 is an error naming both.
  const std::string m =
      message_of<ShapeMismatchError>([&] { (void)d(Tensor(Shape{1, 5}, std::vector<float>(5, 1.0f))); });
  BOOST_TEST(has(m, "built for 3 inputs but got 5"), m);
}

BOOST_AUTO_TEST_CASE(dense_build_equals_first_call) {
  // The names and values a first call would have created (same graph seed, same scope).
  const Tensor x(Shape{1, 3}, std::vector<float>{1, 2, 3});
  Tensor built_out, called_out;
  std::vector<std::string> built_names, called_names;
  {
    Fresh f;
    Dense d(2);
    auto scope = variable_scope("m");
    d.build(3);
    built_out = d(x);
    built_names = names(global_variables());
  }
  {
    Fresh f;
    Dense d(2);
    auto scope = variable_scope("m");
    called_out = d(x);
    called_names = names(global_variables());
  }
  BOOST_TEST(built_names == called_names, boost::test_tools::per_element());
  BOOST_TEST(built_out.bitwise_equal(called_out));
}

BOOST_AUTO_TEST_CASE(gru_cell) {
  Fresh f;
  GRUCell cell(5);
  {
    auto scope = variable_scope("encoder");
    cell.build(3);
  }
  BOOST_TEST(names(cell.variables()) ==
                 (std::vector<std::string>{"encoder/gru_cell/gates/kernel", "encoder/gru_cell/gates/bias",
                                           "encoder/gru_cell/candidate/kernel", "encoder/gru_cell/candidate/bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(cell.variables()[0].shape() == (Shape{8, 10}));
  VariableAudit audit;
  const auto r = dynamic_rnn(cell, Tensor(Shape{2, 4, 3}, std::vector<float>(24, 0.5f)));
  BOOST_TEST(audit.created().empty(), audit.summary());
  BOOST_TEST(global_variables().size() == 4u);
  BOOST_TEST(r.outputs.shape() == (Shape{2, 4, 5}));
  BOOST_TEST(has(message_of<ShapeMismatchError>([&] { cell.build(4); }), "built for input depth 3 but got 4"));
}

BOOST_AUTO_TEST_CASE(reset_after_gru_cell) {
  Fresh f;
  ResetAfterGRUCell cell(2, "gru");
  cell.build(3);
  BOOST_TEST(names(cell.variables()) ==
                 (std::vector<std::string>{"gru/weight_ih", "gru/weight_hh", "gru/bias_ih", "gru/bias_hh"}),
             boost::test_tools::per_element());
  VariableAudit audit;
  (void)cell(Tensor(Shape{1, 3}, std::vector<float>{1, 2, 3}), Tensor(DType::float32, Shape{1, 2}));
  BOOST_TEST(audit.created().empty(), audit.summary());
  BOOST_TEST(global_variables().size() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(checkpoint_by_name)

BOOST_AUTO_TEST_CASE(at_find_and_entries) {
  const std::string path = "varscope_training_api_test.json";
  const Tensor kernel(Shape{2, 2}, std::vector<float>{1, 2, 3, 4});
  const Tensor counts(Shape{3}, std::vector<std::int32_t>{7, 8, 9});
  const CheckpointEntry entry("decoder/dense/kernel", kernel);
  BOOST_TEST(entry.name == "decoder/dense/kernel");
  BOOST_TEST(entry.dtype == DType::float32);
  BOOST_TEST(entry.shape == (Shape{2, 2}));
  write_checkpoint({entry, CheckpointEntry("counts", counts)}, path);

  const Checkpoint ckpt = read_checkpoint(path);
  BOOST_TEST(ckpt.size() == 2u);
  BOOST_TEST(ckpt.at("decoder/dense/kernel").value.bitwise_equal(kernel));
  BOOST_TEST(ckpt.at("counts").value.bitwise_equal(counts));
  BOOST_TEST(ckpt.at(1).name == "counts");  // still a vector: by index, in file order
  BOOST_TEST(ckpt.contains("counts"));
  BOOST_TEST(ckpt.find("decoder/dense/bias") == nullptr);
  int n = 0;
  for (const auto& e : ckpt) n += e.value.size() > 0;
  BOOST_TEST(n == 2);
  const std::string m = message_of<NotFoundError>([&] { (void)ckpt.at("decoder/dense/kernal"); });
  BOOST_TEST(has(m, "no variable named 'decoder/dense/kernal'"), m);
  BOOST_TEST(has(m, "did you mean:  'decoder/dense/kernel'?"), m);
  // list_variables too (names and shapes, no values).
  BOOST_TEST(list_variables(path).at("counts").shape == (Shape{3}));
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_SUITE_END()
