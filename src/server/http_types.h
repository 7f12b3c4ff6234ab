// snug's own request and response, between the handlers and the HTTP transport: a handler reads
// an HttpRequest and fills an HttpResponse (a whole body, or a ResponseStream the transport pulls
// from); it never sees the transport, its sockets or its threads. The transport (http_server.cc)
// has bounded and parsed the request before a handler or the router sees it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snug::server {

// Header names compare without case (RFC 9110 §5.1).
bool HeaderNameEquals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;  // "GET", "POST", "OPTIONS", ...
  std::string path;    // without the query
  std::string query;   // after '?', undecoded; empty when none
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::string body;                                          // complete, within --max-body-bytes
  std::string remote_address;                                // "127.0.0.1", "::1"
  // True once the client has closed its connection (never blocks); a handler that waits
  // without writing (a non-streaming completion) polls it to cancel its work. Null: unknown.
  std::function<bool()> hung_up;

  // The first header named `name`, or "" when there is none.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  bool ClientHungUp() const { return hung_up && hung_up(); }
};

// A body produced piece by piece (server-sent events). The transport calls Next until it returns
// true, writing each piece as it comes, then Close once.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Appends the next piece to `out` (it may wait for it, a bounded time, and may append nothing);
  // true once the body is complete (what it appended this time is still written).
  virtual bool Next(std::string& out) = 0;
  // `delivered`: every piece was written. False when the client went away or a write failed:
  // the stream stops the work behind it.
  virtual void Close(bool delivered) = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type is among them
  std::string body;
  std::shared_ptr<ResponseStream> stream;  // set: the body comes from it (chunked), not `body`

  // Replaces a header of that name, or adds it.
  void SetHeader(std::string_view name, std::string value);
  std::string Header(std::string_view name) const;
  void SetContent(std::string content, std::string_view content_type);
  void SetStream(std::shared_ptr<ResponseStream> body_stream, std::string_view content_type);
};

}  // namespace snug::server
