// The CLI's subcommands: each cmd_<name>.cpp adds one subcommand (its options and
// help) to the app and returns how to run it; main.cpp registers them all, parses
// and runs the one that was given. Exit codes are main's (see main.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace varscope_cli {

/// A registered subcommand: its CLI11 app and its action (returns the exit code).
/// The action runs only when `app->parsed()`; it reads the options it captured.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_tour(CLI::App& app);    // cmd_tour.cpp
Command add_ckpt(CLI::App& app);    // cmd_ckpt.cpp: ls, diff, remap
Command add_train(CLI::App& app);   // cmd_train.cpp
Command add_decode(CLI::App& app);  // cmd_decode.cpp
Command add_eval(CLI::App& app);    // cmd_eval.cpp
Command add_dev(CLI::App& app);     // cmd_dev.cpp: hidden developer tools (dump-batches)

/// Every subcommand, in --help order.
inline std::vector<Command> add_all(CLI::App& app) {
  return {add_tour(app), add_ckpt(app), add_train(app), add_decode(app), add_eval(app), add_dev(app)};
}

}  // namespace varscope_cli
