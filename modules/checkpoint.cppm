// varscope:checkpoint — JSON checkpoints (SPEC section 7, docs/checkpoint-format.md):
// save (temp file + rename), restore by name with strict / lenient / dry-run,
// prefix remapping and rename rules, a report with "did you mean", and
// list_variables. Bad input is a CheckpointError naming the variable and the
// problem; a failed strict restore modifies nothing.
module;
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
export module varscope:checkpoint;
import :errors;
import :tensor;
import :store;

export namespace varscope {

/// A checkpoint file or its contents is invalid (malformed JSON, wrong format or
/// version, bad dtype/shape/data, non-finite values, duplicates, size limits).
class CheckpointError : public Error {
 public:
  using Error::Error;
  [[nodiscard]] const char* kind() const noexcept override { return "CheckpointError"; }
};

/// A strict restore found missing / unexpected / mismatched variables. what()
/// holds the whole report; nothing was modified.
class CheckpointMismatchError : public Error {
 public:
  using Error::Error;
  [[nodiscard]] const char* kind() const noexcept override { return "CheckpointMismatchError"; }
};

inline constexpr const char* kCheckpointFormat = "varscope-checkpoint";
inline constexpr int kCheckpointVersion = 1;

struct SaveOptions {
  /// A JSON object stored as "metadata" (model config, user fields); "" for none.
  std::string metadata_json;
  /// Store values as JSON number arrays instead of base64 little-endian bytes.
  bool plain_numbers = false;
};

/// Writes the variables (names without ":0") to `path`: into a temp file in the
/// same directory, flushed, then renamed over `path`, so an interrupted save
/// never leaves a half-written file in place of a good one.
void save(const std::vector<Variable>& variables, const std::string& path, const SaveOptions& options = {});
/// All global variables of the graph.
void save(const Graph& graph, const std::string& path, const SaveOptions& options = {});
/// The checkpoint text `save` would write, in memory (e.g. for a browser download).
[[nodiscard]] std::string save_to_string(const std::vector<Variable>& variables, const SaveOptions& options = {});
[[nodiscard]] std::string save_to_string(const Graph& graph, const SaveOptions& options = {});

/// "*/weights" -> "*/kernel": `*` matches any prefix (kept); without `*` the
/// whole name must match.
struct RenameRule {
  std::string from;
  std::string to;
};

struct LoadLimits {
  /// Largest total value bytes a checkpoint may declare (checked before any allocation).
  std::int64_t max_total_bytes = std::int64_t{1} << 31;
  /// NaN / Inf values are an error unless allowed.
  bool allow_non_finite = false;
};

struct RestoreOptions {
  /// Strict: any missing, unexpected or mismatched name is an error and nothing is
  /// modified. Lenient (false): matches are applied, the rest is reported.
  bool strict = true;
  /// Only compute the report; never modify.
  bool dry_run = false;
  /// Checkpoint-name prefix rewrites, first match wins ("old_scope/" -> "new_scope/").
  std::vector<std::pair<std::string, std::string>> prefix_map;
  /// Applied after the prefix map, in order (e.g. the TF <= 1.2 weights/biases names).
  std::vector<RenameRule> renames;
  LoadLimits limits;
  /// How long the swap may wait for computations in flight on other threads
  /// (dynamic_decode / dynamic_rnn); unset: as long as they take. Past it:
  /// VariableInUseError, nothing modified.
  std::optional<std::chrono::milliseconds> wait_timeout;
};

struct Mismatch {
  std::string name;       ///< graph variable name (no ":0")
  std::string expected;   ///< the variable's shape or dtype
  std::string found;      ///< the checkpoint's
};

struct RestoreReport {
  std::vector<std::string> matched;      ///< restored (or restorable, in a dry run)
  std::vector<std::string> missing;      ///< graph variables the checkpoint lacks
  std::vector<std::string> unexpected;   ///< checkpoint names (after remapping) matching no variable
  std::vector<Mismatch> shape_mismatches;
  std::vector<Mismatch> dtype_mismatches;
  /// For each missing name, near names in the checkpoint.
  std::vector<std::pair<std::string, std::vector<std::string>>> suggestions;
  bool applied = false;  ///< values were written into the graph

  [[nodiscard]] bool clean() const noexcept {
    return missing.empty() && unexpected.empty() && shape_mismatches.empty() && dtype_mismatches.empty();
  }
  /// Multi-line, human readable.
  [[nodiscard]] std::string summary() const;
};

/// Restores the graph's global variables from `path`, matching by name. The file is
/// read as a stream: peak memory is the decoded values plus a 1 MiB block.
///
/// Hot reload: restore is safe while other threads decode with the graph. The
/// checkpoint is read and checked first, without blocking anyone; then every
/// matched variable is swapped under one Graph::UpdateGuard, which waits for the
/// decodes in flight (up to `wait_timeout`) while new decodes wait for the swap.
/// So a dynamic_decode / dynamic_rnn sees the whole old model or the whole new one,
/// never a mix, and a restore that fails (mismatch, bad file, timeout) changes
/// nothing. Calling it from inside a decode on the same graph is a VariableInUseError.
RestoreReport restore(Graph& graph, const std::string& path, const RestoreOptions& options = {});
/// The same from checkpoint text in memory; `source` names it in errors.
RestoreReport restore_from_string(Graph& graph, std::string_view json_text, const RestoreOptions& options = {},
                                  const std::string& source = "(in memory)");

/// One entry of a checkpoint (list_variables, read_checkpoint, write_checkpoint).
struct CheckpointEntry {
  std::string name;
  DType dtype = DType::float32;
  Shape shape;
  Tensor value;  ///< empty (scalar 0) unless read_checkpoint was asked for values

  CheckpointEntry() = default;
  /// An entry holding `value` (its dtype and shape), to write with write_checkpoint:
  /// `entries.emplace_back("decoder/dense/kernel", kernel.value());`
  CheckpointEntry(std::string name_, Tensor value_)
      : name(std::move(name_)), dtype(value_.dtype()), shape(value_.shape()), value(std::move(value_)) {}
};

/// A checkpoint's entries: a std::vector<CheckpointEntry> (iterate, index, size,
/// pass to write_checkpoint as before) that also finds an entry by name:
///
///   auto ckpt = read_checkpoint("model.json");
///   const Tensor& kernel = ckpt.at("decoder/dense/kernel").value;
///
/// Names are looked up as written in the file (no ":0"); lookups scan the entries.
class Checkpoint : public std::vector<CheckpointEntry> {
 public:
  using std::vector<CheckpointEntry>::vector;
  using std::vector<CheckpointEntry>::at;  // by index, as for any vector
  Checkpoint() = default;
  Checkpoint(std::vector<CheckpointEntry> entries) : std::vector<CheckpointEntry>(std::move(entries)) {}

  /// The entry named `name`; NotFoundError naming it, with "did you mean" (near
  /// names in this checkpoint) when there is none.
  [[nodiscard]] const CheckpointEntry& at(std::string_view name) const;
  [[nodiscard]] CheckpointEntry& at(std::string_view name);
  /// The entry named `name`, or nullptr.
  [[nodiscard]] const CheckpointEntry* find(std::string_view name) const noexcept;
  [[nodiscard]] CheckpointEntry* find(std::string_view name) noexcept;
  [[nodiscard]] bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
};

/// tf.train.list_variables: names (sorted), dtypes and shapes, values not decoded.
[[nodiscard]] Checkpoint list_variables(const std::string& path, const LoadLimits& limits = {});
/// Every entry with its decoded value, in file order; validates everything.
/// `read_checkpoint(path).at("decoder/dense/kernel").value` reads one variable.
[[nodiscard]] Checkpoint read_checkpoint(const std::string& path, const LoadLimits& limits = {});
/// Same, from JSON text already in memory (`source` names it in errors).
[[nodiscard]] Checkpoint parse_checkpoint(const std::string& json_text, const std::string& source,
                                          bool decode_values, const LoadLimits& limits = {});
/// The metadata object of a checkpoint as JSON text ("{}" when absent).
[[nodiscard]] std::string checkpoint_metadata(const std::string& path);
/// Writes entries (with values) as a checkpoint, atomically like save().
void write_checkpoint(const std::vector<CheckpointEntry>& entries, const std::string& path,
                      const SaveOptions& options = {});
/// The checkpoint name after the prefix map and rename rules of `options`.
[[nodiscard]] std::string remap_name(const std::string& name, const RestoreOptions& options);

}  // namespace varscope
