// HTTP(S) GETs against the hub ($HF_ENDPOINT, default https://huggingface.co): the bearer token
// ($HF_TOKEN), redirects followed by hand so the token never travels to another host (the hub
// sends LFS files to a CDN whose signed URLs refuse it), byte ranges, and bodies streamed to a
// callback. What the bytes mean is the caller's business.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace snug::hub {

inline constexpr std::string_view kDefaultEndpoint = "https://huggingface.co";

// "https://host[:port]" and a path starting with '/'.
struct Url {
  std::string origin;
  std::string path;
};
// Absolute http(s) URLs only; InvalidArgument otherwise.
Result<Url> ParseUrl(std::string_view text);

struct ResponseHead {
  int status = 0;
  std::optional<uint64_t> content_length;
  std::optional<uint64_t> range_start;  // a 206's "Content-Range: bytes START-END/TOTAL"
  std::string etag;
};

class HttpClient {
 public:
  // `endpoint`: "https://huggingface.co" or a mirror; `token`: sent as "Authorization: Bearer"
  // to the endpoint's host only.
  HttpClient(std::string endpoint, std::optional<std::string> token);

  const std::string& endpoint() const { return endpoint_; }

  // GET `path` (on the endpoint) or an absolute URL, following up to 10 redirects. Only 200 and
  // 206 bodies reach `body` (return false to stop); other statuses become errors that name the
  // URL and say what to do (401/403: a token; 404: the name). `first_byte` > 0 asks for
  // "Range: bytes=first_byte-"; `last_byte` bounds it.
  using BodySink = std::function<bool(const ResponseHead& head, std::string_view bytes)>;
  Status Get(const std::string& path_or_url, uint64_t first_byte, std::optional<uint64_t> last_byte,
             const BodySink& body) const;

  // A whole small body (JSON, a header prefix) into memory, refused past `max_bytes`.
  Result<std::string> GetText(const std::string& path_or_url, uint64_t max_bytes,
                              uint64_t first_byte = 0,
                              std::optional<uint64_t> last_byte = std::nullopt) const;

 private:
  std::string endpoint_;
  std::optional<std::string> token_;
};

}  // namespace snug::hub
