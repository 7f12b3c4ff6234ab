// Text <-> token ids for every vocabulary kind (specs/models.md §7): special and user-defined
// tokens matched whole before BPE (leftmost, longest), then SentencePiece BPE, merges BPE or
// byte-level BPE per fragment. Decoding never yields broken UTF-8; StreamingDetokenizer holds
// back an incomplete trailing sequence until a later token completes it.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "tokenizer/vocabulary.h"

namespace snug::tokenizer {

// Bytes [begin, end) of a text.
struct TextRange {
  size_t begin = 0, end = 0;
};

struct EncodeOptions {
  bool add_bos = false;  // prepend BOS when the vocabulary asks for it (vocab.add_bos)
  // Match control tokens written in the text ("<start_of_turn>", "<|start|>"). User-defined
  // tokens are always matched, as llama.cpp and HF do.
  bool parse_special = false;
  // With parse_special: ranges of the text (sorted, disjoint) where no control token may match,
  // not even partly: a chat prompt's message contents, which are literal text however they are
  // spelled (chat_format.h's EncodeChat). The fragments around control tokens are still encoded
  // whole, so a prompt without control text in its contents encodes as without ranges.
  std::span<const TextRange> literal = {};
};

struct DecodeOptions {
  bool render_special = false;  // control tokens as their text instead of nothing
};

class Tokenizer {
 public:
  static Result<Tokenizer> Create(Vocabulary vocab);
  static Result<Tokenizer> FromGguf(const gguf::File& file);
  static Result<Tokenizer> FromHuggingFaceDirectory(const std::string& dir);

  const Vocabulary& vocab() const;
  size_t vocab_size() const { return vocab().size(); }

  std::vector<TokenId> Encode(std::string_view text, const EncodeOptions& options = {}) const;

  // The bytes `id` contributes to decoded text; may be part of a UTF-8 sequence. Ids outside
  // the vocabulary contribute nothing.
  std::string TokenBytes(TokenId id, const DecodeOptions& options = {}) const;
  // Raw bytes of a sequence (what the ids spell, even when that is not valid UTF-8).
  std::string DecodeBytes(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;
  // Valid UTF-8: ill-formed parts of DecodeBytes replaced by U+FFFD.
  std::string Decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const;

  // The id whose stored text is exactly `text`, or kNoToken.
  TokenId Find(std::string_view text) const;

 private:
  Tokenizer() = default;  // only Create makes one, so state_ is never null
  struct State;
  std::shared_ptr<const State> state_;  // immutable after Create; copies share it
};

class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, DecodeOptions options = {})
      : tokenizer_(&tokenizer), options_(options) {}

  // Text that became complete with this token: always whole, valid UTF-8. Bytes that can
  // never become valid are replaced by U+FFFD as soon as that is certain.
  std::string Push(TokenId id);
  // End of stream: whatever is still held back, repaired.
  std::string Finish();

 private:
  const Tokenizer* tokenizer_;
  DecodeOptions options_;
  std::string pending_;  // bytes of an incomplete trailing UTF-8 sequence (≤ 3)
  bool first_ = true;
};

}  // namespace snug::tokenizer
