// varscope:init — initializers (TF's *_initializer family), the seeded random
// generator behind them, and the eager constant tensors (tf.zeros ...); the values of
// the eager random ops (their seed comes from the default graph, in :store).
//
// Reproducibility contract: every value is computed with IEEE-754 +, -, *, /,
// sqrt and frexp only (no libm transcendental functions, no FMA contraction), so
// the same seed gives bit-identical tensors natively and in WebAssembly.
module;
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
export module varscope:init;
import :errors;
import :tensor;

export namespace varscope {

/// A small counter-based generator (SplitMix64 over a 64-bit counter). Each
/// value depends only on (seed, index), so streams are cheap to split.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept : seed_(seed) {}
  /// 64 random bits.
  std::uint64_t next_u64() noexcept;
  /// Uniform float in [0, 1) with 24 random bits (exactly representable).
  float uniform01() noexcept;
  /// Standard normal (Marsaglia polar method, deterministic log).
  double normal() noexcept;

 private:
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
  std::optional<double> spare_normal_;
};

/// Mixes two 64-bit values into a seed (order matters).
[[nodiscard]] std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) noexcept;
/// FNV-1a 64-bit hash; per-variable seeds are derived from the full variable name.
[[nodiscard]] std::uint64_t hash_name(std::string_view name) noexcept;
/// Natural log computed with basic IEEE operations only (bit-reproducible).
[[nodiscard]] double deterministic_log(double x) noexcept;

/// Fan-in / fan-out of a weight shape, as TF computes them: [in, out] for 2-D,
/// [n] -> (n, n), [] -> (1, 1), higher ranks multiply by the receptive field.
struct Fans {
  double fan_in;
  double fan_out;
};
[[nodiscard]] Fans compute_fans(const Shape& shape);

/// Produces a variable's initial value for a shape, dtype and seed. Value-semantic
/// and cheap to copy. `description()` is shown in errors and audits.
class Initializer {
 public:
  using Fn = std::function<Tensor(const Shape& shape, DType dtype, std::uint64_t seed)>;

  Initializer(std::string description, Fn fn, std::optional<Shape> value_shape = std::nullopt)
      : description_(std::move(description)), fn_(std::move(fn)), value_shape_(std::move(value_shape)) {}

  [[nodiscard]] Tensor operator()(const Shape& shape, DType dtype, std::uint64_t seed) const {
    return fn_(shape, dtype, seed);
  }
  [[nodiscard]] const std::string& description() const noexcept { return description_; }
  /// Set when the initializer is a concrete tensor: get_variable takes its shape.
  [[nodiscard]] const std::optional<Shape>& value_shape() const noexcept { return value_shape_; }
  /// A tensor value as initializer (TF's `get_variable(initializer=tf.constant(...))`):
  /// the variable takes the value's shape AND dtype; get_variable refuses a shape
  /// next to it and a different explicit dtype. Implicit, so
  /// `get_variable("v", {.initializer = Tensor(...)})` reads like TF.
  Initializer(const Tensor& value);  // NOLINT(google-explicit-constructor)
  /// Set when this initializer is a tensor value (see the constructor above).
  [[nodiscard]] const std::optional<DType>& value_dtype() const noexcept { return value_dtype_; }

 private:
  std::string description_;
  Fn fn_;
  std::optional<Shape> value_shape_;
  std::optional<DType> value_dtype_;
};

// Seeds: an initializer without its own seed uses the variable's seed
// (graph seed mixed with the hash of the variable's full name), so a variable's
// initial value depends on its name, not on creation order. An explicit `seed`
// is combined with the variable's seed: different seeds give different values.

[[nodiscard]] Initializer zeros_initializer();
[[nodiscard]] Initializer ones_initializer();
[[nodiscard]] Initializer constant_initializer(double value);
/// Initializes from a concrete tensor (its shape and dtype must match the variable).
[[nodiscard]] Initializer constant_initializer(const Tensor& value);
[[nodiscard]] Initializer random_uniform_initializer(double minval = 0.0, double maxval = 1.0,
                                                     std::optional<std::uint64_t> seed = std::nullopt);
[[nodiscard]] Initializer random_normal_initializer(double mean = 0.0, double stddev = 1.0,
                                                    std::optional<std::uint64_t> seed = std::nullopt);
/// Normal values beyond two standard deviations are redrawn (as in TF).
[[nodiscard]] Initializer truncated_normal_initializer(double mean = 0.0, double stddev = 1.0,
                                                       std::optional<std::uint64_t> seed = std::nullopt);
/// Uniform in [-limit, limit), limit = sqrt(6 / (fan_in + fan_out)). TF's default for floats.
[[nodiscard]] Initializer glorot_uniform_initializer(std::optional<std::uint64_t> seed = std::nullopt);
/// The default for a dtype when neither the call nor any scope sets one:
/// glorot_uniform for floats, zeros for integers.
[[nodiscard]] Initializer default_initializer(DType dtype);
/// The seed an initializer without its own seed receives for variable `full_name`.
[[nodiscard]] std::uint64_t variable_seed(std::uint64_t graph_seed, std::string_view full_name) noexcept;
/// The seed an initializer created with an explicit `op_seed` receives.
[[nodiscard]] std::uint64_t explicit_seed(std::uint64_t graph_seed, std::uint64_t op_seed) noexcept;

// Eager constant tensors (tf.zeros / tf.ones / tf.fill). The random ones
// (random_uniform, random_normal) draw the default graph's op seed: they are in :store.
[[nodiscard]] Tensor zeros(const Shape& shape, DType dtype = DType::float32);
[[nodiscard]] Tensor ones(const Shape& shape, DType dtype = DType::float32);
[[nodiscard]] Tensor fill(const Shape& shape, float value);

}  // namespace varscope

namespace varscope::detail {
// The values of tf.random_uniform / tf.random_normal once the op seed is known:
// the arguments are checked first (InvalidArgumentError), then `draw_op_seed` is
// called once. :store's random_uniform / random_normal pass the default graph's seed.
[[nodiscard]] Tensor random_uniform_values(const Shape& shape, float minval, float maxval,
                                           const std::function<std::uint64_t()>& draw_op_seed);
[[nodiscard]] Tensor random_normal_values(const Shape& shape, float mean, float stddev,
                                          const std::function<std::uint64_t()>& draw_op_seed);
}  // namespace varscope::detail
