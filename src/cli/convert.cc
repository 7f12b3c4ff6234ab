// `snug convert SRC -o OUT.gguf --type T`: any model snug loads (a GGUF file, a Hugging Face /
// MLX directory, ORG/NAME from the cache) written as GGUF (models/hf_export.h ConvertToGguf):
// MLX weights dequantized to f32 (specs/models.md §1.3) and stored as T. The bridge to the
// llama.cpp reference, which reads the output as it reads its own conversions.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "models/hf_export.h"
#include "models/hf_import.h"
#include "models/model.h"

namespace snug::cli {
namespace {

struct ConvertOptions {
  std::string source;
  std::string output;
  std::string type = "f16";
};

Status Convert(const ConvertOptions& options) {
  const std::optional<DType> type = DTypeFromName(options.type);
  if (!type) return InvalidArgument("convert: unknown --type '" + options.type + "'");
  ASSIGN_OR_RETURN(const gguf::File file, OpenModelSource(options.source));
  RETURN_IF_ERROR(CheckRunnableTypes(file));
  return ConvertToGguf(file, *type, options.output);
}

}  // namespace

void AddConvertCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ConvertOptions>();
  CLI::App* command = app.add_subcommand(
      "convert", "Write a model (GGUF, Hugging Face / MLX directory, ORG/NAME) as a GGUF file");
  command->add_option("source", options->source, "The model: FILE.gguf, DIR or ORG/NAME[@REV]")
      ->required();
  command->add_option("-o,--output", options->output, "GGUF file to write")->required();
  command->add_option("--type", options->type,
                      "Type of the weight matrices: f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k ... "
                      "(default f16; vectors and biases stay f32)");
  command->callback([options, &exit_code] {
    exit_code = ExitCode(Convert(*options));
  });
}

}  // namespace snug::cli
