// `varscope` — the command line:
//   varscope tour [--section ID] [--list]     the article's examples in C++ (the main job)
//   varscope ckpt ls FILE                      names, dtypes, shapes of a JSON checkpoint
//   varscope ckpt diff A B                     names, shapes and max |a - b| between two checkpoints
//   varscope ckpt remap FILE --prefix old/=new/ [--rename '*/weights=*/kernel'] -o OUT
// Exit codes: 0 success, 1 a library error (or `diff` found differences), 2 bad usage.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

import varscope;
import varscope.article;

int main(int argc, char** argv) {
  CLI::App app{"varscope: TensorFlow 1.x variable_scope weight sharing in C++"};
  app.require_subcommand(1);

  std::string section;
  bool list = false;
  auto* tour = app.add_subcommand("tour", "Run the article's code blocks in C++ and print their output");
  tour->add_option("--section", section, "Run only this section (see --list)");
  tour->add_flag("--list", list, "List the sections and exit");

  auto* ckpt = app.add_subcommand("ckpt", "Inspect and convert JSON checkpoints");
  ckpt->require_subcommand(1);
  std::string file, other, out;
  std::vector<std::string> prefixes, renames;
  auto* ls = ckpt->add_subcommand("ls", "List variables (sorted name, dtype, shape)");
  ls->add_option("FILE", file, "Checkpoint")->required()->check(CLI::ExistingFile);
  auto* diff = ckpt->add_subcommand("diff", "Compare two checkpoints: names, shapes, max abs difference");
  diff->add_option("A", file, "First checkpoint")->required()->check(CLI::ExistingFile);
  diff->add_option("B", other, "Second checkpoint")->required()->check(CLI::ExistingFile);
  auto* remap = ckpt->add_subcommand("remap", "Rewrite variable names (prefix map, rename rules) into a new file");
  remap->add_option("FILE", file, "Checkpoint")->required()->check(CLI::ExistingFile);
  remap->add_option("--prefix", prefixes, "OLD=NEW name prefix rewrite (repeatable, first match wins)");
  remap->add_option("--rename", renames, "FROM=TO rule, '*' matches any prefix (repeatable)");
  remap->add_option("-o,--output", out, "Output checkpoint")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help prints and succeeds; usage errors are 2
  }

  try {
    if (tour->parsed()) {
      if (list) {
        for (const auto& s : varscope::article::sections()) fmt::print("{:28} {}\n", s.id, s.title);
        for (const auto& s : varscope::article::beyond_sections()) fmt::print("{:28} {}\n", s.id, s.title);
        return 0;
      }
      varscope::article::run_tour(std::cout, section);
    }
    if (ls->parsed()) {
      const auto entries = varscope::list_variables(file);
      for (const auto& e : entries)
        fmt::print("{:<48} {:<8} {}\n", e.name, varscope::dtype_name(e.dtype), e.shape.to_string());
      fmt::print("{} variables\n", entries.size());
    }
    if (diff->parsed()) {
      const auto a = varscope::read_checkpoint(file), b = varscope::read_checkpoint(other);
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
    if (remap->parsed()) {
      varscope::RestoreOptions options;
      auto split = [](const std::string& rule, const char* what) {
        const auto eq = rule.find('=');
        if (eq == std::string::npos)
          throw std::invalid_argument(std::string(what) + " \"" + rule + "\" needs the form FROM=TO");
        return std::pair{rule.substr(0, eq), rule.substr(eq + 1)};
      };
      for (const auto& p : prefixes) options.prefix_map.push_back(split(p, "--prefix"));
      for (const auto& r : renames) {
        auto [from, to] = split(r, "--rename");
        options.renames.push_back({from, to});
      }
      auto entries = varscope::read_checkpoint(file);
      for (auto& e : entries) {
        const std::string renamed = varscope::remap_name(e.name, options);
        if (renamed != e.name) fmt::print("{} -> {}\n", e.name, renamed);
        e.name = renamed;
      }
      varscope::write_checkpoint(entries, out, {.metadata_json = varscope::checkpoint_metadata(file)});
      fmt::print("wrote {} variables to {}\n", entries.size(), out);
    }
    return 0;
  } catch (const varscope::Error& e) {
    fmt::print(stderr, "varscope: {}: {}\n", e.kind(), e.what());
    return 1;
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "varscope: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "varscope: error: {}\n", e.what());
    return 1;
  }
}
