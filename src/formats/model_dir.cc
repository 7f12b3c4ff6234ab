// Opens a model directory: the JSON files parsed, the weights mapped (see model_dir.h).
#include "formats/model_dir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace snug {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> Existing(const std::string& dir, const char* name) {
  std::error_code error;
  const std::string path = dir + "/" + name;
  if (fs::is_regular_file(path, error)) return path;
  return std::nullopt;
}

}  // namespace

Result<std::string> ReadTextFile(const std::string& path, uint64_t max_bytes) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  if (error) return NotFound("model: cannot read " + path + ": " + error.message());
  if (size > max_bytes) {
    return OutOfRange("model: " + path + " has " + std::to_string(size) +
                      " bytes, more than the " + std::to_string(max_bytes) + " allowed");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(size, '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(size))) {
    return DataLoss("model: cannot read " + path);
  }
  return text;
}

Result<nlohmann::json> ReadJsonObject(const std::string& path, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(const std::string text, ReadTextFile(path, max_bytes));
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return DataLoss("model: " + path + " is not a JSON object");
  }
  return json;
}

bool IsModelDirectory(const std::string& path) {
  std::error_code error;
  return fs::is_directory(path, error) && fs::is_regular_file(path + "/config.json", error);
}

Result<ModelDirectory> ModelDirectory::Open(const std::string& path) {
  std::error_code error;
  if (!fs::is_directory(path, error)) return NotFound("model: " + path + " is not a directory");
  ModelDirectory dir;
  dir.path = path;
  if (!Existing(path, "config.json")) {
    return NotFound("model: " + path + " has no config.json (not a Hugging Face / MLX model)");
  }
  ASSIGN_OR_RETURN(dir.config, ReadJsonObject(path + "/config.json", kMaxModelJsonBytes));
  if (const auto index = Existing(path, "model.safetensors.index.json")) {
    ASSIGN_OR_RETURN(const std::string text, ReadTextFile(*index, kMaxModelJsonBytes));
    ASSIGN_OR_RETURN(dir.weights, safetensors::ShardedWeights::OpenIndex(path, text));
  } else {
    // One model.safetensors, or (older MLX conversions) several without an index.
    std::vector<std::string> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 12 && name.ends_with(".safetensors") && entry.is_regular_file(error)) {
        files.push_back(entry.path().string());
      }
    }
    if (error) return NotFound("model: cannot list " + path + ": " + error.message());
    if (files.empty()) return NotFound("model: " + path + " has no .safetensors weights");
    std::sort(files.begin(), files.end());
    ASSIGN_OR_RETURN(dir.weights, safetensors::ShardedWeights::OpenFiles(files));
  }
  dir.tokenizer_json = Existing(path, "tokenizer.json");
  dir.tokenizer_config_json = Existing(path, "tokenizer_config.json");
  dir.chat_template = Existing(path, "chat_template.jinja");
  dir.generation_config_json = Existing(path, "generation_config.json");
  return dir;
}

const nlohmann::json& ModelDirectory::text_config() const {
  const auto text = config.find("text_config");
  if (text != config.end() && text->is_object()) return *text;
  return config;
}

std::string ModelDirectory::model_type() const {
  const auto type = config.find("model_type");
  return type != config.end() && type->is_string() ? type->get<std::string>() : std::string();
}

}  // namespace snug
