// UTF-8 well-formedness (Unicode Table 3-7), repair, Python whitespace and the GPT-2 byte map.
#include "tokenizer/utf8.h"

namespace snug::tokenizer {

Utf8Sequence NextUtf8Sequence(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return {Utf8Sequence::Kind::kComplete, 1, lead};
  size_t need = 0;
  uint32_t codepoint = 0;
  // The allowed range of the second byte narrows for E0/ED/F0/F4 (overlongs, surrogates,
  // > U+10FFFF); later bytes are always 80..BF.
  uint8_t second_min = 0x80, second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
    codepoint = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    codepoint = lead & 0x0F;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    codepoint = lead & 0x07;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return {Utf8Sequence::Kind::kInvalid, 1, 0};
  }
  for (size_t i = 1; i <= need; ++i) {
    if (i >= text.size()) return {Utf8Sequence::Kind::kIncomplete, i, 0};
    const uint8_t b = byte(i);
    const uint8_t low = i == 1 ? second_min : 0x80;
    const uint8_t high = i == 1 ? second_max : 0xBF;
    if (b < low || b > high) return {Utf8Sequence::Kind::kInvalid, i, 0};
    codepoint = (codepoint << 6) | (b & 0x3F);
  }
  return {Utf8Sequence::Kind::kComplete, need + 1, codepoint};
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const Utf8Sequence seq = NextUtf8Sequence(text.substr(i));
    if (seq.kind != Utf8Sequence::Kind::kComplete) return false;
    i += seq.length;
  }
  return true;
}

std::string RepairUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const Utf8Sequence seq = NextUtf8Sequence(text.substr(i));
    if (seq.kind == Utf8Sequence::Kind::kComplete) {
      out.append(text.substr(i, seq.length));
    } else {
      out.append(kReplacementCharacter);
    }
    i += seq.length;
  }
  return out;
}

std::string ReplaceInvalidBytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const Utf8Sequence seq = NextUtf8Sequence(text.substr(i));
    if (seq.kind == Utf8Sequence::Kind::kComplete) {
      out.append(text.substr(i, seq.length));
      i += seq.length;
    } else {
      out.append(kReplacementCharacter);
      i += 1;
    }
  }
  return out;
}

void AppendUtf8(uint32_t codepoint, std::string& out) {
  if (codepoint < 0x80) {
    out.push_back(static_cast<char>(codepoint));
  } else if (codepoint < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (codepoint >> 6)));
    out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
  } else if (codepoint < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (codepoint >> 12)));
    out.push_back(static_cast<char>(0x80 | ((codepoint >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (codepoint >> 18)));
    out.push_back(static_cast<char>(0x80 | ((codepoint >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((codepoint >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (codepoint & 0x3F)));
  }
}

namespace {

bool IsPythonSpace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

}  // namespace

std::string_view TrimPythonWhitespace(std::string_view text) {
  // Forward: skip leading spaces.
  size_t begin = 0;
  while (begin < text.size()) {
    const Utf8Sequence seq = NextUtf8Sequence(text.substr(begin));
    if (seq.kind != Utf8Sequence::Kind::kComplete || !IsPythonSpace(seq.codepoint)) break;
    begin += seq.length;
  }
  // Backward: remember where the last non-space character ends.
  size_t end = begin;
  size_t i = begin;
  while (i < text.size()) {
    const Utf8Sequence seq = NextUtf8Sequence(text.substr(i));
    const bool space = seq.kind == Utf8Sequence::Kind::kComplete && IsPythonSpace(seq.codepoint);
    i += seq.kind == Utf8Sequence::Kind::kComplete ? seq.length : 1;
    if (!space) end = i;
  }
  return text.substr(begin, end - begin);
}

ByteUnicodeMap::ByteUnicodeMap() {
  decoded_.fill(-1);
  uint32_t extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    const uint32_t codepoint = printable ? static_cast<uint32_t>(b) : 0x100 + extra++;
    std::string utf8;
    AppendUtf8(codepoint, utf8);
    for (size_t i = 0; i < utf8.size(); ++i) encoded_[b][i] = utf8[i];
    lengths_[b] = static_cast<uint8_t>(utf8.size());
    decoded_[codepoint] = static_cast<int16_t>(b);
  }
}

}  // namespace snug::tokenizer
