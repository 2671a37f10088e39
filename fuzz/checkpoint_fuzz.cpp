// libFuzzer target for the checkpoint loader: any byte string must either parse
// or raise a varscope::Error — never crash, leak, hang or trip a sanitizer.
// Built by the `fuzz` preset (clang-19 -fsanitize=fuzzer,address,undefined);
// CTest runs it for a bounded time from the seed corpus in fuzz/corpus/.
//
// Both readers are driven and must agree: the text in memory (parse_checkpoint)
// and the same bytes as a file (read_checkpoint: the FILE* reader), read in blocks
// of 1-64 bytes (picked from the input's size and middle byte, so the seed corpus
// stays valid JSON), so every token — names,
// escapes, base64 quads, numbers — is cut by a refill somewhere. Same entries, bit
// for bit, or both refuse the input; a disagreement aborts (a finding).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

import varscope;
import varscope.testing;

namespace {

constexpr varscope::LoadLimits kLimits{.max_total_bytes = std::int64_t{1} << 22};  // no huge declared shapes

struct Outcome {
  bool ok = false;
  std::vector<varscope::CheckpointEntry> entries;
};

template <class Read>
Outcome outcome_of(Read&& read) {
  Outcome o;
  try {
    o.entries = read();
    o.ok = true;
  } catch (const varscope::Error&) {
    // Rejected with a typed error: the expected outcome for bad input.
  }
  return o;
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.ok != b.ok || a.entries.size() != b.entries.size()) return false;
  for (std::size_t i = 0; i < a.entries.size(); ++i) {
    const auto &x = a.entries[i], &y = b.entries[i];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || !x.value.bitwise_equal(y.value)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::size_t block = 1 + (size * 31 + (size ? data[size / 2] : 0)) % 64;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const Outcome in_memory = outcome_of([&] { return varscope::parse_checkpoint(text, "fuzz-input", true, kLimits); });

  static const std::string path = "varscope_checkpoint_fuzz_" + std::to_string(getpid()) + ".json";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0) std::abort();
  const std::size_t previous = varscope::testing::set_checkpoint_read_block_bytes(block);
  const Outcome from_file = outcome_of([&] { return varscope::read_checkpoint(path, kLimits); });
  varscope::testing::set_checkpoint_read_block_bytes(previous);
  std::remove(path.c_str());
  if (!same(in_memory, from_file)) {
    std::fprintf(stderr, "checkpoint_fuzz: the in-memory and the file reader (blocks of %zu bytes) disagree: %s vs %s\n",
                 block, in_memory.ok ? "parsed" : "refused", from_file.ok ? "parsed" : "refused");
    std::abort();
  }
  return 0;
}
