#include "server/router.h"

#include <arpa/inet.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <string_view>

#include "base/log.h"
#include "server/routes.h"

namespace snug::server {
namespace {

struct Route {
  const char* method;  // "GET" or "POST"
  const char* path;
  RouteHandler handler;
  bool open;  // no API key needed (probes)
  // `path` is a prefix, and the rest of the request's path the route's parameter (a model id).
  bool prefix = false;
};

constexpr Route kRoutes[] = {
    {"GET", "/healthz", HandleLiveness, true},
    {"GET", "/health", HandleReadiness, true},
    {"GET", "/v1/models", HandleModels, false},
    {"GET", "/v1/models/", HandleModel, false, /*prefix=*/true},
    {"GET", "/metrics", HandleMetrics, false},
    {"POST", "/v1/chat/completions", HandleChatCompletions, false},
    {"POST", "/v1/completions", HandleCompletions, false},
    {"POST", "/tokenize", HandleTokenize, false},
    {"POST", "/detokenize", HandleDetokenize, false},
    // The page asks for the API key itself and sends it with its API calls.
    {"GET", "/", HandleWebPage, true},
    {"GET", "/app.js", HandleWebPage, true},
    {"GET", "/app.css", HandleWebPage, true},
};

// The route for `path` and `method`; `path_known` says whether the path exists for any method.
const Route* FindRoute(std::string_view method, std::string_view path, bool& path_known) {
  path_known = false;
  for (const Route& route : kRoutes) {
    const std::string_view route_path = route.path;
    const bool matches = route.prefix ? path.size() > route_path.size() &&
                                            path.substr(0, route_path.size()) == route_path
                                      : path == route_path;
    if (!matches) continue;
    path_known = true;
    if (method == route.method) return &route;
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

bool Authorized(const HttpRequest& request, const std::string& api_key) {
  if (api_key.empty()) return true;
  const std::string header = request.Header("Authorization");
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

// The host of a Host header value or an origin's authority: "[::1]:8080" → "::1".
std::string_view HostName(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(1, close - 1);
  }
  const size_t colon = authority.find(':');
  if (colon != std::string_view::npos && authority.find(':', colon + 1) == std::string_view::npos) {
    return authority.substr(0, colon);
  }
  return authority;
}

bool IsIpAddress(std::string_view host) {
  const std::string text(host);
  unsigned char address[16];
  return inet_pton(AF_INET, text.c_str(), address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address) == 1;
}

bool HostAllowed(std::string_view host, const std::vector<std::string>& allowed) {
  if (IsIpAddress(host)) return true;  // DNS rebinding needs a name of the attacker's
  if (HeaderNameEquals(host, "localhost")) return true;
  constexpr std::string_view kLocal = ".localhost";
  if (host.size() > kLocal.size() &&
      HeaderNameEquals(host.substr(host.size() - kLocal.size()), kLocal)) {
    return true;
  }
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& name) { return HeaderNameEquals(name, host); });
}

// Without an API key anyone who reaches the port may use the model, and so may any web page the
// user visits: through DNS rebinding (a name of the attacker's that resolves to this address)
// or a cross-site form post (a text/plain body needs no preflight). So a key-less server
// answers only a Host that is an IP address, localhost or an --allow-host name, and an Origin,
// when a browser sends one, that is the same host or a --cors-origin.
std::optional<ApiError> CheckHost(const HttpRequest& request, const ServerOptions& options) {
  if (!options.api_key.empty()) return std::nullopt;
  const std::string host = request.Header("Host");
  if (!host.empty() && !HostAllowed(HostName(host), options.allowed_hosts)) {
    return ApiError{.http_status = 403,
                    .code = "host_not_allowed",
                    .message = "server: Host '" + Reflected(host) +
                               "' is not a name of this server; without an API key only IP "
                               "addresses, localhost and --allow-host names are answered"};
  }
  const std::string origin = request.Header("Origin");
  if (origin.empty() || OriginAllowed(origin, options.cors_origins)) return std::nullopt;
  const size_t scheme = origin.find("://");
  const std::string_view authority =
      scheme == std::string_view::npos ? std::string_view() : std::string_view(origin).substr(scheme + 3);
  if (!host.empty() && authority == host) return std::nullopt;  // same origin (the web page)
  return ApiError{.http_status = 403,
                  .code = "origin_not_allowed",
                  .message = "server: requests from the web page at '" + Reflected(origin) +
                             "' are not allowed; set --api-key, or --cors-origin for it"};
}

}  // namespace

void Router::Handle(const HttpRequest& request, HttpResponse& response) {
  if (request.method == "OPTIONS") {
    response.status = 204;
    AddCors(request, response);
    return;
  }
  bool path_known = false;
  const Route* route = FindRoute(request.method, request.path, path_known);
  if (route == nullptr) {
    const int status = path_known ? 405 : 404;
    SendError(response, ApiError{.http_status = status,
                                 .code = "unknown_url",
                                 .message = "Unknown request URL: " + Reflected(request.method) +
                                            " " + Reflected(request.path) + "."});
    RequestRecord record(context_.metrics(), "other");
    record.set_path(request.method + " " + request.path);
    record.Finish(status);
    AddCors(request, response);
    return;
  }
  if (auto refused = route->open ? std::nullopt : CheckHost(request, context_.options())) {
    SendError(response, *refused);
    RequestRecord(context_.metrics(), route->path).Finish(refused->http_status);
    return;
  }
  if (!route->open && !Authorized(request, context_.options().api_key)) {
    SendError(response, InvalidApiKey());
    RequestRecord(context_.metrics(), route->path).Finish(401);
    AddCors(request, response);
    return;
  }
  auto record = std::make_shared<RequestRecord>(context_.metrics(), route->path);
  try {
    route->handler(context_, request, response, record);
  } catch (const std::exception& e) {
    LOG(ERROR) << "server: " << request.method << " " << request.path << " threw: " << e.what();
    response = HttpResponse();
    SendError(response, ErrorFromStatus(Internal(std::string("server: internal error: ") +
                                                 e.what())));
  }
  // An error answer's reason goes into the log line (the body holds OpenAI's error object).
  if (response.status >= 400 && response.stream == nullptr) {
    const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    if (body.is_object() && body.contains("error") && body["error"].is_object() &&
        body["error"].value("message", nlohmann::json()).is_string()) {
      record->set_error(body["error"]["message"].get<std::string>());
    }
  }
  if (!record->streaming() || response.stream == nullptr) record->Finish(response.status);
  AddCors(request, response);
}

void Router::Refuse(const ApiError& error, HttpResponse& response) {
  SendError(response, error);
  RequestRecord(context_.metrics(), "other").Finish(error.http_status);
}

void Router::AddCors(const HttpRequest& request, HttpResponse& response) const {
  const std::vector<std::string>& allowed = context_.options().cors_origins;
  const std::string origin = request.Header("Origin");
  if (allowed.empty() || origin.empty() || !OriginAllowed(origin, allowed)) return;
  response.SetHeader("Access-Control-Allow-Origin", origin);
  response.SetHeader("Vary", "Origin");
  response.SetHeader("Access-Control-Expose-Headers", "x-request-id, Retry-After");
  if (request.method == "OPTIONS") {
    response.SetHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    const std::string asked = request.Header("Access-Control-Request-Headers");
    response.SetHeader("Access-Control-Allow-Headers",
                       asked.empty() ? "Authorization, Content-Type" : asked);
    response.SetHeader("Access-Control-Max-Age", "600");
  }
}

}  // namespace snug::server
