// Vocabulary validation and helpers shared by the GGUF and Hugging Face loaders.
#include "tokenizer/vocabulary.h"

#include <cmath>
#include <limits>
#include <unordered_map>

namespace snug::tokenizer {

std::string_view ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kSentencePiece:
      return "sentencepiece";
    case ModelKind::kMergesBpe:
      return "merges-bpe";
    case ModelKind::kByteLevelBpe:
      return "byte-level-bpe";
  }
  return "?";
}

namespace {

// Ids are int32 and a vocabulary larger than this is not a vocabulary.
constexpr size_t kMaxVocabSize = size_t{1} << 24;

Status CheckSpecial(const Vocabulary& vocab, TokenId id, std::string_view name) {
  if (id == kNoToken) return Status::Ok();
  if (id < 0 || static_cast<size_t>(id) >= vocab.size()) {
    return OutOfRange("tokenizer: " + std::string(name) + " token id " + std::to_string(id) +
                      " is outside the vocabulary of " + std::to_string(vocab.size()) + " tokens");
  }
  return Status::Ok();
}

}  // namespace

Status Validate(const Vocabulary& vocab) {
  const size_t n = vocab.size();
  if (n == 0) return DataLoss("tokenizer: the vocabulary is empty");
  if (n > kMaxVocabSize) {
    return OutOfRange("tokenizer: " + std::to_string(n) + " tokens is more than the " +
                      std::to_string(kMaxVocabSize) + " supported");
  }
  if (vocab.types.size() != n) {
    return DataLoss("tokenizer: " + std::to_string(vocab.types.size()) + " token types for " +
                    std::to_string(n) + " tokens");
  }
  if (!vocab.scores.empty() && vocab.scores.size() != n) {
    return DataLoss("tokenizer: " + std::to_string(vocab.scores.size()) + " scores for " +
                    std::to_string(n) + " tokens");
  }
  for (size_t i = 0; i < vocab.scores.size(); ++i) {
    // A NaN would break the strict ordering the merge queue relies on.
    if (!std::isfinite(vocab.scores[i])) {
      return DataLoss("tokenizer: score of token " + std::to_string(i) + " is not finite");
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<uint8_t>(vocab.types[i]) > static_cast<uint8_t>(TokenType::kByte)) {
      return DataLoss("tokenizer: token " + std::to_string(i) + " has unknown type " +
                      std::to_string(static_cast<int>(vocab.types[i])));
    }
  }
  if (vocab.kind == ModelKind::kSentencePiece && vocab.scores.empty()) {
    return DataLoss("tokenizer: a sentencepiece vocabulary needs scores");
  }
  if (vocab.kind != ModelKind::kSentencePiece && vocab.merges.empty()) {
    return DataLoss("tokenizer: a " + std::string(ModelKindName(vocab.kind)) +
                    " vocabulary needs merges");
  }
  for (size_t i = 0; i < vocab.merges.size(); ++i) {
    const auto [left, right] = vocab.merges[i];
    if (left < 0 || right < 0 || static_cast<size_t>(left) >= n ||
        static_cast<size_t>(right) >= n) {
      return OutOfRange("tokenizer: merge " + std::to_string(i) +
                        " refers to a token outside "
                        "the vocabulary");
    }
  }
  RETURN_IF_ERROR(CheckSpecial(vocab, vocab.bos, "bos"));
  RETURN_IF_ERROR(CheckSpecial(vocab, vocab.eos, "eos"));
  RETURN_IF_ERROR(CheckSpecial(vocab, vocab.eot, "eot"));
  RETURN_IF_ERROR(CheckSpecial(vocab, vocab.unk, "unknown"));
  RETURN_IF_ERROR(CheckSpecial(vocab, vocab.pad, "padding"));
  return Status::Ok();
}

std::vector<float> ScoresFromMerges(const Vocabulary& vocab) {
  std::vector<float> scores(vocab.size(), -static_cast<float>(vocab.merges.size()) - 1);
  std::vector<bool> seen(vocab.size(), false);
  std::string joined;
  // The merged token of each merge is found by text; build the lookup once.
  std::unordered_map<std::string_view, TokenId> ids;
  ids.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) ids.emplace(vocab.tokens[i], static_cast<TokenId>(i));
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const auto [left, right] = vocab.merges[rank];
    joined = vocab.tokens[left];
    joined += vocab.tokens[right];
    const auto it = ids.find(joined);
    if (it == ids.end() || seen[it->second]) continue;
    seen[it->second] = true;
    scores[it->second] = -static_cast<float>(rank);
  }
  return scores;
}

void DetectEndOfTurn(Vocabulary& vocab) {
  if (vocab.eot != kNoToken) return;
  for (std::string_view text : {"<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<turn|>"}) {
    for (size_t i = 0; i < vocab.size(); ++i) {
      if (vocab.tokens[i] == text) {
        vocab.eot = static_cast<TokenId>(i);
        return;
      }
    }
  }
}

int ParseByteToken(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = text[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace snug::tokenizer
