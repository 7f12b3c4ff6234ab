// The spec parser and load function of every architecture file, for the registry table
// (models/registry.cc) only. Spec parsers read metadata only: the memory plan uses them without
// loading weights.
#pragma once

#include <memory>

#include "models/model.h"
#include "models/registry.h"

namespace snug {

Result<ModelSpec> ParseGemma3Spec(const gguf::File& file);
Result<ModelSpec> ParseLlamaSpec(const gguf::File& file);  // llama, qwen2, qwen3
Result<ModelSpec> ParseGemma4Spec(const gguf::File& file);
Result<ModelSpec> ParseGptOssSpec(const gguf::File& file);

Result<std::unique_ptr<Model>> LoadGemma3(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool);
Result<std::unique_ptr<Model>> LoadLlama(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool);
Result<std::unique_ptr<Model>> LoadGptOss(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool);
Result<std::unique_ptr<Model>> LoadGemma4(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool);

// config.json -> this architecture's GGUF keys (and tensors GGUF derives from config, such as
// rope_freqs), for models/hf_import.h.
Status ImportGemma3Config(HfImporter& import, std::string_view architecture);
Status ImportGemma4Config(HfImporter& import, std::string_view architecture);
Status ImportGptOssConfig(HfImporter& import, std::string_view architecture);
Status ImportLlamaConfig(HfImporter& import, std::string_view architecture);  // llama, qwen2/3

}  // namespace snug
