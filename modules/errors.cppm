// varscope:errors — the typed exceptions every part of varscope throws, and the
// "did you mean" helper that error messages use to suggest near names.
//
// Catch `varscope::Error` for everything, or one kind (AlreadyExistsError, ...)
// to handle a single failure mode.
module;
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
export module varscope:errors;

export namespace varscope {

/// Base of every varscope error. `what()` is the full, multi-line message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  /// The error kind's class name, e.g. "AlreadyExistsError" (for printing).
  [[nodiscard]] virtual const char* kind() const noexcept { return "Error"; }
};

#define VARSCOPE_ERROR_KIND(Name)                                           \
  class Name : public Error {                                               \
   public:                                                                  \
    using Error::Error;                                                     \
    [[nodiscard]] const char* kind() const noexcept override { return #Name; } \
  };

/// get_variable found the name taken while reuse was off.
VARSCOPE_ERROR_KIND(AlreadyExistsError)
/// get_variable did not find the name while reuse=True, or a lookup failed.
VARSCOPE_ERROR_KIND(NotFoundError)
/// Shapes disagree: sharing a variable, assigning a value, or an op's operands.
VARSCOPE_ERROR_KIND(ShapeMismatchError)
/// Dtypes disagree: sharing a variable, assigning a value, or an op's operands.
VARSCOPE_ERROR_KIND(DTypeMismatchError)
/// An argument is out of its domain (bad shape, unknown dtype, empty name, ...).
VARSCOPE_ERROR_KIND(InvalidArgumentError)
/// A variable was about to be created while the store is frozen.
VARSCOPE_ERROR_KIND(FrozenStoreError)
/// A variable was assigned while another computation (dynamic_decode, dynamic_rnn)
/// was reading its graph's variables: assigning then would tear the reader's values.
VARSCOPE_ERROR_KIND(VariableInUseError)

#undef VARSCOPE_ERROR_KIND

/// The call site of an API call (file and line), captured by a default argument.
/// (std::source_location is missing from the wasm toolchain's libc++.)
struct SourceLocation {
  const char* file = "";
  unsigned line = 0;
  [[nodiscard]] static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                                        unsigned line = __builtin_LINE()) noexcept {
    return {file, line};
  }
};

/// Levenshtein edit distance (bytes).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

/// Up to `max_results` names from `candidates` that are plausibly what `wanted` meant:
/// same last path component in another scope, or a small edit distance. Closest first.
[[nodiscard]] std::vector<std::string> closest_names(std::string_view wanted,
                                                     const std::vector<std::string>& candidates,
                                                     std::size_t max_results = 3);

}  // namespace varscope
