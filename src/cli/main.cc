// snug: run the biggest open model that fits on a small machine, and serve it.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"snug: a memory-safe LLM inference server", "snug"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  int exit_code = 0;
  snug::cli::AddBenchCommand(app, exit_code);
  snug::cli::AddInspectCommand(app, exit_code);
  snug::cli::AddMakeModelCommand(app, exit_code);
  snug::cli::AddPlanCommand(app, exit_code);
  snug::cli::AddRunCommand(app, exit_code);
  snug::cli::AddServeCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version print and exit 0; every usage error exits 2, as tools do.
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
