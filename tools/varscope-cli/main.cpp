// `varscope` — the command line. One file per subcommand (cmd_<name>.cpp, registered
// through commands.hpp); this file parses and maps outcomes to exit codes:
//   varscope tour [--section ID] [--list]     the article's examples in C++ (the main job)
//   varscope ckpt ls|diff|remap ...            inspect and convert JSON checkpoints
//   varscope train --task dates ...            train the date model (article's or tensorflow/nmt's)
//   varscope decode [--beam K | --sample ...]  normalise dates with a checkpoint
//   varscope eval --task dates ...             accuracy on the test split
// Without --checkpoint, decode and eval use models/dates.json as embedded at build time.
// Exit codes: 0 success, 1 a library error (or `diff` found differences), 2 bad usage,
// 130 training interrupted by Ctrl-C (a resumable checkpoint was saved).
#include <fmt/core.h>

#include <exception>
#include <stdexcept>

#include "commands.hpp"

import varscope;

int main(int argc, char** argv) {
  CLI::App app{"varscope: TensorFlow 1.x variable_scope weight sharing in C++"};
  app.require_subcommand(1);
  const auto commands = varscope_cli::add_all(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help prints and succeeds; usage errors are 2
  }

  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
    return 2;  // not reached: require_subcommand(1)
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
