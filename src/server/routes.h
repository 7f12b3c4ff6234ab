// The endpoints, one file each, and the helpers they answer with. A handler parses, asks the
// engine, and formats; the router (router.cc: the route table) adds auth, CORS and logging, and
// the transport (http_server.cc) the limits.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/context.h"
#include "server/http_types.h"
#include "server/request_record.h"

namespace snug::server {

using RouteHandler = void (*)(ServerContext& context, const HttpRequest& request,
                              HttpResponse& response,
                              const std::shared_ptr<RequestRecord>& record);

void HandleLiveness(ServerContext&, const HttpRequest&, HttpResponse&,
                    const std::shared_ptr<RequestRecord>&);  // GET /healthz
void HandleReadiness(ServerContext&, const HttpRequest&, HttpResponse&,
                     const std::shared_ptr<RequestRecord>&);  // GET /health
void HandleModels(ServerContext&, const HttpRequest&, HttpResponse&,
                  const std::shared_ptr<RequestRecord>&);  // GET /v1/models
void HandleModel(ServerContext&, const HttpRequest&, HttpResponse&,
                 const std::shared_ptr<RequestRecord>&);  // GET /v1/models/{id}
void HandleTokenize(ServerContext&, const HttpRequest&, HttpResponse&,
                    const std::shared_ptr<RequestRecord>&);  // POST /tokenize
void HandleDetokenize(ServerContext&, const HttpRequest&, HttpResponse&,
                      const std::shared_ptr<RequestRecord>&);  // POST /detokenize
void HandleMetrics(ServerContext&, const HttpRequest&, HttpResponse&,
                   const std::shared_ptr<RequestRecord>&);  // GET /metrics
void HandleChatCompletions(ServerContext&, const HttpRequest&, HttpResponse&,
                           const std::shared_ptr<RequestRecord>&);  // POST /v1/chat/completions
void HandleCompletions(ServerContext&, const HttpRequest&, HttpResponse&,
                       const std::shared_ptr<RequestRecord>&);  // POST /v1/completions
void HandleWebPage(ServerContext&, const HttpRequest&, HttpResponse&,
                   const std::shared_ptr<RequestRecord>&);  // GET /, /app.js, /app.css

void SendJson(HttpResponse& response, const nlohmann::json& body, int status = 200);
// The OpenAI error body, its status, and Retry-After / x-should-retry when they apply.
void SendError(HttpResponse& response, const ApiError& error);

// "fp_snug": the same for every response of this build.
inline constexpr const char* kSystemFingerprint = "fp_snug";

}  // namespace snug::server
