#include "engine/loaded_model.h"

#include <algorithm>
#include <span>
#include <vector>

#include "base/mapped_file.h"
#include "models/hf_import.h"

namespace snug {
namespace {

// The weights' bytes as few spans as possible: tensors sorted by address, merged where they
// lie within a page of each other (one GGUF's data section is one span; shards are several).
std::vector<std::span<const uint8_t>> WeightSpans(const gguf::File& file) {
  std::vector<std::span<const uint8_t>> tensors;
  for (const gguf::TensorInfo& tensor : file.tensors()) {
    if (tensor.bytes > 0) {
      tensors.emplace_back(static_cast<const uint8_t*>(tensor.view.data), tensor.bytes);
    }
  }
  std::sort(tensors.begin(), tensors.end(),
            [](auto a, auto b) { return a.data() < b.data(); });
  std::vector<std::span<const uint8_t>> spans;
  constexpr size_t kPage = 4096;
  for (const auto& tensor : tensors) {
    if (!spans.empty() && tensor.data() <= spans.back().data() + spans.back().size() + kPage) {
      const uint8_t* begin = spans.back().data();
      const uint8_t* end = std::max(begin + spans.back().size(), tensor.data() + tensor.size());
      spans.back() = {begin, static_cast<size_t>(end - begin)};
    } else {
      spans.push_back(tensor);
    }
  }
  return spans;
}

Status Reside(const gguf::File& file, WeightResidency residency) {
  for (const auto& span : WeightSpans(file)) {
    AdviseWillNeed(span);
    if (residency == WeightResidency::kLock) {
      Status locked = LockInMemory(span);
      if (!locked.ok()) return {locked.code(), "--mlock: the weights: " + locked.message()};
    }
  }
  return Status::Ok();
}

}  // namespace

Result<LoadedModel> LoadModelFile(const std::string& path, const ModelOptions& options,
                                  ThreadPool& pool, WeightResidency residency) {
  ASSIGN_OR_RETURN(gguf::File file, OpenModelSource(path));
  auto shared = std::make_shared<const gguf::File>(std::move(file));
  ASSIGN_OR_RETURN(tokenizer::Tokenizer tokenizer, tokenizer::Tokenizer::FromGguf(*shared));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(shared, options, pool));
  if (static_cast<size_t>(model->spec().vocab_size) < tokenizer.vocab_size()) {
    return InvalidArgument("model: the output has " + std::to_string(model->spec().vocab_size) +
                           " rows but the tokenizer has " +
                           std::to_string(tokenizer.vocab_size()) + " tokens");
  }
  RETURN_IF_ERROR(Reside(*shared, residency));
  return LoadedModel{std::move(shared), std::move(model), std::move(tokenizer)};
}

}  // namespace snug
