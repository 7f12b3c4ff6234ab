// Tiny hand-built vocabularies for the unit tests: every id is known, so expectations are exact.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocabulary.h"

namespace snug::tokenizer::testing {

class VocabBuilder {
 public:
  explicit VocabBuilder(ModelKind kind) { vocab_.kind = kind; }

  TokenId Add(std::string text, TokenType type = TokenType::kNormal, float score = 0) {
    vocab_.tokens.push_back(std::move(text));
    vocab_.types.push_back(type);
    vocab_.scores.push_back(score);
    return static_cast<TokenId>(vocab_.tokens.size() - 1);
  }
  // <0x00>..<0xFF> as byte tokens; returns the id of <0x00>.
  TokenId AddByteTokens() {
    const TokenId first = static_cast<TokenId>(vocab_.tokens.size());
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      Add(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">", TokenType::kByte, 0);
    }
    return first;
  }
  // The 256 GPT-2 byte characters in byte order; returns the id of byte 0.
  TokenId AddByteLevelAlphabet() {
    const TokenId first = static_cast<TokenId>(vocab_.tokens.size());
    const ByteUnicodeMap map;
    for (int b = 0; b < 256; ++b) Add(std::string(map.Encode(static_cast<uint8_t>(b))));
    return first;
  }
  // Adds the merge (left, right) and its result token; returns the result's id.
  TokenId Merge(TokenId left, TokenId right, float score = 0) {
    vocab_.merges.emplace_back(left, right);
    return Add(vocab_.tokens[left] + vocab_.tokens[right], TokenType::kNormal, score);
  }
  Vocabulary& vocab() { return vocab_; }
  Tokenizer Build() {
    Result<Tokenizer> tokenizer = Tokenizer::Create(vocab_);
    CHECK(tokenizer.ok()) << tokenizer.status().ToString();
    return std::move(tokenizer).value();
  }

 private:
  Vocabulary vocab_;
};

}  // namespace snug::tokenizer::testing
