// Tests of varscope:init: initializer statistics against their definitions
// (glorot limit, uniform range, normal moments, truncation), fan computation,
// seed reproducibility, and bit-exact agreement with the golden file (the same
// test runs natively and in wasm, so both builds must produce identical bits).
#define BOOST_TEST_MODULE init
#include "support/boost_test.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

import varscope;
#include "support/init_cases.hpp"
#include "init_golden.hpp"  // generated: kInitGolden (tests/data/init_golden.json)

using namespace varscope;
namespace tt = boost::test_tools;

namespace {

struct FreshGraph {
  Graph graph;
  DefaultGraphGuard session{graph};
};

struct Moments {
  double mean, variance, min, max;
};
Moments moments(const Tensor& t) {
  const auto v = t.data<float>();
  double sum = 0, sq = 0;
  for (float x : v) sum += x;
  const double mean = sum / v.size();
  for (float x : v) sq += (x - mean) * (x - mean);
  return {mean, sq / v.size(), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(statistics)

BOOST_FIXTURE_TEST_CASE(glorot_uniform_respects_its_limit_and_fills_the_range, FreshGraph) {
  // [300, 200]: limit = sqrt(6 / 500); uniform on [-l, l) has variance l^2 / 3.
  const double limit = std::sqrt(6.0 / 500.0);
  auto w = get_variable("w", {.shape = {300, 200}});  // default initializer for float32
  const auto m = moments(w.value());
  const double n = 300.0 * 200.0;
  BOOST_TEST(m.min >= -limit);
  BOOST_TEST(m.max < limit);
  BOOST_TEST(m.max > 0.999 * limit);
  BOOST_TEST(m.min < -0.999 * limit);
  BOOST_TEST(std::abs(m.mean) < 5 * std::sqrt(limit * limit / 3 / n));
  BOOST_TEST(m.variance == limit * limit / 3, tt::tolerance(0.02));
}

BOOST_FIXTURE_TEST_CASE(random_uniform_range_and_mean, FreshGraph) {
  auto v = get_variable("u", {.shape = {100000}, .initializer = random_uniform_initializer(-3.0, 5.0)});
  const auto m = moments(v.value());
  BOOST_TEST(m.min >= -3.0);
  BOOST_TEST(m.max < 5.0);
  BOOST_TEST(m.mean == 1.0, tt::tolerance(0.02));
  BOOST_TEST(m.variance == 64.0 / 12.0, tt::tolerance(0.02));
  const auto e = random_uniform({100000}, -1.0f, 1.0f);
  const auto em = moments(e);
  BOOST_TEST(em.min >= -1.0);
  BOOST_TEST(em.max < 1.0);
  BOOST_TEST(std::abs(em.mean) < 0.01);
}

BOOST_FIXTURE_TEST_CASE(random_normal_moments, FreshGraph) {
  auto v = get_variable("n", {.shape = {100000}, .initializer = random_normal_initializer(2.0, 3.0)});
  const auto m = moments(v.value());
  BOOST_TEST(m.mean == 2.0, tt::tolerance(0.02));
  BOOST_TEST(std::sqrt(m.variance) == 3.0, tt::tolerance(0.02));
  // Tails exist: a normal sample of 1e5 reaches beyond 4 sigma with high probability.
  BOOST_TEST(m.max > 2.0 + 3.5 * 3.0);
}

BOOST_FIXTURE_TEST_CASE(truncated_normal_stays_within_two_sigma, FreshGraph) {
  auto v = get_variable("t", {.shape = {100000}, .initializer = truncated_normal_initializer(1.0, 0.5)});
  const auto m = moments(v.value());
  BOOST_TEST(m.min >= 1.0 - 2 * 0.5);
  BOOST_TEST(m.max <= 1.0 + 2 * 0.5);
  BOOST_TEST(m.mean == 1.0, tt::tolerance(0.01));
  // sd of N(0,1) truncated to [-2, 2] is 0.87962.
  BOOST_TEST(std::sqrt(m.variance) == 0.5 * 0.87962, tt::tolerance(0.02));
}

BOOST_FIXTURE_TEST_CASE(constant_zeros_ones_and_dtype_defaults, FreshGraph) {
  for (float x : get_variable("z", {.shape = {3}, .initializer = zeros_initializer()}).value().data<float>())
    BOOST_TEST(x == 0.0f);
  for (float x : get_variable("o", {.shape = {3}, .initializer = ones_initializer()}).value().data<float>())
    BOOST_TEST(x == 1.0f);
  for (float x : get_variable("c", {.shape = {3}, .initializer = constant_initializer(-2.5)}).value().data<float>())
    BOOST_TEST(x == -2.5f);
  for (auto x : get_variable("i", {.shape = {4}, .dtype = DType::int32}).value().data<std::int32_t>())
    BOOST_TEST(x == 0);
  BOOST_CHECK_THROW(get_variable("bad", {.shape = {2}, .dtype = DType::int32, .initializer = glorot_uniform_initializer()}),
                    InvalidArgumentError);
  BOOST_CHECK_THROW((void)random_uniform_initializer(1.0, 1.0), InvalidArgumentError);
  BOOST_CHECK_THROW((void)random_normal_initializer(0.0, -1.0), InvalidArgumentError);
  BOOST_TEST(global_variables().size() == 4u);  // the failed creation left nothing behind
}

BOOST_AUTO_TEST_CASE(fans_follow_tf) {
  BOOST_TEST(compute_fans(Shape{}).fan_in == 1.0);
  BOOST_TEST(compute_fans(Shape{7}).fan_out == 7.0);
  BOOST_TEST(compute_fans(Shape{3, 4}).fan_in == 3.0);
  BOOST_TEST(compute_fans(Shape{3, 4}).fan_out == 4.0);
  // conv kernel [h, w, in, out]: receptive field h*w.
  BOOST_TEST(compute_fans(Shape{2, 5, 3, 4}).fan_in == 30.0);
  BOOST_TEST(compute_fans(Shape{2, 5, 3, 4}).fan_out == 40.0);
}

BOOST_AUTO_TEST_CASE(deterministic_log_matches_libm) {
  for (double x : {1e-300, 1e-10, 0.001, 0.3, 0.7071, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e200}) {
    BOOST_TEST(deterministic_log(x) == std::log(x), tt::tolerance(1e-14));
  }
  BOOST_TEST(deterministic_log(1.0) == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reproducibility)

namespace {
Tensor kernel_in_new_graph(std::uint64_t seed, bool other_first) {
  Graph g(seed);
  auto use = g.as_default();
  if (other_first) (void)get_variable("other", {.shape = {10, 10}});
  return get_variable("kernel", {.shape = {8, 6}}).value();
}
}  // namespace

BOOST_AUTO_TEST_CASE(same_seed_same_bits_regardless_of_creation_order) {
  const auto a = kernel_in_new_graph(42, false);
  const auto b = kernel_in_new_graph(42, true);
  BOOST_TEST(a.bitwise_equal(b));
}

BOOST_AUTO_TEST_CASE(different_graph_seed_or_name_gives_different_values) {
  BOOST_TEST(!kernel_in_new_graph(1, false).bitwise_equal(kernel_in_new_graph(2, false)));
  Graph g;
  auto use = g.as_default();
  auto a = get_variable("a", {.shape = {8, 6}});
  auto b = get_variable("b", {.shape = {8, 6}});
  BOOST_TEST(!a.value().bitwise_equal(b.value()));
}

BOOST_AUTO_TEST_CASE(explicit_seeds_are_honoured) {
  Graph g;
  auto use = g.as_default();
  const auto x = random_normal({16}, 0, 1, 5);
  const auto y = random_normal({16}, 0, 1, 5);
  const auto z = random_normal({16}, 0, 1, 6);
  BOOST_TEST(x.bitwise_equal(y));
  BOOST_TEST(!x.bitwise_equal(z));
  // Unseeded random ops advance the graph's op counter: two calls differ.
  BOOST_TEST(!random_uniform({16}).bitwise_equal(random_uniform({16})));
}

BOOST_AUTO_TEST_CASE(bits_match_the_golden_file) {
  const auto golden = nlohmann::json::parse(kInitGolden);
  const auto cases = init_cases::all();
  BOOST_TEST(golden.at("cases").size() == cases.size());
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("case " << c.id) {
      Graph graph;
      auto use = graph.as_default();
      const Tensor t = c.make();
      const auto& expected = golden.at("cases").at(c.id);
      BOOST_TEST(t.shape().dims() == expected.at("shape").get<std::vector<std::int64_t>>(), tt::per_element());
      BOOST_TEST(init_cases::bits_of(t) == expected.at("bits").get<std::vector<std::string>>(), tt::per_element());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
