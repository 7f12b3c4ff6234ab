// The registry: GGUF general.architecture -> the file that implements it.
#include <string_view>

#include "models/architectures.h"

namespace snug {
namespace {

struct Entry {
  std::string_view architecture;
  LoadFunction load;
};

// Adding an architecture: one file, one line here, tests.
constexpr Entry kArchitectures[] = {
    {"gemma3", LoadGemma3},
    {"llama", LoadLlama},
    {"qwen2", LoadLlama},  // Llama with q/k/v biases and NEOX rope
    {"qwen3", LoadLlama},  // Llama with per-head q/k norms and NEOX rope
};

}  // namespace

std::vector<KvLayerSpec> ModelSpec::KvLayers() const {
  std::vector<KvLayerSpec> kv;
  kv.reserve(layers.size());
  for (const LayerSpec& layer : layers) {
    kv.push_back({layer.num_kv_heads, layer.head_dim, layer.window_tokens, layer.kv_source_layer});
  }
  return kv;
}

Result<std::unique_ptr<Model>> LoadModel(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool) {
  const std::string_view architecture = file->architecture();
  for (const Entry& entry : kArchitectures) {
    if (entry.architecture == architecture) return entry.load(std::move(file), options, pool);
  }
  std::string known;
  for (const Entry& entry : kArchitectures) {
    known += (known.empty() ? "" : ", ") + std::string(entry.architecture);
  }
  return Unimplemented("model: architecture '" + std::string(architecture) +
                       "' is not supported (supported: " + known + ")");
}

std::vector<std::string> SupportedArchitectures() {
  std::vector<std::string> names;
  for (const Entry& entry : kArchitectures) names.emplace_back(entry.architecture);
  return names;
}

}  // namespace snug
