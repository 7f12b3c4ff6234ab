#include "engine/chat.h"

namespace snug {

Result<tokenizer::ChatFormat> ChatFormatFor(const ModelSpec& spec) {
  if (spec.architecture == "gemma3") return tokenizer::ChatFormat::kGemma3;
  if (spec.architecture == "gemma4") return tokenizer::ChatFormat::kGemma4;
  if (spec.architecture == "llama") return tokenizer::ChatFormat::kLlama3;
  if (spec.architecture == "gpt-oss") return tokenizer::ChatFormat::kHarmony;
  return Unimplemented("chat: no chat format for architecture '" + spec.architecture +
                       "' yet; send a raw prompt (--raw, or /v1/completions)");
}

}  // namespace snug
