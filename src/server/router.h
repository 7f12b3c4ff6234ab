// What wraps every route, whatever the transport: preflight (OPTIONS), the API key (health
// probes stay open), the route table, OpenAI-shaped errors for unknown routes and exceptions,
// CORS headers, and the per-request record (log line and metrics). The transport hands it a
// request that is already complete and within bounds; it never sees a socket.
#pragma once

#include "server/api_error.h"
#include "server/context.h"
#include "server/http_types.h"

namespace snug::server {

class Router {
 public:
  explicit Router(ServerContext& context) : context_(context) {}

  // Answers `request` into `response` (a body, or a stream the transport pulls).
  void Handle(const HttpRequest& request, HttpResponse& response);
  // A request the transport refused before it was complete (too large, malformed framing):
  // the OpenAI body for `error`, counted under the route "other".
  void Refuse(const ApiError& error, HttpResponse& response);

 private:
  void AddCors(const HttpRequest& request, HttpResponse& response) const;

  ServerContext& context_;
};

}  // namespace snug::server
