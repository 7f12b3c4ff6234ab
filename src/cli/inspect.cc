// `snug inspect FILE [--json]`: prints what a GGUF file holds (formats/gguf_summary.h).
// Exit 1 with the Status message when the file cannot be read.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "formats/gguf.h"
#include "formats/gguf_summary.h"

namespace snug::cli {

void AddInspectCommand(CLI::App& app, int& exit_code) {
  struct Options {
    std::string path;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "inspect", "Show a GGUF file: architecture, hyper-parameters, tokenizer, tensors");
  command->add_option("file", options->path, "GGUF file")->required();
  command->add_flag("--json", options->json, "Print one JSON object instead of text");
  command->callback([options, &exit_code] {
    const Result<gguf::File> file = gguf::File::Open(options->path);
    if (!file.ok()) {
      std::cerr << file.status().message() << "\n";
      exit_code = 1;
      return;
    }
    const gguf::Summary summary = gguf::Summarize(*file, options->path);
    if (options->json) {
      // Strings come from the file: invalid UTF-8 is replaced rather than thrown on.
      std::cout << gguf::ToJson(summary).dump(2, ' ', false,
                                              nlohmann::ordered_json::error_handler_t::replace)
                << "\n";
    } else {
      std::cout << gguf::FormatText(summary);
    }
    exit_code = 0;
  });
}

}  // namespace snug::cli
