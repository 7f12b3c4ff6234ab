// Regex pre-tokenizers of byte-level BPE vocabularies, chosen by llama.cpp's
// `tokenizer.ggml.pre` name (specs/models.md §7.2), run with PCRE2 (UTF + UCP, JIT when
// available). Patterns are written in Rust-regex / tiktoken syntax and translated: Rust's \s is
// Unicode White_Space (it includes U+0085, PCRE2's does not), so \s and \S become explicit
// classes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace snug::tokenizer {

// The tiktoken/HF pattern for a llama.cpp pre-tokenizer name, or empty when unknown.
std::string_view PreTokenizerPattern(std::string_view name);

// Rust-regex -> PCRE2 for the constructs these patterns use (see the file comment).
Result<std::string> TranslateRustRegex(std::string_view pattern);

class PreTokenizer {
 public:
  // `pattern` in Rust-regex syntax (PreTokenizerPattern or tokenizer.json's Split regex).
  static Result<PreTokenizer> Create(std::string_view pattern);

  // Splits valid UTF-8 `text` into pieces (the regex matches and any gaps between them, in
  // order; HF's "Isolated" behaviour). Pieces point into `text`.
  void Split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;  // compiled pattern; shared by copies, immutable
};

}  // namespace snug::tokenizer
