// The load function of every architecture file, for the registry table (models/registry.cc).
#pragma once

#include <memory>

#include "models/model.h"

namespace snug {

using LoadFunction = Result<std::unique_ptr<Model>> (*)(std::shared_ptr<const gguf::File> file,
                                                        const ModelOptions& options,
                                                        ThreadPool& pool);

Result<std::unique_ptr<Model>> LoadGemma3(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool);
Result<std::unique_ptr<Model>> LoadLlama(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool);

}  // namespace snug
