// Numeric comparisons shared by the tests, written so that a NaN or an infinity
// can never pass (issue 23). `fabs(a - b) > tol` is false for NaN and
// `std::max(worst, NaN)` keeps `worst`, so the old helpers let an all-NaN output,
// gradient or logit through. Here every helper either returns a value that is
// NaN / +inf when a non-finite value is involved (so `worst <= bound` fails), or
// a bool written as `!(err <= tol)`. tests/compare_self_test.cpp feeds each of
// them (and varscope::max_abs_diff, tf_ported::all_close, torch_case) one NaN and
// one +-inf and expects a failure. Include after `import varscope;`.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace compare {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

/// max(worst, x) that keeps a NaN: once either is NaN the result is NaN
/// (std::max(worst, NaN) would return worst).
inline double nan_max(double worst, double x) {
  if (std::isnan(worst) || std::isnan(x)) return kNaN;
  return std::max(worst, x);
}

/// |got - want| <= abs_tol + rel_tol * |want|; false when either side is NaN or
/// infinite. (Finiteness is checked explicitly: with want = inf the relative bound
/// is inf too, and |got - inf| <= inf would hold.)
inline bool within(double got, double want, double abs_tol, double rel_tol = 0.0) {
  return std::isfinite(got) && std::isfinite(want) && std::abs(got - want) <= abs_tol + rel_tol * std::abs(want);
}

/// Largest |a_i - b_i| (NaN if any pair involves a NaN, +inf for an infinity;
/// +inf if the sizes differ).
inline double max_abs_error(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return kInf;
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = nan_max(worst, std::abs(double(a[i]) - double(b[i])));
  return worst;
}

/// Largest |got_i - want_i| / max(1, |want_i|): relative error, absolute near 0.
/// NaN if any pair involves a NaN, +inf for an infinity or when the sizes differ.
inline double worst_relative(std::span<const float> got, std::span<const float> want) {
  if (got.size() != want.size()) return kInf;
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i)
    worst = nan_max(worst, std::abs(double(got[i]) - double(want[i])) / std::max(1.0, std::abs(double(want[i]))));
  return worst;
}

/// worst_relative of two float32 tensors; +inf when the shapes differ.
inline double worst_relative(const varscope::Tensor& got, const varscope::Tensor& want) {
  if (got.shape() != want.shape()) return kInf;
  return worst_relative(got.data<float>(), want.data<float>());
}

/// Largest |got_i - want_i| / max_j |want_j|: the error relative to the tensor's scale
/// (for gradients, whose entries can all be << 1, where max(1, |want|) would make the
/// check absolute and loose). NaN if any pair involves a NaN, +inf for an infinity,
/// differing shapes, or any error against an all-zero reference.
inline double worst_relative_to_scale(const varscope::Tensor& got, const varscope::Tensor& want) {
  if (got.shape() != want.shape()) return kInf;
  double scale = 0.0;
  for (const float w : want.data<float>()) scale = nan_max(scale, std::abs(double(w)));
  const double err = max_abs_error(got.data<float>(), want.data<float>());  // NaN / inf stay NaN / inf below
  if (scale == 0.0) return err == 0.0 ? 0.0 : kInf;
  return err / scale;
}

/// The exact product P = a b (in double: exact to ~1e-16 relative, i.e. exactly for a
/// float32 comparison) and S_ij = sum_l |a_il b_lj|, the scale of the float32 dot-product
/// error bound |fl(P_ij) - P_ij| <= gamma_k S_ij.
struct ExactProduct {
  std::vector<double> P, S;
};

inline ExactProduct exact_product(varscope::ConstMatrixView a, varscope::ConstMatrixView b) {
  ExactProduct e{std::vector<double>(static_cast<std::size_t>(a.rows * b.cols), 0.0),
                 std::vector<double>(static_cast<std::size_t>(a.rows * b.cols), 0.0)};
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t l = 0; l < a.cols; ++l)
      for (std::int64_t j = 0; j < b.cols; ++j) {
        const double p = double(a.data[i * a.row_stride + l]) * b.data[l * b.row_stride + j];
        e.P[i * b.cols + j] += p;
        e.S[i * b.cols + j] += std::abs(p);
      }
  return e;
}

/// Largest |got_ij - scale * P_ij| / (factor * S_ij) over a [rows, cols] view: <= 1 means
/// within the bound. NaN if got holds a NaN, +inf for an infinity (or an error where the
/// bound is 0).
inline double error_over_bound(varscope::ConstMatrixView got, const ExactProduct& e, double scale, double factor) {
  double worst = 0;
  for (std::int64_t i = 0; i < got.rows; ++i)
    for (std::int64_t j = 0; j < got.cols; ++j) {
      const double err = std::abs(double(got.data[i * got.row_stride + j]) - scale * e.P[i * got.cols + j]);
      const double bound = factor * e.S[i * got.cols + j];
      worst = nan_max(worst, bound > 0 ? err / bound : (err == 0 ? 0.0 : (std::isnan(err) ? kNaN : kInf)));
    }
  return worst;
}

}  // namespace compare
