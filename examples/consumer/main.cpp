// examples/consumer/main.cpp — a program built against an installed varscope
// (find_package(varscope) + `import varscope;`): the article's weight sharing in a
// few lines. A two-layer feed-forward block is applied to two inputs, first with
// fresh variables per call, then sharing one set through variable_scope reuse; it
// prints the variable names and checks the sharing it claims (exit 1 otherwise).
#include <cstdlib>
#include <iostream>
#include <string>

import varscope;

namespace vs = varscope;

// def feed_forward(x): dense(relu) -> dense, under the caller's variable scope.
vs::Tensor feed_forward(const vs::Tensor& x) {
  auto h = vs::dense(x, 8, {.activation = vs::Activation::relu, .name = "dense_a"});
  return vs::dense(h, 4, {.name = "dense_b"});
}

int fail(const std::string& why) {
  std::cerr << "consumer: " << why << '\n';
  return EXIT_FAILURE;
}

int main() {
  vs::Graph graph;
  auto session = graph.as_default();
  const auto x = vs::random_uniform({2, 3});
  const auto y = vs::random_uniform({2, 3});

  // Unshared: two scopes, two sets of variables.
  {
    auto scope = vs::variable_scope("feed_forward_x");
    (void)feed_forward(x);
  }
  {
    auto scope = vs::variable_scope("feed_forward_y");
    (void)feed_forward(y);
  }
  // Shared: the second call reuses the first call's variables.
  vs::Tensor out_x, out_y;
  {
    auto scope = vs::variable_scope("feed_forward_shared");
    out_x = feed_forward(x);
    scope.reuse_variables();
    out_y = feed_forward(x);
  }
  for (const auto& v : vs::global_variables()) std::cout << v.name() << '\n';

  // What sharing means: the same variables, so the same input gives the same output.
  if (vs::global_variables().size() != 12) return fail("expected 12 variables (4 per feed-forward scope)");
  if (!out_x.bitwise_equal(out_y)) return fail("the shared feed-forward gave two different outputs for one input");
  {
    auto scope = vs::variable_scope("feed_forward_shared", {.reuse = vs::Reuse::True});
    const auto kernel = vs::get_variable("dense_a/kernel");
    if (kernel.name() != "feed_forward_shared/dense_a/kernel:0" || kernel.shape() != vs::Shape{3, 8})
      return fail("get_variable under reuse returned " + kernel.name());
  }
  // Without reuse the name is taken: varscope's typed error, as in TF.
  try {
    auto scope = vs::variable_scope("feed_forward_shared");
    (void)vs::get_variable("dense_a/kernel", {.shape = {3, 8}});
    return fail("a second get_variable without reuse did not throw");
  } catch (const vs::AlreadyExistsError& e) {
    std::cout << "without reuse: " << e.kind() << '\n';
  }
  std::cout << "shared: True\n";
  return EXIT_SUCCESS;
}
