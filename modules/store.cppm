// varscope:store — Graph, Variable and VariableStore: who owns variables, how
// they are named in the graph, the collections, and the get-or-create rule of
// get_variable (SPEC sections 1-2). Scopes (which decide the name and the reuse
// mode of a request) live in :scope.
module;
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
export module varscope:store;
import :errors;
import :tensor;
import :init;
import :context;

namespace varscope::detail {
/// A graph's gate over its variable values: many readers or one writer; a writer
/// waiting holds new readers back. Tracks what each thread holds, so nested holds
/// on one thread never wait for themselves. (Graph::ReadingGuard / UpdateGuard.)
class ValueGate {
 public:
  void lock_shared();
  void unlock_shared();
  /// false after `timeout` (readers_seen: how many were reading); VariableInUseError
  /// when this thread is reading.
  bool lock(std::optional<std::chrono::nanoseconds> timeout, std::int64_t* readers_seen);
  void unlock();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::int64_t readers_ = 0;
  std::int64_t writers_waiting_ = 0;
  bool writing_ = false;
};
}  // namespace varscope::detail

export namespace varscope {

/// Tape ids with this bit name a variable's reads (Variable::read_id); the
/// others are per-thread ids of recorded op outputs.
inline constexpr std::uint64_t kVariableReadIdBit = std::uint64_t{1} << 63;

/// The reuse mode in effect for a get_variable call (what `scope.reuse` prints:
/// False, True or _ReuseMode.AUTO_REUSE).
enum class ReuseMode : std::uint8_t { False, True, AutoReuse };

/// "False", "True", "_ReuseMode.AUTO_REUSE" (exactly as TF 1.x prints them).
[[nodiscard]] std::string_view to_string(ReuseMode mode) noexcept;
std::ostream& operator<<(std::ostream& os, ReuseMode mode);

/// Collection keys (tf.GraphKeys).
namespace GraphKeys {
inline constexpr std::string_view GLOBAL_VARIABLES = "variables";
inline constexpr std::string_view TRAINABLE_VARIABLES = "trainable_variables";
inline constexpr std::string_view LOCAL_VARIABLES = "local_variables";
}  // namespace GraphKeys

/// Where and how a variable came to be; used by error messages and audits.
struct VariableOrigin {
  std::string scope;       ///< variable scope name at creation ("" = root)
  std::string creator;     ///< "get_variable", "Variable", or a layer such as "Dense 'dense_a'"
  std::string call_site;   ///< "file.cpp:42" of the creating call, when known
};

namespace detail {
struct VariableNode;
}  // namespace detail

/// A handle to a variable owned by a Graph. Copies share the same variable.
///
/// Constructing one (`Variable(initial_value, "name")`) is TF's plain
/// tf.Variable: it registers a NEW variable in the default graph, uniquifying
/// the name (`name`, `name_1`, ...); it is never shared and get_variable cannot
/// see it.
class Variable {
 public:
  explicit Variable(Tensor initial_value, std::string_view name = "Variable", bool trainable = true,
                    SourceLocation where = SourceLocation::current());

  /// Printed name with the output suffix, e.g. "hoge/variable:0".
  [[nodiscard]] std::string name() const;
  /// Name without ":0" (the checkpoint key), e.g. "hoge/variable".
  [[nodiscard]] const std::string& op_name() const noexcept;
  [[nodiscard]] const Shape& shape() const noexcept;
  [[nodiscard]] DType dtype() const noexcept;
  [[nodiscard]] bool trainable() const noexcept;
  [[nodiscard]] const VariableOrigin& origin() const noexcept;
  /// The current value.
  [[nodiscard]] const Tensor& value() const noexcept;
  /// Replaces the value; ShapeMismatchError / DTypeMismatchError name the variable.
  /// Waits for computations reading the graph on other threads (Graph::ReadingGuard)
  /// to finish; from inside one on this thread it is a VariableInUseError. Several
  /// assigns that must land together go under one Graph::UpdateGuard.
  void assign(Tensor value) const;  // a handle: assigning through a const handle is allowed
  /// Modifies a float32 value in place (`update` receives its values) and bumps
  /// version(): an optimizer's step without copying the variable. Waits for
  /// computations reading the graph, as assign does.
  /// DTypeMismatchError names the variable when it is not float32.
  void update_in_place(const std::function<void(std::span<float>)>& update) const;
  /// Several variables at once (a variable and its optimizer slots): `update`
  /// receives their values in order; every version() is bumped.
  static void update_in_place(const std::vector<Variable>& variables,
                              const std::function<void(const std::vector<std::span<float>>&)>& update);
  /// The autograd id of this variable's reads (see :autograd): value().tape_id(),
  /// kept across assign(), so a copy of the value is still a read of the variable.
  /// Unique per process, with kVariableReadIdBit set.
  [[nodiscard]] std::uint64_t read_id() const noexcept;
  /// Bumped on every assign; lets caches of derived data notice changes.
  [[nodiscard]] std::uint64_t version() const noexcept;
  /// The graph that owns the variable.
  [[nodiscard]] Graph& graph() const noexcept;

  friend bool operator==(const Variable& a, const Variable& b) noexcept { return a.node_ == b.node_; }

 private:
  friend class VariableStore;
  friend class Graph;
  explicit Variable(std::shared_ptr<detail::VariableNode> node) : node_(std::move(node)) {}
  std::shared_ptr<detail::VariableNode> node_;
};

/// Everything get_variable needs to decide "create, return or fail" for one
/// fully-qualified name. Built by :scope's get_variable from the call and the
/// current variable scope; custom getters (:scope) receive it and may pass a
/// changed copy on (TF's getter(name, *args, **kwargs) in one struct).
struct VariableRequest {
  std::string name;                          ///< full key, e.g. "decoder/cell/gates/kernel"
  Shape shape = Shape::unknown();            ///< requested shape (may be partially known)
  DType dtype = DType::float32;
  std::optional<Initializer> initializer;    ///< explicit or inherited from the scope
  bool trainable = true;
  bool local = false;                        ///< LOCAL_VARIABLES instead of GLOBAL_VARIABLES
  ReuseMode reuse = ReuseMode::False;        ///< effective reuse mode
  std::string reuse_origin;                  ///< which scope set the reuse mode, for errors
  std::string scope;                         ///< current variable scope name
  std::string creator = "get_variable";
  SourceLocation where = SourceLocation::current();
};

/// What happened to one get_variable call; recorded by audits.
struct AuditEntry {
  std::string name;  ///< full key
  bool created;      ///< false = an existing variable was returned
};

/// The get_variable store of one graph: full name -> variable (plain Variables are
/// not in it). Implements the create/get table of SPEC section 2.
class VariableStore {
 public:
  explicit VariableStore(Graph& graph) : graph_(&graph) {}
  VariableStore(const VariableStore&) = delete;
  VariableStore& operator=(const VariableStore&) = delete;

  /// The get-or-create rule:
  ///   reuse False:     create if new, AlreadyExistsError if taken;
  ///   reuse True:      return if present (shape/dtype checked), NotFoundError if new;
  ///   reuse AutoReuse: return if present, create if new.
  /// Creation in a frozen store is a FrozenStoreError.
  Variable get_variable(const VariableRequest& request);

  [[nodiscard]] bool contains(std::string_view full_name) const;
  [[nodiscard]] std::optional<Variable> find(std::string_view full_name) const;
  /// All keys, in creation order.
  [[nodiscard]] std::vector<std::string> names() const;

  /// While frozen, every attempt to create a variable (get_variable or Variable)
  /// fails with FrozenStoreError; existing variables can still be fetched.
  void set_frozen(bool frozen) noexcept { frozen_ = frozen; }
  [[nodiscard]] bool frozen() const noexcept { return frozen_; }

  // Thread safety: every member function may be called from several threads at
  // once (one lock per store); audit sinks receive entries under that lock.

  /// Audits receive an entry for every get_variable call while registered.
  void add_audit_sink(std::vector<AuditEntry>* sink);
  void remove_audit_sink(std::vector<AuditEntry>* sink);

 private:
  void record(const std::string& name, bool created);
  std::string suggestions_for(std::string_view name) const;

  Graph* graph_;
  mutable std::recursive_mutex mutex_;  // recursive: an initializer may itself call into the store
  std::unordered_map<std::string, Variable> by_name_;
  std::vector<std::string> order_;
  std::vector<std::vector<AuditEntry>*> audit_sinks_;
  std::atomic<bool> frozen_ = false;
};

/// RAII: makes a graph the thread's default graph for the guard's lifetime
/// (`with graph.as_default():`), with a fresh root variable scope and name stack.
class DefaultGraphGuard {
 public:
  explicit DefaultGraphGuard(Graph& graph);
  ~DefaultGraphGuard();
  DefaultGraphGuard(const DefaultGraphGuard&) = delete;
  DefaultGraphGuard& operator=(const DefaultGraphGuard&) = delete;

 private:
  Graph* graph_;
};

/// Owns the variables, their collections, the get_variable store and the
/// graph-level name registry. Not copyable or movable (handles point into it).
///
/// Threads: one graph may be used from many threads at once — creating and
/// fetching variables, opening scopes, and computing (dynamic_decode,
/// dynamic_rnn, layers) with the same shared variables. Each thread has its own
/// default-graph stack and variable/name-scope stack.
///
/// Changing values while computations run (hot reload): dynamic_decode and
/// dynamic_rnn read the variables under a ReadingGuard; `Variable::assign`,
/// `update_in_place` and `restore` write under an UpdateGuard. A write waits for
/// the computations in flight and new computations wait for the write, so each
/// computation sees every variable as it was before a write or after it, never a
/// mix (a `restore` swaps all its variables under one guard). Writers go first:
/// a stream of computations cannot starve a restore. A write from a thread that
/// is itself inside a computation on the graph is a VariableInUseError (it would
/// wait for itself). Plain layer calls outside dynamic_decode / dynamic_rnn take no
/// guard: ordering them against writes of their own weights is the caller's.
class Graph {
 public:
  /// `seed` is the graph-level seed (tf.set_random_seed); every random initial
  /// value is a function of it, so the same program gives the same weights.
  explicit Graph(std::uint64_t seed = 0);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  /// `with graph.as_default():` — `auto use = graph.as_default();`
  [[nodiscard]] DefaultGraphGuard as_default() { return DefaultGraphGuard(*this); }

  [[nodiscard]] VariableStore& store() noexcept { return store_; }
  [[nodiscard]] const VariableStore& store() const noexcept { return store_; }
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  /// Seed for the next random op without an explicit seed (counts ops, like TF).
  [[nodiscard]] std::uint64_t next_op_seed() noexcept;

  /// Variables in `key`'s collection in creation order; a non-empty `scope`
  /// keeps those whose name starts with it (tf.get_collection(key, scope)).
  [[nodiscard]] std::vector<Variable> get_collection(std::string_view key, std::string_view scope = "") const;
  [[nodiscard]] std::vector<Variable> global_variables(std::string_view scope = "") const;
  [[nodiscard]] std::vector<Variable> trainable_variables(std::string_view scope = "") const;
  [[nodiscard]] std::vector<Variable> local_variables(std::string_view scope = "") const;
  void add_to_collection(std::string_view key, const Variable& variable);

  /// TF's Graph.unique_name: `name` if unused (case-insensitive), else `name_1`,
  /// `name_2`, ...; the result is marked used. `name` is taken as absolute.
  std::string unique_name(std::string_view name, bool mark_as_used = true);

  /// Registers a newly created variable node (store and Variable constructor use this).
  Variable register_variable(Tensor initial_value, std::string_view graph_name, bool trainable, bool local,
                             VariableOrigin origin);

  /// Entries in the name registry (unique_name). A loop of dynamic_decode calls
  /// (decoder, decoder_1, ...) keeps this constant; tests watch it.
  [[nodiscard]] std::size_t name_registry_entries() const;

  /// RAII: marks a computation that reads this graph's variables (dynamic_decode,
  /// dynamic_rnn). Many may be alive at once, on any threads; a write (UpdateGuard)
  /// waits for them, and one waiting or in progress makes a new ReadingGuard wait.
  /// Nested guards on one thread do not wait.
  class ReadingGuard {
   public:
    explicit ReadingGuard(Graph& graph);
    ~ReadingGuard();
    ReadingGuard(const ReadingGuard&) = delete;
    ReadingGuard& operator=(const ReadingGuard&) = delete;

   private:
    std::shared_ptr<detail::ValueGate> gate_;
  };

  /// RAII: this thread alone may change the graph's variable values while the
  /// guard lives (restore holds one across all its assigns, so readers see the old
  /// set or the new set). Waits until no computation reads the graph; `timeout`
  /// bounds the wait: past it, VariableInUseError (saying how many computations
  /// were reading) and nothing is held. `what` names the write in that error.
  /// Assigns on this thread inside the guard do not wait again. From a thread
  /// inside a ReadingGuard on this graph: VariableInUseError at once.
  class UpdateGuard {
   public:
    explicit UpdateGuard(Graph& graph, std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                         std::string_view what = "update");
    ~UpdateGuard();
    UpdateGuard(const UpdateGuard&) = delete;
    UpdateGuard& operator=(const UpdateGuard&) = delete;

   private:
    friend class Variable;
    // Every distinct gate, taken in address order (several graphs: no deadlock).
    UpdateGuard(std::vector<std::shared_ptr<detail::ValueGate>> gates, std::optional<std::chrono::milliseconds> timeout,
                std::string_view what);
    void release() noexcept;
    std::vector<std::shared_ptr<detail::ValueGate>> held_;
  };

 private:
  std::uint64_t seed_;
  std::atomic<std::uint64_t> op_seed_counter_ = 0;
  VariableStore store_;
  mutable std::mutex mutex_;  // collections_ and names_in_use_
  std::map<std::string, std::vector<Variable>, std::less<>> collections_;
  detail::NameCounts names_in_use_;
  // Readers and writers of the variable values (ReadingGuard / UpdateGuard). Shared
  // with every variable node, so an assign through a handle that outlived the graph is safe.
  std::shared_ptr<detail::ValueGate> gate_;
};

/// The calling thread's default graph (a per-thread graph when none was made default).
[[nodiscard]] Graph& get_default_graph();

// Eager random ops (tf.random_uniform / tf.random_normal). Without an explicit
// seed they draw the next op seed of the default graph (Graph::next_op_seed);
// with one, the value depends on the graph seed and that seed only.
[[nodiscard]] Tensor random_uniform(const Shape& shape, float minval = 0.0f, float maxval = 1.0f,
                                    std::optional<std::uint64_t> seed = std::nullopt);
[[nodiscard]] Tensor random_normal(const Shape& shape, float mean = 0.0f, float stddev = 1.0f,
                                   std::optional<std::uint64_t> seed = std::nullopt);

/// Shorthands for the default graph's listings (tf.global_variables() ...).
[[nodiscard]] std::vector<Variable> global_variables(std::string_view scope = "");
[[nodiscard]] std::vector<Variable> trainable_variables(std::string_view scope = "");
[[nodiscard]] std::vector<Variable> local_variables(std::string_view scope = "");

/// RAII: freezes a graph's store for the guard's lifetime (restoring the
/// previous state after), so a block can prove it creates nothing.
class FreezeGuard {
 public:
  explicit FreezeGuard(Graph& graph = get_default_graph());
  ~FreezeGuard();
  FreezeGuard(const FreezeGuard&) = delete;
  FreezeGuard& operator=(const FreezeGuard&) = delete;

 private:
  Graph* graph_;
  bool previous_;
};

/// RAII: records which names get_variable created vs reused in the default
/// graph while the audit lives.
class VariableAudit {
 public:
  explicit VariableAudit(Graph& graph = get_default_graph());
  ~VariableAudit();
  VariableAudit(const VariableAudit&) = delete;
  VariableAudit& operator=(const VariableAudit&) = delete;

  [[nodiscard]] const std::vector<AuditEntry>& entries() const noexcept { return entries_; }
  /// Names created, in order, without duplicates.
  [[nodiscard]] std::vector<std::string> created() const;
  /// Names returned existing (reused), in first-use order, without duplicates.
  [[nodiscard]] std::vector<std::string> reused() const;
  /// The sharing trap, made visible: one message per variable created as `P/x_N/...` (N >= 1)
  /// next to an existing `P/x/...` of the same shape made by the same kind of creator, when
  /// `P/x/...` was there before the audit began or was reused during it (a second layer object,
  /// attention mechanism or decoder built where the first one's variables were meant to be
  /// shared: TF uniquifies its name and trains a new, unshared variable). memory_layer_N is
  /// reported even when both were created in this audit (two attention mechanisms in one scope
  /// are never what is meant). Each message names both variables, the creator and the fix.
  [[nodiscard]] std::vector<std::string> warnings() const;
  /// "created 4, reused 4\n  + a/kernel\n  = a/kernel\n ..." and a "warnings:" block when
  /// warnings() has any.
  [[nodiscard]] std::string summary() const;

 private:
  Graph* graph_;
  std::vector<AuditEntry> entries_;
};

}  // namespace varscope

namespace varscope::detail {
/// True on this thread while an optimizer (compute_gradients / minimize) runs the
/// caller's loss function: an AlreadyExistsError then names the usual cause (layer
/// objects constructed inside the loss function) and its fix. Set by OptimizerLossScope.
bool& in_optimizer_loss_fn() noexcept;
/// Sets in_optimizer_loss_fn() for its lifetime (restores the previous value).
class OptimizerLossScope {
 public:
  OptimizerLossScope() noexcept : previous_(in_optimizer_loss_fn()) { in_optimizer_loss_fn() = true; }
  ~OptimizerLossScope() { in_optimizer_loss_fn() = previous_; }
  OptimizerLossScope(const OptimizerLossScope&) = delete;
  OptimizerLossScope& operator=(const OptimizerLossScope&) = delete;

 private:
  bool previous_;
};

struct VariableNode {
  std::string name;  // graph-unique name, without ":0"
  Tensor value;
  bool trainable = true;
  bool local = false;
  VariableOrigin origin;
  Graph* graph = nullptr;
  std::uint64_t version = 0;
  std::uint64_t read_id = 0;  // Variable::read_id (autograd)
  std::shared_ptr<ValueGate> gate;  // the graph's readers / writer (Graph::ReadingGuard, Graph::UpdateGuard)
};
}  // namespace varscope::detail
