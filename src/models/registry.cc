// The registry: GGUF general.architecture -> the file that implements it (its spec parser, and
// its load function once the forward pass exists).
#include <string_view>

#include "models/architectures.h"

namespace snug {
namespace {

struct Entry {
  std::string_view architecture;
  SpecFunction spec;
  LoadFunction load;  // null: the spec is known (memory plans) but the model cannot run yet
};

// Adding an architecture: one file, one line here, tests.
constexpr Entry kArchitectures[] = {
    {"gemma3", ParseGemma3Spec, LoadGemma3}, {"llama", ParseLlamaSpec, LoadLlama},
    {"qwen2", ParseLlamaSpec, LoadLlama},  // Llama with q/k/v biases and NEOX rope
    {"qwen3", ParseLlamaSpec, LoadLlama},  // Llama with per-head q/k norms and NEOX rope
    {"gemma4", ParseGemma4Spec, LoadGemma4},
    {"gpt-oss", ParseGptOssSpec, LoadGptOss},
};

const Entry* FindEntry(std::string_view architecture) {
  for (const Entry& entry : kArchitectures) {
    if (entry.architecture == architecture) return &entry;
  }
  return nullptr;
}

Status UnknownArchitecture(std::string_view architecture) {
  std::string known;
  for (const std::string& name : SupportedArchitectures()) {
    known += (known.empty() ? "" : ", ") + name;
  }
  return Unimplemented("model: architecture '" + std::string(architecture) +
                       "' is not supported (supported: " + known + ")");
}

// Rows of the output projection: the embedding's rows as BindEnds reads them, else what the
// metadata declares.
Result<int> ReadVocabSize(const gguf::File& file, std::string_view architecture) {
  if (const gguf::TensorInfo* tensor = file.FindTensor("token_embd.weight")) {
    if (tensor->view.num_dims < 2 || tensor->view.rows() <= 0 || tensor->view.rows() > (1 << 24)) {
      return InvalidArgument("model: tensor 'token_embd.weight' has no valid vocabulary rows");
    }
    return static_cast<int>(tensor->view.rows());
  }
  const std::string key = std::string(architecture) + ".vocab_size";
  if (file.Find(key) != nullptr) {
    ASSIGN_OR_RETURN(const int64_t rows, file.GetInt(key));
    if (rows <= 0 || rows > (1 << 24)) {
      return OutOfRange("model: key '" + key + "' = " + std::to_string(rows) + " is out of range");
    }
    return static_cast<int>(rows);
  }
  if (file.Find("tokenizer.ggml.tokens") != nullptr) {
    ASSIGN_OR_RETURN(const gguf::Array* tokens, file.GetArray("tokenizer.ggml.tokens"));
    if (tokens->count > 0 && tokens->count <= (1u << 24)) return static_cast<int>(tokens->count);
  }
  return NotFound("model: the vocabulary size is unknown (no token_embd.weight, no '" + key +
                  "', no tokenizer.ggml.tokens)");
}

}  // namespace

std::vector<KvLayerSpec> ModelSpec::KvLayers() const {
  std::vector<KvLayerSpec> kv;
  kv.reserve(layers.size());
  for (const LayerSpec& layer : layers) {
    kv.push_back({layer.num_kv_heads, layer.head_dim, layer.window_tokens, layer.kv_source_layer});
  }
  return kv;
}

Result<ModelSpec> ReadModelSpec(const gguf::File& file) {
  const std::string_view architecture = file.architecture();
  const Entry* entry = FindEntry(architecture);
  if (entry == nullptr) return UnknownArchitecture(architecture);
  ASSIGN_OR_RETURN(ModelSpec spec, entry->spec(file));
  ASSIGN_OR_RETURN(spec.vocab_size, ReadVocabSize(file, architecture));
  if (spec.name.empty() && file.Find("general.name") != nullptr) {
    ASSIGN_OR_RETURN(const std::string_view name, file.GetString("general.name"));
    spec.name = std::string(name);
  }
  return spec;
}

Result<std::unique_ptr<Model>> LoadModel(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool) {
  const std::string_view architecture = file->architecture();
  const Entry* entry = FindEntry(architecture);
  if (entry == nullptr) return UnknownArchitecture(architecture);
  if (entry->load == nullptr) {
    return Unimplemented("model: architecture '" + std::string(architecture) +
                         "' is not implemented yet (its memory plan is: snug plan)");
  }
  return entry->load(std::move(file), options, pool);
}

std::vector<std::string> SupportedArchitectures() {
  std::vector<std::string> names;
  for (const Entry& entry : kArchitectures) {
    if (entry.load != nullptr) names.emplace_back(entry.architecture);
  }
  return names;
}

}  // namespace snug
