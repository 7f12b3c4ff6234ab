#include "server/http_types.h"

#include <algorithm>

namespace snug::server {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

template <class Headers>
auto FindHeader(Headers& headers, std::string_view name) {
  return std::find_if(headers.begin(), headers.end(),
                      [&](const auto& header) { return HeaderNameEquals(header.first, name); });
}

}  // namespace

bool HeaderNameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string HttpRequest::Header(std::string_view name) const {
  const auto it = FindHeader(headers, name);
  return it == headers.end() ? std::string() : it->second;
}

bool HttpRequest::HasHeader(std::string_view name) const {
  return FindHeader(headers, name) != headers.end();
}

void HttpResponse::SetHeader(std::string_view name, std::string value) {
  const auto it = FindHeader(headers, name);
  if (it != headers.end()) {
    it->second = std::move(value);
  } else {
    headers.emplace_back(std::string(name), std::move(value));
  }
}

std::string HttpResponse::Header(std::string_view name) const {
  const auto it = FindHeader(headers, name);
  return it == headers.end() ? std::string() : it->second;
}

void HttpResponse::SetContent(std::string content, std::string_view content_type) {
  body = std::move(content);
  stream.reset();
  SetHeader("Content-Type", std::string(content_type));
}

void HttpResponse::SetStream(std::shared_ptr<ResponseStream> body_stream,
                             std::string_view content_type) {
  body.clear();
  stream = std::move(body_stream);
  SetHeader("Content-Type", std::string(content_type));
}

}  // namespace snug::server
