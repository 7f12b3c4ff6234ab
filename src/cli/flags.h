// Flag pieces several commands share, with errors in the user's words: the model as a
// positional or as `-m/--model` (llama-server's habit), numbers with a readable range, sizes that
// must carry a unit, the KV type by name, llama-server's `-ngl` (accepted; this build computes on
// the CPU), and llama-server's single-dash long flags (`-np`, `-ngl`) rewritten before parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "kv/kv_cache.h"

namespace snug::cli {

// MODEL (positional) or -m/--model FILE.
struct ModelArgument {
  std::string positional;
  std::string flag;
};
void AddModelArgument(CLI::App& command, ModelArgument& model);
// In the command's callback: the model's path. With -m, the first positional argument was not
// the model but the next one (`snug run -m FILE PROMPT`): it moves to `*next` when given.
// Throws CLI::RequiredError when no model was named, CLI::ValidationError for two.
std::string ResolveModel(const ModelArgument& model, std::string* next = nullptr);

// "must be at least 0 (0 = greedy)": `note` is appended in parentheses when not empty.
CLI::Validator AtLeast(double min, const std::string& note = "");
// "must be between 1 and 256".
CLI::Validator Between(double min, double max, const std::string& note = "");
// A byte size with its unit ("16GiB", "800MiB"): a bare number is refused, because `--memory 16`
// is far more often 16 GiB forgotten than 16 bytes meant.
CLI::Validator SizeWithUnit();

// --kv-type f16|q8_0|q4_0, naming the choices when the value is not one of them.
void AddKvTypeOption(CLI::App& command, KvType& type);

// --mlock: lock the model's weights in RAM (llama-server's flag of the same name).
void AddMlockFlag(CLI::App& command, bool& mlock);

// -ngl/--n-gpu-layers N: accepted so llama-server command lines work; warns that it has no
// effect (this build computes on the CPU).
void AddGpuLayersOption(CLI::App& command);

// -v/--verbose: errors in full (every missing tensor of a model), not only their first line.
void AddVerboseFlag(CLI::App& command, bool& verbose);
// "snug COMMAND: MESSAGE" on stderr. A message of several lines (a summary, then details) is
// printed as its first line, with a note that --verbose shows the rest, unless `verbose`.
void PrintError(const std::string& command, const Status& status, bool verbose);

// llama-server's single-dash long flags as snug's long ones: -np → --parallel,
// -ngl → --n-gpu-layers (CLI11 allows only one letter after a single dash).
std::vector<std::string> TranslateLlamaFlags(int argc, char** argv);

}  // namespace snug::cli
