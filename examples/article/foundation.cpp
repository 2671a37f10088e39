// The article's first sections in C++: Variable vs get_variable, variable_scope,
// the three reuse modes, scope.reuse_variables() and reuse inheritance.
// Each function reads line for line like the Python block it mirrors; the
// Python is quoted above each function. Lines the article comments out with
// "-> ERROR" run through show_error(), which prints the error they raise.
module;
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
module varscope.article;
import varscope;

namespace varscope::article {

// def show_variables():
//     print('\n'.join([v.name for v in tf.global_variables()]))
// (declared in article.cppm: numerics.cpp prints with it too)
void show_variables(std::ostream& out) {
  for (const auto& v : global_variables()) out << v.name() << '\n';
}

namespace {

// def show_reuse(scope):
//     print('{}: {}'.format(scope.name, scope.reuse))
void show_reuse(std::ostream& out, const VariableScope& scope) {
  out << scope.name() << ": " << to_string(scope.reuse()) << '\n';
}

// Runs an article line marked "# -> ERROR" and prints the error, each line
// prefixed with "# " so the block's own printed output stays verbatim.
void show_error(std::ostream& out, std::string_view code, const std::function<void()>& line) {
  try {
    line();
  } catch (const Error& e) {
    out << "# " << code << "\n#   -> " << e.kind() << ":\n";
    std::string_view text = e.what();
    while (!text.empty()) {
      const auto nl = text.find('\n');
      out << "#      " << text.substr(0, nl) << '\n';
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    }
    return;
  }
  throw std::logic_error("article line `" + std::string(code) + "` was expected to fail but did not");
}

// # variable_scope 無しでの Variable/get_variable
// with tf.Session(graph=tf.Graph()) as sess:
//     v_a = tf.Variable(tf.random_uniform(shape=[2, 3]), name='variable')  # -> variable:0
//     v_b = tf.Variable(tf.random_uniform(shape=[2, 3]), name='variable')  # -> variable_1:0
//     v_c = tf.get_variable('variable', shape=[2, 3])  # -> variable_2:0
//     # v_d = tf.get_variable('variable', shape=[2, 3])  # -> ERROR
//     show_variables()
void variable_and_get_variable(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  auto v_a = Variable(random_uniform({2, 3}), "variable");  // -> variable:0
  auto v_b = Variable(random_uniform({2, 3}), "variable");  // -> variable_1:0
  auto v_c = get_variable("variable", {.shape = {2, 3}});    // -> variable_2:0
  show_error(out, R"(v_d = get_variable("variable", {.shape = {2, 3}});)",
             [] { get_variable("variable", {.shape = {2, 3}}); });
  show_variables(out);
}

// with tf.Session(graph=tf.Graph()) as sess:
//     with tf.variable_scope('hoge'):
//         v_a = tf.get_variable('variable', shape=[2, 3])
//         # v_b = tf.get_variable('variable', shape=[2, 3])  #-> ERROR
//     with tf.variable_scope('hoge', reuse=True):  # 変数を共有
//         v_c = tf.get_variable('variable', shape=[2, 3])
//         # v_d = tf.get_variable('variable_new', shape=[2, 3])  # -> ERROR
//     show_variables()
void variable_scope_hierarchy(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  {
    auto scope = variable_scope("hoge");
    auto v_a = get_variable("variable", {.shape = {2, 3}});
    show_error(out, R"(v_b = get_variable("variable", {.shape = {2, 3}});)",
               [] { get_variable("variable", {.shape = {2, 3}}); });
  }
  {
    auto scope = variable_scope("hoge", {.reuse = Reuse::True});  // 変数を共有
    auto v_c = get_variable("variable", {.shape = {2, 3}});
    show_error(out, R"(v_d = get_variable("variable_new", {.shape = {2, 3}});)",
               [] { get_variable("variable_new", {.shape = {2, 3}}); });
  }
  show_variables(out);
}

// with tf.Session(graph=tf.Graph()) as sess:
//     with tf.variable_scope('reuse_none', reuse=None):
//         v_none_a = tf.get_variable('variable', shape=[2, 3])
//         # v_none_b = tf.get_variable('variable', shape=[2, 3])  # -> ERROR
//     with tf.variable_scope('reuse_true', reuse=None):
//         v_true_a = tf.get_variable('variable', shape=[2, 3])
//     with tf.variable_scope('reuse_true', reuse=True):
//         v_true_a = tf.get_variable('variable', shape=[2, 3])
//         # v_true_b = tf.get_variable('variable_b', shape=[2, 3])  # -> ERROR
//     with tf.variable_scope('auto_reuse', reuse=tf.AUTO_REUSE):
//         v_none_a = tf.get_variable('variable', shape=[2, 3])
//         v_none_b = tf.get_variable('variable', shape=[2, 3])
//     show_variables()
void reuse_modes(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  {
    auto scope = variable_scope("reuse_none", {.reuse = Reuse::None});  // 再利用しない。デフォルト。
    auto v_none_a = get_variable("variable", {.shape = {2, 3}});          // -> reuse_none/variable:0
    show_error(out, R"(v_none_b = get_variable("variable", {.shape = {2, 3}});)",
               [] { get_variable("variable", {.shape = {2, 3}}); });
  }
  {
    auto scope = variable_scope("reuse_true", {.reuse = Reuse::None});
    auto v_true_a = get_variable("variable", {.shape = {2, 3}});  // -> reuse_true/variable:0
  }
  {
    auto scope = variable_scope("reuse_true", {.reuse = Reuse::True});
    auto v_true_a = get_variable("variable", {.shape = {2, 3}});  // -> reuse_true/variable:0
    show_error(out, R"(v_true_b = get_variable("variable_b", {.shape = {2, 3}});)",
               [] { get_variable("variable_b", {.shape = {2, 3}}); });
  }
  {
    auto scope = variable_scope("auto_reuse", {.reuse = AUTO_REUSE});  // 無ければ作成、あれば再利用。
    auto v_none_a = get_variable("variable", {.shape = {2, 3}});       // -> auto_reuse/variable:0
    auto v_none_b = get_variable("variable", {.shape = {2, 3}});       // -> auto_reuse/variable:0
  }
  show_variables(out);
}

// with tf.Session(graph=tf.Graph()) as sess:
//     with tf.variable_scope('reuse_true') as scope:
//         v_true_a = tf.get_variable('variable', shape=[2, 3])
//         scope.reuse_variables()
//         v_true_a = tf.get_variable('variable', shape=[2, 3])
//         # v_true_b = tf.get_variable('variable_b', shape=[2, 3])  # -> ERROR
//     show_variables()
void reuse_variables_midway(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  {
    auto scope = variable_scope("reuse_true");
    // reuse=None (default)
    auto v_true_a = get_variable("variable", {.shape = {2, 3}});  // -> reuse_true/variable:0
    scope.reuse_variables();
    // reuse=True
    v_true_a = get_variable("variable", {.shape = {2, 3}});  // -> reuse_true/variable:0
    show_error(out, R"(v_true_b = get_variable("variable_b", {.shape = {2, 3}});)",
               [] { get_variable("variable_b", {.shape = {2, 3}}); });
  }
  show_variables(out);
}

// with tf.variable_scope('reuse_none', reuse=None) as outer_scope:
//     show_reuse(outer_scope)
//     with tf.variable_scope('reuse_none', reuse=None) as inner_scope:
//         show_reuse(inner_scope)
//     ... (3 outer modes x 3 inner modes)
void reuse_inheritance(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  auto inner_scopes = [&] {
    {
      auto inner_scope = variable_scope("reuse_none", {.reuse = Reuse::None});
      show_reuse(out, inner_scope);
    }
    {
      auto inner_scope = variable_scope("reuse_true", {.reuse = Reuse::True});
      show_reuse(out, inner_scope);
    }
    {
      auto inner_scope = variable_scope("auto_reuse", {.reuse = AUTO_REUSE});
      show_reuse(out, inner_scope);
    }
  };
  {
    auto outer_scope = variable_scope("reuse_none", {.reuse = Reuse::None});
    show_reuse(out, outer_scope);
    inner_scopes();
  }
  {
    auto outer_scope = variable_scope("reuse_true", {.reuse = Reuse::True});
    show_reuse(out, outer_scope);
    inner_scopes();
  }
  {
    auto outer_scope = variable_scope("auto_reuse", {.reuse = AUTO_REUSE});
    show_reuse(out, outer_scope);
    inner_scopes();
  }
}

}  // namespace

// Defined in numerics.cpp.
void intro_shared_network(std::ostream& out);
void feed_forward_unshared_section(std::ostream& out);
void feed_forward_shared_section(std::ostream& out);
// Defined in seq2seq.cpp.
void seq2seq_section(std::ostream& out);
void training_section(std::ostream& out);
// Defined in attention.cpp.
void attention_section(std::ostream& out);

const std::vector<Section>& sections() {
  static const std::vector<Section> all = {
      {"intro", "はじめに: variable_scope で重みを共有する", intro_shared_network},
      {"variable-and-get-variable", "Variable と get_variable (variable_scope 無し)", variable_and_get_variable},
      {"variable-scope", "variable_scope で変数を階層化・共有する", variable_scope_hierarchy},
      {"reuse-modes", "variable_scope の reuse option (None / True / AUTO_REUSE)", reuse_modes},
      {"reuse-variables", "途中から reuse=True に変更する (scope.reuse_variables())", reuse_variables_midway},
      {"reuse-inheritance", "reuse option の継承", reuse_inheritance},
      {"feed-forward-unshared", "単純なフィードフォワードネットワーク: 重み共有をしない場合", feed_forward_unshared_section},
      {"feed-forward-shared", "単純なフィードフォワードネットワーク: 重み共有をする場合", feed_forward_shared_section},
      {"seq2seq", "Seq2Seq のデコーダを学習時と生成時で分ける", seq2seq_section},
  };
  return all;
}

const std::vector<Section>& beyond_sections() {
  static const std::vector<Section> all = {
      {"beyond-training", "beyond the article: training the Seq2Seq (both decoders improve together)",
       training_section},
      {"beyond-attention",
       "beyond the article: its Seq2Seq with attention, and the memory_layer_1 trap (one mechanism per decoder)",
       attention_section},
  };
  return all;
}

void run_tour(std::ostream& out, std::string_view only) {
  bool found = only.empty();
  for (const auto* list : {&sections(), &beyond_sections()})
    for (const auto& section : *list) {
      if (!only.empty() && section.id != only) continue;
      found = true;
      out << "== [" << section.id << "] " << section.title << " ==\n";
      section.run(out);
      out << '\n';
    }
  if (!found) {
    std::string known;
    for (const auto* list : {&sections(), &beyond_sections()})
      for (const auto& s : *list) known += (known.empty() ? "" : ", ") + s.id;
    throw std::invalid_argument("unknown tour section \"" + std::string(only) + "\"; known sections: " + known);
  }
}

}  // namespace varscope::article
