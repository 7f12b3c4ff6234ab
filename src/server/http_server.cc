#include "server/http_server.h"

#include <algorithm>
#include <exception>
#include <memory>

#include "base/log.h"
#include "server/routes.h"

namespace snug::server {
namespace {

struct Route {
  const char* method;  // "GET" or "POST"
  const char* path;
  RouteHandler handler;
  bool open;  // no API key needed (probes)
};

constexpr Route kRoutes[] = {
    {"GET", "/healthz", HandleLiveness, true},
    {"GET", "/health", HandleReadiness, true},
    {"GET", "/v1/models", HandleModels, false},
    {"GET", "/metrics", HandleMetrics, false},
    {"POST", "/v1/chat/completions", HandleChatCompletions, false},
    {"POST", "/v1/completions", HandleCompletions, false},
};

const Route* FindRoute(const std::string& path) {
  for (const Route& route : kRoutes) {
    if (path == route.path) return &route;
  }
  return nullptr;
}

// Compares without an early exit, so response time does not reveal how much of a key matched.
bool SameKey(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return difference == 0;
}

bool Authorized(const httplib::Request& request, const std::string& api_key) {
  if (api_key.empty()) return true;
  const std::string header = request.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) {
    return false;
  }
  return SameKey(header.substr(kBearer.size()), api_key);
}

bool OriginAllowed(const std::string& origin, const std::vector<std::string>& allowed) {
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& entry) { return entry == "*" || entry == origin; });
}

}  // namespace

HttpServer::HttpServer(ServerContext& context) : context_(context) { Configure(); }

void HttpServer::Configure() {
  const ServerOptions& options = context_.options();
  const int threads = std::max(options.http_threads, 2);
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(options.max_body_bytes);
  server_.set_read_timeout(30);
  server_.set_write_timeout(30);
  server_.set_tcp_nodelay(true);  // SSE chunks leave at once

  for (const Route& route : kRoutes) {
    auto handler = [this, &route](const httplib::Request& request, httplib::Response& response) {
      auto record = std::make_shared<RequestRecord>(context_.metrics(), route.path);
      route.handler(context_, request, response, record);
      if (!record->streaming()) record->Finish(response.status > 0 ? response.status : 200);
    };
    if (std::string_view(route.method) == "GET") {
      server_.Get(route.path, handler);
    } else {
      server_.Post(route.path, handler);
    }
  }

  // Preflight and the API key, before routing. Health probes and preflights stay open.
  server_.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (request.method == "OPTIONS") {
          response.status = 204;
          return httplib::Server::HandlerResponse::Handled;
        }
        const Route* route = FindRoute(request.path);
        if (route == nullptr || route->open || Authorized(request, context_.options().api_key)) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        SendError(response, InvalidApiKey());
        RequestRecord(context_.metrics(), route->path).Finish(401);
        return httplib::Server::HandlerResponse::Handled;
      });

  // Errors httplib raises itself (no route, body too large) get OpenAI's shape too.
  server_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty() || response.is_chunked_content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        const int status = response.status;
        if (status == 413) {
          SendError(response, BodyTooLarge(context_.options().max_body_bytes));
        } else if (status == 404 || status == 405) {
          SendError(response, ApiError{.http_status = status,
                                       .code = "unknown_url",
                                       .message = "Unknown request URL: " + request.method + " " +
                                                  request.path + "."});
        } else {
          SendError(response, ApiError{.http_status = status,
                                       .message = "The request could not be served (HTTP " +
                                                  std::to_string(status) + ")."});
        }
        RequestRecord(context_.metrics(), "other").Finish(status);
        return httplib::Server::HandlerResponse::Handled;
      }));

  server_.set_exception_handler([](const httplib::Request& request, httplib::Response& response,
                                   std::exception_ptr exception) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(exception);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    LOG(ERROR) << "server: " << request.method << " " << request.path << " threw: " << what;
    SendError(response, ErrorFromStatus(Internal("server: internal error: " + what)));
  });

  server_.set_post_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        const std::vector<std::string>& allowed = context_.options().cors_origins;
        const std::string origin = request.get_header_value("Origin");
        if (allowed.empty() || origin.empty() || !OriginAllowed(origin, allowed)) return;
        response.set_header("Access-Control-Allow-Origin", origin);
        response.set_header("Vary", "Origin");
        response.set_header("Access-Control-Expose-Headers", "x-request-id, Retry-After");
        if (request.method == "OPTIONS") {
          response.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
          const std::string asked = request.get_header_value("Access-Control-Request-Headers");
          response.set_header("Access-Control-Allow-Headers",
                              asked.empty() ? "Authorization, Content-Type" : asked);
          response.set_header("Access-Control-Max-Age", "600");
        }
      });
}

Result<int> HttpServer::Bind(const std::string& host, int port) {
  if (port == 0) {
    const int bound = server_.bind_to_any_port(host);
    if (bound <= 0) return Unavailable("server: cannot listen on " + host + " (any port)");
    return bound;
  }
  if (!server_.bind_to_port(host, port)) {
    return Unavailable("server: cannot listen on " + host + ":" + std::to_string(port) +
                       " (in use, or not an address of this machine?)");
  }
  return port;
}

void HttpServer::Serve() { server_.listen_after_bind(); }

void HttpServer::Stop() { server_.stop(); }

}  // namespace snug::server
