// `varscope` — the command line: `varscope tour` runs the article's examples in
// C++ and prints their output (the project's main job).
// Exit codes: 0 success, 1 a library error, 2 bad command-line usage.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <exception>
#include <iostream>
#include <string>

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help prints and succeeds; usage errors are 2
  }

  try {
    if (tour->parsed()) {
      if (list) {
        for (const auto& s : varscope::article::sections()) fmt::print("{:28} {}\n", s.id, s.title);
        return 0;
      }
      varscope::article::run_tour(std::cout, section);
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
