// A command's settings from a TOML file: every option of a CLI11 command is a key, derived from
// the option itself (its first long name without the dashes, else its short name, else its
// positional name in lower case), so a flag added to the command is a key with no more code.
// Flags on the command line win over the file. Unknown keys are errors naming the key and line.
// It does not know what any option means: `serve` and `service install` share it.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace snug::cli {

// The key of `option` ("api-key" for --api-key, "threads" for -t,--threads, "model" for MODEL).
std::string ConfigKey(const CLI::Option& option);

// The options of `command` that a file can set: all but --help and those marked
// `configurable(false)` (--config, --print-config, a service's own flags).
std::vector<const CLI::Option*> ConfigurableOptions(const CLI::App& command);

class CommandConfig {
 public:
  // Adds `--config FILE` and `--print-config` to `command`, and keeps the text each option was
  // given as (before CLI11's transforms turn "q8_0" into an enum's number) so that what is
  // printed reads like what was typed. Call once, when the command is created.
  static std::shared_ptr<CommandConfig> Attach(CLI::App& command);

  // In the command's callback: sets every option the command line left unset from the file
  // given with --config (none: nothing to do), running the option's checks. Errors name the
  // file, the line and the key.
  Status Apply();
  // Sets options from TOML text (what Apply does with the file's contents); `source` names it
  // in errors.
  Status ApplyText(const std::string& text, const std::string& source);

  bool print_requested() const { return print_; }
  const std::string& path() const { return path_; }

  // The settings as TOML that --config accepts: every option that has a value (given, from
  // the file, or a default), the others as comments. With `defaults` false, only the options
  // that were given (on the command line or in the file). `replace` gives some keys other
  // values (an empty list leaves the key out).
  std::string Render(bool defaults,
                     const std::map<std::string, std::vector<std::string>>& replace = {}) const;
  // The value an option was given as (its last one for a single-valued option), or empty.
  std::vector<std::string> GivenValues(const std::string& key) const;

 private:
  explicit CommandConfig(CLI::App& command) : command_(command) {}
  void Capture(CLI::Option& option);

  CLI::App& command_;
  std::string path_;
  bool print_ = false;
  // Option name -> the texts it was given, in order, before any transform.
  std::shared_ptr<std::vector<std::pair<const CLI::Option*, std::string>>> raw_ =
      std::make_shared<std::vector<std::pair<const CLI::Option*, std::string>>>();
};

}  // namespace snug::cli
