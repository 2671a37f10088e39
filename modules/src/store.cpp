// Implementation of varscope:store — variables, collections, graph-level names
// and the get-or-create rule with its error messages.
module;
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <span>
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>
module varscope;

namespace varscope {

std::string_view to_string(ReuseMode mode) noexcept {
  switch (mode) {
    case ReuseMode::False: return "False";
    case ReuseMode::True: return "True";
    case ReuseMode::AutoReuse: return "_ReuseMode.AUTO_REUSE";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, ReuseMode mode) { return os << to_string(mode); }

namespace {

std::string call_site(const SourceLocation& where) {
  std::string file = where.file;
  if (auto slash = file.rfind('/'); slash != std::string::npos) file.erase(0, slash + 1);
  return file + ":" + std::to_string(where.line);
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string scope_phrase(std::string_view scope) {
  return scope.empty() ? std::string("the root scope") : "scope " + quoted(scope);
}

std::string describe(const Variable& v) {
  const auto& o = v.origin();
  std::string out = "by " + o.creator + " in " + scope_phrase(o.scope);
  if (!o.call_site.empty()) out += " at " + o.call_site;
  return out + ", shape " + v.shape().to_string() + ", " + std::string(dtype_name(v.dtype()));
}

std::string requested_line(const VariableRequest& r) {
  const bool prefixed = !r.scope.empty() && r.name.starts_with(r.scope + "/");
  const std::string leaf = prefixed ? r.name.substr(r.scope.size() + 1) : r.name;
  return "  requested:     " + r.creator + "(" + quoted(leaf) + ") with shape " + r.shape.to_string() + ", " +
         std::string(dtype_name(r.dtype)) + ", in " + scope_phrase(r.scope) + " at " + call_site(r.where) + "\n";
}

std::string reuse_line(const VariableRequest& r) {
  return "  reuse mode:    " + std::string(r.reuse == ReuseMode::AutoReuse ? "AUTO_REUSE" : to_string(r.reuse)) +
         ", set by " + r.reuse_origin + "\n";
}

void check_name(std::string_view name, std::string_view what) {
  // TF op names: [A-Za-z0-9.][A-Za-z0-9_.\-/]*
  auto ok_first = [](unsigned char c) { return std::isalnum(c) || c == '.'; };
  auto ok_rest = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '/'; };
  bool valid = !name.empty() && ok_first(static_cast<unsigned char>(name[0]));
  for (std::size_t i = 1; valid && i < name.size(); ++i) valid = ok_rest(static_cast<unsigned char>(name[i]));
  if (!valid)
    throw InvalidArgumentError(std::string(what) + ": " + quoted(name) +
                               " is not a valid variable name; use letters, digits, '.', '_', '-' and '/' "
                               "(starting with a letter, digit or '.')");
}

}  // namespace

// ---------------------------------------------------------------- Variable

Variable::Variable(Tensor initial_value, std::string_view name, bool trainable, SourceLocation where) {
  Graph& graph = get_default_graph();
  const std::string base = name.empty() ? std::string("Variable") : std::string(name);
  check_name(base, "Variable");
  if (graph.store().frozen())
    throw FrozenStoreError("Cannot create Variable " + quoted(base) + " at " + call_site(where) +
                           ": the variable store is frozen (a FreezeGuard is active), so nothing may be created.\n"
                           "  fix: create it before freezing, or end the FreezeGuard's block first");
  const detail::ThreadFrame& frame = *detail::innermost_frame();  // get_default_graph() made one
  const std::string graph_name = graph.unique_name(frame.name_stack + base);
  *this = graph.register_variable(std::move(initial_value), graph_name, trainable, false,
                                  {frame.variable_scope_name, "Variable", call_site(where)});
}

std::string Variable::name() const { return node_->name + ":0"; }
const std::string& Variable::op_name() const noexcept { return node_->name; }
void Variable::update_in_place(const std::function<void(std::span<float>)>& update) const {
  update_in_place({*this}, [&](const std::vector<std::span<float>>& values) { update(values[0]); });
}

void Variable::update_in_place(const std::vector<Variable>& variables,
                               const std::function<void(const std::vector<std::span<float>>&)>& update) {
  std::vector<std::span<float>> values;
  for (const auto& v : variables) {
    if (v.dtype() != DType::float32)
      throw DTypeMismatchError("update_in_place on " + v.name() + ": the variable is " +
                               std::string(dtype_name(v.dtype())) + ", only float32 values can be updated in place");
    values.push_back(v.node_->value.data<float>());
  }
  // Like assign: one write for every graph involved (computations in flight finish first).
  std::vector<std::shared_ptr<detail::ValueGate>> gates;
  for (const auto& v : variables) gates.push_back(v.node_->gate);
  const Graph::UpdateGuard writing(std::move(gates), std::nullopt,
                                   "update_in_place on " + (variables.empty() ? std::string() : variables[0].name()));
  update(values);
  for (const auto& v : variables) ++v.node_->version;
}

std::uint64_t Variable::read_id() const noexcept { return node_->read_id; }
const Shape& Variable::shape() const noexcept { return node_->value.shape(); }
DType Variable::dtype() const noexcept { return node_->value.dtype(); }
bool Variable::trainable() const noexcept { return node_->trainable; }
const VariableOrigin& Variable::origin() const noexcept { return node_->origin; }
const Tensor& Variable::value() const noexcept { return node_->value; }
std::uint64_t Variable::version() const noexcept { return node_->version; }
Graph& Variable::graph() const noexcept { return *node_->graph; }

void Variable::assign(Tensor value) const {
  if (value.dtype() != dtype())
    throw DTypeMismatchError("assign to " + name() + ": value is " + std::string(dtype_name(value.dtype())) +
                             " but the variable is " + std::string(dtype_name(dtype())));
  if (value.shape() != shape())
    throw ShapeMismatchError("assign to " + name() + ": value has shape " + value.shape().to_string() +
                             " but the variable has shape " + shape().to_string());
  const Graph::UpdateGuard writing({node_->gate}, std::nullopt, "assign to " + name());
  node_->value = std::move(value);
  node_->value.set_tape_id(node_->read_id);
  ++node_->version;
}

// ---------------------------------------------------------------- the value gate

namespace detail {
namespace {
// What the calling thread holds on each gate (nested reads and writes count, so a
// thread never waits for itself).
struct Hold {
  const ValueGate* gate;
  std::int64_t reads = 0;
  std::int64_t writes = 0;
};
thread_local std::vector<Hold> thread_holds;

Hold* hold_of(const ValueGate* gate) {
  for (auto& h : thread_holds)
    if (h.gate == gate) return &h;
  return nullptr;
}
Hold& hold_for(const ValueGate* gate) {
  if (Hold* h = hold_of(gate)) return *h;
  return thread_holds.emplace_back(Hold{gate});
}
void drop_if_idle(const ValueGate* gate) {
  std::erase_if(thread_holds, [&](const Hold& h) { return h.gate == gate && h.reads == 0 && h.writes == 0; });
}
}  // namespace

void ValueGate::lock_shared() {
  Hold& mine = hold_for(this);
  if (mine.reads > 0 || mine.writes > 0) {  // nested on this thread: already inside
    ++mine.reads;
    return;
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !writing_ && writers_waiting_ == 0; });  // writers go first
  ++readers_;
  ++mine.reads;
}

void ValueGate::unlock_shared() {
  Hold& mine = hold_for(this);
  if (--mine.reads > 0 || mine.writes > 0) return;
  drop_if_idle(this);
  std::lock_guard lock(mutex_);
  if (--readers_ == 0) changed_.notify_all();
}

bool ValueGate::lock(std::optional<std::chrono::nanoseconds> timeout, std::int64_t* readers_seen) {
  Hold& mine = hold_for(this);
  if (mine.writes > 0) {
    ++mine.writes;
    return true;
  }
  if (mine.reads > 0) {
    drop_if_idle(this);
    throw VariableInUseError(
        "this thread is inside a computation that reads this graph's variables (dynamic_decode / dynamic_rnn), "
        "so changing them here would wait for itself.\n"
        "  fix:           change the variables after the computation returns, or from another thread (the change "
        "then waits for the computation to finish)");
  }
  std::unique_lock lock(mutex_);
  ++writers_waiting_;
  const auto ready = [&] { return !writing_ && readers_ == 0; };
  bool got = true;
  if (timeout) got = changed_.wait_for(lock, *timeout, ready);
  else changed_.wait(lock, ready);
  --writers_waiting_;
  if (!got) {
    if (readers_seen) *readers_seen = readers_;
    changed_.notify_all();  // readers held back for this writer may go on
    lock.unlock();
    drop_if_idle(this);
    return false;
  }
  writing_ = true;
  ++mine.writes;
  return true;
}

void ValueGate::unlock() {
  Hold& mine = hold_for(this);
  if (--mine.writes > 0) return;
  drop_if_idle(this);
  std::lock_guard lock(mutex_);
  writing_ = false;
  changed_.notify_all();
}
}  // namespace detail

Graph::ReadingGuard::ReadingGuard(Graph& graph) : gate_(graph.gate_) { gate_->lock_shared(); }
Graph::ReadingGuard::~ReadingGuard() { gate_->unlock_shared(); }

Graph::UpdateGuard::UpdateGuard(Graph& graph, std::optional<std::chrono::milliseconds> timeout, std::string_view what)
    : UpdateGuard(std::vector<std::shared_ptr<detail::ValueGate>>{graph.gate_}, timeout, what) {}

Graph::UpdateGuard::UpdateGuard(std::vector<std::shared_ptr<detail::ValueGate>> gates,
                                std::optional<std::chrono::milliseconds> timeout, std::string_view what) {
  // One order for every thread (by address), so two multi-graph updates cannot deadlock.
  std::sort(gates.begin(), gates.end());
  gates.erase(std::unique(gates.begin(), gates.end()), gates.end());
  const auto deadline = timeout ? std::optional(std::chrono::steady_clock::now() + *timeout) : std::nullopt;
  for (auto& gate : gates) {
    std::int64_t readers = 0;
    bool got = false;
    try {
      std::optional<std::chrono::nanoseconds> left;
      if (deadline)
        left = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::max(*deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero()));
      got = gate->lock(left, &readers);
    } catch (const VariableInUseError& e) {
      release();
      throw VariableInUseError(std::string(what) + ": " + e.what());
    }
    if (!got) {
      release();
      throw VariableInUseError(std::string(what) + ": " + std::to_string(readers) +
                               " computation(s) (dynamic_decode / dynamic_rnn) on other threads were still reading "
                               "this graph's variables after the " + std::to_string(timeout->count()) +
                               " ms wait; nothing was changed.\n"
                               "  fix:           allow a longer wait, or none (wait until the computations finish)");
    }
    held_.push_back(std::move(gate));
  }
}

void Graph::UpdateGuard::release() noexcept {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->unlock();
  held_.clear();
}
Graph::UpdateGuard::~UpdateGuard() { release(); }


// ---------------------------------------------------------------- VariableStore

bool VariableStore::contains(std::string_view full_name) const {
  std::lock_guard lock(mutex_);
  return by_name_.contains(std::string(full_name));
}

std::optional<Variable> VariableStore::find(std::string_view full_name) const {
  std::lock_guard lock(mutex_);
  if (auto it = by_name_.find(std::string(full_name)); it != by_name_.end()) return it->second;
  return std::nullopt;
}

std::vector<std::string> VariableStore::names() const {
  std::lock_guard lock(mutex_);
  return order_;
}

void VariableStore::add_audit_sink(std::vector<AuditEntry>* sink) {
  std::lock_guard lock(mutex_);
  audit_sinks_.push_back(sink);
}
void VariableStore::remove_audit_sink(std::vector<AuditEntry>* sink) {
  std::lock_guard lock(mutex_);
  std::erase(audit_sinks_, sink);
}

void VariableStore::record(const std::string& name, bool created) {
  for (auto* sink : audit_sinks_) sink->push_back({name, created});
}

bool& detail::in_optimizer_loss_fn() noexcept {
  thread_local bool inside = false;
  return inside;
}

std::string VariableStore::suggestions_for(std::string_view name) const {
  const auto near = closest_names(name, order_);
  if (near.empty()) return "";
  std::string out = "  did you mean:  ";
  for (std::size_t i = 0; i < near.size(); ++i) out += (i ? ", " : "") + quoted(near[i]);
  return out + "?\n";
}

Variable VariableStore::get_variable(const VariableRequest& r) {
  check_name(r.name, r.creator);
  std::lock_guard lock(mutex_);
  if (auto it = by_name_.find(r.name); it != by_name_.end()) {
    const Variable& found = it->second;
    if (r.reuse == ReuseMode::False) {
      std::string fix =
          detail::in_optimizer_loss_fn()
              ? "  did you mean:  to reuse the layers built on the first step? This happened inside the loss "
                "function of an optimizer (minimize / compute_gradients), which runs it again on every step: a "
                "layer object constructed inside it creates its variables again.\n"
                "  fix:           construct the layer objects once, outside the loss function (hold them in a model "
                "struct built before the training loop), and only call them inside it; see README, Training\n"
              : "";
      throw AlreadyExistsError(
          "Variable " + r.name + " already exists, disallowed: reuse is False, so " + r.creator +
          " may only create new variables.\n" + requested_line(r) + reuse_line(r) + "  first created: " +
          describe(found) + "\n" + fix +
          "  fix:           to share it, open the scope with reuse=True or reuse=AUTO_REUSE (or call "
          "scope.reuse_variables() first); to get a separate variable, use another name or scope");
    }
    if (!r.shape.compatible_with(found.shape()))
      throw ShapeMismatchError("Trying to share variable " + r.name + ", but the requested shape " +
                               r.shape.to_string() + " does not match its shape " + found.shape().to_string() +
                               ".\n" + requested_line(r) + reuse_line(r) + "  first created: " + describe(found) +
                               "\n  fix:           request shape " + found.shape().to_string() +
                               " (or leave the shape out), or use another name for a new variable");
    if (r.dtype != found.dtype())
      throw DTypeMismatchError("Trying to share variable " + r.name + ", but the requested dtype " +
                               std::string(dtype_name(r.dtype)) + " does not match its dtype " +
                               std::string(dtype_name(found.dtype())) + ".\n" + requested_line(r) + reuse_line(r) +
                               "  first created: " + describe(found) + "\n  fix:           request dtype " +
                               std::string(dtype_name(found.dtype())) + ", or use another name for a new variable");
    record(r.name, false);
    return found;
  }
  if (r.reuse == ReuseMode::True)
    throw NotFoundError("Variable " + r.name +
                        " does not exist, or was not created with get_variable: reuse is True, so " + r.creator +
                        " may only return existing variables.\n" + requested_line(r) + reuse_line(r) +
                        suggestions_for(r.name) +
                        "  fix:           create it first in a scope without reuse, use reuse=AUTO_REUSE to create "
                        "it when missing, or correct the name");
  if (frozen_)
    throw FrozenStoreError("Cannot create variable " + r.name +
                           ": the variable store is frozen (a FreezeGuard is active), so nothing may be created.\n" +
                           requested_line(r) + reuse_line(r) + suggestions_for(r.name) +
                           "  fix:           fetch an existing variable (check the name and the scope's reuse), "
                           "or create it before freezing");
  Shape shape = r.shape;
  if (!r.shape.rank_known() && r.initializer && r.initializer->value_shape()) shape = *r.initializer->value_shape();
  if (!shape.fully_defined())
    throw InvalidArgumentError("Shape of a new variable (" + r.name + ") must be fully defined, but instead was " +
                               shape.to_string() + ".\n" + requested_line(r) +
                               "  fix:           pass .shape = {...} with every dimension, or an initializer "
                               "holding a concrete tensor");
  const Initializer init = r.initializer ? *r.initializer : default_initializer(r.dtype);
  Tensor value = init(shape, r.dtype, variable_seed(graph_->seed(), r.name));
  if (value.dtype() != r.dtype || value.shape() != shape)
    throw InvalidArgumentError("initializer " + init.description() + " for " + r.name + " produced " +
                               std::string(dtype_name(value.dtype())) + " " + value.shape().to_string() +
                               ", expected " + std::string(dtype_name(r.dtype)) + " " + shape.to_string());
  Variable created = graph_->register_variable(std::move(value), graph_->unique_name(r.name), r.trainable, r.local,
                                               {r.scope, r.creator, call_site(r.where)});
  by_name_.emplace(r.name, created);
  order_.push_back(r.name);
  record(r.name, true);
  return created;
}

// ---------------------------------------------------------------- Graph

Graph::Graph(std::uint64_t seed) : seed_(seed), store_(*this), gate_(std::make_shared<detail::ValueGate>()) {}
Graph::~Graph() = default;

std::uint64_t Graph::next_op_seed() noexcept { return explicit_seed(seed_, ++op_seed_counter_); }

std::vector<Variable> Graph::get_collection(std::string_view key, std::string_view scope) const {
  std::lock_guard lock(mutex_);
  auto it = collections_.find(key);
  if (it == collections_.end()) return {};
  if (scope.empty()) return it->second;
  std::vector<Variable> out;
  for (const auto& v : it->second)
    if (v.op_name().starts_with(scope)) out.push_back(v);
  return out;
}
std::vector<Variable> Graph::global_variables(std::string_view scope) const {
  return get_collection(GraphKeys::GLOBAL_VARIABLES, scope);
}
std::vector<Variable> Graph::trainable_variables(std::string_view scope) const {
  return get_collection(GraphKeys::TRAINABLE_VARIABLES, scope);
}
std::vector<Variable> Graph::local_variables(std::string_view scope) const {
  return get_collection(GraphKeys::LOCAL_VARIABLES, scope);
}
void Graph::add_to_collection(std::string_view key, const Variable& variable) {
  std::lock_guard lock(mutex_);
  auto it = collections_.find(key);
  if (it == collections_.end()) it = collections_.emplace(std::string(key), std::vector<Variable>{}).first;
  it->second.push_back(variable);
}

std::string Graph::unique_name(std::string_view name, bool mark_as_used) {
  // TF's Graph.unique_name, with the name stack already applied by the caller.
  std::string key(name);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  std::lock_guard lock(mutex_);
  int i = names_in_use_.get(key);
  if (mark_as_used) names_in_use_.set(key, i + 1);
  if (i == 0) return std::string(name);
  const std::string base_key = key;
  while (names_in_use_.get(key) > 0) key = base_key + "_" + std::to_string(i++);
  if (mark_as_used) names_in_use_.set(key, 1);
  return std::string(name) + "_" + std::to_string(i - 1);
}

std::size_t Graph::name_registry_entries() const {
  std::lock_guard lock(mutex_);
  return names_in_use_.entries();
}

Variable Graph::register_variable(Tensor initial_value, std::string_view graph_name, bool trainable, bool local,
                                  VariableOrigin origin) {
  auto node = std::make_shared<detail::VariableNode>();
  node->name = std::string(graph_name);
  node->value = std::move(initial_value);
  static std::atomic<std::uint64_t> next_read_id{1};
  node->read_id = kVariableReadIdBit | next_read_id.fetch_add(1, std::memory_order_relaxed);
  node->value.set_tape_id(node->read_id);
  node->trainable = trainable && !local;
  node->local = local;
  node->origin = std::move(origin);
  node->graph = this;
  node->gate = gate_;
  Variable v(std::move(node));
  add_to_collection(local ? GraphKeys::LOCAL_VARIABLES : GraphKeys::GLOBAL_VARIABLES, v);
  if (v.trainable()) add_to_collection(GraphKeys::TRAINABLE_VARIABLES, v);
  return v;
}

// ---------------------------------------------------------------- the default graph

namespace {
// The graph a thread uses before (and outside) any graph.as_default(): made on the
// thread's first use of a default graph, in the root frame at the bottom of its stack.
thread_local std::unique_ptr<Graph> thread_graph;
}  // namespace

Graph& get_default_graph() {
  if (const detail::ThreadFrame* frame = detail::innermost_frame()) return *frame->graph;
  thread_graph = std::make_unique<Graph>();
  detail::push_frame(*thread_graph);
  return *thread_graph;
}

DefaultGraphGuard::DefaultGraphGuard(Graph& graph) : graph_(&graph) {
  (void)get_default_graph();  // the thread's root frame sits below
  detail::push_frame(graph);
}
DefaultGraphGuard::~DefaultGraphGuard() { detail::pop_frame(*graph_); }

Tensor random_uniform(const Shape& shape, float minval, float maxval, std::optional<std::uint64_t> seed) {
  return detail::random_uniform_values(shape, minval, maxval, [&] {
    Graph& graph = get_default_graph();
    return seed ? explicit_seed(graph.seed(), *seed) : graph.next_op_seed();
  });
}
Tensor random_normal(const Shape& shape, float mean, float stddev, std::optional<std::uint64_t> seed) {
  return detail::random_normal_values(shape, mean, stddev, [&] {
    Graph& graph = get_default_graph();
    return seed ? explicit_seed(graph.seed(), *seed) : graph.next_op_seed();
  });
}

std::vector<Variable> global_variables(std::string_view scope) { return get_default_graph().global_variables(scope); }
std::vector<Variable> trainable_variables(std::string_view scope) {
  return get_default_graph().trainable_variables(scope);
}
std::vector<Variable> local_variables(std::string_view scope) { return get_default_graph().local_variables(scope); }

// ---------------------------------------------------------------- guards

FreezeGuard::FreezeGuard(Graph& graph) : graph_(&graph), previous_(graph.store().frozen()) {
  graph.store().set_frozen(true);
}
FreezeGuard::~FreezeGuard() { graph_->store().set_frozen(previous_); }

VariableAudit::VariableAudit(Graph& graph) : graph_(&graph) { graph.store().add_audit_sink(&entries_); }
VariableAudit::~VariableAudit() { graph_->store().remove_audit_sink(&entries_); }

namespace {
std::vector<std::string> distinct(const std::vector<AuditEntry>& entries, bool created) {
  std::vector<std::string> out;
  for (const auto& e : entries)
    if (e.created == created && std::find(out.begin(), out.end(), e.name) == out.end()) out.push_back(e.name);
  return out;
}
}  // namespace

std::vector<std::string> VariableAudit::created() const { return distinct(entries_, true); }
std::vector<std::string> VariableAudit::reused() const { return distinct(entries_, false); }

namespace {
// The components of a variable name: "decoder/memory_layer_1/kernel" -> {decoder, memory_layer_1, kernel}.
std::vector<std::string> name_parts(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= name.size(); ++i)
    if (i == name.size() || name[i] == '/') {
      parts.push_back(name.substr(begin, i - begin));
      begin = i + 1;
    }
  return parts;
}
// "memory_layer_1" -> "memory_layer"; "" when the part has no "_<N>" suffix with N >= 1.
std::string uniquified_base(const std::string& part) {
  const std::size_t us = part.rfind('_');
  if (us == std::string::npos || us == 0 || us + 1 == part.size()) return "";
  for (std::size_t i = us + 1; i < part.size(); ++i)
    if (part[i] < '0' || part[i] > '9') return "";
  if (part[us + 1] == '0') return "";
  return part.substr(0, us);
}
// "Dense 'memory_layer_1'" -> "Dense": the kind of creator, without the instance name.
std::string creator_kind(const std::string& creator) { return creator.substr(0, creator.find(' ')); }
}  // namespace

std::vector<std::string> VariableAudit::warnings() const {
  std::vector<std::string> out;
  const auto made = created();
  const auto used = reused();
  const auto contains = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  for (const auto& name : made) {
    const auto parts = name_parts(name);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const std::string base = uniquified_base(parts[i]);
      if (base.empty()) continue;
      std::string sibling;
      for (std::size_t j = 0; j < parts.size(); ++j) sibling += (j ? "/" : "") + (j == i ? base : parts[j]);
      const auto first = graph_->store().find(sibling);
      const auto second = graph_->store().find(name);
      if (!first || !second || first->shape() != second->shape()) continue;
      if (creator_kind(first->origin().creator) != creator_kind(second->origin().creator)) continue;
      const bool attention = base == "memory_layer";
      const bool was_shared = !contains(made, sibling) || contains(used, sibling);
      if (!attention && !was_shared) continue;
      // A layer's variables are made inside the library (layers.cpp): its label says more than the call site.
      const std::string& creator = second->origin().creator;
      std::string by = creator.empty() ? std::string("get_variable") : creator;
      if ((creator.empty() || creator == "get_variable") && !second->origin().call_site.empty())
        by += " at " + second->origin().call_site;
      std::string fix;
      if (attention)
        fix = "a second attention mechanism built in the same scope gets a NEW, unshared memory layer (TF 1.x "
              "uniquifies layer names). To share it, build the mechanism once and call setup_memory(tile_batch(memory, "
              "K), tile_batch(memory_sequence_length, K)), or build both inside the same named variable_scope, the "
              "second with reuse=True";
      else if (base == "decoder")
        fix = "a second dynamic_decode with a new cell or layer object opened " + parts[i] +
              " instead of sharing " + base + ": pass the same scope to dynamic_decode under reuse, or reuse the cell";
      else
        fix = "a second object built in the same scope got a NEW, unshared variable (TF 1.x uniquifies the names of "
              "layers and default-name scopes). To share it, reuse the object, or build both inside the same named "
              "variable_scope, the second with reuse=True";
      out.push_back(name + " was created next to " + sibling + " (created by " + by + "): " + fix + ".");
      break;
    }
  }
  return out;
}

std::string VariableAudit::summary() const {
  const auto c = created();
  const auto r = reused();
  std::string out = "created " + std::to_string(c.size()) + ", reused " + std::to_string(r.size()) + "\n";
  for (const auto& n : c) out += "  + " + n + "\n";
  for (const auto& n : r) out += "  = " + n + "\n";
  const auto w = warnings();
  if (!w.empty()) {
    out += "warnings:\n";
    for (const auto& m : w) out += "  ! " + m + "\n";
  }
  return out;
}

}  // namespace varscope
