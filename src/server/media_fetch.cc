// Fetching an image URL for a chat request, only from hosts the operator allowed
// (--allow-media-urls): one GET, no redirects, a size cap and an overall deadline.

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>

#include "server/media_parts.h"

namespace snug::server {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

struct ParsedUrl {
  std::string scheme_host_port;  // what httplib::Client takes
  std::string host;              // lower case, without the port
  std::string host_port;         // lower case, with the port when the URL names one
  std::string path;              // from the first '/', with the query
};

Result<ParsedUrl> ParseUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  const size_t authority_start = scheme_end + 3;
  size_t path_start = url.find_first_of("/?#", authority_start);
  if (path_start == std::string::npos) path_start = url.size();
  const std::string authority = url.substr(authority_start, path_start - authority_start);
  if (authority.empty() || authority.find('@') != std::string::npos) {
    return InvalidArgument("media: the URL needs a host (and no user name)");
  }
  ParsedUrl parsed;
  parsed.host_port = Lower(authority);
  const size_t colon = parsed.host_port.rfind(':');
  parsed.host = colon != std::string::npos && parsed.host_port.find(']') == std::string::npos
                    ? parsed.host_port.substr(0, colon)
                    : parsed.host_port;
  parsed.scheme_host_port = url.substr(0, path_start);
  parsed.path = path_start < url.size() ? url.substr(path_start) : "/";
  if (parsed.path[0] != '/') parsed.path = "/" + parsed.path;
  if (const size_t fragment = parsed.path.find('#'); fragment != std::string::npos) {
    parsed.path.resize(fragment);
  }
  return parsed;
}

}  // namespace

Result<std::vector<uint8_t>> FetchMediaUrl(const std::string& url, const MediaOptions& options) {
  ASSIGN_OR_RETURN(const ParsedUrl parsed, ParseUrl(url));
  const bool allowed = std::any_of(options.url_hosts.begin(), options.url_hosts.end(),
                                   [&](const std::string& entry) {
                                     const std::string host = Lower(entry);
                                     return host == parsed.host || host == parsed.host_port;
                                   });
  if (!allowed) {
    return InvalidArgument("media: the host '" + parsed.host +
                           "' is not in this server's --allow-media-urls list");
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.fetch_timeout_ms);
  httplib::Client client(parsed.scheme_host_port);
  client.set_follow_location(false);
  const auto timeout = std::chrono::milliseconds(options.fetch_timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  std::vector<uint8_t> body;
  std::string refusal;
  int status = 0;
  httplib::Result result = client.Get(
      parsed.path,
      [&](const httplib::Response& response) {
        status = response.status;
        if (status >= 300 && status < 400) {
          refusal = "the server answered " + std::to_string(status) +
                    " (a redirect); redirects are not followed";
          return false;
        }
        if (status != 200) {
          refusal = "the server answered " + std::to_string(status);
          return false;
        }
        const std::string length = response.get_header_value("Content-Length");
        if (!length.empty() && std::strtoull(length.c_str(), nullptr, 10) > options.max_fetch_bytes) {
          refusal = "the image is " + length + " bytes; the limit is " +
                    std::to_string(options.max_fetch_bytes);
          return false;
        }
        return true;
      },
      [&](const char* data, size_t size) {
        if (body.size() + size > options.max_fetch_bytes) {
          refusal = "the image is larger than the limit of " +
                    std::to_string(options.max_fetch_bytes) + " bytes";
          return false;
        }
        if (Clock::now() > deadline) {
          refusal = "the fetch took longer than " + std::to_string(options.fetch_timeout_ms) + " ms";
          return false;
        }
        body.insert(body.end(), data, data + size);
        return true;
      });
  if (!refusal.empty()) return InvalidArgument("media: fetching " + parsed.host + ": " + refusal);
  if (!result) {
    return InvalidArgument("media: fetching " + parsed.host + " failed (" +
                           httplib::to_string(result.error()) + ")");
  }
  if (Clock::now() > deadline) {
    return InvalidArgument("media: the fetch took longer than " +
                           std::to_string(options.fetch_timeout_ms) + " ms");
  }
  return body;
}

}  // namespace snug::server
