// The spec parser and load function of every architecture file, for the registry table
// (models/registry.cc). Spec parsers read metadata only: the memory plan uses them without
// loading weights.
#pragma once

#include <memory>

#include "models/model.h"

namespace snug {

using SpecFunction = Result<ModelSpec> (*)(const gguf::File& file);
using LoadFunction = Result<std::unique_ptr<Model>> (*)(std::shared_ptr<const gguf::File> file,
                                                        const ModelOptions& options,
                                                        ThreadPool& pool);

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

}  // namespace snug
