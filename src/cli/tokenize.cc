// `snug tokenize MODEL TEXT [--json]`: the token ids (and their pieces) the model's tokenizer
// makes of TEXT, read from the file's metadata only (no weights are loaded) — to debug prompts.
// The options mean what POST /tokenize's fields mean (llama-server's shape).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "formats/gguf.h"
#include "models/hf_import.h"
#include "tokenizer/tokenizer.h"

namespace snug::cli {
namespace {

struct TokenizeOptions {
  ModelArgument model;
  std::string model_path;  // resolved from `model`
  std::string text;
  bool json = false;
  bool add_special = false;    // BOS when the vocabulary asks for it
  bool no_parse_special = false;  // control tokens written in the text stay text
};

int Tokenize(const TokenizeOptions& options) {
  auto file = OpenModelSource(options.model_path);
  if (!file.ok()) {
    std::fprintf(stderr, "snug tokenize: %s\n", file.status().message().c_str());
    return 1;
  }
  auto tokenizer = tokenizer::Tokenizer::FromGguf(*file);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "snug tokenize: %s\n", tokenizer.status().message().c_str());
    return 1;
  }
  const std::vector<int32_t> ids = tokenizer->Encode(
      options.text, {.add_bos = options.add_special, .parse_special = !options.no_parse_special});
  const tokenizer::DecodeOptions render{.render_special = true};
  if (options.json) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const int32_t id : ids) {
      tokens.push_back({{"id", id}, {"piece", tokenizer->TokenBytes(id, render)}});
    }
    const nlohmann::json out = {{"tokens", tokens}, {"count", ids.size()}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  for (const int32_t id : ids) {
    // The piece as JSON string text: escapes make spaces, newlines and bytes visible.
    const nlohmann::json piece = tokenizer->TokenBytes(id, render);
    std::printf("%6d  %s\n", id,
                piece.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
  std::fprintf(stderr, "%zu tokens\n", ids.size());
  return 0;
}

}  // namespace

void AddTokenizeCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* command =
      app.add_subcommand("tokenize", "Show the tokens a model's tokenizer makes of a text");
  AddModelArgument(*command, options->model);
  command->add_option("TEXT", options->text, "The text (as the model would see it)");
  command->add_flag("--json", options->json, "One JSON object: tokens with their pieces");
  command->add_flag("--add-special", options->add_special,
                    "Add BOS when the vocabulary asks for it (as POST /tokenize's add_special)");
  command->add_flag("--no-parse-special", options->no_parse_special,
                    "Control tokens written in TEXT stay plain text");
  command->callback([options, &exit_code] {
    options->model_path = ResolveModel(options->model, &options->text);
    if (options->text.empty()) throw CLI::RequiredError("TEXT");
    exit_code = Tokenize(*options);
  });
}

}  // namespace snug::cli
