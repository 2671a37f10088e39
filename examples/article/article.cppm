// varscope.article — the code blocks of the source article
// (seed/blog-variable-scope-ja.txt, TF 1.5) in C++, one function per block,
// in the article's order. `varscope tour` runs them; tests check their output
// against the article's printed lines.
module;
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>
export module varscope.article;
import varscope;

export namespace varscope::article {

/// One article code block: a stable id, the article's heading, and the C++ version.
struct Section {
  std::string id;
  std::string title;
  std::function<void(std::ostream&)> run;
};

/// All blocks covered so far, in article order.
[[nodiscard]] const std::vector<Section>& sections();

/// The article's feed_forward(inputs): dense(20, name='dense_a') then dense(30, name='dense_b')
/// in the current variable scope.
[[nodiscard]] Tensor feed_forward(const Tensor& inputs);

/// Prints "== [id] title ==" and the block's output for every section (or only
/// `only`, when non-empty). Throws std::invalid_argument for an unknown id.
void run_tour(std::ostream& out, std::string_view only = "");

}  // namespace varscope::article
