// libFuzzer target for the checkpoint loader: any byte string must either parse
// or raise a varscope::Error — never crash, leak, hang or trip a sanitizer.
// Built by the `fuzz` preset (clang-19 -fsanitize=fuzzer,address,undefined);
// CTest runs it for a bounded time from the seed corpus in fuzz/corpus/.
#include <cstddef>
#include <cstdint>
#include <string>

import varscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // A small byte budget keeps huge declared shapes from being decoded (they are refused first).
    (void)varscope::parse_checkpoint(text, "fuzz-input", true, {.max_total_bytes = std::int64_t{1} << 22});
  } catch (const varscope::Error&) {
    // Rejected with a typed error: the expected outcome for bad input.
  }
  return 0;
}
