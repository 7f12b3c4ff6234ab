// The two merge engines under every tokenizer kind: rank-driven BPE over token ids (HF BPE,
// tiktoken, llama.cpp "gpt2"/"gemma4") and score-driven SentencePiece BPE over text (llama.cpp
// "llama"). Both keep symbols in a linked list and candidate pairs in a heap, so a text of n
// symbols costs O(n log n), never a rescan per merge.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace snug::tokenizer {

// (left, right) -> (rank, merged token).
class MergeTable {
 public:
  MergeTable() = default;
  // Fills the table from vocab.merges; fails when a merge's concatenation is not a token.
  Status Build(const Vocabulary& vocab, const std::unordered_map<std::string_view, TokenId>& ids);

  struct Merge {
    int32_t rank;
    TokenId merged;
  };
  const Merge* Find(TokenId left, TokenId right) const {
    const auto it = merges_.find(Key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }
  size_t size() const { return merges_.size(); }

 private:
  static uint64_t Key(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  std::unordered_map<uint64_t, Merge> merges_;
};

// Repeatedly merges the adjacent pair of lowest rank (leftmost among equals), in place.
void MergeByRank(const MergeTable& table, std::vector<TokenId>& symbols);

// SentencePiece BPE as llama.cpp's llm_tokenizer_spm: `text` is split into UTF-8 characters
// (lengths from the lead byte, as llama.cpp does), adjacent symbols whose concatenation is a
// token merge best score first (leftmost among equals), and each final symbol that is not a
// token falls back to <0xNN> byte tokens (or `unk`). Appends ids to `out`.
struct SentencePieceModel {
  const Vocabulary* vocab = nullptr;
  const std::unordered_map<std::string_view, TokenId>* ids = nullptr;
  const std::vector<TokenId>* byte_tokens = nullptr;  // [256], kNoToken where absent
};
void EncodeSentencePiece(const SentencePieceModel& model, std::string_view text,
                         std::vector<TokenId>& out);

}  // namespace snug::tokenizer
