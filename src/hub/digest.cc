// sha256 and git blob ids with OpenSSL's EVP (see digest.h).
#include "hub/digest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace snug::hub {
namespace {

struct ContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

class Hasher {
 public:
  Hasher(Digest kind, uint64_t total_bytes) : context_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(context_.get(), kind == Digest::kSha256 ? EVP_sha256() : EVP_sha1(),
                      nullptr);
    if (kind == Digest::kGitBlobSha1) {
      const std::string prefix = "blob " + std::to_string(total_bytes);
      EVP_DigestUpdate(context_.get(), prefix.data(), prefix.size() + 1);  // with its '\0'
    }
  }
  void Update(const void* data, size_t bytes) { EVP_DigestUpdate(context_.get(), data, bytes); }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_.get(), digest, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, ContextDeleter> context_;
};

}  // namespace

Result<std::string> DigestFile(Digest kind, const std::string& path) {
  std::error_code error;
  const uint64_t bytes = std::filesystem::file_size(path, error);
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (error || file == nullptr) {
    return NotFound("hub: cannot read " + path + ": " + std::strerror(errno));
  }
  Hasher hasher(kind, bytes);
  std::vector<char> buffer(1 << 20);
  size_t read = 0;
  while ((read = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    hasher.Update(buffer.data(), read);
  }
  if (std::ferror(file.get())) return DataLoss("hub: error reading " + path);
  return hasher.HexDigest();
}

Result<std::string> DigestBytes(Digest kind, std::string_view bytes) {
  Hasher hasher(kind, bytes.size());
  hasher.Update(bytes.data(), bytes.size());
  return hasher.HexDigest();
}

}  // namespace snug::hub
