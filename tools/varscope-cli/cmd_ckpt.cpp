// `varscope ckpt ls|diff|remap`: inspect and convert JSON checkpoints.
//   ls FILE                                     names, dtypes, shapes
//   diff A B                                    names, shapes and max |a - b| (exit 1 when they differ)
//   remap FILE --prefix old/=new/ [--rename '*/weights=*/kernel'] -o OUT
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"

import varscope;

namespace varscope_cli {

namespace {

struct CkptArgs {
  std::string file, other, out;
  std::vector<std::string> prefixes, renames;
};

int run_ls(const CkptArgs& a) {
  const auto entries = varscope::list_variables(a.file);
  for (const auto& e : entries)
    fmt::print("{:<48} {:<8} {}\n", e.name, varscope::dtype_name(e.dtype), e.shape.to_string());
  fmt::print("{} variables\n", entries.size());
  return 0;
}

int run_diff(const CkptArgs& args) {
  const auto a = varscope::read_checkpoint(args.file), b = varscope::read_checkpoint(args.other);
  std::map<std::string, const varscope::CheckpointEntry*> in_b;
  for (const auto& e : b) in_b[e.name] = &e;
  int differences = 0;
  for (const auto& e : a) {
    auto it = in_b.find(e.name);
    if (it == in_b.end()) {
      fmt::print("only in A: {}\n", e.name);
      ++differences;
      continue;
    }
    const auto& f = *it->second;
    in_b.erase(it);
    if (e.dtype != f.dtype || e.shape != f.shape) {
      fmt::print("differs:   {} {} {} vs {} {}\n", e.name, varscope::dtype_name(e.dtype), e.shape.to_string(),
                 varscope::dtype_name(f.dtype), f.shape.to_string());
      ++differences;
      continue;
    }
    double worst = 0;
    for (std::int64_t i = 0; i < e.value.size(); ++i) {
      const double x = e.dtype == varscope::DType::float32 ? e.value.data<float>()[i] : e.value.data<std::int32_t>()[i];
      const double y = f.dtype == varscope::DType::float32 ? f.value.data<float>()[i] : f.value.data<std::int32_t>()[i];
      worst = std::max(worst, std::abs(x - y));
    }
    if (worst > 0) ++differences;
    fmt::print("same name: {} {} max|a-b| = {:g}\n", e.name, e.shape.to_string(), worst);
  }
  for (const auto& [name, e] : in_b) {
    fmt::print("only in B: {}\n", name);
    ++differences;
  }
  fmt::print("{} difference(s)\n", differences);
  return differences == 0 ? 0 : 1;
}

// A malformed rule is std::invalid_argument: main exits 2 (bad usage).
std::pair<std::string, std::string> split_rule(const std::string& rule, const char* what) {
  const auto eq = rule.find('=');
  if (eq == std::string::npos) throw std::invalid_argument(std::string(what) + " \"" + rule + "\" needs the form FROM=TO");
  return {rule.substr(0, eq), rule.substr(eq + 1)};
}

int run_remap(const CkptArgs& a) {
  varscope::RestoreOptions options;
  for (const auto& p : a.prefixes) options.prefix_map.push_back(split_rule(p, "--prefix"));
  for (const auto& r : a.renames) {
    auto [from, to] = split_rule(r, "--rename");
    options.renames.push_back({from, to});
  }
  auto entries = varscope::read_checkpoint(a.file);
  for (auto& e : entries) {
    const std::string renamed = varscope::remap_name(e.name, options);
    if (renamed != e.name) fmt::print("{} -> {}\n", e.name, renamed);
    e.name = renamed;
  }
  varscope::write_checkpoint(entries, a.out, {.metadata_json = varscope::checkpoint_metadata(a.file)});
  fmt::print("wrote {} variables to {}\n", entries.size(), a.out);
  return 0;
}

}  // namespace

Command add_ckpt(CLI::App& app) {
  auto args = std::make_shared<CkptArgs>();
  auto* ckpt = app.add_subcommand("ckpt", "Inspect and convert JSON checkpoints");
  ckpt->require_subcommand(1);
  auto* ls = ckpt->add_subcommand("ls", "List variables (sorted name, dtype, shape)");
  ls->add_option("FILE", args->file, "Checkpoint")->required()->check(CLI::ExistingFile);
  auto* diff = ckpt->add_subcommand("diff", "Compare two checkpoints: names, shapes, max abs difference");
  diff->add_option("A", args->file, "First checkpoint")->required()->check(CLI::ExistingFile);
  diff->add_option("B", args->other, "Second checkpoint")->required()->check(CLI::ExistingFile);
  auto* remap = ckpt->add_subcommand("remap", "Rewrite variable names (prefix map, rename rules) into a new file");
  remap->add_option("FILE", args->file, "Checkpoint")->required()->check(CLI::ExistingFile);
  remap->add_option("--prefix", args->prefixes, "OLD=NEW name prefix rewrite (repeatable, first match wins)");
  remap->add_option("--rename", args->renames, "FROM=TO rule, '*' matches any prefix (repeatable)");
  remap->add_option("-o,--output", args->out, "Output checkpoint")->required();
  return {ckpt, [args, ls, diff, remap] {
            if (ls->parsed()) return run_ls(*args);
            if (diff->parsed()) return run_diff(*args);
            if (remap->parsed()) return run_remap(*args);
            return 2;  // not reached: require_subcommand(1) makes a bare `ckpt` a usage error
          }};
}

}  // namespace varscope_cli
