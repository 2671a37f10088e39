// Implementation of varscope:checkpoint. Everything is validated before
// anything is allocated per variable or written into the graph.
module;
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#if __has_include(<unistd.h>)
#include <unistd.h>
#endif
module varscope;

namespace varscope {

namespace {

using nlohmann::json;

// ---------------------------------------------------------------- base64 (RFC 4648, with padding)

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_append(std::string& out, const unsigned char* data, std::size_t n) {
  const std::size_t start = out.size();
  out.resize(start + (n + 2) / 3 * 4);
  char* o = out.data() + start;
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3, o += 4) {
    const std::uint32_t chunk = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    o[0] = kAlphabet[(chunk >> 18) & 63];
    o[1] = kAlphabet[(chunk >> 12) & 63];
    o[2] = kAlphabet[(chunk >> 6) & 63];
    o[3] = kAlphabet[chunk & 63];
  }
  if (i < n) {
    const std::uint32_t chunk = (std::uint32_t{data[i]} << 16) | (i + 1 < n ? std::uint32_t{data[i + 1]} << 8 : 0);
    o[0] = kAlphabet[(chunk >> 18) & 63];
    o[1] = kAlphabet[(chunk >> 12) & 63];
    o[2] = i + 1 < n ? kAlphabet[(chunk >> 6) & 63] : '=';
    o[3] = '=';
  }
}

// Values are little-endian on disk; both targets (x86-64, wasm32) are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint I/O assumes a little-endian host");

// ---------------------------------------------------------------- reading (streaming)
//
// The reader walks the JSON text once, in blocks (1 MiB from a file), and never
// holds the whole text: small values (names, shapes, metadata, "values" arrays)
// become nlohmann::json values, while each "data" string is base64-decoded as it
// streams by, straight into the variable's tensor when its dtype and shape came
// first in the object (as `save` writes them), otherwise into 1 MiB blocks that
// are copied once into the tensor. Peak memory of a restore is therefore the
// decoded values plus one block (plus, for data-before-shape files, the largest
// variable once more).

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw CheckpointError("checkpoint " + source + ": " + what);
}

constexpr std::size_t kBlock = std::size_t{1} << 20;
// Bytes per read from a file: kBlock, smaller only under test (varscope::testing::
// set_checkpoint_read_block_bytes), so tests and the fuzzer can put refills anywhere.
std::atomic<std::size_t> read_block_bytes{kBlock};
constexpr int kMaxDepth = 256;  // nesting allowed in metadata (the stack is the limit otherwise)

// A byte source: text in memory, or a file read one block at a time.
class Input {
 public:
  explicit Input(std::string_view text) : base_(text.data()), cur_(text.data()), end_(text.data() + text.size()) {}
  Input(std::FILE* file, std::string source) : file_(file), source_(std::move(source)), buffer_(read_block_bytes.load(std::memory_order_relaxed)) {
    base_ = cur_ = end_ = buffer_.data();
  }
  /// The next byte, or -1 at the end.
  int peek() {
    if (cur_ == end_ && !refill()) return -1;
    return static_cast<unsigned char>(*cur_);
  }
  int get() {
    const int c = peek();
    if (c >= 0) ++cur_;
    return c;
  }
  /// The bytes available now (refilled when empty; empty at the end).
  std::string_view window() {
    if (cur_ == end_) refill();
    return {cur_, static_cast<std::size_t>(end_ - cur_)};
  }
  void advance(std::size_t n) { cur_ += n; }
  [[nodiscard]] std::int64_t offset() const { return consumed_ + (cur_ - base_); }

 private:
  bool refill() {
    if (!file_) return false;
    consumed_ += end_ - base_;
    const std::size_t n = std::fread(buffer_.data(), 1, buffer_.size(), file_);
    if (n == 0 && std::ferror(file_)) fail(source_, std::string("reading failed: ") + std::strerror(errno));
    base_ = cur_ = buffer_.data();
    end_ = cur_ + n;
    return n > 0;
  }
  std::FILE* file_ = nullptr;
  std::string source_;
  std::vector<char> buffer_;
  const char* base_;
  const char* cur_;
  const char* end_;
  std::int64_t consumed_ = 0;
};

// base64 digit values; 64 = '=', 65 = '"' (end of string), 66 = '\\', 255 = anything else.
constexpr std::array<std::uint8_t, 256> kBase64Value = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(255);
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  t['='] = 64;
  t['"'] = 65;
  t['\\'] = 66;
  return t;
}();

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    if (i + static_cast<std::size_t>(n) >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

// What one "variables" element holds before it is validated.
struct RawEntry {
  json fields = json::object();  // everything but "data"
  bool has_data = false;
  std::int64_t data_chars = 0;    // base64 characters seen
  bool data_malformed = false;    // bad alphabet or padding
  std::int64_t decoded = 0;       // bytes decoded (or that would have been)
  Tensor direct;                  // decoded into when dtype and shape came first
  bool into_direct = false;
  std::vector<std::vector<unsigned char>> blocks;  // decoded into otherwise
  bool over_limit = false;        // blocks stopped growing at LoadLimits::max_total_bytes
};

class Reader {
 public:
  Reader(Input& in, std::string source, bool decode, const LoadLimits& limits)
      : in_(in), source_(std::move(source)), decode_(decode), limits_(limits) {}

  struct Result {
    std::vector<CheckpointEntry> entries;
    json metadata;  // null when absent
  };

  Result read() {
    ws();
    if (in_.peek() != '{') {
      if (in_.peek() < 0) syntax("the file is empty");
      // Any other JSON value is valid JSON but not a checkpoint.
      (void)value(0);
      ws();
      if (in_.peek() >= 0) syntax("unexpected content after the top-level value");
      fail(source_, "the top level must be a JSON object");
    }
    Result result;
    json format, version;
    bool has_variables = false, has_format = false, has_version = false;
    std::set<std::string> keys;
    object("the top-level object", [&](std::string key) {
      if (!keys.insert(key).second) fail(source_, "the key \"" + key + "\" appears twice at the top level");
      if (key == "variables") {
        if (in_.peek() != '[') fail(source_, "\"variables\" array is missing");
        variables(result.entries);
        has_variables = true;
      } else if (key == "format") {
        format = value(1);
        has_format = true;
        check_format(format);
      } else if (key == "version") {
        version = value(1);
        has_version = true;
        check_version(version);
      } else if (key == "metadata") {
        result.metadata = value(1);
        if (!result.metadata.is_object()) fail(source_, "\"metadata\" must be an object");
      } else {
        (void)value(1);  // unknown top-level keys are ignored (forward compatible)
      }
    });
    ws();
    if (in_.peek() >= 0) syntax("unexpected content after the top-level object");
    if (!has_format) check_format(json());
    if (!has_version) fail(source_, "\"version\" is missing or not an integer");
    if (!has_variables) fail(source_, "\"variables\" array is missing");
    return result;
  }

 private:
  [[noreturn]] void syntax(const std::string& what) {
    fail(source_, "is not valid JSON: " + what + " (at byte " + std::to_string(in_.offset()) + ")");
  }

  void check_format(const json& format) {
    if (format != kCheckpointFormat)
      fail(source_, "\"format\" is " + (format.is_null() ? std::string("missing") : format.dump()) + ", expected \"" +
                        kCheckpointFormat + "\"");
  }
  void check_version(const json& version) {
    if (!version.is_number_integer()) fail(source_, "\"version\" is missing or not an integer");
    const auto v = version.get<std::int64_t>();
    if (v != kCheckpointVersion)
      fail(source_, "format version " + std::to_string(v) + " is not supported (this varscope reads version " +
                        std::to_string(kCheckpointVersion) + ")");
  }

  void ws() {
    for (;;) {
      const std::string_view w = in_.window();
      if (w.empty()) return;
      std::size_t i = 0;
      while (i < w.size() && (w[i] == ' ' || w[i] == '\n' || w[i] == '\r' || w[i] == '\t')) ++i;
      in_.advance(i);
      if (i < w.size()) return;
    }
  }

  void expect(char c) {
    if (in_.get() != c) syntax(std::string("expected '") + c + "'");
  }

  // Reads `[ item, ... ]` or `{ item, ... }` (the opening bracket is next):
  // `item()` reads one element, called after whitespace.
  template <class F>
  void sequence(char close, const std::string& what, F&& item) {
    in_.get();
    ws();
    if (in_.peek() == close) {
      in_.get();
      return;
    }
    for (;;) {
      ws();
      item();
      ws();
      const int c = in_.get();
      if (c == close) return;
      if (c != ',') syntax(std::string("expected ',' or '") + close + "' in " + what);
    }
  }
  // Reads an object (the '{' is next): `member(key)` reads each value, called after the ':'
  // and whitespace.
  template <class F>
  void object(const std::string& what, F&& member) {
    sequence('}', what, [&] {
      std::string key = string_value();
      ws();
      expect(':');
      ws();
      member(std::move(key));
    });
  }

  void literal(std::string_view word) {
    for (char c : word)
      if (in_.get() != c) syntax("invalid literal");
  }

  // \uXXXX (the backslash and 'u' already read): the code unit.
  std::uint32_t hex4() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int c = in_.get();
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else syntax("invalid \\u escape");
    }
    return v;
  }

  // One escape sequence (after the backslash), appended to `out` as UTF-8.
  void escape(std::string& out) {
    const int c = in_.get();
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': {
        std::uint32_t cp = hex4();
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (in_.get() != '\\' || in_.get() != 'u') syntax("a high surrogate must be followed by a low one");
          const std::uint32_t low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) syntax("invalid low surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          syntax("a lone low surrogate");
        }
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xF0 | (cp >> 18));
          out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        return;
      }
      default: syntax("invalid escape");
    }
  }

  std::string string_value() {
    if (in_.get() != '"') syntax("expected a string");
    std::string out;
    for (;;) {
      const std::string_view w = in_.window();
      if (w.empty()) syntax("unterminated string");
      std::size_t i = 0;
      while (i < w.size() && w[i] != '"' && w[i] != '\\' && static_cast<unsigned char>(w[i]) >= 0x20) ++i;
      out.append(w.data(), i);
      in_.advance(i);
      if (i == w.size()) continue;
      const int c = in_.get();
      if (c == '"') break;
      if (c == '\\') escape(out);
      else syntax("control character in a string");
    }
    if (!valid_utf8(out)) syntax("a string is not valid UTF-8");
    return out;
  }

  json number() {
    std::string text;
    auto digits = [&] {
      bool any = false;
      for (int c = in_.peek(); c >= '0' && c <= '9'; c = in_.peek()) {
        text += static_cast<char>(in_.get());
        any = true;
      }
      if (!any) syntax("invalid number");
    };
    bool integer = true;
    if (in_.peek() == '-') text += static_cast<char>(in_.get());
    if (in_.peek() == '0') {
      text += static_cast<char>(in_.get());
    } else {
      digits();
    }
    if (in_.peek() == '.') {
      integer = false;
      text += static_cast<char>(in_.get());
      digits();
    }
    if (in_.peek() == 'e' || in_.peek() == 'E') {
      integer = false;
      text += static_cast<char>(in_.get());
      if (in_.peek() == '+' || in_.peek() == '-') text += static_cast<char>(in_.get());
      digits();
    }
    if (integer) {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc() && end == text.data() + text.size()) return json(v);
    }
    errno = 0;
    const double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) syntax("number overflow: " + text);
    return json(d);
  }

  json value(int depth) {
    if (depth > kMaxDepth) syntax("nesting deeper than " + std::to_string(kMaxDepth));
    ws();
    switch (in_.peek()) {
      case '{': {
        json obj = json::object();
        object("an object", [&](std::string key) { obj[std::move(key)] = value(depth + 1); });
        return obj;
      }
      case '[': {
        json arr = json::array();
        sequence(']', "an array", [&] { arr.push_back(value(depth + 1)); });
        return arr;
      }
      case '"': return json(string_value());
      case 't': literal("true"); return json(true);
      case 'f': literal("false"); return json(false);
      case 'n': literal("null"); return json(nullptr);
      case -1: syntax("unexpected end of input");
      default:
        if (in_.peek() == '-' || (in_.peek() >= '0' && in_.peek() <= '9')) return number();
        syntax(std::string("unexpected character '") + static_cast<char>(in_.peek()) + "'");
    }
  }

  void variables(std::vector<CheckpointEntry>& entries) {
    std::set<std::string> names;
    std::size_t index = 0;
    sequence(']', "\"variables\"", [&] {
      CheckpointEntry e = entry(index++);
      if (!names.insert(e.name).second) fail(source_, "variable \"" + e.name + "\" appears more than once");
      entries.push_back(std::move(e));
    });
  }

  CheckpointEntry entry(std::size_t index) {
    const std::string where = "variable #" + std::to_string(index);
    if (in_.peek() != '{') {
      (void)value(1);
      fail(source_, where + " is not an object");
    }
    RawEntry raw;
    object(where, [&](std::string key) {
      if (key == "data") {
        if (raw.has_data) fail(source_, where + " has \"data\" twice");
        raw.has_data = true;
        if (in_.peek() != '"') {
          (void)value(1);
          raw.fields["data"] = nullptr;  // marks the wrong type for validation
        } else {
          data(raw, where);
        }
      } else {
        if (raw.fields.contains(key)) fail(source_, where + " has \"" + key + "\" twice");
        raw.fields[std::move(key)] = value(1);
      }
    });
    return finish(raw, index);
  }

  // The element count and dtype the header declares, when it is complete and valid
  // so far (used to decode "data" straight into its tensor).
  std::optional<std::pair<DType, Shape>> header_if_ready(const json& f) const {
    if (!f.contains("dtype") || !f.contains("shape") || !f["dtype"].is_string() || !f["shape"].is_array())
      return std::nullopt;
    const auto& d = f["dtype"].get_ref<const std::string&>();
    if (d != "float32" && d != "int32") return std::nullopt;
    std::vector<std::int64_t> dims;
    std::int64_t count = 1;
    for (const auto& x : f["shape"]) {
      if (!x.is_number_integer()) return std::nullopt;
      const auto n = x.get<std::int64_t>();
      if (n < 0 || (n != 0 && count > kMaxElements / n)) return std::nullopt;
      count *= n;
      dims.push_back(n);
    }
    if (total_ + count * 4 > limits_.max_total_bytes) return std::nullopt;
    return std::pair{d == "float32" ? DType::float32 : DType::int32, Shape(std::move(dims))};
  }

  // Streams one base64 string (the opening quote is next) into raw.
  void data(RawEntry& raw, const std::string& where) {
    in_.get();  // '"'
    unsigned char* dst = nullptr;
    std::int64_t capacity = 0;
    if (decode_) {
      if (auto header = header_if_ready(raw.fields)) {
        raw.direct = Tensor::uninitialized(header->first, header->second);
        raw.into_direct = true;
        dst = raw.direct.dtype() == DType::float32 ? reinterpret_cast<unsigned char*>(raw.direct.data<float>().data())
                                                    : reinterpret_cast<unsigned char*>(raw.direct.data<std::int32_t>().data());
        capacity = raw.direct.size() * 4;
      }
    }
    std::uint32_t quad = 0;
    int have = 0;   // digits in `quad`
    int pad = 0;    // '=' seen
    // Writes decoded bytes: into the tensor (never past it), or into blocks.
    auto emit = [&](const unsigned char* bytes, int n) {
      if (decode_) {
        if (raw.into_direct) {
          for (int k = 0; k < n; ++k)
            if (raw.decoded + k < capacity) dst[raw.decoded + k] = bytes[k];
        } else if (!raw.over_limit) {
          if (total_ + raw.decoded + n > limits_.max_total_bytes) {
            raw.over_limit = true;  // the size checks in finish() refuse it
          } else {
            if (raw.blocks.empty() || raw.blocks.back().size() + 3 > kBlock) {
              raw.blocks.emplace_back();
              raw.blocks.back().reserve(kBlock);
            }
            raw.blocks.back().insert(raw.blocks.back().end(), bytes, bytes + n);
          }
        }
      }
      raw.decoded += n;
    };
    auto digit = [&](std::uint8_t v) {
      ++raw.data_chars;
      if (v == 64) {  // '='
        if (have < 2) raw.data_malformed = true;
        ++pad;
        quad <<= 6;
        ++have;
      } else {
        if (pad > 0) raw.data_malformed = true;  // a digit after padding
        quad = (quad << 6) | v;
        ++have;
      }
      if (have == 4) {
        const unsigned char bytes[3] = {static_cast<unsigned char>(quad >> 16), static_cast<unsigned char>(quad >> 8),
                                        static_cast<unsigned char>(quad)};
        emit(bytes, std::max(0, 3 - pad));  // pad > 2 only in malformed data (already marked)
        if (pad > 0) pad = 3;  // anything after a padded quad is malformed
        quad = 0;
        have = 0;
      }
    };
    for (;;) {
      const std::string_view w = in_.window();
      if (w.empty()) syntax("unterminated string in " + where + "'s \"data\"");
      const auto* p = reinterpret_cast<const unsigned char*>(w.data());
      const std::size_t n = w.size();
      std::size_t i = 0;
      // Fast path: whole quads of plain digits while nothing is pending (the bulk of a file).
      if (have == 0 && pad == 0) {
        std::size_t quads = (n - i) / 4;
        unsigned char* out = nullptr;
        if (decode_ && raw.into_direct) {
          quads = std::min<std::size_t>(quads, static_cast<std::size_t>(std::max<std::int64_t>(capacity - raw.decoded, 0)) / 3);
          if (quads > 0) out = dst + raw.decoded;  // never offset a null (empty tensor) pointer
        } else if (decode_) {
          quads = 0;  // blocks: the per-character path below
        }
        const unsigned char* in = p + i;
        std::size_t q = 0;
        if (out) {
          for (; q < quads; ++q, in += 4, out += 3) {
            const std::uint32_t a = kBase64Value[in[0]], b = kBase64Value[in[1]], c = kBase64Value[in[2]],
                                d = kBase64Value[in[3]];
            if ((a | b | c | d) & 0xC0) break;  // '=', '"', '\\' or not base64
            const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
            out[0] = static_cast<unsigned char>(v >> 16);
            out[1] = static_cast<unsigned char>(v >> 8);
            out[2] = static_cast<unsigned char>(v);
          }
        } else {
          for (; q < quads; ++q, in += 4)
            if ((kBase64Value[in[0]] | kBase64Value[in[1]] | kBase64Value[in[2]] | kBase64Value[in[3]]) & 0xC0) break;
        }
        raw.decoded += static_cast<std::int64_t>(3 * q);
        raw.data_chars += static_cast<std::int64_t>(4 * q);
        i += 4 * q;
      }
      // Slow path: one character.
      for (; i < n; ++i) {
        const std::uint8_t v = kBase64Value[p[i]];
        if (v == 65) {  // closing quote
          in_.advance(i + 1);
          if (have != 0) raw.data_malformed = true;  // length not a multiple of 4
          return;
        }
        if (v == 66) {  // an escape: JSON allows it even here
          in_.advance(i + 1);
          std::string unescaped;
          escape(unescaped);
          for (char ch : unescaped) {
            const std::uint8_t u = kBase64Value[static_cast<unsigned char>(ch)];
            if (u <= 64) digit(u);
            else raw.data_malformed = true, ++raw.data_chars;
          }
          goto next_window;
        }
        if (v == 255) {
          if (p[i] < 0x20) syntax("control character in a string");
          raw.data_malformed = true;
          ++raw.data_chars;
          continue;
        }
        digit(v);
        if (have == 0 && pad == 0 && i + 1 < n) {
          in_.advance(i + 1);
          goto next_window;  // back to the fast path
        }
      }
      in_.advance(n);
    next_window:;
    }
  }

  CheckpointEntry finish(RawEntry& raw, std::size_t index) {
    const json& v = raw.fields;
    const std::string where = "variable #" + std::to_string(index);
    if (!v.contains("name") || !v["name"].is_string() || v["name"].get<std::string>().empty())
      fail(source_, where + " has no \"name\" string");
    CheckpointEntry e;
    e.name = v["name"].get<std::string>();
    const std::string who = "variable \"" + e.name + "\"";
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail(source_, who + " has no \"dtype\" string");
    const std::string dtype = v["dtype"].get<std::string>();
    if (dtype == "float32") e.dtype = DType::float32;
    else if (dtype == "int32") e.dtype = DType::int32;
    else fail(source_, who + " has unknown dtype \"" + dtype + "\" (supported: float32, int32)");
    if (!v.contains("shape") || !v["shape"].is_array()) fail(source_, who + " has no \"shape\" array");
    std::vector<std::int64_t> dims;
    std::int64_t count = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_integer()) fail(source_, who + " has a non-integer dimension in its shape " + v["shape"].dump());
      const std::int64_t n = d.get<std::int64_t>();
      if (n < 0) fail(source_, who + " has negative dimension " + std::to_string(n) + " in shape " + v["shape"].dump());
      if (n != 0 && count > kMaxElements / n)
        fail(source_, who + " declares shape " + v["shape"].dump() + ", more than " + std::to_string(kMaxElements) +
                          " elements (the per-tensor limit)");
      count *= n;
      dims.push_back(n);
    }
    e.shape = Shape(dims);
    const std::int64_t bytes = count * 4;
    total_ += bytes;
    if (total_ > limits_.max_total_bytes)
      fail(source_, who + " brings the declared total to " + std::to_string(total_) + " bytes, over the limit of " +
                        std::to_string(limits_.max_total_bytes) + " (LoadLimits::max_total_bytes)");
    const bool has_values = v.contains("values");
    if (raw.has_data == has_values) fail(source_, who + " needs exactly one of \"data\" (base64) or \"values\" (numbers)");
    if (raw.has_data) {
      if (v.contains("data")) fail(source_, who + " has a non-string \"data\"");
      if (raw.data_malformed || raw.data_chars % 4 != 0)
        fail(source_, who + " has malformed base64 data (length " + std::to_string(raw.data_chars) + ")");
      if (raw.decoded != bytes)
        fail(source_, who + " has " + std::to_string(raw.decoded) + " data bytes but shape " + e.shape.to_string() +
                          " " + dtype + " needs " + std::to_string(bytes));
      if (!decode_) return e;
      if (raw.into_direct) {
        e.value = std::move(raw.direct);
      } else {
        e.value = Tensor::uninitialized(e.dtype, e.shape);
        auto* dst = e.dtype == DType::float32 ? reinterpret_cast<unsigned char*>(e.value.data<float>().data())
                                              : reinterpret_cast<unsigned char*>(e.value.data<std::int32_t>().data());
        for (auto& block : raw.blocks) {
          std::memcpy(dst, block.data(), block.size());
          dst += block.size();
          std::vector<unsigned char>().swap(block);
        }
      }
    } else {
      const json& vals = v["values"];
      if (!vals.is_array()) fail(source_, who + " has a non-array \"values\"");
      if (static_cast<std::int64_t>(vals.size()) != count)
        fail(source_, who + " has " + std::to_string(vals.size()) + " values but shape " + e.shape.to_string() +
                          " needs " + std::to_string(count));
      if (!decode_) return e;
      e.value = Tensor(e.dtype, e.shape);
      for (std::int64_t i = 0; i < count; ++i) {
        const json& x = vals[static_cast<std::size_t>(i)];
        if (e.dtype == DType::float32) {
          if (!x.is_number())
            fail(source_, who + " value at index " + std::to_string(i) + " is not a number: " + x.dump());
          e.value.data<float>()[i] = x.get<float>();
        } else {
          if (!x.is_number_integer() || x.get<std::int64_t>() < INT32_MIN || x.get<std::int64_t>() > INT32_MAX)
            fail(source_, who + " value at index " + std::to_string(i) + " is not an int32: " + x.dump());
          e.value.data<std::int32_t>()[i] = x.get<std::int32_t>();
        }
      }
    }
    if (e.dtype == DType::float32 && !limits_.allow_non_finite) {
      const auto d = e.value.data<float>();
      for (std::size_t i = 0; i < d.size(); ++i)
        if (!std::isfinite(d[i]))
          fail(source_, who + " value at index " + std::to_string(i) + " is " + (std::isnan(d[i]) ? "NaN" : "infinite") +
                            " (set LoadLimits::allow_non_finite to accept)");
    }
    return e;
  }

  Input& in_;
  std::string source_;
  bool decode_;
  LoadLimits limits_;
  std::int64_t total_ = 0;
};

// Opens `path` for a streaming read (closed by the returned handle).
std::unique_ptr<std::FILE, int (*)(std::FILE*)> open_for_reading(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(path, "cannot open the file for reading");
  return {f, &std::fclose};
}

Reader::Result read_stream(const std::string& path, bool decode, const LoadLimits& limits) {
  auto file = open_for_reading(path);
  Input in(file.get(), path);
  return Reader(in, path, decode, limits).read();
}

// ---------------------------------------------------------------- writing

// One "variables" element: name, dtype, shape first, then the values, so a
// streaming reader can decode "data" straight into a tensor of the right size.
void append_entry(std::string& out, const std::string& name, const Tensor& value, bool plain) {
  out += "  {\"name\": ";
  out += json(name).dump();
  out += ", \"dtype\": \"";
  out += dtype_name(value.dtype());
  out += "\", \"shape\": ";
  out += json(value.shape().dims()).dump();
  if (plain) {
    out += ", \"values\": ";
    if (value.dtype() == DType::float32) {
      const auto d = value.data<float>();
      out += json(std::vector<float>(d.begin(), d.end())).dump();
    } else {
      const auto d = value.data<std::int32_t>();
      out += json(std::vector<std::int32_t>(d.begin(), d.end())).dump();
    }
  } else {
    const unsigned char* bytes = value.dtype() == DType::float32
                                     ? reinterpret_cast<const unsigned char*>(value.data<float>().data())
                                     : reinterpret_cast<const unsigned char*>(value.data<std::int32_t>().data());
    out += ", \"data\": \"";
    base64_append(out, bytes, static_cast<std::size_t>(value.size()) * 4);
    out += '"';
  }
  out += '}';
}

// Set only by tests (varscope::testing::set_before_rename_hook, at the end of this file).
int (*before_rename_hook)(const std::string& temp_path) = nullptr;

void write_atomically(const std::string& path, const std::string& text) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::random_device rd;
  const std::string tmp = path + ".tmp-" + std::to_string(rd());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw CheckpointError("save " + path + ": cannot create a temporary file in " + dir + ": " + std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
#if __has_include(<unistd.h>) && !defined(__EMSCRIPTEN__)
  ok = ok && ::fsync(::fileno(f)) == 0;
#endif
  ok = (std::fclose(f) == 0) && ok;
  if (ok && before_rename_hook != nullptr) {
    if (const int injected = before_rename_hook(tmp); injected != 0) {
      errno = injected;
      ok = false;
    }
  }
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    throw CheckpointError("save " + path + ": writing failed (" + reason + "); the previous file, if any, is untouched");
  }
}

std::string checkpoint_text(const std::vector<std::pair<std::string, const Tensor*>>& items, const SaveOptions& options) {
  std::string out = "{\n \"format\": \"";
  out += kCheckpointFormat;
  out += "\",\n \"version\": " + std::to_string(kCheckpointVersion) + ",\n";
  if (!options.metadata_json.empty()) {
    json meta = json::parse(options.metadata_json, nullptr, false);
    if (meta.is_discarded() || !meta.is_object())
      throw InvalidArgumentError("save: SaveOptions::metadata_json must be a JSON object, got: " +
                                 options.metadata_json.substr(0, 80));
    out += " \"metadata\": " + meta.dump() + ",\n";
  }
  std::size_t size = out.size() + 32;
  for (const auto& [name, value] : items) size += name.size() + 96 + (static_cast<std::size_t>(value->size()) * 4 + 2) / 3 * 4;
  out.reserve(size);
  out += " \"variables\": [";
  std::set<std::string> seen;
  bool first = true;
  for (const auto& [name, value] : items) {
    if (!seen.insert(name).second) throw InvalidArgumentError("save: variable name \"" + name + "\" appears twice");
    out += first ? "\n" : ",\n";
    first = false;
    append_entry(out, name, *value, options.plain_numbers);
  }
  out += "\n ]\n}\n";
  return out;
}

bool rule_matches(const std::string& pattern, const std::string& name, std::string& prefix) {
  if (!pattern.empty() && pattern[0] == '*') {
    const std::string tail = pattern.substr(1);
    if (name.size() < tail.size() || name.compare(name.size() - tail.size(), tail.size(), tail) != 0) return false;
    prefix = name.substr(0, name.size() - tail.size());
    return true;
  }
  prefix.clear();
  return name == pattern;
}

}  // namespace

// ---------------------------------------------------------------- public API

const CheckpointEntry* Checkpoint::find(std::string_view name) const noexcept {
  for (const auto& e : *this)
    if (e.name == name) return &e;
  return nullptr;
}

CheckpointEntry* Checkpoint::find(std::string_view name) noexcept {
  return const_cast<CheckpointEntry*>(std::as_const(*this).find(name));
}

const CheckpointEntry& Checkpoint::at(std::string_view name) const {
  if (const auto* e = find(name)) return *e;
  std::vector<std::string> names;
  names.reserve(size());
  for (const auto& e : *this) names.push_back(e.name);
  std::string message = "Checkpoint::at: no variable named '" + std::string(name) + "' in the checkpoint (" +
                        std::to_string(size()) + " entries)";
  if (const auto near = closest_names(name, names); !near.empty()) {
    message += "\n  did you mean:  ";
    for (std::size_t i = 0; i < near.size(); ++i) message += (i ? ", '" : "'") + near[i] + "'";
    message += "?";
  }
  message += "\n  fix:           use a name as the checkpoint lists it (without \":0\"; `varscope ckpt ls FILE` "
             "lists them), or check contains(name) / find(name) first";
  throw NotFoundError(message);
}

CheckpointEntry& Checkpoint::at(std::string_view name) {
  return const_cast<CheckpointEntry&>(std::as_const(*this).at(name));
}

Checkpoint parse_checkpoint(const std::string& json_text, const std::string& source, bool decode_values,
                            const LoadLimits& limits) {
  Input in(json_text);
  return Reader(in, source, decode_values, limits).read().entries;
}

Checkpoint read_checkpoint(const std::string& path, const LoadLimits& limits) {
  return read_stream(path, true, limits).entries;
}

Checkpoint list_variables(const std::string& path, const LoadLimits& limits) {
  auto entries = read_stream(path, false, limits).entries;
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return entries;
}

std::string checkpoint_metadata(const std::string& path) {
  const auto result = read_stream(path, false, {});
  return result.metadata.is_null() ? "{}" : result.metadata.dump();
}

void save(const std::vector<Variable>& variables, const std::string& path, const SaveOptions& options) {
  std::vector<std::pair<std::string, const Tensor*>> items;
  for (const auto& v : variables) items.emplace_back(v.op_name(), &v.value());
  write_atomically(path, checkpoint_text(items, options));
}

void save(const Graph& graph, const std::string& path, const SaveOptions& options) {
  save(graph.global_variables(), path, options);
}

void write_checkpoint(const std::vector<CheckpointEntry>& entries, const std::string& path, const SaveOptions& options) {
  std::vector<std::pair<std::string, const Tensor*>> items;
  for (const auto& e : entries) items.emplace_back(e.name, &e.value);
  write_atomically(path, checkpoint_text(items, options));
}

std::string remap_name(const std::string& name, const RestoreOptions& options) {
  std::string out = name;
  for (const auto& [from, to] : options.prefix_map)
    if (out.rfind(from, 0) == 0) {
      out = to + out.substr(from.size());
      break;
    }
  for (const auto& rule : options.renames) {
    std::string prefix;
    if (!rule_matches(rule.from, out, prefix)) continue;
    out = (!rule.to.empty() && rule.to[0] == '*') ? prefix + rule.to.substr(1) : rule.to;
  }
  return out;
}

namespace {
RestoreReport restore_entries(Graph& graph, std::vector<CheckpointEntry> entries, const std::string& path,
                              const RestoreOptions& options);
}  // namespace

RestoreReport restore(Graph& graph, const std::string& path, const RestoreOptions& options) {
  return restore_entries(graph, read_checkpoint(path, options.limits), path, options);
}

RestoreReport restore_from_string(Graph& graph, std::string_view json_text, const RestoreOptions& options,
                                  const std::string& source) {
  Input in(json_text);
  return restore_entries(graph, Reader(in, source, true, options.limits).read().entries, source, options);
}

std::string save_to_string(const std::vector<Variable>& variables, const SaveOptions& options) {
  std::vector<std::pair<std::string, const Tensor*>> items;
  for (const auto& v : variables) items.emplace_back(v.op_name(), &v.value());
  return checkpoint_text(items, options);
}

std::string save_to_string(const Graph& graph, const SaveOptions& options) {
  return save_to_string(graph.global_variables(), options);
}

namespace {
RestoreReport restore_entries(Graph& graph, std::vector<CheckpointEntry> entries, const std::string& path,
                              const RestoreOptions& options) {
  std::map<std::string, CheckpointEntry*> by_name;
  std::vector<std::string> checkpoint_names;
  for (auto& e : entries) {
    const std::string target = remap_name(e.name, options);
    if (by_name.contains(target))
      fail(path, "variables \"" + by_name[target]->name + "\" and \"" + e.name + "\" both map to \"" + target + "\"");
    by_name[target] = &e;
    checkpoint_names.push_back(target);
  }
  RestoreReport report;
  std::vector<std::pair<Variable, const Tensor*>> to_apply;
  std::set<std::string> used;
  for (const auto& v : graph.global_variables()) {
    auto it = by_name.find(v.op_name());
    if (it == by_name.end()) {
      report.missing.push_back(v.op_name());
      report.suggestions.emplace_back(v.op_name(), closest_names(v.op_name(), checkpoint_names));
      continue;
    }
    used.insert(it->first);
    const CheckpointEntry& e = *it->second;
    if (e.dtype != v.dtype()) {
      report.dtype_mismatches.push_back({v.op_name(), std::string(dtype_name(v.dtype())), std::string(dtype_name(e.dtype))});
    } else if (e.shape != v.shape()) {
      report.shape_mismatches.push_back({v.op_name(), v.shape().to_string(), e.shape.to_string()});
    } else {
      report.matched.push_back(v.op_name());
      to_apply.emplace_back(v, &e.value);
    }
  }
  for (const auto& name : checkpoint_names)
    if (!used.contains(name)) report.unexpected.push_back(name);
  if (options.strict && !report.clean())
    throw CheckpointMismatchError("restore " + path + " (strict): nothing was modified.\n" + report.summary());
  if (!options.dry_run) {
    // One swap for all: decodes in flight finish first, new ones wait (Graph::UpdateGuard).
    // Moved, not copied: the decoded values become the variables' values.
    const Graph::UpdateGuard swap(graph, options.wait_timeout, "restore " + path);
    for (auto& [variable, value] : to_apply) variable.assign(std::move(*const_cast<Tensor*>(value)));  // checked above
    report.applied = true;
  }
  return report;
}
}  // namespace

std::string RestoreReport::summary() const {
  std::ostringstream os;
  os << "matched " << matched.size() << ", missing " << missing.size() << ", unexpected " << unexpected.size()
     << ", shape mismatches " << shape_mismatches.size() << ", dtype mismatches " << dtype_mismatches.size()
     << (applied ? " (applied)" : " (not applied)") << '\n';
  for (const auto& [name, near] : suggestions) {
    os << "  missing:    " << name;
    if (!near.empty()) {
      os << "  (did you mean ";
      for (std::size_t i = 0; i < near.size(); ++i) os << (i ? ", " : "") << '"' << near[i] << '"';
      os << " in the checkpoint? a prefix_map or rename rule can map it)";
    }
    os << '\n';
  }
  for (const auto& n : unexpected) os << "  unexpected: " << n << '\n';
  for (const auto& m : shape_mismatches) os << "  shape:      " << m.name << " is " << m.expected << ", checkpoint has " << m.found << '\n';
  for (const auto& m : dtype_mismatches) os << "  dtype:      " << m.name << " is " << m.expected << ", checkpoint has " << m.found << '\n';
  return os.str();
}

}  // namespace varscope

// The test hooks declared in modules/testing.cppm (module varscope.testing). `extern "C++"`
// attaches it to the global module: the same function that declaration names, and not
// part of `import varscope;`.
extern "C++" {
namespace varscope::testing {
using BeforeRenameHook = int (*)(const std::string& temp_path);
void set_before_rename_hook(BeforeRenameHook hook) noexcept { before_rename_hook = hook; }
std::size_t set_checkpoint_read_block_bytes(std::size_t bytes) noexcept {
  return varscope::read_block_bytes.exchange(bytes == 0 ? varscope::kBlock : bytes);
}
}  // namespace varscope::testing
}
