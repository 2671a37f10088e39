// The comparison helpers of the tests must fail on NaN and on +-inf (issue 23).
// `fabs(a - b) > tol` is false for NaN and std::max(worst, NaN) keeps worst, so
// helpers written that way let an all-NaN output, gradient or logit pass. Each
// helper below is fed one NaN and one +inf / -inf, on the side of the value under
// test and on the side of the reference, and must report a failure:
//   compare::within            grad_test's finite-difference check
//   compare::worst_relative    numerics_test check_close, grad_test's golden checks, torch_case
//   compare::worst_relative_to_scale  grad_test / train_test against tf_gru_golden.json
//   compare::max_abs_error     numerics_test's in-place kernel check
//   compare::error_over_bound  numerics_test's matmul kernel checks
//   compare::nan_max           grad_test's sharing checks, torch_case::run
//   varscope::max_abs_diff     numerics_test, seq2seq_test (modules/src/ops.cpp)
//   tf_ported::all_close       the ported TensorFlow tests
//   torch_case::worst_relative the PyTorch round trips (checkpoint_test, torch_live_roundtrip)
// plus Boost's own tolerance comparison (BOOST_TEST(a == b, tolerance(t)), used by
// train_test and others), which is checked to fail on NaN / inf too.
#define BOOST_TEST_MODULE compare_self
#include "support/boost_test.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

import varscope;
#include "support/compare.hpp"
#include "support/torch_case.hpp"
#include "tf_ported/support.hpp"

using namespace varscope;

namespace {

constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();
constexpr float kInff = std::numeric_limits<float>::infinity();
// One bad value each: NaN, +inf, -inf.
const std::vector<float> kBad = {kNaNf, kInff, -kInff};

// A well-behaved vector and a copy with element `at` replaced by `bad`.
std::vector<float> good() { return {0.5f, -1.25f, 2.0f, 0.0f, 3.5f, -0.75f}; }
std::vector<float> with(float bad, std::size_t at = 3) {
  auto v = good();
  v[at] = bad;
  return v;
}
Tensor t(const std::vector<float>& v) { return Tensor(Shape{2, 3}, v); }

// "A comparison reports a failure": the value it returns is not <= any finite bound.
bool fails_any_bound(double worst) { return !(worst <= 1e300); }

}  // namespace

BOOST_AUTO_TEST_CASE(the_good_cases_pass) {
  // The helpers are not simply always failing: equal inputs pass, close inputs pass.
  BOOST_TEST(compare::within(1.0, 1.0 + 1e-9, 1e-6));
  BOOST_TEST(compare::worst_relative(good(), good()) == 0.0);
  BOOST_TEST(compare::max_abs_error(good(), good()) == 0.0);
  BOOST_TEST(compare::nan_max(1.0, 2.0) == 2.0);
  BOOST_TEST(max_abs_diff(t(good()), t(good())) == 0.0f);
  BOOST_TEST(tf_ported::all_close(t(good()), t(good()), 1e-6f));
  BOOST_TEST(torch_case::worst_relative(t(good()), t(good())) == 0.0);
  const Tensor a(Shape{2, 2}, std::vector<float>{1, 2, 3, 4}), b(Shape{2, 2}, std::vector<float>{0.5f, -1, 2, 0.25f});
  const auto e = compare::exact_product(as_matrix(a), as_matrix(b));
  const Tensor p = matmul(a, b);
  BOOST_TEST(compare::error_over_bound(as_matrix(p), e, 1.0, 2 * 0x1p-24) <= 1.0);
}

BOOST_AUTO_TEST_CASE(within_fails_on_nan_and_inf_either_side) {
  for (const float bad : kBad) {
    BOOST_TEST(!compare::within(bad, 1.0, 2e-3, 1e-2), "got " << bad);
    BOOST_TEST(!compare::within(1.0, bad, 2e-3, 1e-2), "want " << bad);
  }
}

BOOST_AUTO_TEST_CASE(worst_relative_is_nan_or_inf) {
  for (const float bad : kBad) {
    BOOST_TEST(fails_any_bound(compare::worst_relative(with(bad), good())), "got " << bad);
    BOOST_TEST(fails_any_bound(compare::worst_relative(good(), with(bad))), "want " << bad);
    // Wherever it sits (first, last element), and after a larger finite error.
    auto far = with(bad, 0);
    far[5] = 100.0f;
    BOOST_TEST(fails_any_bound(compare::worst_relative(far, good())));
    auto last = good();
    last[0] = 100.0f;
    last[5] = bad;
    BOOST_TEST(fails_any_bound(compare::worst_relative(last, good())));
    BOOST_TEST(fails_any_bound(compare::worst_relative(t(with(bad)), t(good()))));
  }
  BOOST_TEST(std::isnan(compare::worst_relative(with(kNaNf), good())));
  BOOST_TEST(fails_any_bound(compare::worst_relative(t(good()), Tensor(Shape{3, 2}, good()))));  // shape
}

BOOST_AUTO_TEST_CASE(worst_relative_to_scale_is_nan_or_inf) {
  BOOST_TEST(compare::worst_relative_to_scale(t(good()), t(good())) == 0.0);
  for (const float bad : kBad) {
    BOOST_TEST(fails_any_bound(compare::worst_relative_to_scale(t(with(bad)), t(good()))), "got " << bad);
    BOOST_TEST(fails_any_bound(compare::worst_relative_to_scale(t(good()), t(with(bad)))), "want " << bad);
  }
  const Tensor zeros(DType::float32, Shape{2, 3});
  BOOST_TEST(compare::worst_relative_to_scale(zeros, zeros) == 0.0);
  BOOST_TEST(fails_any_bound(compare::worst_relative_to_scale(t(with(kNaNf)), zeros)));
  BOOST_TEST(fails_any_bound(compare::worst_relative_to_scale(t(good()), zeros)));  // any error vs all-zero
}

BOOST_AUTO_TEST_CASE(max_abs_error_is_nan_or_inf) {
  for (const float bad : kBad) {
    BOOST_TEST(fails_any_bound(compare::max_abs_error(with(bad), good())), "got " << bad);
    BOOST_TEST(fails_any_bound(compare::max_abs_error(good(), with(bad))), "want " << bad);
  }
  BOOST_TEST(fails_any_bound(compare::max_abs_error(good(), std::vector<float>{1.0f})));  // sizes
}

BOOST_AUTO_TEST_CASE(nan_max_keeps_a_nan_in_either_position) {
  BOOST_TEST(std::isnan(compare::nan_max(0.0, compare::kNaN)));  // std::max(0.0, NaN) is 0
  BOOST_TEST(std::isnan(compare::nan_max(compare::kNaN, 5.0)));
  BOOST_TEST(compare::nan_max(0.0, compare::kInf) == compare::kInf);
}

BOOST_AUTO_TEST_CASE(error_over_bound_is_nan_or_inf) {
  const Tensor a(Shape{2, 2}, std::vector<float>{1, 2, 3, 4}), b(Shape{2, 2}, std::vector<float>{0.5f, -1, 2, 0.25f});
  const auto e = compare::exact_product(as_matrix(a), as_matrix(b));
  for (const float bad : kBad) {
    Tensor p = matmul(a, b);
    p.data<float>()[3] = bad;
    BOOST_TEST(fails_any_bound(compare::error_over_bound(as_matrix(std::as_const(p)), e, 1.0, 1e-3)), bad);
    p.data<float>()[3] = 0.0f;
    p.data<float>()[0] = bad;  // first element: later finite elements must not reset it
    BOOST_TEST(fails_any_bound(compare::error_over_bound(as_matrix(std::as_const(p)), e, 1.0, 1e-3)), bad);
  }
  // Where the bound is 0 (an all-zero row of a), any error is a failure, NaN included.
  const Tensor z(Shape{1, 2}, std::vector<float>{0, 0});
  const auto ez = compare::exact_product(as_matrix(z), as_matrix(b));
  Tensor pz(Shape{1, 2}, std::vector<float>{0.0f, kNaNf});
  BOOST_TEST(fails_any_bound(compare::error_over_bound(as_matrix(std::as_const(pz)), ez, 1.0, 1e-3)));
}

BOOST_AUTO_TEST_CASE(max_abs_diff_returns_nan_or_inf) {
  // modules/src/ops.cpp: NaN on either side -> NaN; an infinity facing another value -> +inf.
  BOOST_TEST(std::isnan(max_abs_diff(t(with(kNaNf)), t(good()))));
  BOOST_TEST(std::isnan(max_abs_diff(t(good()), t(with(kNaNf)))));
  BOOST_TEST(std::isnan(max_abs_diff(t(with(kNaNf)), t(with(kNaNf)))));  // NaN never equals NaN
  BOOST_TEST(std::isnan(max_abs_diff(t(with(kNaNf, 0)), t(good()))));    // first element, then finite ones
  for (const float inf : {kInff, -kInff}) {
    BOOST_TEST(max_abs_diff(t(with(inf)), t(good())) == kInff, inf);
    BOOST_TEST(max_abs_diff(t(good()), t(with(inf))) == kInff, inf);
    BOOST_TEST(max_abs_diff(t(with(inf)), t(with(-inf))) == kInff, inf);
    BOOST_TEST(!(max_abs_diff(t(with(inf)), t(good())) <= 1e-6f));
  }
  // Documented: the same infinity on both sides is equal (dead beams' -inf scores).
  BOOST_TEST(max_abs_diff(t(with(-kInff)), t(with(-kInff))) == 0.0f);
  BOOST_TEST(max_abs_diff(t(with(-kInff)), t(with(-kInff, 2))) == kInff);
}

BOOST_AUTO_TEST_CASE(tf_ported_all_close_is_false) {
  for (const float bad : kBad) {
    BOOST_TEST(!tf_ported::all_close(t(with(bad)), t(good()), 1e-6f), "a " << bad);
    BOOST_TEST(!tf_ported::all_close(t(good()), t(with(bad)), 1e-6f), "b " << bad);
  }
}

BOOST_AUTO_TEST_CASE(torch_case_worst_relative_is_nan_or_inf) {
  for (const float bad : kBad) {
    BOOST_TEST(!(torch_case::worst_relative(t(with(bad)), t(good())) < 1e-6), bad);
    BOOST_TEST(!(torch_case::worst_relative(t(good()), t(with(bad))) < 1e-6), bad);
  }
}

BOOST_AUTO_TEST_CASE(boost_tolerance_comparison_fails_too) {
  // What BOOST_TEST(a == b, tolerance(t)) evaluates (Boost.Test's close_at_tolerance).
  const boost::math::fpc::close_at_tolerance<double> close(1e-5);
  BOOST_TEST(close(1.0, 1.0 + 1e-7));
  for (const double bad : {compare::kNaN, compare::kInf, -compare::kInf}) {
    BOOST_TEST(!close(bad, 1.0), bad);
    BOOST_TEST(!close(1.0, bad), bad);
  }
}
