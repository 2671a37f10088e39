// Implementation of varscope:scope — per-thread frames (default graph, current
// variable scope, name stack, default-name counters) and get_variable.
module;
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
  CustomGetter custom_getter;
  Graph* graph = nullptr;
};

namespace {

// One frame per `graph.as_default()` on this thread (plus the implicit root frame).
struct Frame {
  Graph* graph;
  std::shared_ptr<ScopeData> current;
  std::string name_stack;                            // "" or "outer/inner/"
  NameCounts scope_counts;  // how often each variable scope name was opened (compact: see NameCounts)
};

thread_local std::vector<Frame> frames;
thread_local std::unique_ptr<Graph> thread_graph;

Frame make_frame(Graph& graph) {
  auto root = std::make_shared<ScopeData>();
  root->graph = &graph;
  return Frame{&graph, std::move(root), "", {}};
}

Frame& current_frame() {
  if (frames.empty()) {
    if (!thread_graph) thread_graph = std::make_unique<Graph>();
    frames.push_back(make_frame(*thread_graph));
  }
  return frames.back();
}

}  // namespace

void push_frame(Graph& graph) {
  current_frame();  // make sure the thread's root frame sits below
  frames.push_back(make_frame(graph));
}

void pop_frame(Graph& graph) {
  if (frames.size() > 1 && frames.back().graph == &graph) frames.pop_back();
}

thread_local std::string creator_label;

struct ScopeAccess {
  static VariableScope wrap(std::shared_ptr<ScopeData> data) { return VariableScope(std::move(data)); }
  static const std::shared_ptr<ScopeData>& data(const VariableScope& scope) { return scope.data_; }

  static std::string reuse_arg(Reuse r) {
    return r == Reuse::True ? "True" : r == Reuse::AutoReuse ? "AUTO_REUSE" : "None";
  }

  static CustomGetter chain(CustomGetter inner, CustomGetter outer) {
    if (!inner) return outer;
    if (!outer) return inner;
    return [inner = std::move(inner), outer = std::move(outer)](const Getter& next, const GetterContext& ctx) {
      return inner([&](const GetterContext& c) { return outer(next, c); }, ctx);
    };
  }

  // Common tail of every variable_scope(): builds the new scope object and
  // makes it current. Nothing is modified before all checks have passed.
  static VariableScopeGuard enter(Frame& frame, std::shared_ptr<ScopeData> data, std::string name_stack) {
    auto previous = frame.current;
    std::string previous_stack = frame.name_stack;
    frame.scope_counts.increment(data->name);
    frame.name_stack = std::move(name_stack);
    frame.current = data;
    return VariableScopeGuard(std::move(data), std::move(previous), std::move(previous_stack), frame.graph);
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
    data->custom_getter = chain(options.custom_getter, parent.custom_getter);
    return data;
  }

  static VariableScopeGuard by_name(std::string_view name, const ScopeOptions& options) {
    if (name.empty())
      throw InvalidArgumentError(
          "variable_scope: the name is empty; pass a name, a captured scope, or std::nullopt with "
          "{.default_name = \"...\"}");
    Frame& frame = current_frame();
    auto data = child(*frame.current, std::string(name), options);
    const std::string stack = frame.graph->unique_name(frame.name_stack + std::string(name)) + "/";
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
    const std::string& parent = frame.current->name;
    const std::string base = parent.empty() ? options.default_name : parent + "/" + options.default_name;
    std::string unique = options.default_name;
    if (frame.scope_counts.get(base) > 0) unique += "_" + std::to_string(frame.scope_counts.first_free_suffix(base));
    auto data = child(*frame.current, unique, options);
    const std::string stack = frame.graph->unique_name(frame.name_stack + options.default_name) + "/";
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
    data->custom_getter = chain(options.custom_getter, captured.custom_getter);
    data->graph = frame.graph;
    return enter(frame, data, data->original_name_scope);
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
      opened = frame.graph->unique_name(frame.name_stack + std::string(name)) + "/";
    frame.name_stack = opened;
    return NameScopeGuard(std::move(opened), std::move(previous));
  }

  static void close_name_scope(const std::string& previous) { current_frame().name_stack = previous; }

  static void leave(const std::shared_ptr<ScopeData>& left, const std::shared_ptr<ScopeData>& previous,
                    const std::string& previous_stack) {
    Frame& frame = current_frame();
    // close_variable_subscopes: default-name counters under the scope restart.
    const std::string prefix = left->name + "/";
    frame.scope_counts.erase_prefix(prefix);
    frame.current = previous;
    frame.name_stack = previous_stack;
  }

  static Variable get(std::string_view name, const GetVariableOptions& options, bool local,
                      const SourceLocation& where) {
    Frame& frame = current_frame();
    const std::shared_ptr<ScopeData> scope = frame.current;
    if (name.empty()) throw InvalidArgumentError("get_variable: the name is empty");
    GetterContext context;
    context.name = scope->name.empty() ? std::string(name) : scope->name + "/" + std::string(name);
    context.shape = options.shape;
    context.dtype = options.dtype;
    context.initializer = options.initializer ? options.initializer : scope->initializer;
    context.trainable = options.trainable && !local;
    context.local = local;
    context.reuse = scope->reuse;
    Graph* graph = frame.graph;
    const Getter store_getter = [&](const GetterContext& c) {
      VariableRequest request;
      request.name = c.name;
      request.shape = c.shape;
      request.dtype = c.dtype;
      request.initializer = c.initializer;
      request.trainable = c.trainable;
      request.local = c.local;
      request.reuse = c.reuse;
      request.reuse_origin = scope->reuse_origin;
      request.scope = scope->name;
      request.creator = creator_label.empty() ? (local ? "get_local_variable" : "get_variable") : creator_label;
      request.where = where;
      return graph->store().get_variable(request);
    };
    return scope->custom_getter ? scope->custom_getter(store_getter, context) : store_getter(context);
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
const std::string& VariableScope::original_name_scope() const noexcept { return data_->original_name_scope; }
std::vector<Variable> VariableScope::global_variables() const {
  return data_->graph->global_variables(data_->name.empty() ? "" : data_->name + "/");
}
std::vector<Variable> VariableScope::trainable_variables() const {
  return data_->graph->trainable_variables(data_->name.empty() ? "" : data_->name + "/");
}
Graph& VariableScope::graph() const noexcept { return *data_->graph; }

VariableScopeGuard::VariableScopeGuard(std::shared_ptr<detail::ScopeData> entered,
                                       std::shared_ptr<detail::ScopeData> previous, std::string previous_name_stack,
                                       Graph* graph)
    : VariableScope(std::move(entered)),
      previous_(std::move(previous)),
      previous_name_stack_(std::move(previous_name_stack)),
      graph_(graph) {}

VariableScopeGuard::~VariableScopeGuard() { ScopeAccess::leave(data_, previous_, previous_name_stack_); }

VariableScopeGuard variable_scope(std::string_view name, ScopeOptions options) {
  return ScopeAccess::by_name(name, options);
}
VariableScopeGuard variable_scope(const VariableScope& scope, ScopeOptions options) {
  return ScopeAccess::by_scope(*detail::ScopeAccess::data(scope), options);
}
VariableScopeGuard variable_scope(std::nullopt_t, ScopeOptions options) {
  return ScopeAccess::by_default_name(options);
}

VariableScope get_variable_scope() { return ScopeAccess::wrap(detail::current_frame().current); }

NameScopeGuard::~NameScopeGuard() { ScopeAccess::close_name_scope(previous_); }
NameScopeGuard name_scope(std::string_view name) { return ScopeAccess::open_name_scope(name); }
std::string current_name_scope() { return detail::current_frame().name_stack; }

Variable get_variable(std::string_view name, GetVariableOptions options, SourceLocation where) {
  return ScopeAccess::get(name, options, false, where);
}
Variable get_local_variable(std::string_view name, GetVariableOptions options, SourceLocation where) {
  return ScopeAccess::get(name, options, true, where);
}

CreatorLabel::CreatorLabel(std::string label) : previous_(std::exchange(detail::creator_label, std::move(label))) {}
CreatorLabel::~CreatorLabel() { detail::creator_label = std::move(previous_); }

Graph& get_default_graph() { return *detail::current_frame().graph; }

}  // namespace varscope
