// JSON checkpoints: bit-exact round trips, both value encodings, strict /
// lenient / dry-run restore, prefix remapping and rename rules, the report,
// atomic saves, and a typed error for each kind of bad input. The wasm build
// runs the same suite (files under node via NODERAWFS).
#define BOOST_TEST_MODULE checkpoint
#include "support/boost_test.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

import varscope;
import varscope.testing;  // test hooks (modules/testing.cppm)
#include "support/checkpoint_model.hpp"
#include "support/torch_case.hpp"
#include "torch_roundtrip.hpp"  // generated: kTorchRoundtrip (tests/data/torch_roundtrip.json)
#include "support/lstm_case.hpp"
#include "torch_lstm_roundtrip.hpp"  // generated: kTorchLstmRoundtrip (tests/data/torch_lstm_roundtrip.json)
#include "native_checkpoint.hpp"  // generated: kNativeCheckpoint (tests/data/native_checkpoint.json)
// generated: kNativeCheckpointSortedKeys (tests/data/native_checkpoint_sorted_keys.json: the same
// model as written before the streaming writer, keys sorted, so "data" comes before "shape")
#include "native_checkpoint_sorted_keys.hpp"

using namespace varscope;
namespace tt = boost::test_tools;

namespace {

std::string temp_path(const std::string& name) { return "varscope_ckpt_test_" + name + ".json"; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

struct Model {
  Graph graph{21};
  DefaultGraphGuard use{graph};
  explicit Model(const std::string& outer = "") {
    auto build = [&] {
      (void)Variable(random_uniform({6, 3}, -1.0f, 1.0f), "embedding");
      auto scope = variable_scope("decoder");
      GRUCell cell(4, "cell");
      (void)cell(random_normal({1, 3}), cell.zero_state(1));
      (void)get_variable("steps", {.shape = {2}, .dtype = DType::int32});
    };
    if (outer.empty()) {
      build();
    } else {
      auto s = variable_scope(outer);
      build();
    }
  }
  std::vector<Tensor> values() const {
    std::vector<Tensor> out;
    for (const auto& v : graph.global_variables()) out.push_back(v.value());
    return out;
  }
};

std::string error_of(const std::string& text, const LoadLimits& limits = {}) {
  try {
    (void)parse_checkpoint(text, "test.json", true, limits);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "no error";
}

// Sets every variable to a value no checkpoint here holds (-77), so a restore that skips a
// variable (e.g. a constant-initialised bias, equal under every seed) leaves it detectably wrong.
void overwrite_all(const std::vector<Variable>& vars) {
  for (const auto& v : vars) {
    if (v.dtype() == DType::int32) {
      v.assign(Tensor(v.shape(), std::vector<std::int32_t>(static_cast<std::size_t>(v.shape().num_elements()), -77)));
    } else {
      v.assign(fill(v.shape(), -77.25f));
    }
  }
}

std::string header() { return R"({"format": "varscope-checkpoint", "version": 1, "variables": [)"; }

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_is_bit_exact_in_both_encodings) {
  for (bool plain : {false, true}) {
    Model a;
    a.graph.global_variables()[1].assign(random_normal({7, 8}, 0.0f, 1e-30f));  // tiny/denormal-range values too
    const std::string path = temp_path(plain ? "plain" : "b64");
    save(a.graph, path, {.metadata_json = R"({"vocab": 6, "hidden": 4})", .plain_numbers = plain});
    Model b;
    BOOST_TEST(b.values()[0].bitwise_equal(a.values()[0]));  // same seed: same initial embedding...
    overwrite_all(b.graph.global_variables());  // ...so overwrite all (zeros would equal the zero biases)
    for (std::size_t i = 0; i < a.values().size(); ++i) BOOST_TEST(!a.values()[i].bitwise_equal(b.values()[i]));
    const RestoreReport report = restore(b.graph, path);
    BOOST_TEST(report.clean());
    BOOST_TEST(report.matched.size() == 6u);
    for (std::size_t i = 0; i < a.values().size(); ++i) BOOST_TEST(a.values()[i].bitwise_equal(b.values()[i]));
    BOOST_TEST(checkpoint_metadata(path) == R"({"hidden":4,"vocab":6})");
    const std::string text = slurp(path);  // the header names the format and version constants
    BOOST_TEST(text.find(std::string("\"format\": \"") + kCheckpointFormat + "\"") != std::string::npos);
    BOOST_TEST(text.find("\"version\": " + std::to_string(kCheckpointVersion)) != std::string::npos);
    BOOST_TEST(kCheckpointVersion == 1);
    std::remove(path.c_str());
  }
}

BOOST_AUTO_TEST_CASE(list_variables_is_sorted_names_and_shapes) {
  Model a;
  const std::string path = temp_path("list");
  save(a.graph, path);
  const auto entries = list_variables(path);
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  BOOST_TEST(names == (std::vector<std::string>{"decoder/cell/candidate/bias", "decoder/cell/candidate/kernel",
                                                "decoder/cell/gates/bias", "decoder/cell/gates/kernel",
                                                "decoder/steps", "embedding"}),
             tt::per_element());
  BOOST_TEST(entries[3].shape == (Shape{7, 8}));
  BOOST_TEST(entries[4].dtype == DType::int32);
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(strict_failure_modifies_nothing_and_reports_everything) {
  Model a;
  const std::string path = temp_path("strict");
  auto vars = a.graph.global_variables();
  vars.pop_back();  // decoder/steps will be missing
  save(vars, path);
  Model b;
  for (const auto& v : b.graph.global_variables()) v.assign(zeros(v.shape(), v.dtype()));
  const auto before = b.values();
  try {
    (void)restore(b.graph, path);
    BOOST_FAIL("expected CheckpointMismatchError");
  } catch (const CheckpointMismatchError& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find("nothing was modified") != std::string::npos, m);
    BOOST_TEST(m.find("missing:    decoder/steps") != std::string::npos, m);
  }
  const auto after = b.values();
  for (std::size_t i = 0; i < before.size(); ++i) BOOST_TEST(before[i].bitwise_equal(after[i]));
  // Lenient applies the matches and reports the rest.
  const auto report = restore(b.graph, path, {.strict = false});
  BOOST_TEST(report.applied);
  BOOST_TEST(report.matched.size() == 5u);
  BOOST_TEST(report.missing == (std::vector<std::string>{"decoder/steps"}), tt::per_element());
  BOOST_TEST(b.values()[0].bitwise_equal(a.values()[0]));
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(dry_run_reports_without_modifying) {
  Model a;
  const std::string path = temp_path("dry");
  save(a.graph, path);
  Model b;
  for (const auto& v : b.graph.global_variables()) v.assign(zeros(v.shape(), v.dtype()));
  const auto before = b.values();
  const auto report = restore(b.graph, path, {.dry_run = true});
  BOOST_TEST(report.clean());
  BOOST_TEST(!report.applied);
  for (std::size_t i = 0; i < before.size(); ++i) BOOST_TEST(before[i].bitwise_equal(b.values()[i]));
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(prefix_remap_restores_under_another_outer_scope_with_suggestions) {
  Model a;  // decoder/...
  const std::string path = temp_path("remap");
  save(a.graph, path);
  Model b("outer");  // outer/decoder/..., outer/embedding? no: Variable names use the name scope
  std::vector<std::string> names;
  for (const auto& v : b.graph.global_variables()) names.push_back(v.op_name());
  BOOST_TEST(names[1] == "outer/decoder/cell/gates/kernel");
  // Without remapping: strict fails, and the report suggests the checkpoint's names.
  const auto dry = restore(b.graph, path, {.strict = false, .dry_run = true});
  BOOST_TEST(dry.missing.size() == 6u);
  BOOST_TEST(dry.suggestions[1].second.front() == "decoder/cell/gates/kernel");
  const auto report =
      restore(b.graph, path, {.prefix_map = {{"decoder/", "outer/decoder/"}, {"embedding", "outer/embedding"}}});
  BOOST_TEST(report.clean());
  for (std::size_t i = 0; i < a.values().size(); ++i) BOOST_TEST(a.values()[i].bitwise_equal(b.values()[i]));
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(rename_rules_map_old_tf_names) {
  RestoreOptions o{.renames = {{"*/weights", "*/kernel"}, {"*/biases", "*/bias"}, {"old_exact", "new_exact"}}};
  BOOST_TEST(remap_name("rnn/gru_cell/gates/weights", o) == "rnn/gru_cell/gates/kernel");
  BOOST_TEST(remap_name("dense/biases", o) == "dense/bias");
  BOOST_TEST(remap_name("old_exact", o) == "new_exact");
  BOOST_TEST(remap_name("old_exact_not", o) == "old_exact_not");
  o.prefix_map = {{"a/", "b/"}};
  BOOST_TEST(remap_name("a/x/weights", o) == "b/x/kernel");
}

BOOST_AUTO_TEST_CASE(read_checkpoint_and_write_checkpoint_round_trip_edited_entries) {
  Model a;
  const std::string path = temp_path("rw");
  save(a.graph, path);
  auto entries = read_checkpoint(path);
  // File order is the graph's order; every value decodes bit-exactly.
  const auto vars = a.graph.global_variables();
  BOOST_TEST_REQUIRE(entries.size() == vars.size());
  for (std::size_t i = 0; i < vars.size(); ++i) {
    BOOST_TEST_CONTEXT(vars[i].op_name()) {
      BOOST_TEST(entries[i].name == vars[i].op_name());
      BOOST_TEST(entries[i].dtype == vars[i].dtype());
      BOOST_TEST(entries[i].shape == vars[i].shape());
      BOOST_TEST(entries[i].value.bitwise_equal(vars[i].value()));
    }
  }
  // Writing the entries back gives exactly the bytes save() wrote.
  const std::string copy = temp_path("rw_copy");
  write_checkpoint(entries, copy);
  BOOST_TEST(slurp(copy) == slurp(path));
  // Edited entries (one renamed, with a new value), as plain numbers with metadata, restore.
  entries[0].name = "renamed_embedding";
  entries[0].value = fill({6, 3}, 0.25f);
  write_checkpoint(entries, copy, {.metadata_json = R"({"edited": true})", .plain_numbers = true});
  BOOST_TEST(checkpoint_metadata(copy) == R"({"edited":true})");
  Model b;
  overwrite_all(b.graph.global_variables());
  const auto report = restore(b.graph, copy, {.prefix_map = {{"renamed_embedding", "embedding"}}});
  BOOST_TEST(report.clean(), report.summary());
  BOOST_TEST(b.values()[0].bitwise_equal(fill({6, 3}, 0.25f)));
  for (std::size_t i = 1; i < vars.size(); ++i) BOOST_TEST(b.values()[i].bitwise_equal(a.values()[i]));
  // A duplicate name is refused before anything is written: the file keeps the last good contents.
  const std::string before = slurp(copy);
  entries.push_back(entries[1]);
  BOOST_CHECK_THROW(write_checkpoint(entries, copy), InvalidArgumentError);
  BOOST_TEST(slurp(copy) == before);
  std::remove(path.c_str());
  std::remove(copy.c_str());
}

BOOST_AUTO_TEST_CASE(report_summary_lists_every_problem_with_suggestions) {
  Model a;
  const std::string path = temp_path("summary");
  save(a.graph, path);
  Graph other;
  auto use = other.as_default();
  (void)get_variable("embedding", {.shape = {6, 4}});             // shape mismatch
  (void)get_variable("decoder/steps", {.shape = {2}});             // dtype mismatch (checkpoint: int32)
  (void)get_variable("decoder/cell/gates/kernal", {.shape = {7, 8}});  // typo: missing, with a suggestion
  (void)get_variable("decoder/cell/gates/bias", {.shape = {8}});   // matches
  const auto r = restore(other, path, {.strict = false, .dry_run = true});
  const std::string want =
      "matched 1, missing 1, unexpected 3, shape mismatches 1, dtype mismatches 1 (not applied)\n"
      // closest_names: edit distance within max(2, 25 / 3) = 8, nearest first.
      "  missing:    decoder/cell/gates/kernal  (did you mean \"decoder/cell/gates/kernel\", \"decoder/cell/gates/bias\", "
      "\"decoder/cell/candidate/kernel\" in the checkpoint? a prefix_map or rename rule can map it)\n"
      "  unexpected: decoder/cell/gates/kernel\n"
      "  unexpected: decoder/cell/candidate/kernel\n"
      "  unexpected: decoder/cell/candidate/bias\n"
      "  shape:      embedding is [6, 4], checkpoint has [6, 3]\n"
      "  dtype:      decoder/steps is float32, checkpoint has int32\n";
  BOOST_TEST(r.summary() == want);
  // The strict error's message carries the same summary.
  try {
    (void)restore(other, path);
    BOOST_FAIL("expected CheckpointMismatchError");
  } catch (const CheckpointMismatchError& e) {
    BOOST_TEST(std::string(e.what()).find(want) != std::string::npos, e.what());
  }
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(shape_and_dtype_mismatches_are_reported) {
  Model a;
  const std::string path = temp_path("mismatch");
  save(a.graph, path);
  Graph other;
  auto use = other.as_default();
  (void)get_variable("embedding", {.shape = {6, 4}});
  (void)get_variable("decoder/steps", {.shape = {2}});  // float32, checkpoint has int32
  const auto r = restore(other, path, {.strict = false});
  BOOST_TEST(r.shape_mismatches.size() == 1u);
  BOOST_TEST(r.shape_mismatches[0].expected == "[6, 4]");
  BOOST_TEST(r.shape_mismatches[0].found == "[6, 3]");
  BOOST_TEST(r.dtype_mismatches.size() == 1u);
  BOOST_TEST(r.unexpected.size() == 4u);
  std::remove(path.c_str());
}

namespace {
// Files in the working directory whose names start with `prefix` (leftover temp files).
std::vector<std::string> files_starting_with(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("."))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string g_seen_temp;       // the temp file the hook saw
std::string g_seen_temp_text;  // its contents at that moment
int fail_with_enospc(const std::string& temp_path) {
  g_seen_temp = temp_path;
  g_seen_temp_text = slurp(temp_path);
  return ENOSPC;  // "disk full" after the temp file is written, before the rename
}
}  // namespace

BOOST_AUTO_TEST_CASE(failed_save_leaves_the_previous_file_untouched) {
  Model a;
  const std::string path = temp_path("atomic");
  const std::string dir = temp_path("atomic_dir");
  for (const auto& prefix : {path, dir})  // leftovers of an earlier crashed run
    for (const auto& stale : files_starting_with(prefix)) std::filesystem::remove_all(stale);
  save(a.graph, path);
  const std::string good = slurp(path);
  BOOST_TEST(files_starting_with(path) == std::vector<std::string>{path}, tt::per_element());
  // A failure after the new file was completely written to the temp file, before the rename:
  a.graph.global_variables()[0].assign(fill({6, 3}, 7.0f));  // new contents differ from the saved file
  testing::set_before_rename_hook(&fail_with_enospc);
  try {
    save(a.graph, path);
    testing::set_before_rename_hook(nullptr);
    BOOST_FAIL("expected CheckpointError");
  } catch (const CheckpointError& e) {
    testing::set_before_rename_hook(nullptr);
    const std::string m = e.what();
    BOOST_TEST(m.find(std::strerror(ENOSPC)) != std::string::npos, m);
    BOOST_TEST(m.find("the previous file, if any, is untouched") != std::string::npos, m);
  }
  // The hook really ran after the write: the temp file held the whole new checkpoint.
  BOOST_TEST(g_seen_temp.rfind(path + ".tmp-", 0) == 0u, g_seen_temp);
  BOOST_TEST(g_seen_temp_text.size() > 100u);
  BOOST_TEST(g_seen_temp_text != good);
  BOOST_TEST(parse_checkpoint(g_seen_temp_text, "temp", true).size() == 6u);
  // The old file is intact, byte for byte, and still restores; no temp file is left behind.
  BOOST_TEST(slurp(path) == good);
  BOOST_TEST(read_checkpoint(path).size() == 6u);
  BOOST_TEST(files_starting_with(path) == std::vector<std::string>{path}, tt::per_element());
  // The same save without the fault replaces the file (so the failure above was the injected one).
  save(a.graph, path);
  BOOST_TEST(slurp(path) == g_seen_temp_text);
  BOOST_TEST(files_starting_with(path) == std::vector<std::string>{path}, tt::per_element());

  // A real rename failure (the target is a directory): the temp file is removed too.
  std::filesystem::create_directory(dir);
  BOOST_CHECK_THROW(save(a.graph, dir), CheckpointError);
  BOOST_TEST(std::filesystem::is_directory(dir));
  BOOST_TEST(files_starting_with(dir) == std::vector<std::string>{dir}, tt::per_element());
  std::filesystem::remove(dir);

  // Failures before any write leave the file alone too.
  BOOST_CHECK_THROW(save(a.graph, path, {.metadata_json = "[not an object"}), InvalidArgumentError);
  BOOST_TEST(slurp(path) == g_seen_temp_text);
  BOOST_CHECK_THROW(save(a.graph, "no_such_directory_xyz/ckpt.json"), CheckpointError);
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(each_bad_input_is_a_typed_error_naming_the_problem) {
  auto has = [](const std::string& m, const std::string& part) {
    BOOST_TEST_CONTEXT(m) { BOOST_TEST(m.find(part) != std::string::npos); }
  };
  has(error_of("{not json"), "is not valid JSON");
  has(error_of(R"({"format": "other", "version": 1, "variables": []})"), "\"format\" is \"other\"");
  has(error_of(R"({"format": "varscope-checkpoint", "version": 2, "variables": []})"), "format version 2 is not supported");
  has(error_of(header() + R"({"name": "w", "dtype": "float64", "shape": [1], "values": [1]}]})"),
      "variable \"w\" has unknown dtype \"float64\"");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [-2], "values": []}]})"),
      "variable \"w\" has negative dimension -2");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [4294967296, 4294967296], "values": []}]})"),
      "more than 2147483647 elements");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [2, 3], "values": [1, 2]}]})"),
      "has 2 values but shape [2, 3] needs 6");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [2], "data": "AAAAAA=="}]})"),
      "has 4 data bytes but shape [2] float32 needs 8");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [1], "data": "AAAA$A=="}]})"), "malformed base64");
  // Found by the fuzzer (fuzz/corpus/checkpoint_fuzz/regression_*): padding after padding, and data
  // for an empty shape, are typed errors (they once threw std::length_error / offset a null pointer).
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [2], "data": "AA==AA====AA"}]})"),
      "malformed base64");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [0], "data": "AAAAAAAA"}]})"),
      "has 6 data bytes but shape [0] float32 needs 0");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [2], "values": [1, NaN]}]})"), "is not valid JSON");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [1], "data": "AADAfw=="}]})"),
      "value at index 0 is NaN");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [1], "values": [1]},
                            {"name": "w", "dtype": "float32", "shape": [1], "values": [2]}]})"),
      "variable \"w\" appears more than once");
  has(error_of(header() + R"({"name": "w", "dtype": "float32", "shape": [1000, 1000], "values": []}]})",
               LoadLimits{.max_total_bytes = 1000}),
      "over the limit of 1000");
  // Found by the fuzzer: a number too large for a double is a CheckpointError, not a crash.
  has(error_of(R"({"format":"varscope-checkpoint","version":21111E1111111})"), "is not valid JSON");
  // Non-finite values are accepted when asked for.
  const auto ok = parse_checkpoint(header() + R"({"name": "w", "dtype": "float32", "shape": [1], "data": "AADAfw=="}]})",
                                   "t", true, {.allow_non_finite = true});
  BOOST_TEST(std::isnan(ok[0].value.data<float>()[0]));
  // int32 values are range-checked.
  has(error_of(header() + R"({"name": "i", "dtype": "int32", "shape": [1], "values": [3000000000]}]})"),
      "is not an int32");
}

BOOST_AUTO_TEST_CASE(native_file_restores_bit_exactly_and_saving_here_gives_the_same_bytes) {
  // The committed file was written natively (tools/gen-checkpoint-golden.cpp). In this build
  // (native or wasm) the same model restores from it bit-exactly, and saving the model here
  // gives byte-identical JSON: a file written in wasm is the file native writes and reads.
  const std::string native_path = temp_path("native_copy");
  write(native_path, kNativeCheckpoint);
  Graph made(33);
  {
    auto use = made.as_default();
    checkpoint_model::build();
  }
  Graph restored(999);
  {
    auto use = restored.as_default();
    checkpoint_model::build();
  }
  const auto a = made.global_variables(), b = restored.global_variables();
  // Another seed alone leaves constant-initialised variables (biases, global_step) equal, so a
  // restore that skipped them would pass: overwrite every variable with values the file lacks.
  overwrite_all(b);
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(!a[i].value().bitwise_equal(b[i].value()), a[i].name());
  const auto report = restore(restored, native_path);
  BOOST_TEST(report.matched.size() == 11u);  // embedding, encoder (4), decoder cell (4), out_layer, global_step
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i].value().bitwise_equal(b[i].value()), a[i].name());
  const std::string here = temp_path("written_here");
  save(restored, here, {.metadata_json = checkpoint_model::kMetadata});
  BOOST_TEST(slurp(here) == std::string(kNativeCheckpoint));
  std::remove(native_path.c_str());
  std::remove(here.c_str());
}

BOOST_AUTO_TEST_CASE(data_before_shape_restores_the_same_values_as_shape_first) {
  // The streaming reader decodes "data" straight into the tensor when dtype and shape
  // came first (save's order) and into blocks otherwise (files with sorted keys); both
  // paths, from a file and from memory, must give the same bits.
  const std::string sorted_path = temp_path("sorted_keys"), shape_first_path = temp_path("shape_first");
  write(sorted_path, kNativeCheckpointSortedKeys);
  write(shape_first_path, kNativeCheckpoint);
  const std::string sorted_text = kNativeCheckpointSortedKeys;
  BOOST_TEST(sorted_text.find("\"data\"") < sorted_text.find("\"shape\""));
  const auto a = read_checkpoint(sorted_path), b = read_checkpoint(shape_first_path);
  const auto c = parse_checkpoint(sorted_text, "memory", true);
  BOOST_TEST_REQUIRE(a.size() == 11u);
  BOOST_TEST_REQUIRE(b.size() == a.size());
  BOOST_TEST_REQUIRE(c.size() == a.size());
  Graph made(33);
  {
    auto use = made.as_default();
    checkpoint_model::build();
  }
  const auto want = made.global_variables();
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i].name == want[i].op_name());
    BOOST_TEST(a[i].value.bitwise_equal(want[i].value()), a[i].name);
    BOOST_TEST(b[i].value.bitwise_equal(want[i].value()), b[i].name);
    BOOST_TEST(c[i].value.bitwise_equal(want[i].value()), c[i].name);
  }
  BOOST_TEST(checkpoint_metadata(sorted_path) == checkpoint_metadata(shape_first_path));
  std::remove(sorted_path.c_str());
  std::remove(shape_first_path.c_str());
}

BOOST_AUTO_TEST_CASE(in_memory_save_and_restore_equal_the_file_ones) {
  Model a;
  const std::string path = temp_path("in_memory");
  save(a.graph, path, {.metadata_json = R"({"k":1})"});
  const std::string text = save_to_string(a.graph, {.metadata_json = R"({"k":1})"});
  BOOST_TEST(text == slurp(path));
  {
    Model shape_only;  // same names (and seed) in its own graph: zero it so only a restore can match
    for (const auto& v : shape_only.graph.global_variables()) v.assign(Tensor(v.dtype(), v.shape()));
    BOOST_TEST(!shape_only.values()[0].bitwise_equal(a.values()[0]));
    const auto report = restore_from_string(shape_only.graph, text);
    BOOST_TEST(report.applied);
    BOOST_TEST(report.matched.size() == a.graph.global_variables().size());
    const auto want = a.values(), got = shape_only.values();
    for (std::size_t i = 0; i < want.size(); ++i) BOOST_TEST(got[i].bitwise_equal(want[i]));
    // Errors name the source given.
    try {
      (void)restore_from_string(shape_only.graph, "{oops", {}, "(uploaded file)");
      BOOST_FAIL("no error");
    } catch (const CheckpointError& e) {
      BOOST_TEST(std::string(e.what()).find("checkpoint (uploaded file): is not valid JSON") != std::string::npos,
                 e.what());
    }
  }
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(streamed_data_crossing_read_blocks_and_escapes_decodes_exactly) {
  // A variable larger than the reader's 1 MiB block, so base64 quads straddle block
  // boundaries; and JSON escapes inside "data" ("\u0041" is 'A', "\/" is '/').
  const std::int64_t n = 400'000;  // 1.6 MB of float32, 2.1 MB of base64
  Graph g(5);
  std::vector<Tensor> want;
  const std::string path = temp_path("big");
  {
    auto use = g.as_default();
    (void)Variable(random_normal({n}), "big");
    (void)Variable(random_normal({3, 7}), "small");
    save(g, path);
  }
  const auto got = read_checkpoint(path);
  BOOST_TEST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0].value.bitwise_equal(g.global_variables()[0].value()));
  BOOST_TEST(got[1].value.bitwise_equal(g.global_variables()[1].value()));
  const auto listed = list_variables(path);
  BOOST_TEST(listed[0].name == "big");
  BOOST_TEST(listed[0].shape == Shape({n}));
  // [1.0f, 2.0f] is AACAPwAAAEA=; spell some of it with escapes.
  const auto e = parse_checkpoint(header() + R"({"name": "w", "dtype": "float32", "shape": [2], "data": "\u0041ACAPw\u0041AAEA="}]})",
                                  "escaped", true);
  BOOST_TEST(e[0].value.data<float>()[0] == 1.0f);
  BOOST_TEST(e[0].value.data<float>()[1] == 2.0f);
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(seq2seq_saved_under_decoder_restores_under_another_scope_and_decodes_identically) {
  // Encoder + beam-search decoder in the current scope (creating or reusing by its reuse mode).
  auto decode = [](const Variable& embedding) {
    GRUCell encoder_cell(4, "cell");
    const Tensor ids(Shape{2, 5}, std::vector<std::int32_t>{1, 2, 3, 4, 5, 5, 4, 3, 2, 1});
    const Tensor state =
        dynamic_rnn(encoder_cell, embedding_lookup(embedding.value(), ids), {.scope = "encoder"}).final_state;
    auto scope = variable_scope("decoder");
    GRUCell cell(4, "cell");
    Dense out(6, {.use_bias = false, .name = "out_layer"});
    BeamSearchDecoder beam(cell, embedding.value(), Tensor(Shape{2}, std::vector<std::int32_t>{0, 0}), 1,
                           tile_batch(state, 3), 3, out);
    return dynamic_decode(beam, {.maximum_iterations = 6});
  };
  const std::string path = temp_path("seq2seq");
  Graph original(33);
  BeamSearchResult x;
  {
    auto use = original.as_default();
    const auto embedding = Variable(random_uniform({6, 3}, -1.0f, 1.0f), "embedding");
    x = decode(embedding);
    save(original, path);
  }
  BOOST_TEST(original.global_variables().size() == 10u);
  BOOST_TEST(original.global_variables()[5].op_name() == "decoder/decoder/cell/gates/kernel");
  Graph moved(77);  // another seed: different weights until restored
  auto use = moved.as_default();
  Variable embedding = [&] {
    auto outer = variable_scope("outer");
    auto e = Variable(random_uniform({6, 3}, -1.0f, 1.0f), "embedding");
    (void)decode(e);  // creates outer/encoder/..., outer/decoder/decoder/...
    return e;
  }();
  BOOST_TEST(embedding.op_name() == "outer/embedding");
  const auto report = restore(moved, path, {.prefix_map = {{"embedding", "outer/embedding"},
                                                          {"encoder/", "outer/encoder/"},
                                                          {"decoder/", "outer/decoder/"}}});
  BOOST_TEST(report.clean(), report.summary());
  auto outer = variable_scope("outer", {.reuse = Reuse::True});
  const auto y = decode(embedding);
  BOOST_TEST(x.predicted_ids.bitwise_equal(y.predicted_ids));
  BOOST_TEST(x.final_log_probs.bitwise_equal(y.final_log_probs));
  BOOST_TEST(moved.global_variables().size() == 10u);
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(pytorch_state_dict_converted_to_json_gives_pytorchs_outputs) {
  // tools/torch_interop.py converted a seeded nn.Embedding + nn.GRU + nn.Linear to JSON
  // and recorded PyTorch's outputs; restored here (strict), varscope reproduces them.
  // 1e-6 relative: the GRU bound of numerics_test.cpp (float32 GRU + Linear vs PyTorch's
  // float32 nn.GRU / nn.Linear; measured ~6e-8).
  BOOST_TEST(torch_case::run(kTorchRoundtrip, temp_path("torch")) < 1e-6);
}

BOOST_AUTO_TEST_CASE(pytorch_lstm_converted_to_tf_layout_gives_pytorchs_outputs) {
  // tools/torch_interop.py --lstm converted seeded nn.LSTMs (2 layers with forget_bias 0.5,
  // LSTMCell 2 layers + projection, bidirectional; ragged lengths, random initial states) to
  // TF-layout checkpoints and recorded PyTorch's outputs and final (c, h); restored (strict)
  // into BasicLSTMCell / LSTMCell / MultiRNNCell / bidirectional_dynamic_rnn, varscope
  // reproduces them. The live two-way test is torch_lstm_live_roundtrip. Measured ~1.2e-7.
  const auto golden = nlohmann::json::parse(kTorchLstmRoundtrip);
  BOOST_TEST(golden.at("cases").size() == 3u);
  for (const auto& c : golden.at("cases")) {
    const double worst = lstm_case::max_abs_diff(lstm_case::run(c), c.at("want"));
    BOOST_TEST_MESSAGE(c.at("name").get<std::string>() << ": max abs diff " << worst);
    BOOST_TEST(worst < 1e-5, c.at("name").get<std::string>() << ": max abs diff " << worst);
  }
}
