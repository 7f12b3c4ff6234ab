#include "engine/loaded_model.h"

namespace snug {

Result<LoadedModel> LoadModelFile(const std::string& path, const ModelOptions& options,
                                  ThreadPool& pool) {
  ASSIGN_OR_RETURN(gguf::File file, gguf::File::Open(path));
  auto shared = std::make_shared<const gguf::File>(std::move(file));
  ASSIGN_OR_RETURN(tokenizer::Tokenizer tokenizer, tokenizer::Tokenizer::FromGguf(*shared));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(shared, options, pool));
  if (static_cast<size_t>(model->spec().vocab_size) < tokenizer.vocab_size()) {
    return InvalidArgument("model: the output has " + std::to_string(model->spec().vocab_size) +
                           " rows but the tokenizer has " +
                           std::to_string(tokenizer.vocab_size()) + " tokens");
  }
  return LoadedModel{std::move(shared), std::move(model), std::move(tokenizer)};
}

}  // namespace snug
