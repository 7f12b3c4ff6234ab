// The vocabulary a tokenizer runs on: token texts, scores, types, merges and special ids, loaded
// from GGUF metadata (`tokenizer.ggml.*`, specs/models.md §1.1, §7) or from a Hugging Face
// tokenizer.json (+ tokenizer_config.json). Both files are hostile input: every count, id and
// cross-reference is validated and failures are a precise Status "tokenizer: ...".
// Encoding and decoding live in tokenizer.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"

namespace snug::tokenizer {

using TokenId = int32_t;
inline constexpr TokenId kNoToken = -1;

// llama.cpp / GGUF token types (tokenizer.ggml.token_type).
enum class TokenType : uint8_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class ModelKind {
  // SentencePiece BPE as llama.cpp's "llama" mode: merge the adjacent pair whose concatenation
  // is the vocab entry of highest score; "▁" for spaces; <0xNN> byte fallback.
  kSentencePiece,
  // The same text model driven by a merges list in rank order (HF Gemma tokenizer.json, GGUF
  // "gemma4").
  kMergesBpe,
  // GPT-2 style byte-level BPE: regex pre-tokenizer, tokens in byte->unicode form, merge ranks.
  kByteLevelBpe,
};
std::string_view ModelKindName(ModelKind kind);

struct Vocabulary {
  ModelKind kind = ModelKind::kSentencePiece;
  // Pre-tokenizer of byte-level vocabularies: a llama.cpp `tokenizer.ggml.pre` name ("gpt2",
  // "llama-bpe", "gpt-4o", ...). `pre_regex` (PCRE2 syntax) overrides it when not empty.
  std::string pre;
  std::string pre_regex;

  std::vector<std::string> tokens;  // [vocab_size] texts as stored ("▁" / GPT-2 form)
  std::vector<float> scores;        // [vocab_size], or empty
  std::vector<TokenType> types;     // [vocab_size]
  // [num_merges] in rank order; both halves and their concatenation are tokens.
  std::vector<std::pair<TokenId, TokenId>> merges;

  TokenId bos = kNoToken;
  TokenId eos = kNoToken;
  TokenId eot = kNoToken;
  TokenId unk = kNoToken;
  TokenId pad = kNoToken;
  bool add_bos = false;
  bool add_space_prefix = false;
  // Take a whole pre-tokenized piece when it is itself a token, before merging (HF
  // `ignore_merges`; llama.cpp sets it for the llama-3 family).
  bool ignore_merges = false;

  std::string chat_template;  // empty when the file has none

  size_t size() const { return tokens.size(); }
};

// Checks lengths, ranges and cross-references; loaders call it, hand-built vocabularies should.
Status Validate(const Vocabulary& vocab);

Result<Vocabulary> VocabularyFromGguf(const gguf::File& file);
// The tokenizer.* keys llama.cpp's converter writes for `vocab` (model "llama" with scores,
// "gemma4" with merges, "gpt2" with merges and pre), so VocabularyFromGguf reads it back. A
// pre-tokenizer regex llama.cpp has no name for is kept under tokenizer.snug.pre_regex.
void WriteVocabularyToGguf(const Vocabulary& vocab, gguf::Writer& writer);

// `tokenizer_config_json` may be empty (no config file).
Result<Vocabulary> VocabularyFromHuggingFace(std::string_view tokenizer_json,
                                             std::string_view tokenizer_config_json);
// Reads `dir`/tokenizer.json and, when present, `dir`/tokenizer_config.json.
Result<Vocabulary> LoadHuggingFaceDirectory(const std::string& dir);

// The vocabulary as a Hugging Face tokenizer.json and tokenizer_config.json (make-model's HF /
// MLX directories; VocabularyFromHuggingFace reads them back to the same tokenization). A
// SentencePiece vocabulary (scores, no merges) gets the merges SentencePiece's own conversion
// derives: every split of a piece into two pieces, ranked by the piece's score.
Result<std::string> TokenizerJson(const Vocabulary& vocab);
std::string TokenizerConfigJson(const Vocabulary& vocab);

// For a merges vocabulary: SentencePiece-style scores that rank each token by the first merge
// producing it (score = -rank; tokens no merge produces get -num_merges - 1), so the
// kSentencePiece algorithm can run on an HF Gemma vocabulary (used to test that both agree).
std::vector<float> ScoresFromMerges(const Vocabulary& vocab);

// Loader step: when `eot` is unset, takes the first of the well-known end-of-turn texts
// ("<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<turn|>") present in the vocabulary.
void DetectEndOfTurn(Vocabulary& vocab);

// "<0x41>" -> 0x41; -1 when `text` is not a byte token's text.
int ParseByteToken(std::string_view text);

}  // namespace snug::tokenizer
