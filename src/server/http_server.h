// The HTTP/1.1 transport of `snug serve`: one event thread (epoll) accepts connections, reads
// and frames requests within the bounds (HttpLimits, header and body deadlines, the body
// budget, a connection cap) before anything else sees them, and writes answers; a pool of
// worker threads runs the Router on complete requests only. So an idle, slow or never-reading
// client holds a connection slot and a few kilobytes, never a worker. Linux only (epoll).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "base/status.h"
#include "server/context.h"

namespace snug::server {

class HttpServer {
 public:
  explicit HttpServer(ServerContext& context);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host`:`port` (0: a free port) and returns the port; connections queue from now on.
  // Never shares a port: a second server on the same port fails here, naming it.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(); blocks. Call after Bind.
  void Serve();
  // Ends Serve(): the listener closes, every connection is closed (streams still running are
  // cut, so drain first: ServerContext::SetDraining, Engine::Shutdown), the workers are joined.
  void Stop();

  // The loop's state, for tests and metrics: open connections, requests being handled.
  int open_connections() const;

 private:
  class Loop;
  ServerContext& context_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace snug::server
