// Implementation of varscope:init — the generator, deterministic math and the
// initializers. Everything here must stay bit-reproducible across native and
// WebAssembly builds: no FMA contraction, no libm transcendental functions.
module;
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
module varscope;

#pragma clang fp contract(off)

namespace varscope {

namespace {
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

std::uint64_t Rng::next_u64() noexcept { return splitmix64(seed_ ^ splitmix64(counter_++)); }

float Rng::uniform01() noexcept {
  return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f);  // 24 bits -> [0, 1)
}

double Rng::normal() noexcept {
  if (spare_normal_) {
    const double z = *spare_normal_;
    spare_normal_.reset();
    return z;
  }
  for (;;) {
    // 53-bit uniforms in (-1, 1).
    const double u = static_cast<double>(next_u64() >> 11) * (2.0 / 9007199254740992.0) - 1.0;
    const double v = static_cast<double>(next_u64() >> 11) * (2.0 / 9007199254740992.0) - 1.0;
    const double s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    const double factor = std::sqrt(-2.0 * deterministic_log(s) / s);  // sqrt is correctly rounded
    spare_normal_ = v * factor;
    return u * factor;
  }
}

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) noexcept { return splitmix64(splitmix64(a) ^ (b + 0x632BE59BD9B4E019ull)); }

std::uint64_t hash_name(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

double deterministic_log(double x) noexcept {
  if (!(x > 0.0)) return x == 0.0 ? -INFINITY : NAN;
  if (std::isinf(x)) return x;
  int exponent = 0;
  double m = std::frexp(x, &exponent);  // exact: x = m * 2^exponent, m in [0.5, 1)
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    exponent -= 1;
  }  // m in [sqrt(1/2), sqrt(2))
  // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716: 20 odd terms reach double precision.
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double power = s;
  double sum = 0.0;
  for (int k = 1; k <= 39; k += 2) {
    sum += power / k;
    power *= s2;
  }
  constexpr double kLn2 = 0.693147180559945309417232121458176568;
  return 2.0 * sum + exponent * kLn2;
}

Fans compute_fans(const Shape& shape) {
  const auto& d = shape.dims();
  if (d.empty()) return {1.0, 1.0};
  if (d.size() == 1) return {static_cast<double>(d[0]), static_cast<double>(d[0])};
  if (d.size() == 2) return {static_cast<double>(d[0]), static_cast<double>(d[1])};
  double receptive_field = 1.0;
  for (std::size_t i = 0; i + 2 < d.size(); ++i) receptive_field *= static_cast<double>(d[i]);
  return {static_cast<double>(d[d.size() - 2]) * receptive_field,
          static_cast<double>(d[d.size() - 1]) * receptive_field};
}

std::uint64_t variable_seed(std::uint64_t graph_seed, std::string_view full_name) noexcept {
  return mix_seed(graph_seed, hash_name(full_name));
}
std::uint64_t explicit_seed(std::uint64_t graph_seed, std::uint64_t op_seed) noexcept {
  return mix_seed(graph_seed, splitmix64(op_seed));
}

namespace {

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Resolves the seed an initializer uses: its own (mixed with nothing more: the
// caller already mixed the graph seed in) or the variable's.
std::uint64_t pick_seed(std::optional<std::uint64_t> own, std::uint64_t variable) noexcept {
  return own ? splitmix64(*own ^ variable) : variable;
}

Tensor filled(const Shape& shape, DType dtype, double value) {
  Tensor t(dtype, shape);
  if (dtype == DType::float32) {
    for (auto& x : t.data<float>()) x = static_cast<float>(value);
  } else {
    for (auto& x : t.data<std::int32_t>()) x = static_cast<std::int32_t>(value);
  }
  return t;
}

void require_float(DType dtype, std::string_view initializer) {
  if (!is_floating(dtype))
    throw InvalidArgumentError(std::string(initializer) + " initializer needs a floating dtype, got " +
                               std::string(dtype_name(dtype)) + "; use zeros_initializer or constant_initializer");
}

Tensor uniform_tensor(const Shape& shape, float minval, float maxval, std::uint64_t seed) {
  Tensor t(DType::float32, shape);
  Rng rng(seed);
  const float range = maxval - minval;
  for (auto& x : t.data<float>()) x = minval + range * rng.uniform01();
  return t;
}

Tensor normal_tensor(const Shape& shape, double mean, double stddev, bool truncated, std::uint64_t seed) {
  Tensor t(DType::float32, shape);
  Rng rng(seed);
  for (auto& x : t.data<float>()) {
    double z = rng.normal();
    while (truncated && (z > 2.0 || z < -2.0)) z = rng.normal();
    x = static_cast<float>(mean + stddev * z);
  }
  return t;
}

}  // namespace

Initializer zeros_initializer() {
  return Initializer("zeros", [](const Shape& s, DType d, std::uint64_t) { return filled(s, d, 0.0); });
}
Initializer ones_initializer() {
  return Initializer("ones", [](const Shape& s, DType d, std::uint64_t) { return filled(s, d, 1.0); });
}
Initializer constant_initializer(double value) {
  return Initializer("constant(" + number(value) + ")",
                     [value](const Shape& s, DType d, std::uint64_t) { return filled(s, d, value); });
}
Initializer constant_initializer(const Tensor& value) {
  return Initializer(
      "constant(tensor " + value.shape().to_string() + ")",
      [value](const Shape& s, DType d, std::uint64_t) {
        if (s != value.shape())
          throw ShapeMismatchError("constant_initializer: value has shape " + value.shape().to_string() +
                                   " but the variable has shape " + s.to_string());
        if (d != value.dtype())
          throw DTypeMismatchError("constant_initializer: value is " + std::string(dtype_name(value.dtype())) +
                                   " but the variable is " + std::string(dtype_name(d)));
        return value;
      },
      value.shape());
}
Initializer::Initializer(const Tensor& value) : Initializer(constant_initializer(value)) {
  description_ = "tensor value " + std::string(dtype_name(value.dtype())) + " " + value.shape().to_string();
  value_dtype_ = value.dtype();
}
Initializer random_uniform_initializer(double minval, double maxval, std::optional<std::uint64_t> seed) {
  if (!(minval < maxval))
    throw InvalidArgumentError("random_uniform_initializer: minval (" + number(minval) +
                               ") must be less than maxval (" + number(maxval) + ")");
  return Initializer("random_uniform(" + number(minval) + ", " + number(maxval) + ")",
                     [=](const Shape& s, DType d, std::uint64_t variable) {
                       require_float(d, "random_uniform");
                       return uniform_tensor(s, static_cast<float>(minval), static_cast<float>(maxval),
                                             pick_seed(seed, variable));
                     });
}
Initializer random_normal_initializer(double mean, double stddev, std::optional<std::uint64_t> seed) {
  if (!(stddev >= 0.0))
    throw InvalidArgumentError("random_normal_initializer: stddev (" + number(stddev) + ") must be >= 0");
  return Initializer("random_normal(" + number(mean) + ", " + number(stddev) + ")",
                     [=](const Shape& s, DType d, std::uint64_t variable) {
                       require_float(d, "random_normal");
                       return normal_tensor(s, mean, stddev, false, pick_seed(seed, variable));
                     });
}
Initializer truncated_normal_initializer(double mean, double stddev, std::optional<std::uint64_t> seed) {
  if (!(stddev >= 0.0))
    throw InvalidArgumentError("truncated_normal_initializer: stddev (" + number(stddev) + ") must be >= 0");
  return Initializer("truncated_normal(" + number(mean) + ", " + number(stddev) + ")",
                     [=](const Shape& s, DType d, std::uint64_t variable) {
                       require_float(d, "truncated_normal");
                       return normal_tensor(s, mean, stddev, true, pick_seed(seed, variable));
                     });
}
Initializer glorot_uniform_initializer(std::optional<std::uint64_t> seed) {
  return Initializer("glorot_uniform", [=](const Shape& s, DType d, std::uint64_t variable) {
    require_float(d, "glorot_uniform");
    const Fans fans = compute_fans(s);
    const float limit = static_cast<float>(std::sqrt(6.0 / std::max(1.0, fans.fan_in + fans.fan_out)));
    return uniform_tensor(s, -limit, limit, pick_seed(seed, variable));
  });
}
Initializer default_initializer(DType dtype) {
  return is_floating(dtype) ? glorot_uniform_initializer() : zeros_initializer();
}

Tensor zeros(const Shape& shape, DType dtype) { return filled(shape, dtype, 0.0); }
Tensor ones(const Shape& shape, DType dtype) { return filled(shape, dtype, 1.0); }
Tensor fill(const Shape& shape, float value) { return filled(shape, DType::float32, value); }

namespace detail {

Tensor random_uniform_values(const Shape& shape, float minval, float maxval,
                             const std::function<std::uint64_t()>& draw_op_seed) {
  if (!(minval < maxval))
    throw InvalidArgumentError("random_uniform: minval (" + number(minval) + ") must be less than maxval (" +
                               number(maxval) + ")");
  return uniform_tensor(shape, minval, maxval, draw_op_seed());
}
Tensor random_normal_values(const Shape& shape, float mean, float stddev,
                            const std::function<std::uint64_t()>& draw_op_seed) {
  if (!(stddev >= 0.0f))
    throw InvalidArgumentError("random_normal: stddev (" + number(stddev) + ") must be >= 0");
  return normal_tensor(shape, mean, stddev, false, draw_op_seed());
}

}  // namespace detail

}  // namespace varscope
