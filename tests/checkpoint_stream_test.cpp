// Streaming checkpoint reads, measured: list_variables and restore of a >= 64 MB
// file under a byte-counting allocator (peak live heap bytes at most the decoded
// values plus two read blocks, plus a small allowance for names and bookkeeping),
// and every token cut by a file refill — names with escapes, base64 quads, plain
// float and int32 number arrays — read from a file exactly as from memory. Native
// only: the wasm build runs the small streaming case in checkpoint_test.
#define BOOST_TEST_MODULE checkpoint_stream
#include "support/boost_test.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>

import varscope;
import varscope.testing;

// ---------------------------------------------------------------- the counting allocator
// Every operator new / delete form, counted in requested bytes (kept in a header
// before each block), with the peak of the live total.
namespace {
std::atomic<std::int64_t> g_live{0}, g_peak{0};
// Header: [offset][size] in the 16 bytes before the returned pointer.
void* counted(std::size_t size, std::size_t alignment) {
  const std::size_t offset = std::max<std::size_t>(alignment, 16);
  void* base = offset <= alignof(std::max_align_t) ? std::malloc(offset + size)
                                                   : std::aligned_alloc(offset, (offset + size + offset - 1) / offset * offset);
  if (!base) throw std::bad_alloc();
  auto* p = static_cast<unsigned char*>(base) + offset;
  reinterpret_cast<std::size_t*>(p)[-2] = offset;
  reinterpret_cast<std::size_t*>(p)[-1] = size;
  const std::int64_t now = g_live.fetch_add(static_cast<std::int64_t>(size)) + static_cast<std::int64_t>(size);
  std::int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  return p;
}
void note_free(void* p) {
  if (!p) return;
  const std::size_t offset = static_cast<std::size_t*>(p)[-2];
  g_live.fetch_sub(static_cast<std::int64_t>(static_cast<std::size_t*>(p)[-1]));
  std::free(static_cast<unsigned char*>(p) - offset);
}
}  // namespace

void* operator new(std::size_t size) { return counted(size, 0); }
void* operator new[](std::size_t size) { return counted(size, 0); }
void* operator new(std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { note_free(p); }
void operator delete[](void* p) noexcept { note_free(p); }
void operator delete(void* p, std::size_t) noexcept { note_free(p); }
void operator delete[](void* p, std::size_t) noexcept { note_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { note_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { note_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { note_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { note_free(p); }

using namespace varscope;

namespace {

constexpr std::int64_t kReadBlock = std::int64_t{1} << 20;  // the reader's default block (checkpoint.cpp kBlock)
// Names, shapes, entry vectors, the JSON parser's small strings: far below one block.
constexpr std::int64_t kBookkeeping = 256 * 1024;

// Peak live bytes above the live bytes at the start, while `f` runs.
template <class F>
std::int64_t peak_above_start(F&& f) {
  (void)release_cached_tensor_blocks();  // freed tensor blocks are not live data
  const std::int64_t start = g_live.load();
  g_peak.store(start);
  f();
  return g_peak.load() - start;
}

std::int64_t bytes_of(const Tensor& t) { return t.size() * 4; }  // float32 and int32

std::uint64_t fnv1a(const Tensor& t) {
  const void* data = t.dtype() == DType::int32 ? static_cast<const void*>(t.data<std::int32_t>().data())
                                               : static_cast<const void*>(t.data<float>().data());
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = 1469598103934665603ull;
  for (std::int64_t i = 0; i < bytes_of(t); ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::string temp_path(const std::string& name) {
  return "varscope_ckpt_stream_" + name + "_" + std::to_string(getpid()) + ".json";
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_64_mb_file_is_listed_and_restored_within_values_plus_two_read_blocks) {
  Graph g(3);
  std::vector<std::uint64_t> want;
  std::int64_t value_bytes = 0;
  const std::string path = temp_path("big");
  {
    auto use = g.as_default();
    (void)Variable(random_normal({4096, 2048}), "big/a");   // 32 MiB
    (void)Variable(random_normal({2048, 4097}), "big/b");   // 32 MiB + 8 KiB
    (void)Variable(random_uniform({3, 7}, -1.0f, 1.0f), "small");
    (void)Variable(Tensor(Shape{5}, std::vector<std::int32_t>{1, -2, 3, -4, 5}), "steps");
    save(g, path);
  }
  for (const auto& v : g.global_variables()) {
    want.push_back(fnv1a(v.value()));
    value_bytes += bytes_of(v.value());
  }
  BOOST_TEST_REQUIRE(value_bytes >= std::int64_t{64} << 20);
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  BOOST_TEST_MESSAGE("file " << file.tellg() / (1 << 20) << " MiB, values " << value_bytes / (1 << 20) << " MiB");

  std::vector<CheckpointEntry> listed;
  const std::int64_t list_peak = peak_above_start([&] { listed = list_variables(path); });
  BOOST_TEST_MESSAGE("list_variables: peak " << list_peak << " bytes above the start");
  BOOST_TEST(list_peak <= 2 * kReadBlock + kBookkeeping);
  BOOST_TEST_REQUIRE(listed.size() == 4u);
  BOOST_TEST(listed[0].name == "big/a");
  BOOST_TEST(listed[1].shape == Shape({2048, 4097}));

  // Overwrite every variable, then restore: the values must come back bit for bit.
  for (const auto& v : g.global_variables())
    v.assign(v.dtype() == DType::int32 ? Tensor(DType::int32, v.shape()) : zeros(v.shape()));
  const std::int64_t restore_peak = peak_above_start([&] { (void)restore(g, path); });
  BOOST_TEST_MESSAGE("restore: peak " << restore_peak << " bytes above the start (values " << value_bytes << ")");
  BOOST_TEST(restore_peak <= value_bytes + 2 * kReadBlock + kBookkeeping);
  const auto vars = g.global_variables();
  for (std::size_t i = 0; i < vars.size(); ++i) BOOST_TEST(fnv1a(vars[i].value()) == want[i]);
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(tokens_cut_by_a_refill_at_every_offset_read_as_from_memory) {
  // One entry per kind of token, each placed so that the file's first 1 MiB block
  // ends at every offset inside it (JSON whitespace before the entry moves it).
  struct Case {
    std::string entry;   // the JSON entry
    std::string token;   // the part of it that must straddle the refill
    std::string name;    // the decoded name
    std::vector<float> floats;
    std::vector<std::int32_t> ints;
  };
  const std::vector<Case> cases = {
      {R"({"name": "dec\u006fder/ker\"nel\/x", "dtype": "float32", "shape": [2], "data": "AACAPwAAAEA="})",
       R"("dec\u006fder/ker\"nel\/x")", "decoder/ker\"nel/x", {1.0f, 2.0f}, {}},
      {R"({"name": "w", "dtype": "float32", "shape": [3], "data": "AACAPwAAAEAAAEBA"})", R"("AACAPwAAAEAAAEBA")",
       "w", {1.0f, 2.0f, 3.0f}, {}},
      {R"({"name": "v", "dtype": "float32", "shape": [3], "values": [1.25e-3, -2.5E+2, 0.1]})",
       "[1.25e-3, -2.5E+2, 0.1]", "v", {1.25e-3f, -2.5e2f, 0.1f}, {}},
      {R"({"name": "i", "dtype": "int32", "shape": [3], "values": [2147483647, -2147483648, 0]})",
       "[2147483647, -2147483648, 0]", "i", {}, {2147483647, -2147483647 - 1, 0}},
  };
  const std::string head = R"({"format": "varscope-checkpoint", "version": 1, "variables": [)";
  const std::string path = temp_path("refill");
  int files = 0;
  for (const Case& c : cases) {
    const std::size_t token_at = c.entry.find(c.token);
    BOOST_TEST_REQUIRE(token_at != std::string::npos);
    for (std::size_t cut = 1; cut < c.token.size(); ++cut) {  // bytes of the token in the first block
      const std::size_t pad = static_cast<std::size_t>(kReadBlock) - head.size() - token_at - cut;
      const std::string text = head + std::string(pad, ' ') + c.entry + "]}";
      BOOST_TEST_REQUIRE(text.substr(static_cast<std::size_t>(kReadBlock) - cut, cut) == c.token.substr(0, cut));
      std::ofstream(path, std::ios::binary) << text;
      ++files;
      const auto from_file = read_checkpoint(path);
      const auto from_memory = parse_checkpoint(text, "memory", true);
      const auto listed = list_variables(path);
      BOOST_TEST_REQUIRE(from_file.size() == 1u);
      BOOST_TEST(from_file[0].name == c.name);
      BOOST_TEST(listed[0].name == c.name);
      BOOST_TEST(from_file[0].value.bitwise_equal(from_memory[0].value));
      if (!c.floats.empty()) {
        const auto got = from_file[0].value.data<float>();
        BOOST_TEST(std::vector<float>(got.begin(), got.end()) == c.floats, boost::test_tools::per_element());
      } else {
        const auto got = from_file[0].value.data<std::int32_t>();
        BOOST_TEST(std::vector<std::int32_t>(got.begin(), got.end()) == c.ints, boost::test_tools::per_element());
      }
    }
  }
  std::remove(path.c_str());
  BOOST_TEST_MESSAGE(files << " files, each token cut at every inner offset by the 1 MiB refill");
}

BOOST_AUTO_TEST_CASE(a_real_checkpoint_read_in_tiny_blocks_equals_the_one_read_in_memory) {
  // The whole reader under refills every 1..17 bytes: a saved model, base64 and plain numbers.
  Graph g(9);
  {
    auto use = g.as_default();
    (void)Variable(random_normal({7, 5}), "scope/kernel");
    (void)Variable(random_uniform({11}, -3.0f, 3.0f), "scope/bias");
    (void)Variable(Tensor(Shape{2}, std::vector<std::int32_t>{-1, 123456}), "global_step");
  }
  const std::string path = temp_path("tiny");
  for (const bool plain : {false, true}) {
    const std::string text = save_to_string(g, {.plain_numbers = plain});
    std::ofstream(path, std::ios::binary) << text;
    const auto want = parse_checkpoint(text, "memory", true);
    for (std::size_t block = 1; block <= 17; ++block) {
      const std::size_t previous = varscope::testing::set_checkpoint_read_block_bytes(block);
      const auto got = read_checkpoint(path);
      (void)varscope::testing::set_checkpoint_read_block_bytes(previous);
      BOOST_TEST_REQUIRE(got.size() == want.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].name == want[i].name);
        BOOST_TEST(got[i].value.bitwise_equal(want[i].value));
      }
    }
  }
  std::remove(path.c_str());
}
