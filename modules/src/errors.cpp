// Implementation of varscope:errors — edit distance and near-name suggestions.
module;
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>
module varscope;

namespace varscope {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

namespace {
std::string_view last_component(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? name : name.substr(slash + 1);
}
}  // namespace

std::vector<std::string> closest_names(std::string_view wanted, const std::vector<std::string>& candidates,
                                       std::size_t max_results) {
  // Rank: same last component (another scope) first, then by edit distance.
  std::vector<std::tuple<int, std::size_t, std::string>> ranked;
  const std::size_t budget = std::max<std::size_t>(2, wanted.size() / 3);
  for (const auto& candidate : candidates) {
    if (candidate == wanted) continue;
    const std::size_t distance = edit_distance(wanted, candidate);
    const bool same_leaf = last_component(candidate) == last_component(wanted);
    if (same_leaf || distance <= budget) ranked.emplace_back(same_leaf ? 0 : 1, distance, candidate);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> result;
  for (auto& [rank, distance, name] : ranked) {
    if (result.size() == max_results) break;
    result.push_back(std::move(name));
  }
  return result;
}

}  // namespace varscope
