// The article's code blocks in C++ (examples/article) checked against the
// article's own printed output (tests/data/article_outputs.txt, extracted from
// the article by tools/extract-article-outputs.py), plus the errors the
// article's commented-out "-> ERROR" lines must raise.
#define BOOST_TEST_MODULE article
#include "support/boost_test.hpp"
#include "support/error_message.hpp"  // message_of<E>(f)

#include <algorithm>
#include <map>
#include <stdexcept>
#include <utility>
#include <sstream>
#include <string>
#include <vector>

import varscope;
import varscope.article;
#include "article_outputs.hpp"  // generated: kArticleOutputs

namespace {

// The article's sections in article order, each with its expected printed
// lines. This list (from the article, not from the tour) is what the tour is
// checked against: a section the tour drops, renames or adds fails the tests.
using Expected = std::vector<std::pair<std::string, std::vector<std::string>>>;
Expected expected_outputs() {
  Expected out;
  std::istringstream in(kArticleOutputs);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[' && line.back() == ']' && line.find(' ') == std::string::npos && line[1] != '[') {
      out.emplace_back(line.substr(1, line.size() - 2), std::vector<std::string>{});
    } else {
      BOOST_TEST_REQUIRE(!out.empty(), "output line before any [section] header: " << line);
      out.back().second.push_back(line);
    }
  }
  return out;
}

std::vector<std::string> expected_ids() {
  std::vector<std::string> ids;
  for (const auto& [id, lines] : expected_outputs()) ids.push_back(id);
  return ids;
}

std::vector<std::string> tour_ids() {
  std::vector<std::string> ids;
  for (const auto& section : varscope::article::sections()) ids.push_back(section.id);
  return ids;
}

// The tour section with this id; fails the test (not silently skips) when there is none.
const varscope::article::Section& tour_section(const std::string& id) {
  for (const auto& section : varscope::article::sections())
    if (section.id == id) return section;
  BOOST_FAIL("the tour has no section [" << id << "] (the article has it)");
  throw std::logic_error("unreachable");
}

// The seq2seq block prints id arrays from random weights: their values differ
// from the article's, so array lines are compared by structure (brackets and
// count of numbers), everything else verbatim.
std::vector<std::string> masked(std::vector<std::string> lines) {
  for (auto& line : lines) {
    const auto first = line.find_first_not_of(" [");
    if (first == std::string::npos || line.back() != ']') continue;
    bool numeric = true;
    int numbers = 0;
    bool in_number = false;
    for (char c : line) {
      if (c >= '0' && c <= '9') {
        if (!in_number) ++numbers;
        in_number = true;
      } else {
        in_number = false;
        numeric = numeric && (c == ' ' || c == '[' || c == ']');
      }
    }
    if (!numeric) continue;
    const auto open_at = line.find('[');
    const auto opens = line.find_first_not_of('[', open_at) - open_at;
    const auto closes = line.size() - line.find_last_not_of(']') - 1;
    line = std::string(opens, '[') + "<" + std::to_string(numbers) + " ids>" + std::string(closes, ']');
  }
  return lines;
}

struct SectionRun {
  std::vector<std::string> printed;      // the block's own output
  std::vector<std::string> error_kinds;  // "-> Kind:" of each shown error, in order
};

SectionRun run_section(const varscope::article::Section& section) {
  std::ostringstream os;
  section.run(os);
  SectionRun run;
  std::istringstream in(os.str());
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#   -> ", 0) == 0)
      run.error_kinds.push_back(line.substr(7, line.find(':') - 7));
    else if (line.rfind("#", 0) != 0)
      run.printed.push_back(line);
  }
  return run;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_tour_has_exactly_the_articles_sections_in_article_order) {
  // The article's 9 blocks (the intro's prints nothing), in article order.
  const std::vector<std::string> article = {"intro",           "variable-and-get-variable", "variable-scope",
                                            "reuse-modes",     "reuse-variables",           "reuse-inheritance",
                                            "feed-forward-unshared", "feed-forward-shared", "seq2seq"};
  BOOST_TEST(expected_ids() == article, boost::test_tools::per_element());
  BOOST_TEST(tour_ids() == article, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_article_section_prints_exactly_the_articles_lines) {
  // Driven by the article's list: a section missing from the tour fails here too.
  for (const auto& [id, lines] : expected_outputs()) {
    BOOST_TEST_CONTEXT("section " << id) {
      BOOST_TEST(masked(run_section(tour_section(id)).printed) == masked(lines), boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(commented_out_error_lines_raise_the_articles_errors) {
  // The article's "# -> ERROR" lines, per block, in order:
  //  get_variable twice without reuse -> exists; reuse=True with a new name -> missing.
  const std::map<std::string, std::vector<std::string>> kinds = {
      {"intro", {}},
      {"feed-forward-unshared", {}},
      {"feed-forward-shared", {}},
      {"seq2seq", {}},
      {"variable-and-get-variable", {"AlreadyExistsError"}},
      {"variable-scope", {"AlreadyExistsError", "NotFoundError"}},
      {"reuse-modes", {"AlreadyExistsError", "NotFoundError"}},
      {"reuse-variables", {"NotFoundError"}},
      {"reuse-inheritance", {}},
  };
  std::vector<std::string> listed;
  for (const auto& [id, want] : kinds) listed.push_back(id);
  auto article = expected_ids();
  std::sort(article.begin(), article.end());
  BOOST_TEST(listed == article, boost::test_tools::per_element());  // one entry per article section
  for (const auto& [id, want] : kinds) {
    BOOST_TEST_CONTEXT("section " << id) {
      BOOST_TEST(run_section(tour_section(id)).error_kinds == want, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(tour_runs_sections_in_article_order_with_headers) {
  std::ostringstream os;
  varscope::article::run_tour(os);
  std::size_t last = 0;
  for (const auto& id : expected_ids()) {
    const auto at = os.str().find("== [" + id + "] ");
    BOOST_TEST_REQUIRE(at != std::string::npos, "no header for [" << id << "]");
    BOOST_TEST(at >= last);
    last = at;
  }
  BOOST_CHECK_THROW(varscope::article::run_tour(os, "no-such-section"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(seq2seq_first_time_step_agrees_between_the_decoders) {
  std::ostringstream os;
  tour_section("seq2seq").run(os);  // fails if the section is missing or renamed
  BOOST_TEST(os.str().find("# first time step agrees between the two decoders: True") != std::string::npos,
             os.str());
}

BOOST_AUTO_TEST_CASE(each_block_runs_in_its_own_graph) {
  // Running a block twice gives the same output: nothing leaks between blocks.
  for (const auto& section : varscope::article::sections()) {
    BOOST_TEST(run_section(section).printed == run_section(section).printed, boost::test_tools::per_element());
  }
  BOOST_TEST(varscope::global_variables().empty());
}

BOOST_AUTO_TEST_CASE(beyond_the_article_training_section) {
  // After the article's blocks, clearly marked, the article's Seq2Seq trained: the
  // loss falls and the beam-search decoder (same variables) learns the copy task.
  std::ostringstream tour;
  varscope::article::run_tour(tour);
  const auto seq2seq_at = tour.str().find("== [seq2seq] ");
  const auto beyond_at = tour.str().find("== [beyond-training] beyond the article");
  BOOST_TEST_REQUIRE(beyond_at != std::string::npos);
  BOOST_TEST(beyond_at > seq2seq_at);
  for (const auto& section : varscope::article::beyond_sections()) {
    BOOST_TEST(section.id.rfind("beyond-", 0) == 0u);
    if (section.id != "beyond-training") continue;
    std::ostringstream os;
    section.run(os);
    const std::string text = os.str();
    BOOST_TEST(text.find("step   0  loss 2.") != std::string::npos, text);
    BOOST_TEST(text.find("step 300  loss 0.000") != std::string::npos, text);
    const auto last = text.find("step 300 ");
    BOOST_TEST_REQUIRE(last != std::string::npos);
    const std::string last_line = text.substr(last, text.find('\n', last) - last);
    BOOST_TEST(last_line.ends_with("beam-0 token accuracy 1.00"), last_line);
    BOOST_TEST(text.find("(5 shared: True)") != std::string::npos, text);
  }
}

BOOST_AUTO_TEST_CASE(beyond_the_article_attention_section_shows_the_trap_and_the_fix) {
  // The article's Seq2Seq with attention: one mechanism per decoder fails under reuse=True
  // (TF's error) and, under AUTO_REUSE, creates an unshared memory_layer_1 that the audit
  // reports; one mechanism rebound with setup_memory shares everything.
  std::ostringstream tour;
  varscope::article::run_tour(tour, "beyond-attention");
  const std::string text = tour.str();
  BOOST_TEST(text.find("NotFoundError: Variable decoder/memory_layer_1/kernel does not exist\n") != std::string::npos,
             text);
  BOOST_TEST(text.find("  ! decoder/memory_layer_1/kernel was created next to decoder/memory_layer/kernel (created by "
                       "BahdanauAttention 'decoder/memory_layer_1')") != std::string::npos, text);
  BOOST_TEST(text.find("generation created 0 variables, reused 8, warnings 0") != std::string::npos, text);
  BOOST_TEST(text.find("  decoder/memory_layer/kernel:0 [8, 8]") != std::string::npos, text);
  BOOST_TEST(text.find("decoder/memory_layer_1/kernel:0") == std::string::npos, text);  // the fixed graph has none
  BOOST_TEST(text.find("positions 2-3 all zero: True") != std::string::npos, text);
}

// A fresh default graph (seed 3) with the article's default config, for the
// tests of the Seq2Seq example's own behaviour below.
struct ArticleGraph {
  varscope::Graph graph{3};
  varscope::DefaultGraphGuard use = graph.as_default();
  varscope::article::Seq2SeqConfig c;
  // The article's embedding, drawn in this graph ([vocab_size, embedding_dim] of the default config).
  varscope::Variable embedding() const {
    return varscope::Variable(varscope::random_uniform({c.vocab_size, c.embedding_dim}, -1.0f, 1.0f), "embedding");
  }
};

// seq2seq_shared_decoders reports, per decoder, the variables its get_variable
// calls returned (a VariableAudit around each create_*_decoder call, so the
// article's functions keep the article's signatures): the training decoder
// creates the cell's four and the output layer's kernel, the generation decoder
// gets the very same five back.
BOOST_AUTO_TEST_CASE(each_decoders_variables_are_what_its_get_variable_calls_returned) {
  using namespace varscope;
  ArticleGraph g;
  auto& c = g.c;
  c.max_len = 4;
  const Tensor ids(Shape{1, 4}, std::vector<std::int32_t>{1, 3, 4, 5}), lengths(Shape{1}, std::vector<std::int32_t>{4});
  auto embedding = g.embedding();
  const auto out = article::seq2seq_shared_decoders(embedding, ids, lengths, ids, lengths, c);
  std::vector<std::string> names;
  for (const auto& v : out.trainer_variables) names.push_back(v.name());
  const std::vector<std::string> expected = {
      "decoder/decoder/cell/gates/kernel:0", "decoder/decoder/cell/gates/bias:0",
      "decoder/decoder/cell/candidate/kernel:0", "decoder/decoder/cell/candidate/bias:0",
      "decoder/decoder/out_layer/kernel:0"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(out.generation_variables.size() == out.trainer_variables.size());
  for (std::size_t i = 0; i < out.trainer_variables.size(); ++i)
    BOOST_TEST((out.generation_variables[i] == out.trainer_variables[i]), names[i]);
  BOOST_TEST((out.trainer_variables == trainable_variables("decoder/")));
}

// The article's generation decoder starts from tf.ones: a config with another
// start token is refused by name, not silently decoded from 1.
BOOST_AUTO_TEST_CASE(a_start_token_other_than_the_articles_is_a_clear_error) {
  using namespace varscope;
  ArticleGraph g;
  auto& c = g.c;
  c.bos = 3;
  const Tensor ids(Shape{1, 2}, std::vector<std::int32_t>{1, 3}), lengths(Shape{1}, std::vector<std::int32_t>{2});
  auto embedding = g.embedding();
  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)article::seq2seq_generate(embedding, ids, lengths, c); }) ==
             "Seq2SeqConfig: bos 3 must be 1: the article's generation decoder starts from tf.ones([batch_size])");
}

// Seq2SeqConfig::num_hypotheses keeps the best rows of the article's search
// (TF's argument list has no such option): the same hypotheses, fewer of them.
BOOST_AUTO_TEST_CASE(num_hypotheses_keeps_the_best_of_the_articles_search) {
  using namespace varscope;
  ArticleGraph g;
  auto& c = g.c;
  c.beam_width = 3;
  c.max_len = 5;
  const Tensor ids(Shape{2, 3}, std::vector<std::int32_t>{1, 3, 4, 5, 6, 7}),
      lengths(Shape{2}, std::vector<std::int32_t>{3, 2});
  auto embedding = g.embedding();
  {
    auto create = variable_scope(get_variable_scope(), {.reuse = AUTO_REUSE});
    (void)article::seq2seq_shared_decoders(embedding, ids, lengths, ids, lengths, c);
  }
  auto reuse = variable_scope(get_variable_scope(), {.reuse = Reuse::True});
  const auto all = article::seq2seq_generate(embedding, ids, lengths, c);
  c.num_hypotheses = 2;
  const auto two = article::seq2seq_generate(embedding, ids, lengths, c);
  BOOST_TEST_REQUIRE(all.hypotheses.size() == 2u);
  for (std::size_t b = 0; b < 2; ++b) {
    BOOST_TEST(all.hypotheses[b].size() == 3u);
    BOOST_TEST_REQUIRE(two.hypotheses[b].size() == 2u);
    for (std::size_t k = 0; k < 2; ++k) {
      BOOST_TEST(two.hypotheses[b][k].ids == all.hypotheses[b][k].ids, boost::test_tools::per_element());
      BOOST_TEST(two.hypotheses[b][k].score == all.hypotheses[b][k].score);
    }
  }
  c.num_hypotheses = 4;
  BOOST_TEST(message_of<InvalidArgumentError>([&] { (void)article::seq2seq_generate(embedding, ids, lengths, c); }) ==
             "Seq2SeqConfig: num_hypotheses 4 must be in [0, beam_width = 3]");
}
