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

Result<LoadedModel> LoadModelFile(const std::string& path, const ModelOptions& options,
                                  ThreadPool& pool);

}  // namespace snug
