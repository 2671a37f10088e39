// Implementation of varscope:context — the calling thread's frame stack and
// creator label, and the compact name counters (NameCounts) frames and graphs use.
module;
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>
module varscope;

namespace varscope {

namespace detail {
namespace {
// "base_k" with k a canonical positive integer (no sign, no leading zero) -> (base, k).
std::optional<std::pair<std::string, int>> split_suffix(const std::string& key) {
  const auto underscore = key.rfind('_');
  if (underscore == std::string::npos || underscore == 0 || underscore + 1 >= key.size()) return std::nullopt;
  const char* first = key.data() + underscore + 1;
  const char* last = key.data() + key.size();
  if (*first == '0') return std::nullopt;
  int k = 0;
  auto [end, ec] = std::from_chars(first, last, k);
  if (ec != std::errc() || end != last || k < 1) return std::nullopt;
  return std::pair{key.substr(0, underscore), k};
}
}  // namespace

int NameCounts::run_end(const std::string& base) const {
  auto it = runs_.find(base);
  return it == runs_.end() ? 1 : it->second;
}

int NameCounts::get(const std::string& key) const {
  if (auto it = explicit_.find(key); it != explicit_.end()) return it->second;
  if (auto split = split_suffix(key)) return split->second < run_end(split->first) ? 1 : 0;
  return 0;
}

void NameCounts::set(const std::string& key, int count) {
  if (!explicit_.contains(key) && get(key) == count) return;
  if (count == 1 && !explicit_.contains(key)) {
    if (auto split = split_suffix(key); split && split->second == run_end(split->first)) {
      // Extends the run by one; absorbs explicit count-1 entries that now continue it.
      int end = split->second + 1;
      for (;;) {
        auto it = explicit_.find(split->first + "_" + std::to_string(end));
        if (it == explicit_.end() || it->second != 1) break;
        explicit_.erase(it);
        ++end;
      }
      runs_[split->first] = end;
      return;
    }
  }
  explicit_[key] = count;
}

int NameCounts::first_free_suffix(const std::string& base) const {
  int k = run_end(base);
  while (get(base + "_" + std::to_string(k)) > 0) ++k;
  return k;
}

void NameCounts::erase_prefix(std::string_view prefix) {
  // base_k starts with a prefix ending in '/' exactly when base does ("_k" has no '/').
  std::erase_if(explicit_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  std::erase_if(runs_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
}

namespace {
thread_local std::vector<ThreadFrame> frames;
thread_local std::string thread_creator_label;
}  // namespace

std::vector<ThreadFrame>& thread_frames() noexcept { return frames; }

ThreadFrame* innermost_frame() noexcept { return frames.empty() ? nullptr : &frames.back(); }

void push_frame(Graph& graph) {
  ThreadFrame frame;
  frame.graph = &graph;
  frames.push_back(std::move(frame));
}

void pop_frame(Graph& graph) noexcept {
  if (frames.size() > 1 && frames.back().graph == &graph) frames.pop_back();
}

std::string& creator_label() noexcept { return thread_creator_label; }

}  // namespace detail
}  // namespace varscope
