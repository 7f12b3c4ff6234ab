// Vocabulary from GGUF metadata: the `tokenizer.ggml.*` keys written by llama.cpp's converters
// (specs/models.md §1.1, §7). Key presence, element types, lengths and ids are all checked.
#include <string>
#include <unordered_map>

#include "tokenizer/vocabulary.h"

namespace snug::tokenizer {
namespace {

constexpr std::string_view kPrefix = "tokenizer.ggml.";
constexpr std::string_view kPreRegexKey = "tokenizer.snug.pre_regex";
// HF `ignore_merges` where llama.cpp would not derive it from the pre-tokenizer's name.
constexpr std::string_view kIgnoreMergesKey = "tokenizer.snug.ignore_merges";

std::string Key(std::string_view name) { return std::string(kPrefix) + std::string(name); }

bool IsIntegerType(gguf::ValueType type) {
  switch (type) {
    case gguf::ValueType::kU8:
    case gguf::ValueType::kI8:
    case gguf::ValueType::kU16:
    case gguf::ValueType::kI16:
    case gguf::ValueType::kU32:
    case gguf::ValueType::kI32:
    case gguf::ValueType::kU64:
    case gguf::ValueType::kI64:
      return true;
    default:
      return false;
  }
}

// An array key, checked for element type and (when `expected_count` is set) length.
Result<const gguf::Array*> GetArray(const gguf::File& file, std::string_view name,
                                    bool (*element_ok)(gguf::ValueType),
                                    std::string_view element_kind, size_t expected_count) {
  const std::string key = Key(name);
  ASSIGN_OR_RETURN(const gguf::Array* array, file.GetArray(key));
  if (!element_ok(array->element_type)) {
    return DataLoss("tokenizer: '" + key + "' is an array of " +
                    std::string(gguf::ValueTypeName(array->element_type)) + ", expected " +
                    std::string(element_kind));
  }
  if (expected_count != 0 && array->count != expected_count) {
    return DataLoss("tokenizer: '" + key + "' has " + std::to_string(array->count) +
                    " entries for " + std::to_string(expected_count) + " tokens");
  }
  return array;
}

Status ReadSpecial(const gguf::File& file, std::string_view name, TokenId& id) {
  const std::string key = Key(name);
  if (file.Find(key) == nullptr) return Status::Ok();
  ASSIGN_OR_RETURN(const int64_t value, file.GetInt(key));
  // Some converters write -1 (or UINT32_MAX) for "none".
  if (value == -1 || value == 0xFFFFFFFFll) return Status::Ok();
  if (value < 0 || value > INT32_MAX) {
    return OutOfRange("tokenizer: '" + key + "' = " + std::to_string(value) + " is not a token id");
  }
  id = static_cast<TokenId>(value);
  return Status::Ok();
}

Status ReadBool(const gguf::File& file, std::string_view name, bool& value) {
  const std::string key = Key(name);
  if (file.Find(key) == nullptr) return Status::Ok();
  ASSIGN_OR_RETURN(value, file.GetBool(key));
  return Status::Ok();
}

Status ReadMerges(const gguf::File& file, Vocabulary& vocab) {
  ASSIGN_OR_RETURN(
      const gguf::Array* merges,
      GetArray(
          file, "merges", [](gguf::ValueType t) { return t == gguf::ValueType::kString; },
          "strings", 0));
  std::unordered_map<std::string_view, TokenId> ids;
  ids.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) ids[vocab.tokens[i]] = static_cast<TokenId>(i);
  vocab.merges.reserve(merges->count);
  std::string joined;
  for (uint64_t i = 0; i < merges->count; ++i) {
    const std::string_view line = merges->StringAt(i);
    // Like llama.cpp, the separator is the first space after the first byte: a half never
    // starts with a raw space in these vocabularies, but may be one character long.
    const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string_view::npos;
    if (space == std::string_view::npos) {
      return DataLoss("tokenizer: merge " + std::to_string(i) + " has no space separator");
    }
    const auto left = ids.find(line.substr(0, space));
    const auto right = ids.find(line.substr(space + 1));
    if (left == ids.end() || right == ids.end()) {
      return DataLoss("tokenizer: merge " + std::to_string(i) +
                      " names a token that is not in "
                      "the vocabulary");
    }
    joined.assign(line.substr(0, space));
    joined.append(line.substr(space + 1));
    if (!ids.contains(joined)) {
      return DataLoss("tokenizer: merge " + std::to_string(i) +
                      " produces a token that is not "
                      "in the vocabulary");
    }
    vocab.merges.emplace_back(left->second, right->second);
  }
  return Status::Ok();
}

}  // namespace

Result<Vocabulary> VocabularyFromGguf(const gguf::File& file) {
  Vocabulary vocab;
  ASSIGN_OR_RETURN(const std::string_view model, file.GetString(Key("model")));
  if (model == "llama") {
    vocab.kind = ModelKind::kSentencePiece;
    vocab.add_bos = true;  // llama.cpp's defaults for this model when the keys are absent
    vocab.add_space_prefix = true;
  } else if (model == "gemma4") {
    vocab.kind = ModelKind::kMergesBpe;
    vocab.add_bos = true;
  } else if (model == "gpt2") {
    vocab.kind = ModelKind::kByteLevelBpe;
  } else {
    return Unimplemented("tokenizer: tokenizer model '" + std::string(model) +
                         "' is not supported (llama, gemma4 and gpt2 are)");
  }
  if (file.Find(Key("pre")) != nullptr) {
    ASSIGN_OR_RETURN(const std::string_view pre, file.GetString(Key("pre")));
    vocab.pre = std::string(pre);
  }
  if (file.Find(kPreRegexKey) != nullptr) {
    ASSIGN_OR_RETURN(const std::string_view regex, file.GetString(kPreRegexKey));
    vocab.pre_regex = std::string(regex);
  }
  if (vocab.kind == ModelKind::kByteLevelBpe) {
    if (vocab.pre.empty()) vocab.pre = "default";
    // llama.cpp takes whole pieces for the llama-3 family.
    if (vocab.pre == "llama3" || vocab.pre == "llama-v3" || vocab.pre == "llama-bpe") {
      vocab.ignore_merges = true;
      vocab.add_bos = true;
    }
  }

  ASSIGN_OR_RETURN(
      const gguf::Array* tokens,
      GetArray(
          file, "tokens", [](gguf::ValueType t) { return t == gguf::ValueType::kString; },
          "strings", 0));
  if (tokens->count == 0) return DataLoss("tokenizer: 'tokenizer.ggml.tokens' is empty");
  if (tokens->count > (uint64_t{1} << 24)) {
    return OutOfRange("tokenizer: " + std::to_string(tokens->count) + " tokens is too many");
  }
  const size_t n = tokens->count;
  vocab.tokens.reserve(n);
  for (size_t i = 0; i < n; ++i) vocab.tokens.emplace_back(tokens->StringAt(i));

  vocab.types.assign(n, TokenType::kNormal);
  if (file.Find(Key("token_type")) != nullptr) {
    ASSIGN_OR_RETURN(const gguf::Array* types,
                     GetArray(file, "token_type", IsIntegerType, "integers", n));
    for (size_t i = 0; i < n; ++i) {
      const int64_t type = types->IntAt(i);
      if (type < 0 || type > static_cast<int64_t>(TokenType::kByte)) {
        return DataLoss("tokenizer: token " + std::to_string(i) + " has unknown type " +
                        std::to_string(type));
      }
      vocab.types[i] = static_cast<TokenType>(type);
    }
  }
  if (file.Find(Key("scores")) != nullptr) {
    ASSIGN_OR_RETURN(const gguf::Array* scores, GetArray(
                                                    file, "scores",
                                                    [](gguf::ValueType t) {
                                                      return t == gguf::ValueType::kF32 ||
                                                             t == gguf::ValueType::kF64;
                                                    },
                                                    "floats", n));
    vocab.scores.resize(n);
    for (size_t i = 0; i < n; ++i) vocab.scores[i] = static_cast<float>(scores->FloatAt(i));
  } else if (vocab.kind == ModelKind::kSentencePiece) {
    return DataLoss(
        "tokenizer: 'tokenizer.ggml.scores' is missing (a 'llama' vocabulary "
        "needs it)");
  }
  if (vocab.kind != ModelKind::kSentencePiece) RETURN_IF_ERROR(ReadMerges(file, vocab));

  RETURN_IF_ERROR(ReadSpecial(file, "bos_token_id", vocab.bos));
  RETURN_IF_ERROR(ReadSpecial(file, "eos_token_id", vocab.eos));
  RETURN_IF_ERROR(ReadSpecial(file, "eot_token_id", vocab.eot));
  RETURN_IF_ERROR(ReadSpecial(file, "unknown_token_id", vocab.unk));
  RETURN_IF_ERROR(ReadSpecial(file, "padding_token_id", vocab.pad));
  RETURN_IF_ERROR(ReadBool(file, "add_bos_token", vocab.add_bos));
  if (file.Find(kIgnoreMergesKey) != nullptr) {
    ASSIGN_OR_RETURN(vocab.ignore_merges, file.GetBool(kIgnoreMergesKey));
  }
  RETURN_IF_ERROR(ReadBool(file, "add_space_prefix", vocab.add_space_prefix));
  if (file.Find("tokenizer.chat_template") != nullptr) {
    ASSIGN_OR_RETURN(const std::string_view chat_template,
                     file.GetString("tokenizer.chat_template"));
    vocab.chat_template = std::string(chat_template);
  }
  DetectEndOfTurn(vocab);
  RETURN_IF_ERROR(Validate(vocab));
  return vocab;
}

void WriteVocabularyToGguf(const Vocabulary& vocab, gguf::Writer& writer) {
  std::string_view model = "gpt2";
  if (vocab.kind == ModelKind::kSentencePiece) model = "llama";
  if (vocab.kind == ModelKind::kMergesBpe) model = "gemma4";
  writer.SetString(Key("model"), model);
  if (!vocab.pre.empty()) writer.SetString(Key("pre"), vocab.pre);
  if (!vocab.pre_regex.empty()) writer.SetString(kPreRegexKey, vocab.pre_regex);
  if (vocab.ignore_merges) writer.SetBool(kIgnoreMergesKey, true);
  writer.SetStringArray(Key("tokens"), vocab.tokens);
  std::vector<int32_t> types;
  types.reserve(vocab.size());
  for (const TokenType type : vocab.types) types.push_back(static_cast<int32_t>(type));
  writer.SetI32Array(Key("token_type"), types);
  if (!vocab.scores.empty()) writer.SetF32Array(Key("scores"), vocab.scores);
  if (vocab.kind != ModelKind::kSentencePiece) {
    std::vector<std::string> merges;
    merges.reserve(vocab.merges.size());
    for (const auto& [left, right] : vocab.merges) {
      merges.push_back(vocab.tokens[left] + " " + vocab.tokens[right]);
    }
    writer.SetStringArray(Key("merges"), merges);
  }
  const auto special = [&](std::string_view name, TokenId id) {
    if (id != kNoToken) writer.SetU32(Key(name), static_cast<uint32_t>(id));
  };
  special("bos_token_id", vocab.bos);
  special("eos_token_id", vocab.eos);
  special("eot_token_id", vocab.eot);
  special("unknown_token_id", vocab.unk);
  special("padding_token_id", vocab.pad);
  writer.SetBool(Key("add_bos_token"), vocab.add_bos);
  writer.SetBool(Key("add_space_prefix"), vocab.add_space_prefix);
  if (!vocab.chat_template.empty()) writer.SetString("tokenizer.chat_template", vocab.chat_template);
}

}  // namespace snug::tokenizer
