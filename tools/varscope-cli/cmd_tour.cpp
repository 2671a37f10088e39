// `varscope tour [--section ID] [--list]`: the article's code blocks in C++ and their output.
#include <fmt/core.h>

#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"

import varscope.article;

namespace varscope_cli {

namespace {
struct TourArgs {
  std::string section;
  bool list = false;
};
}  // namespace

Command add_tour(CLI::App& app) {
  auto args = std::make_shared<TourArgs>();
  auto* tour = app.add_subcommand("tour", "Run the article's code blocks in C++ and print their output");
  tour->add_option("--section", args->section, "Run only this section (see --list)");
  tour->add_flag("--list", args->list, "List the sections and exit");
  return {tour, [args] {
            if (args->list) {
              for (const auto& s : varscope::article::sections()) fmt::print("{:28} {}\n", s.id, s.title);
              for (const auto& s : varscope::article::beyond_sections()) fmt::print("{:28} {}\n", s.id, s.title);
              return 0;
            }
            varscope::article::run_tour(std::cout, args->section);
            return 0;
          }};
}

}  // namespace varscope_cli
