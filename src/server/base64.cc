#include "server/base64.h"

#include <array>

namespace snug::server {
namespace {

constexpr std::array<int8_t, 256> kValues = [] {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) values[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return values;
}();

}  // namespace

std::optional<std::vector<uint8_t>> DecodeBase64(std::string_view text, size_t* error_offset) {
  size_t length = text.size();
  // Up to two '=' at the end, and only where they complete a group of four.
  size_t padding = 0;
  while (length > 0 && text[length - 1] == '=' && padding < 2) --length, ++padding;
  if (padding > 0 && (length + padding) % 4 != 0) {
    *error_offset = length;
    return std::nullopt;
  }
  std::vector<uint8_t> out;
  out.reserve(length / 4 * 3 + 2);
  uint32_t bits = 0;
  int count = 0;
  for (size_t i = 0; i < length; ++i) {
    const int8_t value = kValues[static_cast<uint8_t>(text[i])];
    if (value < 0) {
      *error_offset = i;
      return std::nullopt;
    }
    bits = bits << 6 | static_cast<uint32_t>(value);
    if (++count == 4) {
      out.push_back(static_cast<uint8_t>(bits >> 16));
      out.push_back(static_cast<uint8_t>(bits >> 8));
      out.push_back(static_cast<uint8_t>(bits));
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) {  // one character holds only 6 bits: never a whole byte
    *error_offset = length - 1;
    return std::nullopt;
  }
  if (count == 2) out.push_back(static_cast<uint8_t>(bits >> 4));
  if (count == 3) {
    out.push_back(static_cast<uint8_t>(bits >> 10));
    out.push_back(static_cast<uint8_t>(bits >> 2));
  }
  return out;
}

}  // namespace snug::server
