// Dispatch to the architecture layouts, and the helpers they share.
#include "synth/layout.h"

#include <cmath>

#include "base/check.h"

namespace snug::synth {

std::vector<TensorSpec> BuildTensors(const ModelConfig& config, int64_t vocab_size) {
  switch (config.architecture) {
    case Architecture::kGemma3:
    case Architecture::kGemma4:
      return GemmaTensors(config, vocab_size);
    case Architecture::kGptOss:
      return GptOssTensors(config, vocab_size);
    case Architecture::kLlama:
      return LlamaTensors(config, vocab_size);
  }
  CHECK(false) << "unknown architecture";
  return {};
}

void WriteArchitectureMetadata(const ModelConfig& config, gguf::Writer& writer) {
  switch (config.architecture) {
    case Architecture::kGemma3:
    case Architecture::kGemma4:
      return WriteGemmaMetadata(config, writer);
    case Architecture::kGptOss:
      return WriteGptOssMetadata(config, writer);
    case Architecture::kLlama:
      return WriteLlamaMetadata(config, writer);
  }
}

TensorSpec Matrix(std::string name, TensorClass tensor_class, std::vector<int64_t> shape,
                  float stddev) {
  TensorSpec spec;
  spec.name = std::move(name);
  spec.shape = std::move(shape);
  spec.tensor_class = tensor_class;
  spec.stddev = stddev;
  return spec;
}

TensorSpec Vector(std::string name, std::vector<int64_t> shape, float center, float stddev) {
  TensorSpec spec;
  spec.name = std::move(name);
  spec.shape = std::move(shape);
  spec.tensor_class = TensorClass::kVector;
  spec.center = center;
  spec.stddev = stddev;
  return spec;
}

std::string BlockName(int layer, std::string_view suffix) {
  return "blk." + std::to_string(layer) + "." + std::string(suffix);
}

}  // namespace snug::synth
