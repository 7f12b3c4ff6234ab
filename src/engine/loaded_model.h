// A model file opened for running: the mapped GGUF, the model built from it, its tokenizer.
// What `snug run`, `snug serve` and `snug bench` start from.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "base/thread_pool.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace snug {

struct LoadedModel {
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
  tokenizer::Tokenizer tokenizer;
};

// What happens to the weights' pages once the model is loaded: read in ahead of the first
// token (the default), or also locked in RAM (--mlock) so memory pressure cannot evict them.
enum class WeightResidency { kPrefetch, kLock };

Result<LoadedModel> LoadModelFile(const std::string& path, const ModelOptions& options,
                                  ThreadPool& pool,
                                  WeightResidency residency = WeightResidency::kPrefetch);

}  // namespace snug
