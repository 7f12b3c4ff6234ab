// HTTP/1.1 request framing (RFC 9112) over bytes that arrive in pieces: the request line and
// headers, bounded in size and count, then the body by Content-Length or chunked coding, bounded
// in decoded bytes. Pure functions over spans: no sockets, no allocation beyond the output, so
// the fuzz target drives them as the server does. Anything ambiguous (two Content-Lengths,
// Content-Length with Transfer-Encoding, a transfer coding other than chunked, obsolete line
// folding) is refused: a proxy in front might frame it differently (request smuggling).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/http_types.h"

namespace snug::server {

struct HttpLimits {
  size_t max_request_line_bytes = 8 << 10;  // more: 414
  size_t max_head_bytes = 16 << 10;         // request line + headers; more: 431
  size_t max_headers = 64;                  // more: 431
  size_t max_body_bytes = 8 << 20;          // decoded; more: 413
};

// Why a request cannot be read: its HTTP status and a message for the client.
struct HttpFault {
  int http_status = 400;
  std::string message;
};

enum class BodyFraming { kNone, kLength, kChunked };

struct RequestHead {
  HttpRequest request;  // method, path, query, headers (no body yet)
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // kLength
  bool keep_alive = true;       // HTTP/1.1 default; "Connection: close" or HTTP/1.0 without
                                // "Connection: keep-alive" turns it off
  bool expect_continue = false;
};

enum class ParseState { kIncomplete, kComplete, kFault };

// Parses the head at the start of `bytes`. kComplete sets `head` and `head_bytes` (through the
// blank line); kIncomplete means more bytes are needed (and none of the limits is passed yet);
// kFault sets `fault`. Leading blank lines (RFC 9112 §2.2) are skipped.
ParseState ParseRequestHead(std::string_view bytes, const HttpLimits& limits, RequestHead& head,
                            size_t& head_bytes, HttpFault& fault);

// Incremental decoder of a chunked body (RFC 9112 §7.1); trailers are read and dropped.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

  // Consumes bytes from the front of `bytes` (sets `consumed`), appending decoded data to
  // `body`. kComplete once the last chunk and trailers are read; kFault on malformed input or
  // more than max_body_bytes decoded (413).
  ParseState Feed(std::string_view bytes, size_t& consumed, std::string& body, HttpFault& fault);

 private:
  enum class Step { kSize, kData, kDataEnd, kTrailer, kDone };
  Step step_ = Step::kSize;
  uint64_t chunk_left_ = 0;
  size_t max_body_bytes_;
  size_t line_bytes_ = 0;  // of the size line or trailer section read so far
};

// The status line's reason phrase ("Not Found").
const char* ReasonPhrase(int status);

}  // namespace snug::server
