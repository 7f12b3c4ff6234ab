// snug: run the biggest open model that fits on a small machine, and serve it.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/flags.h"

#ifndef SNUG_VERSION
#define SNUG_VERSION "unknown"
#endif

namespace {

std::string CommandList(CLI::App& app) {
  std::string list;
  for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    char line[160];
    std::snprintf(line, sizeof(line), "  %-12s %s\n", command->get_name().c_str(),
                  command->get_description().c_str());
    list += line;
  }
  return list;
}

bool IsCommand(CLI::App& app, const std::string& name) {
  for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    if (command->get_name() == name) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"snug: a memory-safe LLM inference server", "snug"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag("--version", std::string("snug ") + SNUG_VERSION);
  int exit_code = 0;
  snug::cli::AddBenchCommand(app, exit_code);
  snug::cli::AddConvertCommand(app, exit_code);
  snug::cli::AddInspectCommand(app, exit_code);
  snug::cli::AddMakeModelCommand(app, exit_code);
  snug::cli::AddPlanCommand(app, exit_code);
  snug::cli::AddPullCommand(app, exit_code);
  snug::cli::AddRunCommand(app, exit_code);
  snug::cli::AddServeCommand(app, exit_code);
  snug::cli::AddServiceCommand(app, exit_code);
  snug::cli::AddTokenizeCommand(app, exit_code);
  app.add_subcommand("version", "Print snug's version")->callback([] {
    std::printf("snug %s\n", SNUG_VERSION);
  });

  // `snug` alone, or a first word that is no command: say so and list the commands (CLI11 would
  // only say "A subcommand is required").
  if (argc < 2) {
    std::fprintf(stderr, "usage: snug COMMAND [ARGS]  (snug COMMAND --help for its flags)\n\n%s",
                 CommandList(app).c_str());
    return 2;
  }
  const std::string first = argv[1];
  if (first.empty() || (first[0] != '-' && !IsCommand(app, first))) {
    std::fprintf(stderr, "snug: unknown command '%s'. The commands are:\n%s", first.c_str(),
                 CommandList(app).c_str());
    return 2;
  }

  // llama-server's -np and -ngl become --parallel and --n-gpu-layers.
  std::vector<std::string> args = snug::cli::TranslateLlamaFlags(argc, argv);
  std::vector<char*> pointers;
  for (std::string& arg : args) pointers.push_back(arg.data());
  try {
    app.parse(static_cast<int>(pointers.size()), pointers.data());
  } catch (const CLI::ParseError& error) {
    // --help and --version print and exit 0; every usage error exits 2, as tools do.
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
