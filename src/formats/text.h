// Names and keys read from model files, made safe to print: what a terminal should not see is
// escaped, long text is cut. Shared by the format readers' error messages.
#pragma once

#include <string>
#include <string_view>

namespace snug::format_text {

inline std::string Printable(std::string_view text) {
  constexpr size_t kMaxShown = 96;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

inline std::string Quoted(std::string_view text) {
  std::string out = "'";
  out += Printable(text);
  out += '\'';
  return out;
}

}  // namespace snug::format_text
