// snug: run the biggest open model that fits on a small machine, and serve it.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"snug: a memory-safe LLM inference server", "snug"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  int exit_code = 0;
  snug::cli::AddInspectCommand(app, exit_code);
  snug::cli::AddMakeModelCommand(app, exit_code);
  snug::cli::AddRunCommand(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
