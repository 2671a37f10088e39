// Implementation of varscope:scope — variable scopes and name scopes on the
// calling thread's frame (:context), get_variable and the custom-getter chain.
module;
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>
module varscope;

namespace varscope::detail {

struct ScopeData {
  std::string name;
  std::string original_name_scope;
  ReuseMode reuse = ReuseMode::False;
  std::string reuse_origin = "the root scope (reuse is False unless a scope sets it)";
  std::optional<Initializer> initializer;
  DType dtype = DType::float32;
  CustomGetter custom_getter;
  Graph* graph = nullptr;
};

// The default-name counters as they were when a scope object was re-entered;
// restored when it is left (TF's _pure_variable_scope keeps `_old_subscopes`).
struct SavedScopeCounts {
  NameCounts counts;
};

namespace {

using Frame = ThreadFrame;

// The calling thread's innermost frame (making the thread's root frame through
// get_default_graph() on first use), with its root variable scope made on first need.
Frame& current_frame() {
  Graph& graph = get_default_graph();
  Frame& frame = *innermost_frame();
  if (!frame.variable_scope) {
    auto root = std::make_shared<ScopeData>();
    root->graph = &graph;
    frame.variable_scope = std::move(root);
  }
  return frame;
}

// Makes `data` the frame's current variable scope (ThreadFrame keeps its name beside it).
void set_current(Frame& frame, std::shared_ptr<ScopeData> data) {
  frame.variable_scope_name = data->name;
  frame.variable_scope = std::move(data);
}

}  // namespace

struct ScopeAccess {
  static VariableScope wrap(std::shared_ptr<ScopeData> data) { return VariableScope(std::move(data)); }
  static const std::shared_ptr<ScopeData>& data(const VariableScope& scope) { return scope.data_; }

  static std::string reuse_arg(Reuse r) {
    return r == Reuse::True ? "True" : r == Reuse::AutoReuse ? "AUTO_REUSE" : "None";
  }

  static CustomGetter chain(CustomGetter inner, CustomGetter outer) {
    if (!inner) return outer;
    if (!outer) return inner;
    return [inner = std::move(inner), outer = std::move(outer)](const Getter& next, const VariableRequest& request) {
      return inner([&](const VariableRequest& r) { return outer(next, r); }, request);
    };
  }

  // Common tail of every variable_scope(): builds the new scope object and
  // makes it current. Nothing is modified before all checks have passed.
  // A re-entered scope object (`reentered`) snapshots the counters after its own
  // count is bumped and restores them on exit; a scope opened by name closes its
  // sub-scope counters on exit instead (TF's open/close_variable_subscopes).
  static VariableScopeGuard enter(Frame& frame, std::shared_ptr<ScopeData> data, std::string name_stack,
                                  bool reentered = false) {
    auto previous = frame.variable_scope;
    std::string previous_stack = frame.name_stack;
    frame.scope_counts.increment(data->name);
    std::shared_ptr<SavedScopeCounts> saved;
    if (reentered) saved = std::make_shared<SavedScopeCounts>(SavedScopeCounts{frame.scope_counts});
    frame.name_stack = std::move(name_stack);
    set_current(frame, data);
    return VariableScopeGuard(std::move(data), std::move(previous), std::move(previous_stack), frame.graph,
                              std::move(saved));
  }

  // TF's name-scope name rule (ops.name_scope): at the top level a name must be a
  // valid op name, below it a valid scope name.
  static void check_scope_name(std::string_view name, bool top_level) {
    auto ok_rest = [](unsigned char c) {
      return std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '/' || c == '>';
    };
    bool valid = true;
    for (unsigned char c : name) valid = valid && ok_rest(c);
    if (valid && top_level && !name.empty()) {
      const auto first = static_cast<unsigned char>(name.front());
      valid = std::isalnum(first) || first == '.';
    }
    if (!valid)
      throw InvalidArgumentError("'" + std::string(name) + "' is not a valid scope name: use letters, digits, '.', "
                                 "'_', '-', '/' and '>'" +
                                 (top_level ? std::string(", starting with a letter, digit or '.' at the top level")
                                            : std::string()));
  }

  // Opens the name scope `name` under the current one, uniquified (tf.name_scope).
  static std::string new_name_scope(Frame& frame, std::string_view name) {
    check_scope_name(name, frame.name_stack.empty());
    return frame.graph->unique_name(frame.name_stack + std::string(name)) + "/";
  }

  static std::shared_ptr<ScopeData> child(const ScopeData& parent, const std::string& new_name,
                                          const ScopeOptions& options) {
    auto data = std::make_shared<ScopeData>();
    data->name = parent.name.empty() ? new_name : parent.name + "/" + new_name;
    data->graph = parent.graph;
    if (options.reuse == Reuse::None) {
      data->reuse = parent.reuse;
      data->reuse_origin = parent.reuse_origin;
    } else {
      data->reuse = options.reuse == Reuse::True ? ReuseMode::True : ReuseMode::AutoReuse;
      data->reuse_origin = "variable_scope(\"" + data->name + "\", reuse=" + reuse_arg(options.reuse) + ")";
    }
    data->initializer = options.initializer ? options.initializer : parent.initializer;
    data->dtype = options.dtype ? *options.dtype : parent.dtype;
    data->custom_getter = chain(options.custom_getter, parent.custom_getter);
    return data;
  }

  static VariableScopeGuard by_name(std::string_view name, const ScopeOptions& options) {
    if (name.empty())
      throw InvalidArgumentError(
          "variable_scope: the name is empty; pass a name, a captured scope, or std::nullopt with "
          "{.default_name = \"...\"}");
    Frame& frame = current_frame();
    auto data = child(*frame.variable_scope, std::string(name), options);
    // auxiliary_name_scope=False re-enters the current name scope instead.
    const std::string stack = options.auxiliary_name_scope ? new_name_scope(frame, name) : frame.name_stack;
    data->original_name_scope = stack;
    return enter(frame, std::move(data), stack);
  }

  static VariableScopeGuard by_default_name(const ScopeOptions& options) {
    if (options.default_name.empty())
      throw InvalidArgumentError("variable_scope(std::nullopt, ...): give {.default_name = \"...\"}, or pass a name");
    if (options.reuse != Reuse::None)
      throw InvalidArgumentError("variable_scope(std::nullopt, {.default_name = \"" + options.default_name +
                                 "\", .reuse = " + reuse_arg(options.reuse) +
                                 "}): reuse needs an explicit name or scope, because a default name is made unique "
                                 "(" + options.default_name + ", " + options.default_name +
                                 "_1, ...) and could never match existing variables; pass the name instead");
    Frame& frame = current_frame();
    // TF's _get_unique_variable_scope: dense, dense_1, ... per parent scope.
    const std::string& parent = frame.variable_scope->name;
    const std::string base = parent.empty() ? options.default_name : parent + "/" + options.default_name;
    std::string unique = options.default_name;
    if (frame.scope_counts.get(base) > 0) unique += "_" + std::to_string(frame.scope_counts.first_free_suffix(base));
    const std::string stack =
        options.auxiliary_name_scope ? new_name_scope(frame, options.default_name) : frame.name_stack;
    auto data = child(*frame.variable_scope, unique, options);
    data->original_name_scope = stack;
    return enter(frame, std::move(data), stack);
  }

  static VariableScopeGuard by_scope(const ScopeData& captured, const ScopeOptions& options) {
    Frame& frame = current_frame();
    auto data = std::make_shared<ScopeData>(captured);  // a new object: reuse_variables() inside stays local
    if (options.reuse != Reuse::None) {
      data->reuse = options.reuse == Reuse::True ? ReuseMode::True : ReuseMode::AutoReuse;
      data->reuse_origin = "variable_scope(<scope \"" + data->name + "\">, reuse=" + reuse_arg(options.reuse) + ")";
    }
    if (options.initializer) data->initializer = options.initializer;
    if (options.dtype) data->dtype = *options.dtype;
    data->custom_getter = chain(options.custom_getter, captured.custom_getter);
    data->graph = frame.graph;
    // TF's variable_scope.__enter__: a new name scope named after the last name
    // component, under the CURRENT name scope (re-entering acts like another
    // tower); none for the root scope or with auxiliary_name_scope=False. The
    // object keeps its original_name_scope.
    std::string stack = frame.name_stack;
    if (options.auxiliary_name_scope && !data->name.empty()) {
      const auto slash = data->name.rfind('/');
      stack = new_name_scope(frame, slash == std::string::npos ? std::string_view(data->name)
                                                               : std::string_view(data->name).substr(slash + 1));
    }
    return enter(frame, data, std::move(stack), /*reentered=*/true);
  }

  static NameScopeGuard open_name_scope(std::string_view name) {
    Frame& frame = current_frame();
    std::string previous = frame.name_stack;
    std::string opened;
    if (name.empty())
      opened = "";
    else if (name.back() == '/')
      opened = std::string(name);
    else
      opened = new_name_scope(frame, name);
    frame.name_stack = opened;
    return NameScopeGuard(std::move(opened), std::move(previous));
  }

  static void close_name_scope(const std::string& previous) { current_frame().name_stack = previous; }

  static void leave(const std::shared_ptr<ScopeData>& left, const std::shared_ptr<ScopeData>& previous,
                    const std::string& previous_stack, const std::shared_ptr<SavedScopeCounts>& saved) {
    Frame& frame = current_frame();
    if (saved) {
      // A re-entered scope object: "no matter the jump in the middle, unique
      // numbering continues" (TF's testVarOpScopeUniqueNamesWithJump).
      frame.scope_counts = saved->counts;
    } else {
      // close_variable_subscopes: default-name counters under the scope restart.
      const std::string prefix = left->name + "/";
      frame.scope_counts.erase_prefix(prefix);
    }
    set_current(frame, previous);
    frame.name_stack = previous_stack;
  }

  static Variable get(std::string_view name, const GetVariableOptions& options, bool local,
                      const SourceLocation& where) {
    Frame& frame = current_frame();
    const std::shared_ptr<ScopeData> scope = frame.variable_scope;
    if (name.empty()) throw InvalidArgumentError("get_variable: the name is empty");
    VariableRequest request;
    request.name = scope->name.empty() ? std::string(name) : scope->name + "/" + std::string(name);
    request.shape = options.shape;
    request.initializer = options.initializer ? options.initializer : scope->initializer;
    // TF: a tensor value as initializer fixes shape and dtype (VariableScope.get_variable
    // and _get_single_variable).
    const std::optional<DType>& value_dtype = request.initializer ? request.initializer->value_dtype() : std::nullopt;
    if (value_dtype) {
      if (options.shape.rank_known())
        throw InvalidArgumentError("get_variable(\"" + request.name +
                                   "\"): If initializer is a constant, do not specify shape (got shape " +
                                   options.shape.to_string() + " next to the initializer " +
                                   request.initializer->description() +
                                   "); fix: drop .shape, the variable takes the value's shape " +
                                   request.initializer->value_shape()->to_string());
      if (options.dtype && *options.dtype != *value_dtype)
        throw DTypeMismatchError("get_variable(\"" + request.name + "\"): Initializer type '" +
                                 std::string(dtype_name(*value_dtype)) + "' and explicit dtype '" +
                                 std::string(dtype_name(*options.dtype)) +
                                 "' don't match; fix: drop .dtype (the value's dtype is used) or pass a " +
                                 std::string(dtype_name(*options.dtype)) + " value");
    }
    request.dtype = options.dtype ? *options.dtype : value_dtype ? *value_dtype : scope->dtype;
    request.trainable = options.trainable && !local;
    request.local = local;
    request.reuse = scope->reuse;
    request.reuse_origin = scope->reuse_origin;
    request.scope = scope->name;
    const std::string& label = creator_label();
    request.creator = label.empty() ? (local ? "get_local_variable" : "get_variable") : label;
    request.where = where;
    VariableStore& store = frame.graph->store();
    const Getter store_getter = [&store](const VariableRequest& r) { return store.get_variable(r); };
    if (!scope->custom_getter) return store.get_variable(request);
    // TF's VariableScope.get_variable runs the getters under `name_scope(None)`:
    // variable names depend only on the variable scope, and whatever a custom
    // getter names with name scopes (say a plain Variable "custom_getter/add")
    // starts at the top level.
    // (By index: a getter may push frames and reallocate the frame stack.)
    struct ResetNameStack {
      std::size_t index;
      std::string saved;
      explicit ResetNameStack(std::size_t i)
          : index(i), saved(std::exchange(thread_frames()[i].name_stack, std::string())) {}
      ~ResetNameStack() {
        if (index < thread_frames().size()) thread_frames()[index].name_stack = std::move(saved);
      }
      ResetNameStack(const ResetNameStack&) = delete;
      ResetNameStack& operator=(const ResetNameStack&) = delete;
    } reset(thread_frames().size() - 1);
    return scope->custom_getter(store_getter, request);
  }
};

}  // namespace varscope::detail

namespace varscope {

using detail::ScopeAccess;

const std::string& VariableScope::name() const noexcept { return data_->name; }
ReuseMode VariableScope::reuse() const noexcept { return data_->reuse; }
const std::string& VariableScope::reuse_origin() const noexcept { return data_->reuse_origin; }
void VariableScope::reuse_variables() {
  data_->reuse = ReuseMode::True;
  data_->reuse_origin = "scope.reuse_variables() on \"" + data_->name + "\"";
}
const std::optional<Initializer>& VariableScope::initializer() const noexcept { return data_->initializer; }
void VariableScope::set_initializer(Initializer initializer) { data_->initializer = std::move(initializer); }
DType VariableScope::dtype() const noexcept { return data_->dtype; }
void VariableScope::set_dtype(DType dtype) { data_->dtype = dtype; }
const std::string& VariableScope::original_name_scope() const noexcept { return data_->original_name_scope; }
std::vector<Variable> VariableScope::global_variables() const {
  return data_->graph->global_variables(data_->name.empty() ? "" : data_->name + "/");
}
std::vector<Variable> VariableScope::trainable_variables() const {
  return data_->graph->trainable_variables(data_->name.empty() ? "" : data_->name + "/");
}
std::vector<Variable> VariableScope::local_variables() const {
  return data_->graph->local_variables(data_->name.empty() ? "" : data_->name + "/");
}
std::vector<Variable> VariableScope::get_collection(std::string_view key) const {
  return data_->graph->get_collection(key, data_->name.empty() ? "" : data_->name + "/");
}
Graph& VariableScope::graph() const noexcept { return *data_->graph; }

VariableScopeGuard::VariableScopeGuard(std::shared_ptr<detail::ScopeData> entered,
                                       std::shared_ptr<detail::ScopeData> previous, std::string previous_name_stack,
                                       Graph* graph, std::shared_ptr<detail::SavedScopeCounts> saved_counts)
    : VariableScope(std::move(entered)),
      previous_(std::move(previous)),
      saved_counts_(std::move(saved_counts)),
      previous_name_stack_(std::move(previous_name_stack)),
      graph_(graph) {}

VariableScopeGuard::~VariableScopeGuard() { ScopeAccess::leave(data_, previous_, previous_name_stack_, saved_counts_); }

VariableScopeGuard variable_scope(std::string_view name, ScopeOptions options) {
  return ScopeAccess::by_name(name, options);
}
VariableScopeGuard variable_scope(const VariableScope& scope, ScopeOptions options) {
  return ScopeAccess::by_scope(*detail::ScopeAccess::data(scope), options);
}
VariableScopeGuard variable_scope(std::nullopt_t, ScopeOptions options) {
  return ScopeAccess::by_default_name(options);
}

VariableScope get_variable_scope() { return ScopeAccess::wrap(detail::current_frame().variable_scope); }

NameScopeGuard::~NameScopeGuard() { ScopeAccess::close_name_scope(previous_); }
NameScopeGuard name_scope(std::string_view name) { return ScopeAccess::open_name_scope(name); }
std::string current_name_scope() { return detail::current_frame().name_stack; }

Variable get_variable(std::string_view name, GetVariableOptions options, SourceLocation where) {
  return ScopeAccess::get(name, options, false, where);
}
Variable get_local_variable(std::string_view name, GetVariableOptions options, SourceLocation where) {
  return ScopeAccess::get(name, options, true, where);
}

CreatorLabel::CreatorLabel(std::string label) : previous_(std::exchange(detail::creator_label(), std::move(label))) {}
CreatorLabel::~CreatorLabel() { detail::creator_label() = std::move(previous_); }

}  // namespace varscope
