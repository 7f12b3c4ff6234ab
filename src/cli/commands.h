// The subcommands of `snug`. Each file adds one to the app; its callback stores the exit code.
// Commands are thin: parse flags, call the libraries, print.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>

#include "base/status.h"

namespace snug::cli {

void AddBenchCommand(CLI::App& app, int& exit_code);
void AddConvertCommand(CLI::App& app, int& exit_code);
void AddInspectCommand(CLI::App& app, int& exit_code);
void AddMakeModelCommand(CLI::App& app, int& exit_code);
void AddPlanCommand(CLI::App& app, int& exit_code);
void AddPullCommand(CLI::App& app, int& exit_code);
void AddRunCommand(CLI::App& app, int& exit_code);
void AddServeCommand(CLI::App& app, int& exit_code);
void AddTokenizeCommand(CLI::App& app, int& exit_code);
void AddServiceCommand(CLI::App& app, int& exit_code);

// A command's exit code for the status it ended with: 0, or 1 with the message on stderr.
inline int ExitCode(const Status& status) {
  if (status.ok()) return 0;
  std::cerr << status.message() << "\n";
  return 1;
}

}  // namespace snug::cli
