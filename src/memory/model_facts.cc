// ModelFacts from a GGUF file: the spec (models/ReadModelSpec), the tensors' sizes and types
// from their infos, the tokenizer's counts from its metadata. No tensor data is read (the
// rope_freqs divisors of a spec excepted: a few hundred bytes).
#include <string>

#include "kernels/kernels.h"
#include "memory/plan.h"

namespace snug::memory {
namespace {


TokenizerFacts ReadTokenizerFacts(const gguf::File& file) {
  TokenizerFacts facts;
  const gguf::Value* tokens = file.Find("tokenizer.ggml.tokens");
  if (tokens != nullptr && tokens->type == gguf::ValueType::kArray) {
    facts.tokens = static_cast<int64_t>(tokens->array.count);
    for (std::string_view text : tokens->array.strings) facts.text_bytes += text.size();
  }
  const gguf::Value* merges = file.Find("tokenizer.ggml.merges");
  if (merges != nullptr && merges->type == gguf::ValueType::kArray) {
    facts.merges = static_cast<int64_t>(merges->array.count);
  }
  return facts;
}

}  // namespace

Result<ModelFacts> ReadModelFacts(const gguf::File& file) {
  ModelFacts facts;
  ASSIGN_OR_RETURN(facts.spec, ReadModelSpec(file));
  const bool tied = file.FindTensor("output.weight") == nullptr;
  const int64_t q4_0_block_elements = Info(DType::kQ4_0).block_elements;
  for (const gguf::TensorInfo& tensor : file.tensors()) {
    facts.weight_bytes += static_cast<int64_t>(tensor.bytes);
    const TensorView& view = tensor.view;
    const bool matrix = view.num_dims >= 2;
    // A q4_0 file keeps vectors f32 and matrices whose rows are not whole blocks as they are.
    const bool could_be_q4_0 = matrix && view.cols() % q4_0_block_elements == 0;
    const int64_t q4_0_bytes = could_be_q4_0 ? view.rows() * RowBytes(DType::kQ4_0, view.cols())
                                             : static_cast<int64_t>(tensor.bytes);
    facts.q4_0_weight_bytes += std::min<int64_t>(q4_0_bytes, tensor.bytes);
    // Every matrix is multiplied by, except an embedding that is only looked up.
    if (!matrix || (tensor.name == "token_embd.weight" && !tied)) continue;
    if (!kernels::IsWeightType(view.dtype)) {
      return Unimplemented("plan: tensor '" + std::string(tensor.name) + "' has type " +
                           std::string(Name(view.dtype)) + ", which snug cannot multiply by");
    }
    facts.projections.push_back({view.dtype, view.cols()});
  }
  facts.tokenizer = ReadTokenizerFacts(file);
  return facts;
}

}  // namespace snug::memory
