// HTTP(S) GETs for the hub client (see http_client.h).
#include "hub/http_client.h"

#include <httplib.h>

#include <charconv>

namespace snug::hub {
namespace {

constexpr int kMaxRedirects = 10;
constexpr size_t kMaxErrorBodyBytes = 2048;

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::optional<uint64_t> ParseUint(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "bytes 100-199/1000" -> 100.
std::optional<uint64_t> RangeStart(std::string_view content_range) {
  if (!content_range.starts_with("bytes ")) return std::nullopt;
  content_range.remove_prefix(6);
  const size_t dash = content_range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return ParseUint(content_range.substr(0, dash));
}

// The hub answers errors with {"error": "..."}; either way the text is untrusted and shortened.
std::string Excerpt(const std::string& body) {
  std::string text;
  for (const char c : body.substr(0, 200)) text += (c >= 32 && c < 127) ? c : ' ';
  return text;
}

Status StatusError(int status, const std::string& url, const std::string& body) {
  const std::string where = "hub: GET " + url + ": HTTP " + std::to_string(status);
  const std::string detail = body.empty() ? "" : " (" + Excerpt(body) + ")";
  if (status == 401 || status == 403) {
    return FailedPrecondition(where + detail +
                              ": the repository is gated or private, or the token is not "
                              "allowed to read it; set HF_TOKEN to a token that may (and accept "
                              "the model's licence on its page)");
  }
  if (status == 404) {
    return NotFound(where + detail + ": no such repository, revision or file");
  }
  if (status == 416) return OutOfRange(where + ": the requested range is past the file's end");
  return Unavailable(where + detail);
}

}  // namespace

Result<Url> ParseUrl(std::string_view text) {
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos ||
      (text.substr(0, scheme_end) != "http" && text.substr(0, scheme_end) != "https")) {
    return InvalidArgument("hub: '" + std::string(text) + "' is not an http(s) URL");
  }
  const size_t path_start = text.find('/', scheme_end + 3);
  Url url;
  url.origin = std::string(text.substr(0, path_start));
  url.path = path_start == std::string_view::npos ? "/" : std::string(text.substr(path_start));
  if (url.origin.size() == scheme_end + 3) {
    return InvalidArgument("hub: '" + std::string(text) + "' has no host");
  }
  return url;
}

HttpClient::HttpClient(std::string endpoint, std::optional<std::string> token)
    : endpoint_(std::move(endpoint)), token_(std::move(token)) {
  while (endpoint_.ends_with('/')) endpoint_.pop_back();
}

Status HttpClient::Get(const std::string& path_or_url, uint64_t first_byte,
                       std::optional<uint64_t> last_byte, const BodySink& body) const {
  ASSIGN_OR_RETURN(const Url endpoint, ParseUrl(endpoint_ + "/"));
  Url url;
  if (path_or_url.starts_with("/")) {
    url = {endpoint.origin, path_or_url};
  } else {
    ASSIGN_OR_RETURN(url, ParseUrl(path_or_url));
  }
  for (int redirects = 0; redirects <= kMaxRedirects; ++redirects) {
    const std::string full = url.origin + url.path;
    httplib::Client client(url.origin);
    client.set_connection_timeout(30);
    client.set_read_timeout(60);
    client.set_follow_location(false);
    httplib::Headers headers;
    // The token is for the hub only: a redirect to a CDN must not carry it.
    if (token_ && url.origin == endpoint.origin) {
      headers.emplace("Authorization", "Bearer " + *token_);
    }
    if (first_byte > 0 || last_byte) {
      headers.emplace("Range", "bytes=" + std::to_string(first_byte) + "-" +
                                   (last_byte ? std::to_string(*last_byte) : ""));
    }
    ResponseHead head;
    std::string location;
    std::string error_body;
    bool stopped = false;
    const httplib::Result result = client.Get(
        url.path, headers,
        [&](const httplib::Response& response) {
          head.status = response.status;
          if (IsRedirect(response.status)) {
            location = response.get_header_value("Location");
            return false;  // the body of a redirect is not wanted
          }
          if (response.has_header("Content-Length")) {
            head.content_length = ParseUint(response.get_header_value("Content-Length"));
          }
          if (response.status == 206) {
            head.range_start = RangeStart(response.get_header_value("Content-Range"));
          }
          head.etag = response.get_header_value("ETag");
          return true;
        },
        [&](const char* data, size_t length) {
          if (head.status != 200 && head.status != 206) {
            error_body.append(data, std::min(length, kMaxErrorBodyBytes - std::min(
                                                         kMaxErrorBodyBytes, error_body.size())));
            return true;
          }
          if (!body(head, std::string_view(data, length))) {
            stopped = true;
            return false;
          }
          return true;
        });
    if (IsRedirect(head.status)) {
      if (location.empty()) {
        return Unavailable("hub: GET " + full + ": a redirect without a Location");
      }
      if (location.starts_with("/")) {
        url.path = location;
      } else {
        ASSIGN_OR_RETURN(url, ParseUrl(location));
      }
      continue;
    }
    if (stopped) return Status::Ok();
    if (!result && result.error() == httplib::Error::SSLServerVerification) {
      return FailedPrecondition("hub: GET " + full +
                                ": the server's TLS certificate is not trusted (a mirror with "
                                "its own CA: point SSL_CERT_FILE at it)");
    }
    if (!result) {
      return Unavailable("hub: GET " + full + ": " + httplib::to_string(result.error()) +
                         (head.status ? " after the response started (interrupted)" : ""));
    }
    if (head.status != 200 && head.status != 206) {
      return StatusError(head.status, full, error_body);
    }
    return Status::Ok();
  }
  return Unavailable("hub: GET " + path_or_url + ": more than " + std::to_string(kMaxRedirects) +
                     " redirects");
}

Result<std::string> HttpClient::GetText(const std::string& path_or_url, uint64_t max_bytes,
                                        uint64_t first_byte,
                                        std::optional<uint64_t> last_byte) const {
  std::string text;
  bool too_large = false;
  RETURN_IF_ERROR(Get(path_or_url, first_byte, last_byte,
                      [&](const ResponseHead& head, std::string_view bytes) {
                        // A server that ignores Range sends the whole file from byte 0.
                        if (head.status == 200 && last_byte && first_byte == 0 &&
                            text.size() + bytes.size() > *last_byte + 1) {
                          text.append(bytes.substr(0, *last_byte + 1 - text.size()));
                          return false;
                        }
                        if (head.status == 200 && first_byte > 0) {
                          too_large = true;  // cannot use a whole body for a range past 0
                          return false;
                        }
                        if (text.size() + bytes.size() > max_bytes) {
                          too_large = true;
                          return false;
                        }
                        text.append(bytes);
                        return true;
                      }));
  if (too_large) {
    return OutOfRange("hub: GET " + path_or_url + ": more than " + std::to_string(max_bytes) +
                      " bytes");
  }
  return text;
}

}  // namespace snug::hub
