// TokenIndex: the vocabulary sorted by bytes for the mask walk, and the tokens that are plain
// JSON string content (matcher.h says why both).
#include <algorithm>
#include <functional>

#include "grammar/json_automata.h"
#include "grammar/matcher.h"

namespace snug::grammar {
namespace {

// The sorted order with each token's common prefix with the one before it.
TokenIndex::Sorted SortTokens(std::vector<int32_t> ids,
                              const std::function<std::string_view(int32_t)>& bytes) {
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return bytes(a) < bytes(b); });
  TokenIndex::Sorted sorted;
  sorted.ids = std::move(ids);
  sorted.common.resize(sorted.ids.size(), 0);
  for (size_t i = 1; i < sorted.ids.size(); ++i) {
    const std::string_view a = bytes(sorted.ids[i - 1]), b = bytes(sorted.ids[i]);
    size_t common = 0;
    while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
    sorted.common[i] = static_cast<uint16_t>(common);
  }
  return sorted;
}

// Bytes that leave a JSON string's content state where it was: ordinary characters, whole
// UTF-8 sequences and whole escapes.
bool PlainStringContent(std::string_view bytes) {
  int32_t state = internal::kStringContent;
  for (char c : bytes) {
    state = internal::StepString(state, static_cast<uint8_t>(c));
    if (state == internal::kReject || state == internal::kStringClosed) return false;
  }
  return state == internal::kStringContent;
}

}  // namespace

TokenIndex::TokenIndex(const std::vector<std::string>& token_bytes)
    : vocab_size_(static_cast<int>(token_bytes.size())) {
  offsets_.reserve(token_bytes.size() + 1);
  offsets_.push_back(0);
  std::vector<int32_t> all, not_plain;
  plain_.assign(mask_words(), 0);
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    std::string_view bytes = token_bytes[id];
    // The walk keeps one state per byte of a token; nothing real comes near this.
    if (bytes.size() > 1024) bytes = {};
    text_.append(bytes);
    offsets_.push_back(static_cast<uint32_t>(text_.size()));
    if (bytes.empty()) continue;
    max_token_bytes_ = std::max(max_token_bytes_, static_cast<int>(bytes.size()));
    all.push_back(static_cast<int32_t>(id));
    if (PlainStringContent(bytes)) {
      plain_[id / 64] |= uint64_t{1} << (id % 64);
    } else {
      not_plain.push_back(static_cast<int32_t>(id));
    }
  }
  const auto bytes = [this](int32_t id) { return this->bytes(id); };
  all_ = SortTokens(std::move(all), bytes);
  not_plain_ = SortTokens(std::move(not_plain), bytes);
}

TokenIndex TokenIndex::FromTokenizer(const tokenizer::Tokenizer& tokenizer) {
  std::vector<std::string> token_bytes(tokenizer.vocab_size());
  const auto& types = tokenizer.vocab().types;
  for (size_t id = 0; id < token_bytes.size(); ++id) {
    // Unused slots are untrained: never worth writing into a document.
    if (types[id] == tokenizer::TokenType::kUnused) continue;
    token_bytes[id] = tokenizer.TokenBytes(static_cast<tokenizer::TokenId>(id));
  }
  return TokenIndex(token_bytes);
}

std::string_view TokenIndex::bytes(int32_t token) const {
  if (token < 0 || token >= vocab_size_) return {};
  return std::string_view(text_).substr(offsets_[token], offsets_[token + 1] - offsets_[token]);
}

}  // namespace snug::grammar
