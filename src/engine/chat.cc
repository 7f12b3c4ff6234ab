#include "engine/chat.h"

#include "models/registry.h"

namespace snug {

Result<tokenizer::ChatFormat> ChatFormatFor(const ModelSpec& spec) {
  const Architecture* entry = FindArchitecture(spec.architecture);
  if (entry != nullptr && entry->chat_format) return *entry->chat_format;
  return Unimplemented("chat: no chat format for architecture '" + spec.architecture +
                       "' yet; send a raw prompt (--raw, or /v1/completions)");
}

}  // namespace snug
