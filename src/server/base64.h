// Strict base64 (RFC 4648 §4, the standard alphabet) for media in request bodies: padding
// optional, nothing else tolerated, so a corrupt or truncated payload is a clear 400.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace snug::server {

// The decoded bytes, or nullopt with *error_offset set to the first offending character.
std::optional<std::vector<uint8_t>> DecodeBase64(std::string_view text, size_t* error_offset);

}  // namespace snug::server
