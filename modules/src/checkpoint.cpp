// Implementation of varscope:checkpoint. Everything is validated before
// anything is allocated per variable or written into the graph.
module;
#include <nlohmann/json.hpp>

#include <algorithm>
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

std::string base64_encode(const unsigned char* data, std::size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    const std::uint32_t chunk = (std::uint32_t{data[i]} << 16) | (i + 1 < n ? std::uint32_t{data[i + 1]} << 8 : 0) |
                                (i + 2 < n ? std::uint32_t{data[i + 2]} : 0);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

// Decoded byte count of a well-formed base64 string, or -1.
std::int64_t base64_decoded_size(const std::string& s) {
  if (s.size() % 4 != 0) return -1;
  std::int64_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
  return static_cast<std::int64_t>(s.size() / 4 * 3) - pad;
}

bool base64_decode(const std::string& s, unsigned char* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::size_t o = 0;
  for (std::size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    for (int j = 0; j < 4; ++j) {
      const char c = s[i + j];
      if (c == '=' && i + 4 == s.size() && j >= 2) {
        v[j] = 0;
        if (j == 2 && s[i + 3] != '=') return false;
      } else if ((v[j] = value(c)) < 0) {
        return false;
      }
    }
    const std::uint32_t chunk = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                                (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
    out[o++] = static_cast<unsigned char>(chunk >> 16);
    if (s[i + 2] != '=') out[o++] = static_cast<unsigned char>(chunk >> 8);
    if (s[i + 3] != '=') out[o++] = static_cast<unsigned char>(chunk);
  }
  return true;
}

// Values are little-endian on disk; both targets (x86-64, wasm32) are little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "checkpoint I/O assumes a little-endian host");

// ---------------------------------------------------------------- reading

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw CheckpointError("checkpoint " + source + ": " + what);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the file for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CheckpointEntry parse_entry(const json& v, std::size_t index, const std::string& source, bool decode,
                            const LoadLimits& limits, std::int64_t& total_bytes) {
  const std::string where = "variable #" + std::to_string(index);
  if (!v.is_object()) fail(source, where + " is not an object");
  if (!v.contains("name") || !v["name"].is_string() || v["name"].get<std::string>().empty())
    fail(source, where + " has no \"name\" string");
  CheckpointEntry e;
  e.name = v["name"].get<std::string>();
  const std::string who = "variable \"" + e.name + "\"";
  if (!v.contains("dtype") || !v["dtype"].is_string()) fail(source, who + " has no \"dtype\" string");
  const std::string dtype = v["dtype"].get<std::string>();
  if (dtype == "float32") e.dtype = DType::float32;
  else if (dtype == "int32") e.dtype = DType::int32;
  else fail(source, who + " has unknown dtype \"" + dtype + "\" (supported: float32, int32)");
  if (!v.contains("shape") || !v["shape"].is_array()) fail(source, who + " has no \"shape\" array");
  std::vector<std::int64_t> dims;
  std::int64_t count = 1;
  for (const auto& d : v["shape"]) {
    if (!d.is_number_integer()) fail(source, who + " has a non-integer dimension in its shape " + v["shape"].dump());
    const std::int64_t n = d.get<std::int64_t>();
    if (n < 0) fail(source, who + " has negative dimension " + std::to_string(n) + " in shape " + v["shape"].dump());
    if (n != 0 && count > kMaxElements / n)
      fail(source, who + " declares shape " + v["shape"].dump() + ", more than " + std::to_string(kMaxElements) +
                       " elements (the per-tensor limit)");
    count *= n;
    dims.push_back(n);
  }
  e.shape = Shape(dims);
  const std::int64_t bytes = count * 4;
  total_bytes += bytes;
  if (total_bytes > limits.max_total_bytes)
    fail(source, who + " brings the declared total to " + std::to_string(total_bytes) + " bytes, over the limit of " +
                     std::to_string(limits.max_total_bytes) + " (LoadLimits::max_total_bytes)");
  const bool has_data = v.contains("data"), has_values = v.contains("values");
  if (has_data == has_values) fail(source, who + " needs exactly one of \"data\" (base64) or \"values\" (numbers)");
  if (has_data) {
    if (!v["data"].is_string()) fail(source, who + " has a non-string \"data\"");
    const std::string& b64 = v["data"].get_ref<const std::string&>();
    const std::int64_t n = base64_decoded_size(b64);
    if (n < 0) fail(source, who + " has malformed base64 data (length " + std::to_string(b64.size()) + ")");
    if (n != bytes)
      fail(source, who + " has " + std::to_string(n) + " data bytes but shape " + e.shape.to_string() + " " + dtype +
                       " needs " + std::to_string(bytes));
    if (!decode) return e;
    e.value = Tensor(e.dtype, e.shape);
    unsigned char* dst = e.dtype == DType::float32
                             ? reinterpret_cast<unsigned char*>(e.value.data<float>().data())
                             : reinterpret_cast<unsigned char*>(e.value.data<std::int32_t>().data());
    if (count > 0 && !base64_decode(b64, dst)) fail(source, who + " has malformed base64 data");
    if (count == 0 && !b64.empty()) fail(source, who + " has data for an empty shape");
  } else {
    const json& vals = v["values"];
    if (!vals.is_array()) fail(source, who + " has a non-array \"values\"");
    if (static_cast<std::int64_t>(vals.size()) != count)
      fail(source, who + " has " + std::to_string(vals.size()) + " values but shape " + e.shape.to_string() +
                       " needs " + std::to_string(count));
    if (!decode) return e;
    e.value = Tensor(e.dtype, e.shape);
    for (std::int64_t i = 0; i < count; ++i) {
      const json& x = vals[static_cast<std::size_t>(i)];
      if (e.dtype == DType::float32) {
        if (!x.is_number())
          fail(source, who + " value at index " + std::to_string(i) + " is not a number: " + x.dump());
        e.value.data<float>()[i] = x.get<float>();
      } else {
        if (!x.is_number_integer() || x.get<std::int64_t>() < INT32_MIN || x.get<std::int64_t>() > INT32_MAX)
          fail(source, who + " value at index " + std::to_string(i) + " is not an int32: " + x.dump());
        e.value.data<std::int32_t>()[i] = x.get<std::int32_t>();
      }
    }
  }
  if (e.dtype == DType::float32 && !limits.allow_non_finite) {
    const auto d = e.value.data<float>();
    for (std::size_t i = 0; i < d.size(); ++i)
      if (!std::isfinite(d[i]))
        fail(source, who + " value at index " + std::to_string(i) + " is " + (std::isnan(d[i]) ? "NaN" : "infinite") +
                         " (set LoadLimits::allow_non_finite to accept)");
  }
  return e;
}

// ---------------------------------------------------------------- writing

json entry_json(const std::string& name, const Tensor& value, bool plain) {
  json v;
  v["name"] = name;
  v["dtype"] = std::string(dtype_name(value.dtype()));
  v["shape"] = value.shape().dims();
  if (plain) {
    if (value.dtype() == DType::float32) {
      const auto d = value.data<float>();
      v["values"] = std::vector<float>(d.begin(), d.end());
    } else {
      const auto d = value.data<std::int32_t>();
      v["values"] = std::vector<std::int32_t>(d.begin(), d.end());
    }
  } else {
    const unsigned char* bytes = value.dtype() == DType::float32
                                     ? reinterpret_cast<const unsigned char*>(value.data<float>().data())
                                     : reinterpret_cast<const unsigned char*>(value.data<std::int32_t>().data());
    v["data"] = base64_encode(bytes, static_cast<std::size_t>(value.size()) * 4);
  }
  return v;
}

detail::BeforeRenameHook before_rename_hook = nullptr;

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
  json root;
  root["format"] = kCheckpointFormat;
  root["version"] = kCheckpointVersion;
  if (!options.metadata_json.empty()) {
    json meta = json::parse(options.metadata_json, nullptr, false);
    if (meta.is_discarded() || !meta.is_object())
      throw InvalidArgumentError("save: SaveOptions::metadata_json must be a JSON object, got: " +
                                 options.metadata_json.substr(0, 80));
    root["metadata"] = std::move(meta);
  }
  root["variables"] = json::array();
  std::set<std::string> seen;
  for (const auto& [name, value] : items) {
    if (!seen.insert(name).second) throw InvalidArgumentError("save: variable name \"" + name + "\" appears twice");
    root["variables"].push_back(entry_json(name, *value, options.plain_numbers));
  }
  return root.dump(1);
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

std::vector<CheckpointEntry> parse_checkpoint(const std::string& json_text, const std::string& source,
                                              bool decode_values, const LoadLimits& limits) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse errors and number overflows alike
    fail(source, std::string("is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) fail(source, "the top level must be a JSON object");
  if (!root.contains("format") || root["format"] != kCheckpointFormat)
    fail(source, "\"format\" is " + (root.contains("format") ? root["format"].dump() : std::string("missing")) +
                     ", expected \"" + kCheckpointFormat + "\"");
  if (!root.contains("version") || !root["version"].is_number_integer())
    fail(source, "\"version\" is missing or not an integer");
  const auto version = root["version"].get<std::int64_t>();
  if (version != kCheckpointVersion)
    fail(source, "format version " + std::to_string(version) + " is not supported (this varscope reads version " +
                     std::to_string(kCheckpointVersion) + ")");
  if (root.contains("metadata") && !root["metadata"].is_object()) fail(source, "\"metadata\" must be an object");
  if (!root.contains("variables") || !root["variables"].is_array()) fail(source, "\"variables\" array is missing");
  std::vector<CheckpointEntry> entries;
  std::set<std::string> names;
  std::int64_t total = 0;
  std::size_t index = 0;
  for (const auto& v : root["variables"]) {
    CheckpointEntry e;
    try {
      e = parse_entry(v, index++, source, decode_values, limits, total);
    } catch (const json::exception& ex) {  // a JSON value of an unexpected type
      fail(source, "variable #" + std::to_string(index - 1) + ": " + ex.what());
    }
    if (!names.insert(e.name).second) fail(source, "variable \"" + e.name + "\" appears more than once");
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<CheckpointEntry> read_checkpoint(const std::string& path, const LoadLimits& limits) {
  return parse_checkpoint(read_file(path), path, true, limits);
}

std::vector<CheckpointEntry> list_variables(const std::string& path, const LoadLimits& limits) {
  auto entries = parse_checkpoint(read_file(path), path, false, limits);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return entries;
}

std::string checkpoint_metadata(const std::string& path) {
  const json root = json::parse(read_file(path), nullptr, false);
  if (root.is_discarded() || !root.is_object()) fail(path, "is not a JSON object");
  return root.contains("metadata") ? root["metadata"].dump() : "{}";
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

void detail::set_before_rename_hook(BeforeRenameHook hook) noexcept { before_rename_hook = hook; }

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

RestoreReport restore(Graph& graph, const std::string& path, const RestoreOptions& options) {
  auto entries = read_checkpoint(path, options.limits);
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
    for (auto& [variable, value] : to_apply) variable.assign(*value);  // shapes/dtypes checked above
    report.applied = true;
  }
  return report;
}

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
