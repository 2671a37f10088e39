// Tests of varscope:store and varscope:scope against SPEC sections 1-2: both
// reuse tables cell by cell, naming rules, scope re-entry, default-name
// counters, error kinds and their messages, custom getters, audits, frozen mode.
#define BOOST_TEST_MODULE scope_store
#include "support/boost_test.hpp"
#include "support/error_message.hpp"  // message_of<E>(f)

#include <algorithm>
#include <string>
#include <vector>

import varscope;

using namespace varscope;

namespace {

std::vector<std::string> names(const std::vector<Variable>& vars) {
  std::vector<std::string> out;
  for (const auto& v : vars) out.push_back(v.name());
  return out;
}

// Fresh default graph for each test case.
struct FreshGraph {
  Graph graph;
  DefaultGraphGuard session{graph};
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(naming)

BOOST_FIXTURE_TEST_CASE(plain_variables_are_uniquified_and_invisible_to_get_variable, FreshGraph) {
  auto a = Variable(random_uniform({2, 3}), "variable");
  auto b = Variable(random_uniform({2, 3}), "variable");
  auto c = get_variable("variable", {.shape = {2, 3}});
  BOOST_TEST(a.name() == "variable:0");
  BOOST_TEST(b.name() == "variable_1:0");
  BOOST_TEST(c.name() == "variable_2:0");          // graph name uniquified ...
  BOOST_TEST(graph.store().contains("variable"));  // ... store key stays "variable"
  BOOST_TEST(!(a == c));
  BOOST_CHECK_THROW(get_variable("variable", {.shape = {2, 3}}), AlreadyExistsError);
  BOOST_TEST(names(global_variables()) == (std::vector<std::string>{"variable:0", "variable_1:0", "variable_2:0"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(op_name_has_no_output_suffix, FreshGraph) {
  auto scope = variable_scope("hoge");
  auto v = get_variable("variable", {.shape = {2, 3}});
  BOOST_TEST(v.name() == "hoge/variable:0");
  BOOST_TEST(v.op_name() == "hoge/variable");
}

BOOST_FIXTURE_TEST_CASE(unique_name_is_case_insensitive_like_tf, FreshGraph) {
  BOOST_TEST(graph.unique_name("Foo") == "Foo");
  BOOST_TEST(graph.unique_name("foo") == "foo_1");
  BOOST_TEST(graph.unique_name("foo_1") == "foo_1_1");
}

BOOST_FIXTURE_TEST_CASE(name_scopes_do_not_enter_get_variable_names, FreshGraph) {
  auto ns = name_scope("outer_ns");
  auto plain = Variable(zeros({1}), "plain");
  auto got = get_variable("got", {.shape = {1}});
  BOOST_TEST(plain.name() == "outer_ns/plain:0");
  BOOST_TEST(got.name() == "got:0");
  {
    auto scope = variable_scope("vs");
    auto inner_plain = Variable(zeros({1}), "p");
    auto inner_got = get_variable("g", {.shape = {1}});
    BOOST_TEST(inner_plain.name() == "outer_ns/vs/p:0");
    BOOST_TEST(inner_got.name() == "vs/g:0");
  }
}

BOOST_FIXTURE_TEST_CASE(explicit_scope_names_are_never_uniquified_but_name_scopes_are, FreshGraph) {
  std::string first_ns, second_ns;
  {
    auto scope = variable_scope("foo");
    first_ns = scope.original_name_scope();
    BOOST_TEST(get_variable("v", {.shape = {1}}).name() == "foo/v:0");
  }
  {
    auto scope = variable_scope("foo", {.reuse = Reuse::True});
    second_ns = scope.original_name_scope();
    BOOST_TEST(scope.name() == "foo");
    BOOST_TEST(get_variable("v").name() == "foo/v:0");
    BOOST_TEST(Variable(zeros({1}), "plain").name() == "foo_1/plain:0");
  }
  BOOST_TEST(first_ns == "foo/");
  BOOST_TEST(second_ns == "foo_1/");
}

BOOST_FIXTURE_TEST_CASE(nested_scopes_concatenate_with_slash, FreshGraph) {
  auto a = variable_scope("a");
  auto b = variable_scope("b");
  auto c = variable_scope("c");
  BOOST_TEST(c.name() == "a/b/c");
  BOOST_TEST(get_variable("w", {.shape = {1}}).name() == "a/b/c/w:0");
  BOOST_TEST(get_variable_scope().name() == "a/b/c");
}

BOOST_FIXTURE_TEST_CASE(invalid_names_are_rejected, FreshGraph) {
  BOOST_CHECK_THROW(get_variable("", {.shape = {1}}), InvalidArgumentError);
  BOOST_CHECK_THROW(get_variable("bad name", {.shape = {1}}), InvalidArgumentError);
  BOOST_CHECK_THROW(Variable(zeros({1}), "_lead"), InvalidArgumentError);
  BOOST_CHECK_THROW((void)variable_scope(""), InvalidArgumentError);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- SPEC 2, first table
BOOST_AUTO_TEST_SUITE(create_get_table)

// Row "false": create when new, error when existing.
BOOST_FIXTURE_TEST_CASE(reuse_none_creates_new, FreshGraph) {
  auto scope = variable_scope("s", {.reuse = Reuse::None});
  BOOST_TEST(scope.reuse() == ReuseMode::False);
  auto v = get_variable("v", {.shape = {2, 3}});
  BOOST_TEST(v.name() == "s/v:0");
  BOOST_TEST(global_variables().size() == 1u);
}
BOOST_FIXTURE_TEST_CASE(reuse_none_existing_is_already_exists, FreshGraph) {
  auto scope = variable_scope("s");
  (void)get_variable("v", {.shape = {2, 3}});
  BOOST_CHECK_THROW(get_variable("v", {.shape = {2, 3}}), AlreadyExistsError);
  BOOST_TEST(global_variables().size() == 1u);
}
// Row "True": error when new, return when existing.
BOOST_FIXTURE_TEST_CASE(reuse_true_new_is_not_found, FreshGraph) {
  auto scope = variable_scope("s", {.reuse = Reuse::True});
  BOOST_CHECK_THROW(get_variable("v", {.shape = {2, 3}}), NotFoundError);
  BOOST_TEST(global_variables().empty());
}
BOOST_FIXTURE_TEST_CASE(reuse_true_existing_returns_it, FreshGraph) {
  Variable created = [] {
    auto scope = variable_scope("s");
    return get_variable("v", {.shape = {2, 3}});
  }();
  auto scope = variable_scope("s", {.reuse = Reuse::True});
  auto got = get_variable("v", {.shape = {2, 3}});
  BOOST_TEST((got == created));
  BOOST_TEST(got.value().bitwise_equal(created.value()));
  BOOST_TEST(global_variables().size() == 1u);
}
// Row "AUTO_REUSE": create when new, return when existing.
BOOST_FIXTURE_TEST_CASE(auto_reuse_creates_new, FreshGraph) {
  auto scope = variable_scope("s", {.reuse = AUTO_REUSE});
  auto v = get_variable("v", {.shape = {2, 3}});
  BOOST_TEST(v.name() == "s/v:0");
  BOOST_TEST(global_variables().size() == 1u);
}
BOOST_FIXTURE_TEST_CASE(auto_reuse_existing_returns_it, FreshGraph) {
  auto scope = variable_scope("s", {.reuse = AUTO_REUSE});
  auto a = get_variable("v", {.shape = {2, 3}});
  auto b = get_variable("v", {.shape = {2, 3}});
  BOOST_TEST((a == b));
  BOOST_TEST(global_variables().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(fetch_without_shape_or_with_unknown_dims, FreshGraph) {
  { auto s = variable_scope("s"); (void)get_variable("v", {.shape = {2, 3}}); }
  auto s = variable_scope("s", {.reuse = Reuse::True});
  BOOST_TEST(get_variable("v").shape() == (Shape{2, 3}));
  BOOST_TEST(get_variable("v", {.shape = {kUnknownDim, 3}}).shape() == (Shape{2, 3}));
  BOOST_CHECK_THROW(get_variable("v", {.shape = {3, 3}}), ShapeMismatchError);
  BOOST_CHECK_THROW(get_variable("v", {.shape = {2, 3}, .dtype = DType::int32}), DTypeMismatchError);
}

BOOST_FIXTURE_TEST_CASE(creation_needs_a_fully_defined_shape, FreshGraph) {
  BOOST_CHECK_THROW(get_variable("v"), InvalidArgumentError);
  BOOST_CHECK_THROW(get_variable("v", {.shape = {kUnknownDim, 2}}), InvalidArgumentError);
  BOOST_CHECK_THROW(get_variable("v", {.shape = {-5, 2}}), InvalidArgumentError);
  // A tensor-valued initializer supplies the shape.
  auto v = get_variable("c", {.initializer = constant_initializer(Tensor({2}, std::vector<float>{1.5f, 2.5f}))});
  BOOST_TEST(v.shape() == (Shape{2}));
  BOOST_TEST(v.value().data<float>()[1] == 2.5f);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- SPEC 2, inheritance table
BOOST_AUTO_TEST_SUITE(inheritance_table)

namespace {
struct Cell {
  Reuse outer;
  Reuse inner;
  ReuseMode expected;
};
std::ostream& operator<<(std::ostream& os, const Cell& c) {
  return os << "outer " << int(c.outer) << " inner " << int(c.inner);
}
// The article's table: rows outer None/True/AUTO_REUSE, columns inner None/True/AUTO_REUSE.
const std::vector<Cell> kTable = {
    {Reuse::None, Reuse::None, ReuseMode::False},           {Reuse::None, Reuse::True, ReuseMode::True},
    {Reuse::None, Reuse::AutoReuse, ReuseMode::AutoReuse},  {Reuse::True, Reuse::None, ReuseMode::True},
    {Reuse::True, Reuse::True, ReuseMode::True},            {Reuse::True, Reuse::AutoReuse, ReuseMode::AutoReuse},
    {Reuse::AutoReuse, Reuse::None, ReuseMode::AutoReuse},  {Reuse::AutoReuse, Reuse::True, ReuseMode::True},
    {Reuse::AutoReuse, Reuse::AutoReuse, ReuseMode::AutoReuse},
};
}  // namespace

BOOST_DATA_TEST_CASE(each_cell_gives_the_articles_mode, boost::unit_test::data::make(kTable), cell) {
  Graph graph;
  auto session = graph.as_default();
  auto outer = variable_scope("outer", {.reuse = cell.outer});
  auto inner = variable_scope("inner", {.reuse = cell.inner});
  BOOST_TEST(inner.name() == "outer/inner");
  BOOST_TEST((inner.reuse() == cell.expected));
  // The mode is real: get_variable behaves by the create/get table.
  if (cell.expected == ReuseMode::True) {
    BOOST_CHECK_THROW(get_variable("w", {.shape = {1}}), NotFoundError);
  } else {
    auto w = get_variable("w", {.shape = {1}});
    if (cell.expected == ReuseMode::False)
      BOOST_CHECK_THROW(get_variable("w", {.shape = {1}}), AlreadyExistsError);
    else
      BOOST_TEST((get_variable("w", {.shape = {1}}) == w));
  }
}

BOOST_FIXTURE_TEST_CASE(reuse_prints_like_tf, FreshGraph) {
  BOOST_TEST(to_string(ReuseMode::False) == "False");
  BOOST_TEST(to_string(ReuseMode::True) == "True");
  BOOST_TEST(to_string(ReuseMode::AutoReuse) == "_ReuseMode.AUTO_REUSE");
  BOOST_TEST((get_variable_scope().reuse() == ReuseMode::False));  // root
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- reuse_variables, re-entry, counters
BOOST_AUTO_TEST_SUITE(scope_objects)

BOOST_FIXTURE_TEST_CASE(reuse_variables_affects_rest_of_block_and_later_subscopes_only, FreshGraph) {
  {
    auto scope = variable_scope("a");
    {
      auto before = variable_scope("sub_before");
      BOOST_TEST((before.reuse() == ReuseMode::False));
    }
    auto v = get_variable("v", {.shape = {1}});
    scope.reuse_variables();
    BOOST_TEST((scope.reuse() == ReuseMode::True));
    BOOST_TEST((get_variable("v") == v));
    BOOST_CHECK_THROW(get_variable("new_one", {.shape = {1}}), NotFoundError);
    auto after = variable_scope("sub_after");
    BOOST_TEST((after.reuse() == ReuseMode::True));
  }
  auto sibling = variable_scope("b");
  BOOST_TEST((sibling.reuse() == ReuseMode::False));
  BOOST_TEST((get_variable_scope().reuse() == ReuseMode::False));
}

BOOST_FIXTURE_TEST_CASE(root_reuse_is_never_sticky, FreshGraph) {
  { auto s = variable_scope("x", {.reuse = Reuse::True}); }
  BOOST_TEST((get_variable_scope().reuse() == ReuseMode::False));
  BOOST_TEST(get_variable("fresh", {.shape = {1}}).name() == "fresh:0");
}

BOOST_FIXTURE_TEST_CASE(captured_scope_reentry_uses_its_own_reuse_not_the_parents, FreshGraph) {
  VariableScope captured = [] {
    auto s = variable_scope("captured");
    (void)get_variable("w", {.shape = {2}});
    return VariableScope(s);
  }();
  {
    // Re-entering under an AUTO_REUSE parent: the captured object's reuse (False) wins.
    auto parent = variable_scope("parent", {.reuse = AUTO_REUSE});
    auto again = variable_scope(captured);
    BOOST_TEST(again.name() == "captured");  // absolute, not parent/captured
    BOOST_TEST((again.reuse() == ReuseMode::False));
    BOOST_CHECK_THROW(get_variable("w", {.shape = {2}}), AlreadyExistsError);
  }
  {
    auto again = variable_scope(captured, {.reuse = Reuse::True});
    BOOST_TEST((again.reuse() == ReuseMode::True));
    BOOST_TEST(get_variable("w").name() == "captured/w:0");
  }
  captured.reuse_variables();  // sticks to the object for later re-entries
  {
    auto again = variable_scope(captured);
    BOOST_TEST((again.reuse() == ReuseMode::True));
    BOOST_TEST(again.original_name_scope() == "captured/");
  }
}

BOOST_FIXTURE_TEST_CASE(reuse_variables_inside_a_reentry_does_not_leak_to_the_captured_object, FreshGraph) {
  VariableScope captured = [] { auto s = variable_scope("c"); return VariableScope(s); }();
  {
    auto again = variable_scope(captured);
    again.reuse_variables();
  }
  BOOST_TEST((captured.reuse() == ReuseMode::False));
}

BOOST_FIXTURE_TEST_CASE(default_names_are_uniquified_per_parent_and_reset_on_parent_exit, FreshGraph) {
  auto open_default = [] {
    auto s = variable_scope(std::nullopt, {.default_name = "dense"});
    return s.name();
  };
  {
    auto outer = variable_scope("outer");
    BOOST_TEST(open_default() == "outer/dense");
    BOOST_TEST(open_default() == "outer/dense_1");
    BOOST_TEST(open_default() == "outer/dense_2");
  }
  {
    // "outer" exited: its sub-scope counters restarted.
    auto outer = variable_scope("outer");
    BOOST_TEST(open_default() == "outer/dense");
  }
  {
    auto other = variable_scope("other");
    BOOST_TEST(open_default() == "other/dense");  // counters are per parent
  }
  // Top-level counters live in the root, which never exits.
  BOOST_TEST(open_default() == "dense");
  BOOST_TEST(open_default() == "dense_1");
  // An explicitly named scope also counts.
  { auto s = variable_scope("explicit"); }
  auto s = variable_scope(std::nullopt, {.default_name = "explicit"});
  BOOST_TEST(s.name() == "explicit_1");
}

BOOST_FIXTURE_TEST_CASE(default_name_with_reuse_is_an_error, FreshGraph) {
  BOOST_CHECK_THROW((void)variable_scope(std::nullopt, {.default_name = "d", .reuse = Reuse::True}),
                    InvalidArgumentError);
  BOOST_CHECK_THROW((void)variable_scope(std::nullopt, {.default_name = "d", .reuse = AUTO_REUSE}),
                    InvalidArgumentError);
  BOOST_CHECK_THROW((void)variable_scope(std::nullopt, {}), InvalidArgumentError);
  BOOST_TEST(get_variable_scope().name() == "");  // nothing was left entered
}

BOOST_FIXTURE_TEST_CASE(scope_initializer_is_inherited_and_overridable, FreshGraph) {
  auto outer = variable_scope("o", {.initializer = constant_initializer(0.5)});
  auto a = get_variable("a", {.shape = {3}});
  auto inner = variable_scope("i");
  auto b = get_variable("b", {.shape = {3}});
  auto c = get_variable("c", {.shape = {3}, .initializer = ones_initializer()});
  for (float x : a.value().data<float>()) BOOST_TEST(x == 0.5f);
  for (float x : b.value().data<float>()) BOOST_TEST(x == 0.5f);
  for (float x : c.value().data<float>()) BOOST_TEST(x == 1.0f);
  auto n = get_variable("n", {.shape = {2}, .dtype = DType::int32});  // int default: zeros... scope says 0.5 -> 0
  BOOST_TEST(n.dtype() == DType::int32);
}

BOOST_FIXTURE_TEST_CASE(scope_filtered_listings, FreshGraph) {
  auto a = variable_scope("net");
  (void)get_variable("w", {.shape = {1}});
  (void)get_variable("frozen_w", {.shape = {1}, .trainable = false});
  {
    auto other = variable_scope("network2", {.reuse = Reuse::None});
  }
  VariableScope net = a;
  (void)get_local_variable("counter", {.shape = {}, .dtype = DType::int32});
  BOOST_TEST(names(net.global_variables()) == (std::vector<std::string>{"net/w:0", "net/frozen_w:0"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(net.trainable_variables()) == (std::vector<std::string>{"net/w:0"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(local_variables()) == (std::vector<std::string>{"net/counter:0"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(scope_prefix_filter_does_not_match_sibling_with_same_prefix, FreshGraph) {
  { auto s = variable_scope("net"); (void)get_variable("w", {.shape = {1}}); }
  { auto s = variable_scope("network"); (void)get_variable("w", {.shape = {1}}); }
  VariableScope net = [] { auto s = variable_scope("net", {.reuse = Reuse::True}); return VariableScope(s); }();
  BOOST_TEST(names(net.global_variables()) == (std::vector<std::string>{"net/w:0"}), boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(default_graphs_nest_and_restore, FreshGraph) {
  auto outer_scope = variable_scope("outer");
  {
    Graph other;
    auto use = other.as_default();
    BOOST_TEST(&get_default_graph() == &other);
    BOOST_TEST(get_variable_scope().name() == "");  // fresh root scope in the other graph
    (void)get_variable("x", {.shape = {1}});
    BOOST_TEST(other.global_variables().size() == 1u);
  }
  BOOST_TEST(&get_default_graph() == &graph);
  BOOST_TEST(get_variable_scope().name() == "outer");
  BOOST_TEST(graph.global_variables().empty());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- errors
BOOST_AUTO_TEST_SUITE(error_messages)

BOOST_FIXTURE_TEST_CASE(already_exists_names_variable_mode_origin_and_fix, FreshGraph) {
  auto scope = variable_scope("hoge");
  (void)get_variable("variable", {.shape = {2, 3}});
  const auto m = message_of<AlreadyExistsError>([] { (void)get_variable("variable", {.shape = {2, 3}}); });
  BOOST_TEST(contains(m, "hoge/variable already exists"));
  BOOST_TEST(contains(m, "reuse mode:    False"));
  BOOST_TEST(contains(m, "first created: by get_variable in scope \"hoge\" at scope_store_test.cpp:"));
  BOOST_TEST(contains(m, "reuse=True or reuse=AUTO_REUSE"));
}

BOOST_FIXTURE_TEST_CASE(not_found_names_origin_of_reuse_and_suggests_near_names, FreshGraph) {
  { auto s = variable_scope("hoge"); (void)get_variable("variable", {.shape = {2, 3}}); }
  auto outer = variable_scope("outer", {.reuse = Reuse::True});
  auto inner = variable_scope("inner");
  const auto m = message_of<NotFoundError>([] { (void)get_variable("variable", {.shape = {2, 3}}); });
  BOOST_TEST(contains(m, "outer/inner/variable does not exist"));
  BOOST_TEST(contains(m, "reuse mode:    True, set by variable_scope(\"outer\", reuse=True)"));
  BOOST_TEST(contains(m, "did you mean:  \"hoge/variable\"?"));
}

BOOST_FIXTURE_TEST_CASE(typo_gets_did_you_mean, FreshGraph) {
  { auto s = variable_scope("net", {.reuse = AUTO_REUSE}); (void)get_variable("kernel", {.shape = {2}}); }
  auto r = variable_scope("net", {.reuse = Reuse::True});
  const auto m = message_of<NotFoundError>([] { (void)get_variable("kernal"); });
  BOOST_TEST(contains(m, "did you mean:  \"net/kernel\"?"));
}

BOOST_FIXTURE_TEST_CASE(shape_mismatch_says_expected_and_found, FreshGraph) {
  auto s = variable_scope("s", {.reuse = AUTO_REUSE});
  (void)get_variable("w", {.shape = {2, 3}});
  const auto m = message_of<ShapeMismatchError>([] { (void)get_variable("w", {.shape = {3, 2}}); });
  BOOST_TEST(contains(m, "Trying to share variable s/w"));
  BOOST_TEST(contains(m, "requested shape [3, 2] does not match its shape [2, 3]"));
  BOOST_TEST(contains(m, "reuse mode:    AUTO_REUSE, set by variable_scope(\"s\", reuse=AUTO_REUSE)"));
  BOOST_TEST(contains(m, "first created: by get_variable in scope \"s\""));
}

BOOST_FIXTURE_TEST_CASE(dtype_mismatch_says_expected_and_found, FreshGraph) {
  auto s = variable_scope("s", {.reuse = AUTO_REUSE});
  (void)get_variable("w", {.shape = {2}, .dtype = DType::int32});
  const auto m = message_of<DTypeMismatchError>([] { (void)get_variable("w", {.shape = {2}}); });
  BOOST_TEST(contains(m, "requested dtype float32 does not match its dtype int32"));
}

BOOST_FIXTURE_TEST_CASE(reuse_variables_is_named_as_the_origin, FreshGraph) {
  auto s = variable_scope("dec");
  s.reuse_variables();
  const auto m = message_of<NotFoundError>([] { (void)get_variable("w", {.shape = {1}}); });
  BOOST_TEST(contains(m, "set by scope.reuse_variables() on \"dec\""));
}

BOOST_FIXTURE_TEST_CASE(creator_label_appears_in_first_created, FreshGraph) {
  {
    CreatorLabel label("Dense 'dense_a'");
    (void)get_variable("kernel", {.shape = {2, 2}});
  }
  const auto m = message_of<AlreadyExistsError>([] { (void)get_variable("kernel", {.shape = {2, 2}}); });
  BOOST_TEST(contains(m, "first created: by Dense 'dense_a' in the root scope"));
}

BOOST_FIXTURE_TEST_CASE(all_kinds_derive_from_error_and_report_their_kind, FreshGraph) {
  const auto kind_of = [](auto&& f) -> std::string {
    try { f(); } catch (const Error& e) { return e.kind(); }
    return "none";
  };
  (void)get_variable("v", {.shape = {1}});
  BOOST_TEST(kind_of([] { (void)get_variable("v", {.shape = {1}}); }) == "AlreadyExistsError");
  {
    auto r = variable_scope("r", {.reuse = Reuse::True});
    BOOST_TEST(kind_of([] { (void)get_variable("v"); }) == "NotFoundError");
  }
  BOOST_TEST(kind_of([] { (void)Tensor(Shape{2}, std::vector<float>{1.0f}); }) == "ShapeMismatchError");
  BOOST_TEST(kind_of([] { (void)Tensor(DType::float32, Shape{2}).data<std::int32_t>(); }) == "DTypeMismatchError");
  BOOST_TEST(kind_of([] { (void)parse_dtype("float64"); }) == "InvalidArgumentError");
  FreezeGuard frozen;
  BOOST_TEST(kind_of([] { (void)get_variable("w", {.shape = {1}}); }) == "FrozenStoreError");
}

BOOST_FIXTURE_TEST_CASE(assign_checks_shape_and_dtype, FreshGraph) {
  auto v = get_variable("v", {.shape = {2}});
  BOOST_CHECK_THROW(v.assign(zeros({3})), ShapeMismatchError);
  BOOST_CHECK_THROW(v.assign(zeros({2}, DType::int32)), DTypeMismatchError);
  const auto before = v.version();
  v.assign(Tensor({2}, std::vector<float>{7.0f, 8.0f}));
  BOOST_TEST(v.version() == before + 1);
  BOOST_TEST(get_variable_scope().name() == "");
}

BOOST_FIXTURE_TEST_CASE(huge_shapes_are_refused_before_allocating, FreshGraph) {
  BOOST_CHECK_THROW(get_variable("huge", {.shape = {1 << 20, 1 << 20}}), InvalidArgumentError);
  BOOST_TEST(global_variables().empty());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- beyond TF
BOOST_AUTO_TEST_SUITE(beyond_tf)

BOOST_FIXTURE_TEST_CASE(custom_getter_sees_full_request_and_chains_inner_first, FreshGraph) {
  std::vector<std::string> calls;
  VariableRequest seen;
  auto outer = variable_scope("outer", {.custom_getter = [&](const Getter& next, const VariableRequest& ctx) {
                                          calls.push_back("outer:" + ctx.name);
                                          return next(ctx);
                                        }});
  auto inner = variable_scope("inner", {.custom_getter = [&](const Getter& next, const VariableRequest& ctx) {
                                          calls.push_back("inner:" + ctx.name);
                                          seen = ctx;
                                          VariableRequest changed = ctx;
                                          changed.name = ctx.name + "_renamed";  // getters may edit the request
                                          return next(changed);
                                        }});
  auto v = get_variable("w", {.shape = {4, 5}, .initializer = ones_initializer()});
  BOOST_TEST(v.name() == "outer/inner/w_renamed:0");
  BOOST_TEST(calls == (std::vector<std::string>{"inner:outer/inner/w", "outer:outer/inner/w_renamed"}),
             boost::test_tools::per_element());
  BOOST_TEST(seen.shape == (Shape{4, 5}));
  BOOST_TEST(seen.dtype == DType::float32);
  BOOST_TEST(seen.initializer->description() == "ones");
  BOOST_TEST((seen.reuse == ReuseMode::False));
}

// One request type: the getter sees everything the store will use (scope, creator,
// who set the reuse mode, call site), and the store acts on the request as the getter
// left it (a changed creator and trainable flag reach the variable and its errors).
BOOST_FIXTURE_TEST_CASE(custom_getter_request_reaches_the_store_as_left, FreshGraph) {
  VariableRequest seen;
  const auto relabel = [&](const Getter& next, const VariableRequest& request) {
    seen = request;
    VariableRequest changed = request;
    changed.creator = "Relabelled";
    changed.trainable = false;
    return next(changed);
  };
  auto outer = variable_scope("outer", {.reuse = Reuse::AutoReuse});
  auto inner = variable_scope("inner", {.custom_getter = relabel});
  const unsigned line = __LINE__ + 1;
  auto v = get_variable("w", {.shape = {2}});
  BOOST_TEST(seen.name == "outer/inner/w");
  BOOST_TEST(seen.scope == "outer/inner");
  BOOST_TEST(seen.creator == "get_variable");
  BOOST_TEST(seen.reuse_origin == "variable_scope(\"outer\", reuse=AUTO_REUSE)");
  BOOST_TEST(seen.where.line == line);
  BOOST_TEST(v.origin().creator == "Relabelled");
  BOOST_TEST(v.origin().scope == "outer/inner");
  BOOST_TEST(!v.trainable());
  BOOST_TEST(trainable_variables().empty());
  // A plain Variable records the variable scope it was created in (the thread's frame keeps it).
  Variable plain(zeros({1}), "p");
  BOOST_TEST(plain.origin().scope == "outer/inner");
  BOOST_TEST(plain.name() == "outer/inner/p:0");
  {
    auto strict = variable_scope(get_variable_scope(), {.custom_getter = [](const Getter& next, const VariableRequest& r) {
      VariableRequest changed = r;
      changed.reuse = ReuseMode::False;  // a getter may also tighten the reuse mode
      changed.name = "outer/inner/w";
      return next(changed);
    }});
    try {
      (void)get_variable("again", {.shape = {2}});
      BOOST_FAIL("expected AlreadyExistsError");
    } catch (const AlreadyExistsError& e) {
      const std::string message = e.what();
      BOOST_TEST(message.find("first created: by Relabelled in scope \"outer/inner\"") != std::string::npos, message);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(custom_getter_can_replace_the_variable, FreshGraph) {
  Variable shared = get_variable("shared", {.shape = {3}});
  auto s = variable_scope("redirect", {.custom_getter = [&](const Getter&, const VariableRequest&) { return shared; }});
  BOOST_TEST((get_variable("anything", {.shape = {3}}) == shared));
  BOOST_TEST(global_variables().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(audit_lists_created_vs_reused, FreshGraph) {
  VariableAudit audit;
  {
    auto s = variable_scope("net");
    (void)get_variable("w", {.shape = {2}});
    (void)get_variable("b", {.shape = {2}});
    s.reuse_variables();
    (void)get_variable("w");
    (void)get_variable("w");
  }
  BOOST_TEST(audit.created() == (std::vector<std::string>{"net/w", "net/b"}), boost::test_tools::per_element());
  BOOST_TEST(audit.reused() == (std::vector<std::string>{"net/w"}), boost::test_tools::per_element());
  BOOST_TEST(audit.entries().size() == 4u);
  BOOST_TEST(audit.summary() == "created 2, reused 1\n  + net/w\n  + net/b\n  = net/w\n");
}

BOOST_FIXTURE_TEST_CASE(audit_stops_recording_when_it_ends, FreshGraph) {
  std::size_t recorded = 0;
  {
    VariableAudit audit;
    (void)get_variable("a", {.shape = {1}});
    recorded = audit.entries().size();
  }
  (void)get_variable("b", {.shape = {1}});  // must not touch the destroyed audit (ASan checks)
  BOOST_TEST(recorded == 1u);
}

BOOST_FIXTURE_TEST_CASE(frozen_store_refuses_every_creation_but_allows_fetches, FreshGraph) {
  Variable w = [] { auto s = variable_scope("net"); return get_variable("w", {.shape = {2}}); }();
  {
    FreezeGuard frozen;
    auto s = variable_scope("net", {.reuse = AUTO_REUSE});
    BOOST_TEST((get_variable("w") == w));  // fetch is fine
    const auto m = message_of<FrozenStoreError>([] { (void)get_variable("b", {.shape = {2}}); });
    BOOST_TEST(contains(m, "Cannot create variable net/b"));
    BOOST_TEST(contains(m, "frozen"));
    BOOST_CHECK_THROW(Variable(zeros({1}), "plain"), FrozenStoreError);
  }
  BOOST_TEST(global_variables().size() == 1u);
  BOOST_TEST(get_variable("after", {.shape = {1}}).name() == "after:0");  // unfrozen again
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- exported API not covered above
BOOST_AUTO_TEST_SUITE(api_coverage)

BOOST_AUTO_TEST_CASE(closest_names_ranks_same_leaf_first_then_edit_distance) {
  const std::vector<std::string> candidates = {"enc/cell/kernel", "dec/cell/kernel", "dec/cell/kernal2",
                                               "dec/cell/bias",   "totally/unrelated", "dec/cell/kernel_x"};
  // Same last component in another scope first; then by edit distance; the exact name never.
  BOOST_TEST(closest_names("dec/cell/kernel", candidates) ==
                 (std::vector<std::string>{"enc/cell/kernel", "dec/cell/kernal2", "dec/cell/kernel_x"}),
             boost::test_tools::per_element());
  BOOST_TEST(closest_names("dec/cell/kernel", candidates, 1) == (std::vector<std::string>{"enc/cell/kernel"}),
             boost::test_tools::per_element());
  // Edit distance budget: max(2, len/3); nothing near enough gives nothing.
  BOOST_TEST(closest_names("ab", {"xy", "abc", "a"}) == (std::vector<std::string>{"a", "abc", "xy"}),
             boost::test_tools::per_element());
  BOOST_TEST(closest_names("abcdef", {"uvwxyz"}).empty());
  BOOST_TEST(edit_distance("kitten", "sitting") == 3u);
}

BOOST_FIXTURE_TEST_CASE(collections_add_and_get_with_scope_filter, FreshGraph) {
  auto a = get_variable("a", {.shape = {1}});
  const Variable b = [] {
    auto s = variable_scope("net");
    return get_variable("b", {.shape = {1}});
  }();
  BOOST_TEST(graph.get_collection("losses").empty());
  graph.add_to_collection("losses", b);
  graph.add_to_collection("losses", a);
  BOOST_TEST(names(graph.get_collection("losses")) == (std::vector<std::string>{"net/b:0", "a:0"}),
             boost::test_tools::per_element());
  BOOST_TEST(names(graph.get_collection("losses", "net/")) == (std::vector<std::string>{"net/b:0"}),
             boost::test_tools::per_element());
  // The built-in keys are ordinary collections.
  BOOST_TEST(names(graph.get_collection(GraphKeys::GLOBAL_VARIABLES)) == names(graph.global_variables()),
             boost::test_tools::per_element());
  graph.add_to_collection(GraphKeys::TRAINABLE_VARIABLES, a);  // like tf.add_to_collection: appends again
  BOOST_TEST(graph.trainable_variables().size() == 3u);
  BOOST_TEST(graph.get_collection("losses").front().op_name() == "net/b");
}

BOOST_FIXTURE_TEST_CASE(name_scope_ending_in_slash_is_absolute_and_not_uniquified, FreshGraph) {
  auto outer = name_scope("outer");
  BOOST_TEST(current_name_scope() == "outer/");
  {
    auto abs = name_scope("elsewhere/deep/");
    BOOST_TEST(current_name_scope() == "elsewhere/deep/");  // not outer/elsewhere/...
    BOOST_TEST(Variable(zeros({1}), "v").name() == "elsewhere/deep/v:0");
  }
  {
    auto again = name_scope("elsewhere/deep/");  // re-entered as is, never elsewhere/deep_1/
    BOOST_TEST(Variable(zeros({1}), "v").name() == "elsewhere/deep/v_1:0");
  }
  {
    auto root = name_scope("");  // "" resets to the root
    BOOST_TEST(current_name_scope() == "");
  }
  BOOST_TEST(current_name_scope() == "outer/");
  auto relative = name_scope("outer");  // relative: uniquified under outer/
  BOOST_TEST(current_name_scope() == "outer/outer/");
}

BOOST_FIXTURE_TEST_CASE(set_initializer_changes_later_get_variable_defaults, FreshGraph) {
  auto s = variable_scope("net");
  BOOST_TEST(!s.initializer().has_value());
  auto before = get_variable("before", {.shape = {4}});  // default: glorot uniform, not constant
  s.set_initializer(constant_initializer(0.75));
  BOOST_TEST(s.initializer().has_value());
  auto after = get_variable("after", {.shape = {4}});
  for (float x : after.value().data<float>()) BOOST_TEST(x == 0.75f);
  BOOST_TEST(before.value().data<float>()[0] != 0.75f);
  {
    auto inner = variable_scope("inner");  // sub-scopes inherit it
    for (float x : get_variable("w", {.shape = {2}}).value().data<float>()) BOOST_TEST(x == 0.75f);
  }
  // A captured scope object is a handle: setting it through a copy affects re-entries.
  VariableScope copy = s;
  copy.set_initializer(constant_initializer(-2.0));
  for (float x : get_variable("later", {.shape = {2}}).value().data<float>()) BOOST_TEST(x == -2.0f);
}

BOOST_AUTO_TEST_CASE(dtype_helpers_and_element_count_limits) {
  BOOST_TEST(dtype_name(DType::float32) == "float32");
  BOOST_TEST(dtype_name(DType::int32) == "int32");
  for (const DType d : {DType::float32, DType::int32}) BOOST_TEST((parse_dtype(dtype_name(d)) == d));
  BOOST_TEST(is_floating(DType::float32));
  BOOST_TEST(!is_floating(DType::int32));
  BOOST_TEST((dtype_of<float> == DType::float32));
  BOOST_TEST((dtype_of<std::int32_t> == DType::int32));
  BOOST_TEST(kMaxElements == 2147483647);
  BOOST_TEST(checked_num_elements(Shape{3, 4, 5}, "t") == 60);
  BOOST_TEST(checked_num_elements(Shape{kMaxElements}, "t") == kMaxElements);
  BOOST_CHECK_THROW((void)checked_num_elements(Shape{kMaxElements + 1}, "t"), InvalidArgumentError);
  BOOST_CHECK_THROW((void)checked_num_elements(Shape{65536, 65536}, "t"), InvalidArgumentError);
  BOOST_CHECK_THROW((void)checked_num_elements(Shape{kUnknownDim, 2}, "t"), InvalidArgumentError);
  BOOST_CHECK_THROW((void)checked_num_elements(Shape::unknown(), "t"), InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(shape_compatible_with_treats_unknowns_as_wildcards) {
  BOOST_TEST((Shape{2, 3}).compatible_with(Shape{2, 3}));
  BOOST_TEST(!(Shape{2, 3}).compatible_with(Shape{3, 2}));
  BOOST_TEST(!(Shape{2, 3}).compatible_with(Shape{2, 3, 1}));  // rank differs
  BOOST_TEST((Shape{kUnknownDim, 3}).compatible_with(Shape{7, 3}));
  BOOST_TEST((Shape{7, 3}).compatible_with(Shape{kUnknownDim, 3}));  // symmetric
  BOOST_TEST(!(Shape{kUnknownDim, 3}).compatible_with(Shape{7, 4}));
  BOOST_TEST(Shape::unknown().compatible_with(Shape{1, 2, 3}));
  BOOST_TEST((Shape{}).compatible_with(Shape::unknown()));
  BOOST_TEST(!(Shape{}).compatible_with(Shape{1}));  // scalar vs [1]
}

BOOST_AUTO_TEST_SUITE_END()
