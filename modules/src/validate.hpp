// Argument validation shared by the implementation units: one helper checks a
// tensor argument's dtype and shape and throws the right error type — a wrong
// dtype is a DTypeMismatchError, a wrong rank or size a ShapeMismatchError — with
// one message format everywhere:
//   "<who>: <what> must be <dtype> <expected dims>, got <dtype> <shape>[; <hint>]"
// e.g. "dynamic_rnn: sequence_length must be int32 [4], got float32 [4]".
// Included by implementation units after `module varscope;` (it uses the module's
// Tensor, Shape and error types); never by interfaces.
#pragma once

namespace varscope::validate {

/// One expected dimension: a required size, or any size (kAny) printed by its name
/// ("batch"). A known size may carry a name too; it is printed as the number.
struct Dim {
  static constexpr std::int64_t kAny = -1;
  std::int64_t size = kAny;
  std::string_view name = {};
  // constexpr, so inline: a member defined in a class in module purview is not implicitly
  // inline, and this header is included by several implementation units.
  constexpr Dim(std::int64_t s) : size(s) {}  // NOLINT(google-explicit-constructor): Dims read like shapes
  constexpr Dim(const char* n) : name(n) {}   // NOLINT(google-explicit-constructor)
  constexpr Dim(std::int64_t s, std::string_view n) : size(s), name(n) {}
};

/// "[batch, 16]": the expected dims as the messages print them.
inline std::string format_dims(std::initializer_list<Dim> dims) {
  std::string out = "[";
  bool first = true;
  for (const Dim& d : dims) {
    if (!first) out += ", ";
    first = false;
    out += d.size == Dim::kAny ? std::string(d.name.empty() ? "?" : d.name) : std::to_string(d.size);
  }
  return out + "]";
}

/// "float32 [2, 3]": a tensor's dtype and shape as the messages print them.
inline std::string describe(const Tensor& t) { return std::string(dtype_name(t.dtype())) + " " + t.shape().to_string(); }

/// Throws DTypeMismatchError when t is not `dtype`, then ShapeMismatchError when its
/// rank differs from dims.size() or a required size differs. `hint` (optional) is
/// appended to both messages: what the expected sizes come from, or how to fix it.
inline void require_tensor(std::string_view who, std::string_view what, const Tensor& t, DType dtype,
                           std::initializer_list<Dim> dims, std::string_view hint = {}) {
  const auto message = [&] {
    std::string m = std::string(who) + ": " + std::string(what) + " must be " + std::string(dtype_name(dtype)) + " " +
                    format_dims(dims) + ", got " + describe(t);
    if (!hint.empty()) m += "; " + std::string(hint);
    return m;
  };
  if (t.dtype() != dtype) throw DTypeMismatchError(message());
  bool fits = t.shape().rank() == dims.size();
  std::size_t i = 0;
  for (const Dim& d : dims) {
    if (!fits) break;
    if (d.size != Dim::kAny && t.shape()[i] != d.size) fits = false;
    ++i;
  }
  if (!fits) throw ShapeMismatchError(message());
}

/// The same check against a shape known only at run time (another tensor's, a variable's):
/// DTypeMismatchError when t is not `dtype`, then ShapeMismatchError when its shape is not
/// `shape`, in the same message format ("... must be float32 [2, 3], got int32 [2, 3]; hint").
inline void require_tensor_of_shape(std::string_view who, std::string_view what, const Tensor& t, DType dtype,
                                    const Shape& shape, std::string_view hint = {}) {
  const auto message = [&] {
    std::string m = std::string(who) + ": " + std::string(what) + " must be " + std::string(dtype_name(dtype)) + " " +
                    shape.to_string() + ", got " + describe(t);
    if (!hint.empty()) m += "; " + std::string(hint);
    return m;
  };
  if (t.dtype() != dtype) throw DTypeMismatchError(message());
  if (t.shape() != shape) throw ShapeMismatchError(message());
}

// ---- the value ops' and kernels' single-tensor checks (ops.cpp, kernels.cpp)

[[noreturn]] inline void shape_error(const std::string& op, const std::string& detail) {
  throw ShapeMismatchError(op + ": " + detail);
}
inline void require_float(const std::string& op, const Tensor& t, const char* what = "input") {
  if (t.dtype() != DType::float32)
    throw DTypeMismatchError(op + ": " + what + " must be float32, got " + std::string(dtype_name(t.dtype())) +
                             " with shape " + t.shape().to_string());
}
inline void require_int(const std::string& op, const Tensor& t, const char* what) {
  if (t.dtype() != DType::int32)
    throw DTypeMismatchError(op + ": " + what + " must be int32, got " + std::string(dtype_name(t.dtype())) +
                             " with shape " + t.shape().to_string());
}
inline void require_rank(const std::string& op, const Tensor& t, std::size_t rank, const char* what = "input") {
  if (t.shape().rank() != rank)
    shape_error(op, std::string(what) + " must have rank " + std::to_string(rank) + ", got shape " +
                        t.shape().to_string());
}

}  // namespace varscope::validate
