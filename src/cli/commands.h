// The subcommands of `snug`. Each file adds one to the app; its callback stores the exit code.
// Commands are thin: parse flags, call the libraries, print.
#pragma once

#include <CLI/CLI.hpp>

namespace snug::cli {

void AddBenchCommand(CLI::App& app, int& exit_code);
void AddInspectCommand(CLI::App& app, int& exit_code);
void AddMakeModelCommand(CLI::App& app, int& exit_code);
void AddPlanCommand(CLI::App& app, int& exit_code);
void AddRunCommand(CLI::App& app, int& exit_code);
void AddServeCommand(CLI::App& app, int& exit_code);

}  // namespace snug::cli
