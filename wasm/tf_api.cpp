// varscope_web's fine-grained JavaScript API (issue 24, slice 2): embind classes over the
// library's graph, scopes, variables, tensors, initializers, layers, cells (GRU, LSTM, MultiRNNCell,
// ResidualWrapper, DropoutWrapper, AttentionWrapper), attention mechanisms and seq2seq decoders, for the playground's Python `tensorflow` shim (web/python/tensorflow/), which
// reaches them through Pyodide as the JS module `_varscope`.
//
// Conventions (the shim relies on them):
// - Every function and member is wrapped by guard(): a library error becomes a JS `Error`
//   with `kind` (the typed error's class name: AlreadyExistsError, NotFoundError,
//   ShapeMismatchError, DTypeMismatchError, InvalidArgumentError, ...) and `message` (the
//   library's text; its first line words the problem as TF does).
// - Objects are made by static factories (`Graph.create(seed)`, `Dense.create(units, opts)`,
//   ...), never `new`; getters are methods (`v.name()`), not properties.
// - Options are plain JS objects; a missing key, `undefined` or `null` means "TF's default".
// - The RAII guards of the C++ API (DefaultGraphGuard, VariableScopeGuard, NameScopeGuard)
//   are contexts with an explicit close(). Contexts nest: closing one that is not the
//   innermost open context, or closing one twice, throws InvalidArgumentError and leaves
//   the scope stack untouched.
// - getVariable / createVariable take the Python caller's file and line, kept in the
//   variable's VariableOrigin (`origin().callSite`), so tables and errors name the Python line.
// - RNN states cross as a Tensor (a leaf: GRUCell's) or as {kind, items} with kind
//   "LSTMStateTuple" (items [c, h]), "AttentionWrapperState" (its six fields in TF's order) or
//   "tuple" (MultiRNNCell's per-layer states), nested.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <emscripten/bind.h>
#include <emscripten/val.h>

import varscope;

using emscripten::val;
using namespace varscope;

namespace {

// ------------------------------------------------------------------ errors

[[noreturn]] void throw_js(const std::string& kind, const std::string& message) {
  val error = val::global("Error").new_(val(message));
  error.set("kind", val(kind));
  error.throw_();
}

// Runs body; a C++ exception becomes a JS Error {kind, message}. The C++ exception is
// finished (its catch block left) before the JS throw unwinds the wasm stack.
template <class F>
auto guard(F&& body) -> decltype(body()) {
  std::string kind, message;
  try {
    return body();
  } catch (const Error& e) {
    kind = e.kind();
    message = e.what();
  } catch (const std::exception& e) {
    kind = "InternalError";
    message = e.what();
  }
  throw_js(kind, message);
}

// ------------------------------------------------------------------ JS value helpers

bool absent(const val& v) { return v.isUndefined() || v.isNull(); }

val option(const val& options, const char* key) {
  if (absent(options)) return val::undefined();
  return options[key];
}

// field = options[key] as a T, when the key is given (undefined or null keeps the default).
template <class T, class Field>
void set_option(const val& options, const char* key, Field& field) {
  const val v = option(options, key);
  if (!absent(v)) field = v.as<T>();
}

Shape shape_of(const val& dims, const char* what) {
  if (absent(dims)) return Shape::unknown();
  if (!val::global("Array").call<bool>("isArray", dims))
    throw InvalidArgumentError(std::string(what) + ": a shape must be an array of dimensions, not " +
                               dims.call<std::string>("toString"));
  std::vector<std::int64_t> out;
  for (double d : emscripten::convertJSArrayToNumberVector<double>(dims)) {
    if (d != static_cast<double>(static_cast<std::int64_t>(d)) || d < -1)
      throw InvalidArgumentError(std::string(what) + ": dimension " + std::to_string(d) +
                                 " is not a non-negative integer (or -1 for unknown)");
    out.push_back(static_cast<std::int64_t>(d));
  }
  return Shape(std::move(out));
}

val dims_of(const Shape& s) {
  val out = val::array();
  if (!s.rank_known()) return val::null();
  for (auto d : s.dims()) out.call<void>("push", val(static_cast<double>(d)));
  return out;
}

DType dtype_of_name(const val& v, DType fallback) {
  if (absent(v)) return fallback;
  return parse_dtype(v.as<std::string>());
}

std::optional<std::uint64_t> seed_of(const val& v) {
  if (absent(v)) return std::nullopt;
  const double d = v.as<double>();
  if (d < 0 || d != static_cast<double>(static_cast<std::uint64_t>(d)))
    throw InvalidArgumentError("seed " + std::to_string(d) + " is not a non-negative integer");
  return static_cast<std::uint64_t>(d);
}

// A JS number that must be a positive integer (units, a beam width, a multiplier); `what` names it.
std::int64_t positive_int(double v, const std::string& what) {
  if (v < 1 || v != static_cast<double>(static_cast<std::int64_t>(v)))
    throw InvalidArgumentError(what + " must be a positive integer, not " + std::to_string(v));
  return static_cast<std::int64_t>(v);
}

std::optional<Initializer> initializer_of(const val& v) {
  if (absent(v)) return std::nullopt;
  return v.as<Initializer>();
}

Reuse reuse_of(const val& v) {
  if (absent(v)) return Reuse::None;
  const auto s = v.as<std::string>();
  if (s == "None") return Reuse::None;
  if (s == "True") return Reuse::True;
  if (s == "AUTO_REUSE") return AUTO_REUSE;
  throw InvalidArgumentError("reuse must be None, True or AUTO_REUSE, not '" + s + "'");
}

const char* reuse_name(ReuseMode m) {
  switch (m) {
    case ReuseMode::False: return "False";
    case ReuseMode::True: return "True";
    case ReuseMode::AutoReuse: return "AUTO_REUSE";
  }
  return "?";
}

// SourceLocation holds a const char*: the Python file names live here for the program's life.
SourceLocation where_of(const std::string& file, int line) {
  static std::set<std::string> files;
  return SourceLocation{files.insert(file).first->c_str(), static_cast<unsigned>(line < 0 ? 0 : line)};
}

template <class T>
val array_of(const std::vector<T>& items) {
  val out = val::array();
  for (const auto& item : items) out.call<void>("push", val(item));
  return out;
}

// ------------------------------------------------------------------ contexts (explicit close)

// The open contexts, innermost last: graph, variable-scope and name-scope contexts share one stack
// because Python's `with` statements nest them in one order.
std::vector<std::uint64_t>& open_contexts() {
  static std::vector<std::uint64_t> stack;
  return stack;
}

struct ContextState {
  std::uint64_t id = 0;
  std::string what;  // for errors: "variable_scope 'decoder'"
  bool closed = false;
  std::function<void()> release;  // destroys the guard
};

std::shared_ptr<ContextState> open_context(std::string what, std::function<void()> release) {
  static std::uint64_t next = 0;
  auto state = std::make_shared<ContextState>();
  state->id = ++next;
  state->what = std::move(what);
  state->release = std::move(release);
  open_contexts().push_back(state->id);
  return state;
}

void close_context(ContextState& state) {
  if (state.closed) throw InvalidArgumentError(state.what + " was closed twice");
  auto& stack = open_contexts();
  if (stack.empty() || stack.back() != state.id)
    throw InvalidArgumentError(state.what + " closed out of order: an inner context opened after it is still open " +
                               "(close the innermost context first)");
  state.release();
  state.release = nullptr;  // drop what the guard held (a graph, a scope) now, not when JS deletes the handle
  state.closed = true;
  stack.pop_back();
}

// ------------------------------------------------------------------ Graph, GraphContext

struct GraphContext {
  std::shared_ptr<ContextState> state;
  void close() { close_context(*state); }
  bool closed() const { return state->closed; }
};

struct JsGraph {
  std::shared_ptr<Graph> graph;

  static JsGraph create(double seed) {
    if (seed < 0) throw InvalidArgumentError("Graph seed " + std::to_string(seed) + " is negative");
    return JsGraph{std::make_shared<Graph>(static_cast<std::uint64_t>(seed))};
  }
  GraphContext as_default() const {
    auto g = graph;
    auto holder = std::make_shared<std::unique_ptr<DefaultGraphGuard>>(std::make_unique<DefaultGraphGuard>(*g));
    return GraphContext{open_context("Graph.as_default()", [g, holder] { holder->reset(); })};
  }
};

// What get_variable created vs reused in one graph since startAudit() (varscope::VariableAudit), for the
// playground's variable table (issue 24). The graph is kept alive by the audit; the audit is declared
// after it, so it is destroyed first.
struct JsAudit {
  std::shared_ptr<Graph> graph;
  std::shared_ptr<VariableAudit> audit;

  val entries() const {
    val out = val::array();
    for (const AuditEntry& e : audit->entries()) {
      val o = val::object();
      o.set("name", val(e.name));
      o.set("created", val(e.created));
      out.call<void>("push", o);
    }
    return out;
  }
  // The sharing trap made visible (VariableAudit::warnings(): memory_layer_1 next to memory_layer, ...).
  val warnings() const { return array_of(audit->warnings()); }
};

// ------------------------------------------------------------------ scopes

struct ScopeContext {
  std::shared_ptr<ContextState> state;
  std::shared_ptr<std::unique_ptr<VariableScopeGuard>> guard;
  VariableScope scope_handle;

  // nameOrScope: a string, a VariableScope, or null/undefined (then options.defaultName is required).
  static ScopeContext open(const val& name_or_scope, const val& options) {
    ScopeOptions o;
    set_option<std::string>(options, "defaultName", o.default_name);
    o.reuse = reuse_of(option(options, "reuse"));
    o.initializer = initializer_of(option(options, "initializer"));
    const val dtype = option(options, "dtype");
    if (!absent(dtype)) o.dtype = parse_dtype(dtype.as<std::string>());
    set_option<bool>(options, "auxiliaryNameScope", o.auxiliary_name_scope);
    std::unique_ptr<VariableScopeGuard> g;
    if (absent(name_or_scope)) {
      if (o.default_name.empty())
        throw InvalidArgumentError("variable_scope: name_or_scope is None, so default_name must be given");
      g.reset(new VariableScopeGuard(variable_scope(std::nullopt, o)));
    } else if (name_or_scope.isString()) {
      g.reset(new VariableScopeGuard(variable_scope(name_or_scope.as<std::string>(), o)));
    } else {
      g.reset(new VariableScopeGuard(variable_scope(name_or_scope.as<VariableScope>(), o)));
    }
    VariableScope handle = *g;
    auto holder = std::make_shared<std::unique_ptr<VariableScopeGuard>>(std::move(g));
    auto state = open_context("variable_scope '" + handle.name() + "'", [holder] { holder->reset(); });
    return ScopeContext{state, holder, handle};
  }
  VariableScope scope() const { return scope_handle; }
  void close() { close_context(*state); }
};

struct NameScopeContext {
  std::shared_ptr<ContextState> state;
  std::string opened;

  static NameScopeContext open(const std::string& name) {
    auto holder = std::make_shared<std::unique_ptr<NameScopeGuard>>(new NameScopeGuard(name_scope(name)));
    std::string opened = (*holder)->name();
    return NameScopeContext{open_context("name_scope '" + name + "'", [holder] { holder->reset(); }), opened};
  }
  std::string name() const { return opened; }
  void close() { close_context(*state); }
};

// ------------------------------------------------------------------ tensors

Tensor tensor_from_array(const val& data, const val& dims, const std::string& dtype) {
  const Shape shape = shape_of(dims, "Tensor.fromArray");
  if (!shape.rank_known()) throw InvalidArgumentError("Tensor.fromArray: a shape is required");
  const DType dt = parse_dtype(dtype);
  const std::int64_t n = checked_num_elements(shape, "Tensor.fromArray");
  const std::int64_t got = data["length"].as<double>();
  if (got != n)
    throw InvalidArgumentError("Tensor.fromArray: " + std::to_string(got) + " values do not fill shape " +
                               shape.to_string() + " (" + std::to_string(n) + " elements)");
  if (dt == DType::float32) return Tensor(shape, emscripten::convertJSArrayToNumberVector<float>(data));
  return Tensor(shape, emscripten::convertJSArrayToNumberVector<std::int32_t>(data));
}

// A copy of the values as a Float32Array / Int32Array.
val tensor_data(const Tensor& t) {
  if (t.dtype() == DType::float32) {
    auto d = t.data<float>();
    return val(emscripten::typed_memory_view(d.size(), d.data())).call<val>("slice");
  }
  auto d = t.data<std::int32_t>();
  return val(emscripten::typed_memory_view(d.size(), d.data())).call<val>("slice");
}

// ------------------------------------------------------------------ variables

val origin_of(const Variable& v) {
  val o = val::object();
  o.set("scope", val(v.origin().scope));
  o.set("creator", val(v.origin().creator));
  o.set("callSite", val(v.origin().call_site));
  return o;
}

// getVariable(name, {shape, dtype, initializer, trainable}, file, line)
Variable get_variable_js(const std::string& name, const val& options, const std::string& file, int line) {
  GetVariableOptions o;
  o.shape = shape_of(option(options, "shape"), "get_variable");
  const val dtype = option(options, "dtype");
  if (!absent(dtype)) o.dtype = parse_dtype(dtype.as<std::string>());
  o.initializer = initializer_of(option(options, "initializer"));
  set_option<bool>(options, "trainable", o.trainable);
  return get_variable(name, o, where_of(file, line));
}

// ------------------------------------------------------------------ layers and cells

struct JsDense {
  std::shared_ptr<Dense> layer;

  static JsDense create(double units, const val& options) {
    const std::int64_t n = positive_int(units, "Dense: units");
    DenseOptions o;
    const val act = option(options, "activation");
    if (!absent(act)) {
      const auto a = act.as<std::string>();
      if (a == "linear") o.activation = Activation::linear;
      else if (a == "relu") o.activation = Activation::relu;
      else if (a == "tanh") o.activation = Activation::tanh;
      else if (a == "sigmoid") o.activation = Activation::sigmoid;
      else throw InvalidArgumentError("Dense: activation '" + a + "' is not one of linear, relu, tanh, sigmoid");
    }
    set_option<bool>(options, "useBias", o.use_bias);
    o.kernel_initializer = initializer_of(option(options, "kernelInitializer"));
    o.bias_initializer = initializer_of(option(options, "biasInitializer"));
    set_option<std::string>(options, "name", o.name);
    set_option<bool>(options, "trainable", o.trainable);
    return JsDense{std::make_shared<Dense>(n, o)};
  }
  Tensor apply(const Tensor& inputs) const { return (*layer)(inputs); }
  Variable kernel() const { return layer->kernel(); }
  val bias() const { return layer->bias() ? val(*layer->bias()) : val::null(); }
  bool built() const { return layer->built(); }
  int units() const { return static_cast<int>(layer->units()); }
};

// The nest kinds that cross to JS by name (a leaf crosses as its Tensor).
constexpr std::pair<NestKind, const char*> kStateKinds[] = {
    {NestKind::tuple, "tuple"},
    {NestKind::lstm_state_tuple, "LSTMStateTuple"},
    {NestKind::attention_wrapper_state, "AttentionWrapperState"},
};

// A state to JS: a leaf is its Tensor; a nest is {kind: "tuple" | "LSTMStateTuple" |
// "AttentionWrapperState", items: [...]} (an AttentionWrapperState's six fields in TF's order).
val state_to_js(const State& s) {
  if (s.is_leaf()) return val(s.leaf());
  const char* kind = nullptr;
  for (const auto& [k, name] : kStateKinds)
    if (k == s.kind()) kind = name;
  if (kind == nullptr) throw InvalidArgumentError("a state nest of kind " + s.structure() + " cannot cross to JS");
  val out = val::object();
  out.set("kind", val(std::string(kind)));
  val items = val::array();
  for (std::size_t i = 0; i < s.size(); ++i) items.call<void>("push", state_to_js(s[i]));
  out.set("items", items);
  return out;
}

// The inverse of state_to_js.
State state_from_js(const val& v) {
  if (absent(v)) throw InvalidArgumentError("a state is null/undefined");
  const val kind = v["kind"];
  if (absent(kind)) return State(v.as<Tensor>());
  const auto k = kind.as<std::string>();
  std::optional<NestKind> nk;
  for (const auto& [nest_kind, name] : kStateKinds)
    if (k == name) nk = nest_kind;
  if (!nk) throw InvalidArgumentError("state kind '" + k + "' is not tuple, LSTMStateTuple or AttentionWrapperState");
  std::vector<State> items;
  const val js_items = v["items"];
  const int n = js_items["length"].as<int>();
  for (int i = 0; i < n; ++i) items.push_back(state_from_js(js_items[i]));
  return State::tuple(std::move(items), *nk);
}

// An attention mechanism (tf.contrib.seq2seq.BahdanauAttention / LuongAttention): memory_layer/kernel is
// created by create(), in the variable scope open at that moment, as in TF.
struct JsMechanism {
  std::shared_ptr<AttentionMechanism> mechanism;

  // kind "bahdanau" (flag = normalize) or "luong" (flag = scale); lengths: an int32 Tensor or null.
  static JsMechanism create(const std::string& kind, double units, const Tensor& memory, const val& lengths,
                            bool flag) {
    std::optional<Tensor> len;
    if (!absent(lengths)) len = lengths.as<Tensor>();
    if (kind == "bahdanau")
      return {std::make_shared<BahdanauAttention>(positive_int(units, "BahdanauAttention: num_units"), memory, len, flag)};
    if (kind == "luong")
      return {std::make_shared<LuongAttention>(positive_int(units, "LuongAttention: num_units"), memory, len, flag)};
    throw InvalidArgumentError("attention mechanism kind '" + kind + "' is not bahdanau or luong");
  }
  void setup_memory(const Tensor& memory, const val& lengths) {
    std::optional<Tensor> len;
    if (!absent(lengths)) len = lengths.as<Tensor>();
    mechanism->setup_memory(memory, len);
  }
};

struct JsCell {
  std::shared_ptr<RNNCell> cell;
  // What a composite cell references and must outlive it: a MultiRNNCell's layers, a wrapper's cell,
  // an AttentionWrapper's mechanism (each a JsCell / JsMechanism, so their own references stay too).
  std::vector<std::shared_ptr<const void>> children;

  static JsCell gru(double units, const val& options) {
    const val name = option(options, "name");
    return JsCell{std::make_shared<GRUCell>(positive_int(units, "GRUCell: num_units"),
                                            absent(name) ? std::string() : name.as<std::string>(),
                                            initializer_of(option(options, "kernelInitializer")),
                                            initializer_of(option(options, "biasInitializer"))),
                  {}};
  }
  // options: {name, forgetBias, stateIsTuple, usePeepholes, cellClip, numProj, projClip, initializer}
  static JsCell lstm(double units, const val& options) {
    LSTMCellOptions o;
    set_option<std::string>(options, "name", o.name);
    set_option<float>(options, "forgetBias", o.forget_bias);
    set_option<bool>(options, "stateIsTuple", o.state_is_tuple);
    set_option<bool>(options, "usePeepholes", o.use_peepholes);
    set_option<float>(options, "cellClip", o.cell_clip);
    const val num_proj = option(options, "numProj");
    if (!absent(num_proj)) o.num_proj = static_cast<std::int64_t>(num_proj.as<double>());
    set_option<float>(options, "projClip", o.proj_clip);
    o.initializer = initializer_of(option(options, "initializer"));
    return JsCell{std::make_shared<LSTMCell>(positive_int(units, "LSTMCell: num_units"), o), {}};
  }
  static JsCell basic_lstm(double units, const val& options) {
    const val forget = option(options, "forgetBias");
    const val tuple = option(options, "stateIsTuple");
    const val name = option(options, "name");
    return JsCell{std::make_shared<BasicLSTMCell>(positive_int(units, "BasicLSTMCell: num_units"),
                                                  absent(forget) ? 1.0f : forget.as<float>(),
                                                  absent(tuple) ? true : tuple.as<bool>(),
                                                  absent(name) ? std::string() : name.as<std::string>()),
                  {}};
  }
  // cells: a JS array of RNNCell; options: {stateIsTuple, name}
  static JsCell multi(const val& cells, const val& options) {
    const int n = cells["length"].as<int>();
    std::vector<std::shared_ptr<const void>> children;
    std::vector<std::reference_wrapper<RNNCell>> refs;
    for (int i = 0; i < n; ++i) {
      auto layer = std::make_shared<JsCell>(cells[i].as<JsCell>());
      refs.push_back(std::ref(*layer->cell));
      children.push_back(std::move(layer));
    }
    const val tuple = option(options, "stateIsTuple");
    const val name = option(options, "name");
    return JsCell{std::make_shared<MultiRNNCell>(std::move(refs), absent(tuple) ? true : tuple.as<bool>(),
                                                 absent(name) ? std::string() : name.as<std::string>()),
                  std::move(children)};
  }
  // tf.contrib.seq2seq.AttentionWrapper(cell, mechanism, ...); options: {attentionLayerSize,
  // alignmentHistory, outputAttention, initialCellState (a state as state_to_js gives it), name}.
  static JsCell attention_wrapper(const JsCell& inner, const JsMechanism& mechanism, const val& options) {
    AttentionWrapperOptions o;
    const val size = option(options, "attentionLayerSize");
    if (!absent(size)) o.attention_layer_size = positive_int(size.as<double>(), "AttentionWrapper: attention_layer_size");
    set_option<bool>(options, "alignmentHistory", o.alignment_history);
    set_option<bool>(options, "outputAttention", o.output_attention);
    const val initial = option(options, "initialCellState");
    if (!absent(initial)) o.initial_cell_state = state_from_js(initial);
    set_option<std::string>(options, "name", o.name);
    auto keep_cell = std::make_shared<JsCell>(inner);
    auto keep_mechanism = std::make_shared<JsMechanism>(mechanism);
    auto wrapper = std::make_shared<AttentionWrapper>(*keep_cell->cell, *keep_mechanism->mechanism, std::move(o));
    return JsCell{std::move(wrapper), {keep_cell, keep_mechanism}};
  }
  // tf.nn.rnn_cell.ResidualWrapper(cell) (TF's default residual_fn).
  static JsCell residual(const JsCell& inner) {
    auto keep = std::make_shared<JsCell>(inner);
    return JsCell{std::make_shared<ResidualWrapper>(*keep->cell), {keep}};
  }
  // tf.nn.rnn_cell.DropoutWrapper(cell, ...); options: {inputKeepProb, outputKeepProb, stateKeepProb,
  // variationalRecurrent, seed}.
  static JsCell dropout(const JsCell& inner, const val& options) {
    DropoutWrapperOptions o;
    for (auto [key, field] : {std::pair{"inputKeepProb", &DropoutWrapperOptions::input_keep_prob},
                              std::pair{"outputKeepProb", &DropoutWrapperOptions::output_keep_prob},
                              std::pair{"stateKeepProb", &DropoutWrapperOptions::state_keep_prob}}) {
      const val v = option(options, key);
      if (!absent(v)) o.*field = v.as<float>();
    }
    set_option<bool>(options, "variationalRecurrent", o.variational_recurrent);
    o.seed = seed_of(option(options, "seed"));
    auto keep = std::make_shared<JsCell>(inner);
    return JsCell{std::make_shared<DropoutWrapper>(*keep->cell, o), {keep}};
  }
  int output_size() const { return static_cast<int>(cell->output_size()); }
  int state_size() const { return static_cast<int>(cell->flat_state_size()); }
  val zero_state(double batch) const { return state_to_js(cell->zero_state(static_cast<std::int64_t>(batch))); }
};

val dynamic_rnn_js(JsCell& cell, const Tensor& inputs, const val& options) {
  DynamicRNNOptions o;
  set_option<Tensor>(options, "sequenceLength", o.sequence_length);
  const val init = option(options, "initialState");
  if (!absent(init)) o.initial_state = state_from_js(init);
  set_option<std::string>(options, "scope", o.scope);
  auto r = dynamic_rnn(*cell.cell, inputs, o);
  val out = val::object();
  out.set("outputs", val(r.outputs));
  out.set("finalState", state_to_js(r.final_state));
  return out;
}

// bidirectionalDynamicRnn(fw, bw, inputs, {sequenceLength, initialStateFw, initialStateBw, scope}):
// {outputsFw, outputsBw, stateFw, stateBw}.
val bidirectional_dynamic_rnn_js(JsCell& fw, JsCell& bw, const Tensor& inputs, const val& options) {
  BidirectionalRNNOptions o;
  set_option<Tensor>(options, "sequenceLength", o.sequence_length);
  const val init_fw = option(options, "initialStateFw");
  if (!absent(init_fw)) o.initial_state_fw = state_from_js(init_fw);
  const val init_bw = option(options, "initialStateBw");
  if (!absent(init_bw)) o.initial_state_bw = state_from_js(init_bw);
  set_option<std::string>(options, "scope", o.scope);
  auto r = bidirectional_dynamic_rnn(*fw.cell, *bw.cell, inputs, o);
  val out = val::object();
  out.set("outputsFw", val(r.outputs.first));
  out.set("outputsBw", val(r.outputs.second));
  out.set("stateFw", state_to_js(r.output_states[0]));
  out.set("stateBw", state_to_js(r.output_states[1]));
  return out;
}

// AttentionWrapperState.clone(**fields): fields {cellState, attention, time, alignments, attentionState};
// TF's "Invalid shape for tensor ..." when a replacement's shape differs.
val clone_attention_state_js(const val& state, const val& fields) {
  AttentionWrapperStateFields f;
  const val cell_state = option(fields, "cellState");
  if (!absent(cell_state)) f.cell_state = state_from_js(cell_state);
  for (auto [key, field] : {std::pair{"attention", &AttentionWrapperStateFields::attention},
                            std::pair{"time", &AttentionWrapperStateFields::time},
                            std::pair{"alignments", &AttentionWrapperStateFields::alignments},
                            std::pair{"attentionState", &AttentionWrapperStateFields::attention_state}}) {
    const val v = option(fields, key);
    if (!absent(v)) f.*field = v.as<Tensor>();
  }
  return state_to_js(AttentionWrapperState::from(state_from_js(state)).clone(f));
}

// ------------------------------------------------------------------ seq2seq

struct JsHelper {
  std::shared_ptr<Helper> helper;
  static JsHelper training(const Tensor& inputs, const Tensor& sequence_length) {
    return JsHelper{std::make_shared<Helper>(TrainingHelper(inputs, sequence_length))};
  }
  static JsHelper greedy(const Tensor& embedding, const Tensor& start_tokens, int end_token) {
    return JsHelper{std::make_shared<Helper>(GreedyEmbeddingHelper(embedding, start_tokens, end_token))};
  }
};

OptionalLayer layer_of(const val& v, std::shared_ptr<Dense>& keep) {
  if (absent(v)) return std::nullopt;
  keep = v.as<JsDense>().layer;
  return std::ref(*keep);
}

DecodeOptions decode_options(const val& options) {
  DecodeOptions o;
  const val max_it = option(options, "maximumIterations");
  if (!absent(max_it)) {
    const double m = max_it.as<double>();
    if (m < 0 || m != static_cast<double>(static_cast<std::int64_t>(m)))
      throw InvalidArgumentError("dynamic_decode: maximum_iterations must be a non-negative integer, not " +
                                 std::to_string(m));
    o.maximum_iterations = static_cast<std::int64_t>(m);
  }
  set_option<bool>(options, "imputeFinished", o.impute_finished);
  set_option<std::string>(options, "scope", o.scope);
  return o;
}

struct JsBasicDecoder {
  std::shared_ptr<JsCell> cell;  // the cell and, for a MultiRNNCell, its layers
  std::shared_ptr<Dense> layer;
  std::shared_ptr<JsHelper> helper;
  std::shared_ptr<BasicDecoder> decoder;

  static JsBasicDecoder create(const JsCell& cell, const JsHelper& helper, const val& initial_state,
                               const val& output_layer) {
    JsBasicDecoder d{std::make_shared<JsCell>(cell), nullptr, std::make_shared<JsHelper>(helper), nullptr};
    auto layer = layer_of(output_layer, d.layer);
    d.decoder = std::make_shared<BasicDecoder>(*d.cell->cell, *helper.helper, state_from_js(initial_state), layer);
    return d;
  }
  val decode(const val& options) {
    auto r = dynamic_decode(*decoder, decode_options(options));
    val out = val::object();
    out.set("rnnOutput", val(r.rnn_output));
    out.set("sampleId", val(r.sample_id));
    out.set("finalState", state_to_js(r.final_state));
    out.set("lengths", val(r.lengths));
    // [T, B, T_mem] with AttentionWrapper(alignment_history=True) and the GreedyEmbeddingHelper; else null.
    out.set("alignmentHistory", r.alignment_history.shape().dims().size() == 3 ? val(r.alignment_history) : val::null());
    return out;
  }
};

struct JsBeamSearchDecoder {
  std::shared_ptr<JsCell> cell;
  std::shared_ptr<Dense> layer;
  std::shared_ptr<BeamSearchDecoder> decoder;

  // options: {lengthPenaltyWeight}
  static JsBeamSearchDecoder create(const JsCell& cell, const Tensor& embedding, const Tensor& start_tokens,
                                    int end_token, const val& initial_state, double beam_width,
                                    const val& output_layer, const val& options) {
    const std::int64_t width = positive_int(beam_width, "BeamSearchDecoder: beam_width");
    JsBeamSearchDecoder d{std::make_shared<JsCell>(cell), nullptr, nullptr};
    auto layer = layer_of(output_layer, d.layer);
    BeamSearchOptions o;
    o.beam_width = width;
    set_option<float>(options, "lengthPenaltyWeight", o.length_penalty_weight);
    d.decoder = std::make_shared<BeamSearchDecoder>(*d.cell->cell, embedding, start_tokens, end_token,
                                                    state_from_js(initial_state), o, layer);
    return d;
  }
  val decode(const val& options) {
    auto r = dynamic_decode(*decoder, decode_options(options));
    val out = val::object();
    out.set("predictedIds", val(r.predicted_ids));
    out.set("scores", val(r.scores));
    out.set("parentIds", val(r.parent_ids));
    out.set("finalLogProbs", val(r.final_log_probs));
    out.set("lengths", val(r.lengths));
    return out;
  }
};

}  // namespace

// ------------------------------------------------------------------ bindings
// Every lambda's body runs under guard() (getters too); `+` turns a captureless lambda into a function pointer.

EMSCRIPTEN_BINDINGS(varscope_tf_api) {
  using namespace emscripten;

  class_<GraphContext>("GraphContext")
      .function("close", +[](GraphContext& c) { guard([&] { c.close(); }); })
      .function("closed", +[](const GraphContext& c) { return guard([&] { return c.closed(); }); });
  class_<JsAudit>("VariableAudit")
      .function("entries", +[](const JsAudit& a) { return guard([&] { return a.entries(); }); })
      .function("warnings", +[](const JsAudit& a) { return guard([&] { return a.warnings(); }); });
  class_<JsGraph>("Graph")
      .class_function("create", +[](double seed) { return guard([&] { return JsGraph::create(seed); }); })
      .function("asDefault", +[](const JsGraph& g) { return guard([&] { return g.as_default(); }); })
      .function("seed", +[](const JsGraph& g) { return guard([&] { return static_cast<double>(g.graph->seed()); }); })
      .function("startAudit", +[](const JsGraph& g) {
        return guard([&] { return JsAudit{g.graph, std::make_shared<VariableAudit>(*g.graph)}; });
      })
      .function("globalVariables", +[](const JsGraph& g, const std::string& scope) {
        return guard([&] { return array_of(g.graph->global_variables(scope)); });
      })
      .function("trainableVariables", +[](const JsGraph& g, const std::string& scope) {
        return guard([&] { return array_of(g.graph->trainable_variables(scope)); });
      })
      .function("localVariables", +[](const JsGraph& g, const std::string& scope) {
        return guard([&] { return array_of(g.graph->local_variables(scope)); });
      })
      .function("getCollection", +[](const JsGraph& g, const std::string& key, const std::string& scope) {
        return guard([&] { return array_of(g.graph->get_collection(key, scope)); });
      })
      .function("isSame", +[](const JsGraph& a, const JsGraph& b) { return guard([&] { return a.graph == b.graph; }); });

  class_<VariableScope>("VariableScope")
      .function("name", +[](const VariableScope& s) { return guard([&] { return s.name(); }); })
      .function("reuse", +[](const VariableScope& s) { return guard([&] { return std::string(reuse_name(s.reuse())); }); })
      .function("reuseOrigin", +[](const VariableScope& s) { return guard([&] { return s.reuse_origin(); }); })
      .function("originalNameScope", +[](const VariableScope& s) { return guard([&] { return s.original_name_scope(); }); })
      .function("reuseVariables", +[](VariableScope& s) { guard([&] { s.reuse_variables(); }); })
      .function("initializer", +[](const VariableScope& s) { return guard([&] { return s.initializer() ? val(*s.initializer()) : val::null(); }); })
      .function("setInitializer", +[](VariableScope& s, const Initializer& i) { guard([&] { s.set_initializer(i); }); })
      .function("dtype", +[](const VariableScope& s) { return guard([&] { return std::string(dtype_name(s.dtype())); }); })
      .function("setDtype", +[](VariableScope& s, const std::string& d) { guard([&] { s.set_dtype(parse_dtype(d)); }); })
      .function("globalVariables", +[](const VariableScope& s) { return guard([&] { return array_of(s.global_variables()); }); })
      .function("trainableVariables", +[](const VariableScope& s) { return guard([&] { return array_of(s.trainable_variables()); }); });
  class_<ScopeContext>("ScopeContext")
      .class_function("open", +[](val name_or_scope, val options) {
        return guard([&] { return ScopeContext::open(name_or_scope, options); });
      })
      .function("scope", +[](const ScopeContext& c) { return guard([&] { return c.scope(); }); })
      .function("close", +[](ScopeContext& c) { guard([&] { c.close(); }); });
  class_<NameScopeContext>("NameScopeContext")
      .class_function("open", +[](const std::string& name) { return guard([&] { return NameScopeContext::open(name); }); })
      .function("name", +[](const NameScopeContext& c) { return guard([&] { return c.name(); }); })
      .function("close", +[](NameScopeContext& c) { guard([&] { c.close(); }); });
  function("getVariableScope", +[]() { return guard([] { return get_variable_scope(); }); });
  function("currentNameScope", +[]() { return guard([] { return current_name_scope(); }); });
  function("openContexts", +[]() { return guard([&] { return static_cast<int>(open_contexts().size()); }); });

  class_<Tensor>("Tensor")
      .class_function("fromArray", +[](val data, val shape, std::string dtype) {
        return guard([&] { return tensor_from_array(data, shape, dtype); });
      })
      .function("shape", +[](const Tensor& t) { return guard([&] { return dims_of(t.shape()); }); })
      .function("dtype", +[](const Tensor& t) { return guard([&] { return std::string(dtype_name(t.dtype())); }); })
      .function("data", +[](const Tensor& t) { return guard([&] { return tensor_data(t); }); })
      .function("bitwiseEqual", +[](const Tensor& a, const Tensor& b) { return guard([&] { return a.bitwise_equal(b); }); })
      .function("toString", +[](const Tensor& t) { return guard([&] { return t.to_string(); }); });

  class_<Variable>("Variable")
      .function("name", +[](const Variable& v) { return guard([&] { return v.name(); }); })
      .function("opName", +[](const Variable& v) { return guard([&] { return v.op_name(); }); })
      .function("shape", +[](const Variable& v) { return guard([&] { return dims_of(v.shape()); }); })
      .function("dtype", +[](const Variable& v) { return guard([&] { return std::string(dtype_name(v.dtype())); }); })
      .function("trainable", +[](const Variable& v) { return guard([&] { return v.trainable(); }); })
      .function("origin", +[](const Variable& v) { return guard([&] { return origin_of(v); }); })
      .function("value", +[](const Variable& v) { return guard([&] { return v.value(); }); })
      // tf.Variable.load(value, session): the new value now (varscope's eager graph).
      .function("assign", +[](Variable& v, const Tensor& t) { guard([&] { v.assign(t); }); })
      .function("isSame", +[](const Variable& a, const Variable& b) { return guard([&] { return a == b; }); });
  function("getVariable", +[](std::string name, val options, std::string file, int line) {
    return guard([&] { return get_variable_js(name, options, file, line); });
  });
  function("createVariable", +[](const Tensor& value, std::string name, bool trainable, std::string file, int line) {
    return guard([&] { return Variable(value, name, trainable, where_of(file, line)); });
  });
  function("globalVariables", +[](std::string scope) { return guard([&] { return array_of(global_variables(scope)); }); });
  function("trainableVariables", +[](std::string scope) { return guard([&] { return array_of(trainable_variables(scope)); }); });
  function("localVariables", +[](std::string scope) { return guard([&] { return array_of(local_variables(scope)); }); });

  class_<Initializer>("Initializer")
      .class_function("zeros", +[]() { return guard([&] { return zeros_initializer(); }); })
      .class_function("ones", +[]() { return guard([&] { return ones_initializer(); }); })
      .class_function("constant", +[](double v) { return guard([&] { return constant_initializer(v); }); })
      // value(t): tf.constant_initializer(array), the variable's dtype; fromValue(t): get_variable(initializer=t),
      // the variable takes t's shape and dtype.
      .class_function("value", +[](const Tensor& t) { return guard([&] { return constant_initializer(t); }); })
      .class_function("fromValue", +[](const Tensor& t) { return guard([&] { return Initializer(t); }); })
      .class_function("randomUniform", +[](double lo, double hi, val seed) {
        return guard([&] { return random_uniform_initializer(lo, hi, seed_of(seed)); });
      })
      .class_function("randomNormal", +[](double mean, double stddev, val seed) {
        return guard([&] { return random_normal_initializer(mean, stddev, seed_of(seed)); });
      })
      .class_function("truncatedNormal", +[](double mean, double stddev, val seed) {
        return guard([&] { return truncated_normal_initializer(mean, stddev, seed_of(seed)); });
      })
      .class_function("glorotUniform", +[](val seed) { return guard([&] { return glorot_uniform_initializer(seed_of(seed)); }); })
      .function("description", +[](const Initializer& i) { return guard([&] { return i.description(); }); });

  // ops (eager)
  function("zeros", +[](val shape, val dtype) {
    return guard([&] { return zeros(shape_of(shape, "zeros"), dtype_of_name(dtype, DType::float32)); });
  });
  function("ones", +[](val shape, val dtype) {
    return guard([&] { return ones(shape_of(shape, "ones"), dtype_of_name(dtype, DType::float32)); });
  });
  function("randomUniform", +[](val shape, double lo, double hi, val seed) {
    return guard([&] {
      return random_uniform(shape_of(shape, "random_uniform"), static_cast<float>(lo), static_cast<float>(hi), seed_of(seed));
    });
  });
  function("randomNormal", +[](val shape, double mean, double stddev, val seed) {
    return guard([&] {
      return random_normal(shape_of(shape, "random_normal"), static_cast<float>(mean), static_cast<float>(stddev), seed_of(seed));
    });
  });
  function("matmul", +[](const Tensor& a, const Tensor& b, bool ta, bool tb) {
    return guard([&] { return matmul(a, b, ta, tb); });
  });
  function("add", +[](const Tensor& a, const Tensor& b) { return guard([&] { return add(a, b); }); });
  function("concat", +[](val parts, int axis) {
    return guard([&] {
      std::vector<Tensor> items;
      const int n = parts["length"].as<int>();
      for (int i = 0; i < n; ++i) items.push_back(parts[i].as<Tensor>());
      return concat(items, axis);
    });
  });
  function("multiply", +[](const Tensor& a, const Tensor& b) { return guard([&] { return multiply(a, b); }); });
  function("scale", +[](const Tensor& a, double s) { return guard([&] { return a * s; }); });
  function("tanh", +[](const Tensor& a) { return guard([&] { return varscope::tanh(a); }); });
  function("sigmoid", +[](const Tensor& a) { return guard([&] { return sigmoid(a); }); });
  function("relu", +[](const Tensor& a) { return guard([&] { return relu(a); }); });
  function("softmax", +[](const Tensor& a) { return guard([&] { return softmax(a); }); });
  function("argmax", +[](const Tensor& a, int axis) { return guard([&] { return argmax(a, axis); }); });
  function("reshape", +[](const Tensor& a, val shape) { return guard([&] { return reshape(a, shape_of(shape, "reshape")); }); });
  function("embeddingLookup", +[](const Tensor& params, const Tensor& ids) {
    return guard([&] { return embedding_lookup(params, ids); });
  });
  function("tileBatchState", +[](val state, double k) {
    return guard([&] {
      return state_to_js(tile_batch(state_from_js(state), positive_int(k, "tile_batch: multiplier")));
    });
  });
  function("tileBatch", +[](const Tensor& t, double k) {
    return guard([&] {
      return tile_batch(t, positive_int(k, "tile_batch: multiplier"));
    });
  });

  class_<JsDense>("Dense")
      .class_function("create", +[](double units, val options) { return guard([&] { return JsDense::create(units, options); }); })
      .function("apply", +[](const JsDense& d, const Tensor& x) { return guard([&] { return d.apply(x); }); })
      .function("kernel", +[](const JsDense& d) { return guard([&] { return d.kernel(); }); })
      .function("bias", +[](const JsDense& d) { return guard([&] { return d.bias(); }); })
      .function("built", +[](const JsDense& d) { return guard([&] { return d.built(); }); })
      .function("units", +[](const JsDense& d) { return guard([&] { return d.units(); }); });
  function("dense", +[](const Tensor& x, double units, val options) {
    return guard([&] { return JsDense::create(units, options).apply(x); });
  });

  class_<JsCell>("RNNCell")
      .class_function("gru", +[](double units, val options) { return guard([&] { return JsCell::gru(units, options); }); })
      .class_function("lstm", +[](double units, val options) { return guard([&] { return JsCell::lstm(units, options); }); })
      .class_function("basicLstm", +[](double units, val options) {
        return guard([&] { return JsCell::basic_lstm(units, options); });
      })
      .class_function("multi", +[](val cells, val options) { return guard([&] { return JsCell::multi(cells, options); }); })
      .class_function("attentionWrapper", +[](const JsCell& cell, const JsMechanism& mechanism, val options) {
        return guard([&] { return JsCell::attention_wrapper(cell, mechanism, options); });
      })
      .class_function("residual", +[](const JsCell& cell) { return guard([&] { return JsCell::residual(cell); }); })
      .class_function("dropout", +[](const JsCell& cell, val options) {
        return guard([&] { return JsCell::dropout(cell, options); });
      })
      .function("outputSize", +[](const JsCell& c) { return guard([&] { return c.output_size(); }); })
      .function("stateSize", +[](const JsCell& c) { return guard([&] { return c.state_size(); }); })
      .function("zeroState", +[](const JsCell& c, double batch) { return guard([&] { return c.zero_state(batch); }); });
  function("dynamicRnn", +[](JsCell& cell, const Tensor& inputs, val options) {
    return guard([&] { return dynamic_rnn_js(cell, inputs, options); });
  });
  function("bidirectionalDynamicRnn", +[](JsCell& fw, JsCell& bw, const Tensor& inputs, val options) {
    return guard([&] { return bidirectional_dynamic_rnn_js(fw, bw, inputs, options); });
  });

  class_<JsMechanism>("AttentionMechanism")
      .class_function("create", +[](std::string kind, double units, const Tensor& memory, val lengths, bool flag) {
        return guard([&] { return JsMechanism::create(kind, units, memory, lengths, flag); });
      })
      .function("setupMemory", +[](JsMechanism& m, const Tensor& memory, val lengths) {
        guard([&] { m.setup_memory(memory, lengths); });
      })
      .function("memoryLayerKernel", +[](const JsMechanism& m) {
        return guard([&] { return m.mechanism->memory_layer().kernel(); });
      })
      .function("batchSize", +[](const JsMechanism& m) {
        return guard([&] { return static_cast<double>(m.mechanism->batch_size()); });
      })
      .function("alignmentsSize", +[](const JsMechanism& m) {
        return guard([&] { return static_cast<double>(m.mechanism->alignments_size()); });
      })
      .function("className", +[](const JsMechanism& m) { return guard([&] { return m.mechanism->class_name(); }); });
  function("cloneAttentionWrapperState", +[](val state, val fields) {
    return guard([&] { return clone_attention_state_js(state, fields); });
  });

  class_<JsHelper>("Helper")
      .class_function("training", +[](const Tensor& inputs, const Tensor& lengths) {
        return guard([&] { return JsHelper::training(inputs, lengths); });
      })
      .class_function("greedyEmbedding", +[](const Tensor& embedding, const Tensor& start, int end) {
        return guard([&] { return JsHelper::greedy(embedding, start, end); });
      });
  class_<JsBasicDecoder>("BasicDecoder")
      .class_function("create", +[](const JsCell& cell, const JsHelper& helper, val init, val layer) {
        return guard([&] { return JsBasicDecoder::create(cell, helper, init, layer); });
      })
      .function("decode", +[](JsBasicDecoder& d, val options) { return guard([&] { return d.decode(options); }); });
  class_<JsBeamSearchDecoder>("BeamSearchDecoder")
      .class_function("create", +[](const JsCell& cell, const Tensor& embedding, const Tensor& start, int end,
                                    val init, double beam_width, val layer, val options) {
        return guard([&] {
          return JsBeamSearchDecoder::create(cell, embedding, start, end, init, beam_width, layer, options);
        });
      })
      .function("decode", +[](JsBeamSearchDecoder& d, val options) { return guard([&] { return d.decode(options); }); });
}
