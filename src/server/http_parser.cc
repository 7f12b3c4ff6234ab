#include "server/http_parser.h"

#include <algorithm>

namespace snug::server {
namespace {

constexpr size_t kMaxChunkLineBytes = 1024;  // a size line with extensions; a trailer line

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsNoCase(std::string_view a, std::string_view b) { return HeaderNameEquals(a, b); }

// Whether a comma-separated header value lists `token` (Connection: keep-alive, Upgrade).
bool ListHas(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (EqualsNoCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// A decimal Content-Length: digits only, no sign, no overflow.
bool ParseLength(std::string_view text, uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

HttpFault Fault(int status, std::string message) { return {status, std::move(message)}; }

ParseState Fail(HttpFault& fault, int status, std::string message) {
  fault = Fault(status, std::move(message));
  return ParseState::kFault;
}

}  // namespace

ParseState ParseRequestHead(std::string_view bytes, const HttpLimits& limits, RequestHead& head,
                            size_t& head_bytes, HttpFault& fault) {
  size_t start = 0;
  while (start + 1 < bytes.size() && bytes[start] == '\r' && bytes[start + 1] == '\n') start += 2;
  const std::string_view text = bytes.substr(start);
  const size_t line_end = text.find("\r\n");
  if (line_end == std::string_view::npos) {
    if (text.size() > limits.max_request_line_bytes) {
      return Fail(fault, 414, "the request line is longer than " +
                                  std::to_string(limits.max_request_line_bytes) + " bytes");
    }
    return ParseState::kIncomplete;
  }
  if (line_end > limits.max_request_line_bytes) {
    return Fail(fault, 414, "the request line is longer than " +
                                std::to_string(limits.max_request_line_bytes) + " bytes");
  }
  const size_t end = text.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (text.size() > limits.max_head_bytes) {
      return Fail(fault, 431, "the request's headers are larger than " +
                                  std::to_string(limits.max_head_bytes) + " bytes");
    }
    return ParseState::kIncomplete;
  }
  if (end + 4 > limits.max_head_bytes) {
    return Fail(fault, 431, "the request's headers are larger than " +
                                std::to_string(limits.max_head_bytes) + " bytes");
  }

  head = RequestHead();
  // Request line: METHOD SP target SP HTTP/1.x
  const std::string_view line = text.substr(0, line_end);
  const size_t space1 = line.find(' ');
  const size_t space2 = space1 == std::string_view::npos ? space1 : line.find(' ', space1 + 1);
  if (space2 == std::string_view::npos || line.find(' ', space2 + 1) != std::string_view::npos) {
    return Fail(fault, 400, "malformed request line");
  }
  const std::string_view method = line.substr(0, space1);
  const std::string_view target = line.substr(space1 + 1, space2 - space1 - 1);
  const std::string_view version = line.substr(space2 + 1);
  if (!IsToken(method)) return Fail(fault, 400, "malformed request method");
  if (target.empty() || target.front() != '/') {
    return Fail(fault, 400, "the request target must be a path starting with '/'");
  }
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Fail(fault, 400, "malformed request target");
    }
  }
  bool http10 = false;
  if (version == "HTTP/1.0") {
    http10 = true;
  } else if (version != "HTTP/1.1") {
    return Fail(fault, 505, "only HTTP/1.1 and HTTP/1.0 are served");
  }
  HttpRequest& request = head.request;
  request.method = std::string(method);
  const size_t query = target.find('?');
  request.path = std::string(target.substr(0, query));
  if (query != std::string_view::npos) request.query = std::string(target.substr(query + 1));

  // Header fields: name ":" OWS value OWS
  std::string_view fields = text.substr(line_end + 2, end - line_end);  // each ends with CRLF
  int content_lengths = 0;
  bool chunked = false, transfer_encoding = false, connection_close = false,
       connection_keep_alive = false;
  while (!fields.empty()) {
    const size_t eol = fields.find("\r\n");
    const std::string_view field = fields.substr(0, eol);
    fields.remove_prefix(eol + 2);
    if (field.empty()) break;
    if (field.front() == ' ' || field.front() == '\t') {
      return Fail(fault, 400, "obsolete header line folding is not accepted");
    }
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || !IsToken(field.substr(0, colon))) {
      return Fail(fault, 400, "malformed header line");
    }
    if (request.headers.size() == limits.max_headers) {
      return Fail(fault, 431, "more than " + std::to_string(limits.max_headers) + " headers");
    }
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = Trim(field.substr(colon + 1));
    for (char c : value) {
      if (c == '\r' || c == '\n' || c == '\0') return Fail(fault, 400, "malformed header value");
    }
    if (EqualsNoCase(name, "Content-Length")) {
      ++content_lengths;
      uint64_t length = 0;
      if (!ParseLength(value, length)) return Fail(fault, 400, "malformed Content-Length");
      if (content_lengths > 1 && length != head.content_length) {
        return Fail(fault, 400, "two different Content-Length headers");
      }
      if (content_lengths > 1) return Fail(fault, 400, "more than one Content-Length header");
      head.content_length = length;
    } else if (EqualsNoCase(name, "Transfer-Encoding")) {
      if (transfer_encoding || !EqualsNoCase(value, "chunked")) {
        return Fail(fault, 501, "only 'Transfer-Encoding: chunked' is accepted");
      }
      transfer_encoding = chunked = true;
    } else if (EqualsNoCase(name, "Connection")) {
      connection_close = connection_close || ListHas(value, "close");
      connection_keep_alive = connection_keep_alive || ListHas(value, "keep-alive");
    } else if (EqualsNoCase(name, "Expect")) {
      if (!EqualsNoCase(value, "100-continue")) {
        return Fail(fault, 417, "only 'Expect: 100-continue' is understood");
      }
      head.expect_continue = true;
    }
    request.headers.emplace_back(std::string(name), std::string(value));
  }
  if (content_lengths > 0 && transfer_encoding) {
    return Fail(fault, 400, "both Content-Length and Transfer-Encoding: the framing is ambiguous");
  }
  if (http10 && transfer_encoding) {
    return Fail(fault, 400, "Transfer-Encoding is not defined for HTTP/1.0");
  }
  if (chunked) {
    head.framing = BodyFraming::kChunked;
  } else if (content_lengths > 0) {
    head.framing = head.content_length > 0 ? BodyFraming::kLength : BodyFraming::kNone;
    if (head.content_length > limits.max_body_bytes) {
      return Fail(fault, 413, "body too large");
    }
  }
  head.keep_alive = http10 ? (connection_keep_alive && !connection_close) : !connection_close;
  head_bytes = start + end + 4;
  return ParseState::kComplete;
}

ParseState ChunkedDecoder::Feed(std::string_view bytes, size_t& consumed, std::string& body,
                                HttpFault& fault) {
  consumed = 0;
  while (true) {
    const std::string_view rest = bytes.substr(consumed);
    switch (step_) {
      case Step::kSize: {
        const size_t eol = rest.find("\r\n");
        if (eol == std::string_view::npos) {
          if (rest.size() > kMaxChunkLineBytes) return Fail(fault, 400, "malformed chunk size");
          return ParseState::kIncomplete;
        }
        if (eol > kMaxChunkLineBytes) return Fail(fault, 400, "malformed chunk size");
        std::string_view size_text = rest.substr(0, eol);
        size_text = size_text.substr(0, size_text.find(';'));  // extensions are ignored
        while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t')) {
          size_text.remove_suffix(1);
        }
        if (size_text.empty() || size_text.size() > 15) {
          return Fail(fault, 400, "malformed chunk size");
        }
        uint64_t size = 0;
        for (char c : size_text) {
          int digit;
          if (c >= '0' && c <= '9') {
            digit = c - '0';
          } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
          } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
          } else {
            return Fail(fault, 400, "malformed chunk size");
          }
          size = size * 16 + static_cast<uint64_t>(digit);
        }
        consumed += eol + 2;
        if (size > max_body_bytes_ - std::min(body.size(), max_body_bytes_)) {
          return Fail(fault, 413, "body too large");
        }
        chunk_left_ = size;
        line_bytes_ = 0;
        step_ = size == 0 ? Step::kTrailer : Step::kData;
        break;
      }
      case Step::kData: {
        if (rest.empty()) return ParseState::kIncomplete;
        const size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, rest.size()));
        body.append(rest.data(), take);
        consumed += take;
        chunk_left_ -= take;
        if (chunk_left_ == 0) step_ = Step::kDataEnd;
        break;
      }
      case Step::kDataEnd:
        if (rest.size() < 2) return ParseState::kIncomplete;
        if (rest[0] != '\r' || rest[1] != '\n') return Fail(fault, 400, "malformed chunk end");
        consumed += 2;
        step_ = Step::kSize;
        break;
      case Step::kTrailer: {
        const size_t eol = rest.find("\r\n");
        if (eol == std::string_view::npos) {
          if (line_bytes_ + rest.size() > kMaxChunkLineBytes * 8) {
            return Fail(fault, 431, "chunked trailers too large");
          }
          return ParseState::kIncomplete;
        }
        line_bytes_ += eol + 2;
        if (line_bytes_ > kMaxChunkLineBytes * 8) {
          return Fail(fault, 431, "chunked trailers too large");
        }
        consumed += eol + 2;
        if (eol == 0) {
          step_ = Step::kDone;
          return ParseState::kComplete;
        }
        break;
      }
      case Step::kDone:
        return ParseState::kComplete;
    }
  }
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace snug::server
