// varscope:scope — variable_scope, name_scope and get_variable: the name stack,
// reuse inheritance, default-name counters and custom getters (SPEC section 2).
//
// Per thread there is a stack of frames (:context), one per `graph.as_default()`;
// each frame holds the current variable scope, the name-scope stack and the
// default-name counters. `variable_scope(...)` returns a guard that enters a scope for its
// lifetime:
//
//   auto scope = variable_scope("decoder");          // with tf.variable_scope('decoder') as scope:
//   auto k = get_variable("kernel", {.shape = {3, 4}});
//   scope.reuse_variables();                          //     scope.reuse_variables()
module;
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <memory>
#include <vector>
export module varscope:scope;
import :errors;
import :tensor;
import :init;
import :context;
import :store;

export namespace varscope {

/// What a variable_scope asks for. `None` inherits the enclosing scope's mode;
/// `True` and `AutoReuse` override it (an inner scope can never switch reuse off).
enum class Reuse : std::uint8_t { None, True, AutoReuse };
/// tf.AUTO_REUSE
inline constexpr Reuse AUTO_REUSE = Reuse::AutoReuse;

// Custom getters (TF's `custom_getter(getter, name, *args, **kwargs)`): a getter
// receives the next getter and the VariableRequest that get_variable built (TF's
// name and keyword arguments in one struct: name, shape, dtype, initializer,
// trainable, ... and reuse), may change a copy of it, and usually returns
// `next(request)`:
//
//   auto scope = variable_scope("s", {.custom_getter = [](const Getter& getter, const VariableRequest& request) {
//     VariableRequest changed = request;                 // def getter(getter, name, *args, **kwargs):
//     changed.trainable = false;                         //   kwargs['trainable'] = False
//     return getter(changed);                            //   return getter(name, *args, **kwargs)
//   }});
/// The next getter in a chain (ends in the store's get-or-create, VariableStore::get_variable).
using Getter = std::function<Variable(const VariableRequest&)>;
/// A custom getter: receives `next` and the request, returns a variable (usually
/// `next(request)`, possibly after changing the request or the result).
using CustomGetter = std::function<Variable(const Getter& next, const VariableRequest& request)>;
/// The name of VariableRequest in custom getters before 0.5 (one type now).
using GetterContext = VariableRequest;

namespace detail {
struct ScopeData;
struct ScopeAccess;
}  // namespace detail

/// A variable scope object (TF's VariableScope): a name, a reuse mode, a default
/// initializer and a custom getter. Copies are handles to the same object, so
/// `reuse_variables()` on a captured scope is seen when it is re-entered.
class VariableScope {
 public:
  /// Full scope name, e.g. "decoder" or "feed_forward_x/dense_a" ("" at the root).
  [[nodiscard]] const std::string& name() const noexcept;
  /// Effective reuse mode: False, True or AutoReuse (never "None").
  [[nodiscard]] ReuseMode reuse() const noexcept;
  /// Who set the effective reuse mode, e.g. `variable_scope("a", reuse=True)`.
  [[nodiscard]] const std::string& reuse_origin() const noexcept;
  /// Switches this scope object to reuse=True for the rest of its block, for
  /// scopes opened inside it afterwards, and for later re-entries of this object.
  void reuse_variables();
  /// Default initializer for get_variable calls in this scope and its sub-scopes.
  [[nodiscard]] const std::optional<Initializer>& initializer() const noexcept;
  void set_initializer(Initializer initializer);
  /// Default dtype for get_variable calls in this scope and its sub-scopes that
  /// give none (TF's `variable_scope(dtype=...)`; float32 unless a scope sets it).
  [[nodiscard]] DType dtype() const noexcept;
  void set_dtype(DType dtype);
  /// The name scope opened when the scope was first entered ("hoge/", "hoge_1/").
  [[nodiscard]] const std::string& original_name_scope() const noexcept;
  /// Variables of this scope's graph whose names start with `name() + "/"`.
  [[nodiscard]] std::vector<Variable> global_variables() const;
  [[nodiscard]] std::vector<Variable> trainable_variables() const;
  [[nodiscard]] std::vector<Variable> local_variables() const;
  /// tf VariableScope.get_collection(key): the collection filtered to this scope
  /// (`name() + "/"`, so scope "foo" never lists "foo_/..."; the root lists all).
  [[nodiscard]] std::vector<Variable> get_collection(std::string_view key) const;
  [[nodiscard]] Graph& graph() const noexcept;

 protected:
  friend struct detail::ScopeAccess;
  explicit VariableScope(std::shared_ptr<detail::ScopeData> data) : data_(std::move(data)) {}
  std::shared_ptr<detail::ScopeData> data_;
};

/// Options of variable_scope (keyword arguments of tf.variable_scope).
struct ScopeOptions {
  /// Used when no name is given; uniquified per parent scope: dense, dense_1, ...
  std::string default_name;
  Reuse reuse = Reuse::None;
  /// Default initializer for this scope and its sub-scopes.
  std::optional<Initializer> initializer;
  /// Wraps the enclosing scope's getter chain (this getter runs first).
  CustomGetter custom_getter;
  /// Default dtype of get_variable calls in this scope and its sub-scopes that
  /// pass no `.dtype` (tf.variable_scope(dtype=...)). Unset: inherited (float32 at the root).
  std::optional<DType> dtype;
  /// false: open no name scope for this variable scope (TF's
  /// `auxiliary_name_scope=False`): plain Variables keep the current name scope and
  /// original_name_scope() is the current name scope ("" at the root). Variable
  /// names from get_variable are unaffected.
  bool auxiliary_name_scope = true;
};

namespace detail {
struct SavedScopeCounts;
}

/// RAII guard returned by variable_scope(): it IS the entered VariableScope
/// (`scope.reuse_variables()`, `scope.name()`); leaving the block restores the
/// previous scope and name scope. Copy it into a VariableScope to re-enter later.
/// Leaving a scope opened by name (or default name) restarts the default-name
/// counters of its sub-scopes (TF's close_variable_subscopes); leaving a
/// re-entered scope object restores the counters as they were when it was entered.
class VariableScopeGuard : public VariableScope {
 public:
  ~VariableScopeGuard();
  VariableScopeGuard(const VariableScopeGuard&) = delete;
  VariableScopeGuard& operator=(const VariableScopeGuard&) = delete;

 private:
  friend struct detail::ScopeAccess;
  VariableScopeGuard(std::shared_ptr<detail::ScopeData> entered, std::shared_ptr<detail::ScopeData> previous,
                     std::string previous_name_stack, Graph* graph,
                     std::shared_ptr<detail::SavedScopeCounts> saved_counts);
  std::shared_ptr<detail::ScopeData> previous_;
  std::shared_ptr<detail::SavedScopeCounts> saved_counts_;  // set when a scope object was re-entered
  std::string previous_name_stack_;
  Graph* graph_;
};

/// `with tf.variable_scope('name', reuse=..., initializer=...)`. An explicit name
/// is used as given (never uniquified for variables); the name scope opened for it
/// is uniquified (`name`, `name_1`, ...) under the current name scope.
[[nodiscard]] VariableScopeGuard variable_scope(std::string_view name, ScopeOptions options = {});
/// `with tf.variable_scope(captured_scope)`: re-enters a scope object with that
/// object's own reuse mode (unless options.reuse is True / AUTO_REUSE), initializer,
/// dtype and custom getter (options override them). get_variable names keep the
/// captured scope's name; like TF, a NEW name scope named after the scope's last
/// name component is opened under the *current* name scope ("tower6/tower4/" when
/// `tower4` is re-entered inside `tower6`; none for the root scope), and
/// original_name_scope() stays the captured one.
[[nodiscard]] VariableScopeGuard variable_scope(const VariableScope& scope, ScopeOptions options = {});
/// `with tf.variable_scope(None, default_name='dense')`: options.default_name is required.
[[nodiscard]] VariableScopeGuard variable_scope(std::nullopt_t, ScopeOptions options);

/// The innermost entered variable scope of the calling thread's default graph.
[[nodiscard]] VariableScope get_variable_scope();

/// RAII name scope (tf.name_scope): affects plain Variable names, never get_variable.
class NameScopeGuard {
 public:
  ~NameScopeGuard();
  NameScopeGuard(const NameScopeGuard&) = delete;
  NameScopeGuard& operator=(const NameScopeGuard&) = delete;
  /// The opened scope, with trailing "/" (e.g. "hoge_1/").
  [[nodiscard]] const std::string& name() const noexcept { return opened_; }

 private:
  friend struct detail::ScopeAccess;
  NameScopeGuard(std::string opened, std::string previous) : opened_(std::move(opened)), previous_(std::move(previous)) {}
  std::string opened_;
  std::string previous_;
};
/// Opens `name` under the current name scope, uniquified (`a`, `a_1`, ...).
/// A name ending in "/" is taken as an absolute, already-unique scope.
[[nodiscard]] NameScopeGuard name_scope(std::string_view name);
/// The current name-scope prefix ("" or "outer/inner/").
[[nodiscard]] std::string current_name_scope();

/// Keyword arguments of get_variable.
struct GetVariableOptions {
  /// Required to create; may be omitted or partially known (kUnknownDim) to fetch.
  /// Must be omitted when the initializer is a tensor value (TF: "If initializer
  /// is a constant, do not specify shape"): the value's shape is used.
  Shape shape = Shape::unknown();
  /// Unset: the initializer value's dtype when the initializer is a tensor value,
  /// else the scope's dtype (float32 unless a scope sets `.dtype`). Set together
  /// with a tensor-value initializer, it must equal the value's dtype.
  std::optional<DType> dtype;
  /// Overrides the scope's default initializer. A Tensor converts to a value
  /// initializer (`.initializer = Tensor(...)`, TF's `initializer=tf.constant(...)`).
  std::optional<Initializer> initializer;
  bool trainable = true;
};

/// tf.get_variable: creates or returns `<current scope>/<name>` following the
/// effective reuse mode of the current scope (see VariableStore::get_variable).
Variable get_variable(std::string_view name, GetVariableOptions options = {},
                      SourceLocation where = SourceLocation::current());
/// tf.get_local_variable: like get_variable, in LOCAL_VARIABLES, not trainable.
Variable get_local_variable(std::string_view name, GetVariableOptions options = {},
                            SourceLocation where = SourceLocation::current());

/// RAII: labels variables created while it lives (e.g. "Dense 'dense_a'"), so
/// errors can say which layer first created a variable. Layers use this.
class CreatorLabel {
 public:
  explicit CreatorLabel(std::string label);
  ~CreatorLabel();
  CreatorLabel(const CreatorLabel&) = delete;
  CreatorLabel& operator=(const CreatorLabel&) = delete;

 private:
  std::string previous_;
};

}  // namespace varscope
