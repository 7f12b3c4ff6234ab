// UTF-8 helpers shared by the tokenizers and the detokenizer: well-formedness per Unicode
// Table 3-7 (no overlongs, no surrogates, nothing past U+10FFFF), repair with U+FFFD, and the
// GPT-2 byte<->unicode mapping of byte-level BPE vocabularies. Nothing here allocates per byte.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace snug::tokenizer {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// What starts at text[0]: a complete well-formed sequence of `length` bytes, an incomplete one
// that more bytes could still complete (`length` = bytes present, all consistent so far), or
// an ill-formed one whose maximal subpart is `length` bytes (≥ 1; each subpart becomes one
// U+FFFD, the Unicode-recommended practice that WHATWG decoders follow).
struct Utf8Sequence {
  enum class Kind { kComplete, kIncomplete, kInvalid };
  Kind kind = Kind::kInvalid;
  size_t length = 0;
  uint32_t codepoint = 0;  // valid for kComplete
};
// `text` must not be empty.
Utf8Sequence NextUtf8Sequence(std::string_view text);

bool IsValidUtf8(std::string_view text);
// Every ill-formed subpart (and an incomplete tail) replaced by U+FFFD.
std::string RepairUtf8(std::string_view text);
// Each byte that is not part of a well-formed sequence replaced by its own U+FFFD, as
// llama.cpp's unicode_cpts_from_utf8 does before byte-level pre-tokenization.
std::string ReplaceInvalidBytes(std::string_view text);

void AppendUtf8(uint32_t codepoint, std::string& out);

// Python's str.strip() (what Jinja's `trim` filter calls): strips the characters for which
// str.isspace() is true — ASCII whitespace, U+001C..U+001F, U+0085 and the Unicode Z* spaces.
std::string_view TrimPythonWhitespace(std::string_view text);

// GPT-2's reversible byte -> printable-codepoint map: printable Latin-1 bytes map to
// themselves, the other 68 bytes to U+0100 + n in byte order.
class ByteUnicodeMap {
 public:
  ByteUnicodeMap();
  // UTF-8 of the codepoint standing for `byte`.
  std::string_view Encode(uint8_t byte) const { return {encoded_[byte].data(), lengths_[byte]}; }
  // The byte for a codepoint, or -1 when it stands for none.
  int Decode(uint32_t codepoint) const {
    return codepoint < decoded_.size() ? decoded_[codepoint] : -1;
  }

 private:
  std::array<std::array<char, 2>, 256> encoded_{};
  std::array<uint8_t, 256> lengths_{};
  std::array<int16_t, 324> decoded_{};  // codepoints up to U+0143
};

}  // namespace snug::tokenizer
