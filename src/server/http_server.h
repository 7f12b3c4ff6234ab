// The HTTP side of `snug serve`: cpp-httplib, the route table, and what wraps every route —
// API keys (health endpoints stay open), CORS allow-list, the body limit (413), OpenAI-shaped
// errors for unknown routes and exceptions, per-request logging and metrics.
#pragma once

#include <httplib.h>

#include <string>

#include "base/status.h"
#include "server/context.h"

namespace snug::server {

class HttpServer {
 public:
  explicit HttpServer(ServerContext& context);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host`:`port` (0: a free port) and returns the port; connections queue from now on.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(); blocks. Call after Bind.
  void Serve();
  // Stops accepting and ends Serve() once the handlers in progress return. Streams still
  // running are cut, so drain (ServerContext::SetDraining, Engine::Shutdown) first.
  void Stop();

 private:
  void Configure();

  ServerContext& context_;
  httplib::Server server_;
};

}  // namespace snug::server
