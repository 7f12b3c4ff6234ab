// The checksums the hub publishes, computed with OpenSSL's EVP: sha256 of an LFS file's content
// (its blob name), and the git blob id of a small file (sha1 of "blob <size>\0" + content).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace snug::hub {

enum class Digest { kSha256, kGitBlobSha1 };

// Lowercase hex of the file's digest; errors name the file.
Result<std::string> DigestFile(Digest kind, const std::string& path);
Result<std::string> DigestBytes(Digest kind, std::string_view bytes);

}  // namespace snug::hub
