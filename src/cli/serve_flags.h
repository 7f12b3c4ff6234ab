// `snug serve`'s flags, defined in one place (serve.cc) so that every command that needs them
// registers the same ones: `snug service install` takes them to write the service's config file,
// and the config file's keys are derived from them (config_file.h).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace snug::cli {

struct ServeOptions;  // serve.cc

// Adds every serve flag (and the MODEL positional) to `command`; the values land in the
// returned options.
std::shared_ptr<ServeOptions> AddServeFlags(CLI::App& command);

}  // namespace snug::cli
