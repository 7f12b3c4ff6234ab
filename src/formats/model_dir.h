// A Hugging Face / MLX model directory: config.json (text_config inside it for multimodal
// wrappers), the safetensors weights (one file or shards with model.safetensors.index.json),
// tokenizer.json, tokenizer_config.json and the optional chat_template.jinja and
// generation_config.json. Opening one maps the weights (only their headers are read) and parses
// the JSON files; what the files mean per architecture is models/' business.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "formats/safetensors.h"

namespace snug {

// JSON files of a model directory are small; anything past this is not one.
inline constexpr uint64_t kMaxModelJsonBytes = 64ull << 20;

// The whole file as text, refused past `max_bytes` (hostile or wrong files).
Result<std::string> ReadTextFile(const std::string& path, uint64_t max_bytes);
// A JSON object from a file; errors name the file.
Result<nlohmann::json> ReadJsonObject(const std::string& path, uint64_t max_bytes);

bool IsModelDirectory(const std::string& path);  // a directory holding config.json

struct ModelDirectory {
  std::string path;
  nlohmann::json config;  // config.json
  safetensors::ShardedWeights weights;
  std::optional<std::string> tokenizer_json;       // paths of the files that exist
  std::optional<std::string> tokenizer_config_json;
  std::optional<std::string> chat_template;        // chat_template.jinja
  std::optional<std::string> generation_config_json;

  static Result<ModelDirectory> Open(const std::string& path);

  // The text model's hyperparameters: config.json's "text_config" when it has one (Gemma 3/4
  // multimodal wrappers), else config.json itself.
  const nlohmann::json& text_config() const;
  // config.json's "model_type" ("gemma3", "gpt_oss", ...), "" when absent.
  std::string model_type() const;
};

}  // namespace snug
