// varscope:context — the per-thread context every later partition reads: the stack
// of frames (one per `graph.as_default()`, plus the thread's root frame), each with
// its graph, current variable scope, name-scope stack and default-name counters,
// and the creator label of the calling thread. It sits below :store so that
// :store (Variable's constructor, the default graph) and :scope (scopes and
// get_variable) both import it, and nothing below :scope reaches up into :scope.
//
// Graph (:store) and ScopeData (:scope) are only forward-declared here: a frame
// holds a pointer to its graph and a shared pointer to its current scope object;
// the partitions that define those types create them. The thread's root frame is
// pushed by :store's get_default_graph(), which owns the thread's fallback graph.
module;
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
export module varscope:context;

export namespace varscope {

class Graph;  // defined in :store

namespace detail {
struct ScopeData;  // a variable scope object; defined by :scope

/// Use counts of names, as TF keeps them (Graph._names_in_use, the variable-scope
/// counts), stored so that a loop that keeps asking for `decoder`, `decoder_1`,
/// `decoder_2`, ... does not grow: a run `B_1 .. B_{r-1}` that each have count 1
/// is one entry (B -> r), not r - 1 entries. Counts set otherwise are explicit.
/// Not synchronised (its owner locks).
class NameCounts {
 public:
  /// How often `key` was marked (0 = never).
  [[nodiscard]] int get(const std::string& key) const;
  void set(const std::string& key, int count);
  void increment(const std::string& key) { set(key, get(key) + 1); }
  /// The smallest k >= 1 with get(base + "_k") == 0.
  [[nodiscard]] int first_free_suffix(const std::string& base) const;
  /// Forgets every key that starts with `prefix` (TF's close_variable_subscopes).
  void erase_prefix(std::string_view prefix);
  /// Entries held (explicit counts + runs): what a long-running process keeps.
  [[nodiscard]] std::size_t entries() const noexcept { return explicit_.size() + runs_.size(); }

 private:
  [[nodiscard]] int run_end(const std::string& base) const;
  std::unordered_map<std::string, int> explicit_;
  std::unordered_map<std::string, int> runs_;  // base -> r: base_1 .. base_{r-1} count 1
};
}  // namespace detail
}  // namespace varscope

namespace varscope::detail {

/// One `graph.as_default()` on the calling thread (the bottom one is the thread's root frame).
struct ThreadFrame {
  Graph* graph = nullptr;
  /// The current variable scope object; null until :scope first needs it (it then
  /// makes the frame's root scope). Set only by :scope.
  std::shared_ptr<ScopeData> variable_scope;
  /// variable_scope's name ("" at the root), kept beside it for :store, which
  /// cannot see ScopeData (a plain Variable records the scope it was created in).
  std::string variable_scope_name;
  std::string name_stack;   ///< "" or "outer/inner/"
  NameCounts scope_counts;  ///< how often each variable scope name was opened (compact: see NameCounts)
};

/// The calling thread's frames, bottom first (empty before the thread's first use
/// of a graph). By index: pushing a frame may reallocate the vector.
[[nodiscard]] std::vector<ThreadFrame>& thread_frames() noexcept;
/// The innermost frame of the calling thread, or null when it has none yet.
[[nodiscard]] ThreadFrame* innermost_frame() noexcept;
/// Pushes a fresh frame for `graph` (root variable scope, empty name stack).
void push_frame(Graph& graph);
/// Pops the innermost frame if it belongs to `graph` and is not the root frame.
void pop_frame(Graph& graph) noexcept;
/// The calling thread's creator label ("" = none): see CreatorLabel in :scope.
[[nodiscard]] std::string& creator_label() noexcept;

}  // namespace varscope::detail
