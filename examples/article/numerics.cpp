// The article's "実践重み共有" section in C++: the introduction's shared network,
// has_same_outputs, feed_forward, and the unshared / shared feed-forward blocks.
module;
#include <ostream>
#include <string>
module varscope.article;
import varscope;

namespace varscope::article {

namespace {

const char* py_bool(bool b) { return b ? "True" : "False"; }

// def has_same_outputs(tensor1, tensor2, sess):
//     sess.run(tf.global_variables_initializer())
//     result1, result2 = sess.run([tensor1, tensor2])
//     return result1.tolist() == result2.tolist()
// (varscope computes eagerly: variables hold their initial values from creation.)
bool has_same_outputs(const Tensor& tensor1, const Tensor& tensor2) { return tensor1.bitwise_equal(tensor2); }

}  // namespace

// def feed_forward(inputs):
//     d1 = tf.layers.dense(inputs, 20, name='dense_a')
//     d2 = tf.layers.dense(d1, 30, name='dense_b')
//     return d2
Tensor feed_forward(const Tensor& inputs) {
  auto d1 = dense(inputs, 20, {.name = "dense_a"});
  auto d2 = dense(d1, 30, {.name = "dense_b"});
  return d2;
}

// with tf.Session(graph=tf.Graph()) as sess:
//     inputs_x = ...
//     inputs_y = ...
//     with tf.variable_scope('some_shared_weight_network') as scope:
//         outputs_x = create_some_network(inputs_x)
//         scope.reuse_variables()  # 重みの共有を ON
//         outputs_y = create_some_network(inputs_y)  # 上の create_some_network と重みを共有
// (The article prints nothing here; the check is shown as a comment line.)
void intro_shared_network(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  const auto create_some_network = feed_forward;
  auto inputs_x = random_uniform({2, 3});
  auto inputs_y = inputs_x;
  {
    auto scope = variable_scope("some_shared_weight_network");
    auto outputs_x = create_some_network(inputs_x);
    scope.reuse_variables();                          // 重みの共有を ON
    auto outputs_y = create_some_network(inputs_y);  // 上の create_some_network と重みを共有
    out << "# same inputs give the same outputs: " << py_bool(has_same_outputs(outputs_x, outputs_y)) << " ("
        << global_variables().size() << " variables)\n";
  }
}

FeedForwardOutputs feed_forward_unshared(const Tensor& inputs) {
  FeedForwardOutputs out;
  {
    auto scope = variable_scope("feed_forward_x");
    out.outputs_x = feed_forward(inputs);
  }
  {
    auto scope = variable_scope("feed_forward_y");
    out.outputs_y = feed_forward(inputs);
  }
  return out;
}

FeedForwardOutputs feed_forward_shared(const Tensor& inputs) {
  FeedForwardOutputs out;
  auto scope = variable_scope("feed_forward_shared");
  out.outputs_x = feed_forward(inputs);
  scope.reuse_variables();
  out.outputs_y = feed_forward(inputs);
  return out;
}

// # 独立したネットワークを2つ作る例
// with tf.Session(graph=tf.Graph()) as sess:
//     inputs = tf.ones(shape=[2, 3])
//     with tf.variable_scope('feed_forward_x'):
//         outputs_x = feed_forward(inputs)
//     with tf.variable_scope('feed_forward_y'):
//         outputs_y = feed_forward(inputs)
//     print('shared: {}'.format(has_same_outputs(outputs_x, outputs_y, sess)))
//     show_variables()
void feed_forward_unshared_section(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  auto inputs = ones({2, 3});
  auto [outputs_x, outputs_y] = feed_forward_unshared(inputs);
  out << "shared: " << py_bool(has_same_outputs(outputs_x, outputs_y)) << '\n';
  show_variables(out);
}

// # 重みを共有した実質一つのネットワークを2つ作る例
// with tf.Session(graph=tf.Graph()) as sess:
//     inputs = tf.ones(shape=[2, 3])
//     with tf.variable_scope('feed_forward_shared') as scope:
//         outputs_x = feed_forward(inputs)
//         scope.reuse_variables()
//         outputs_y = feed_forward(inputs)
//     print('shared: {}'.format(has_same_outputs(outputs_x, outputs_y, sess)))
//     show_variables()
void feed_forward_shared_section(std::ostream& out) {
  Graph graph;
  auto session = graph.as_default();
  auto inputs = ones({2, 3});
  auto [outputs_x, outputs_y] = feed_forward_shared(inputs);
  out << "shared: " << py_bool(has_same_outputs(outputs_x, outputs_y)) << '\n';
  show_variables(out);
}

}  // namespace varscope::article
