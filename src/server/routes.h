// The endpoints, one file each, and the helpers they answer with. A handler parses, asks the
// engine, and formats; the route table (http_server.cc) adds auth, CORS, limits and logging.
#pragma once

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "server/api_error.h"
#include "server/context.h"
#include "server/request_record.h"

namespace snug::server {

using RouteHandler = void (*)(ServerContext& context, const httplib::Request& request,
                              httplib::Response& response,
                              const std::shared_ptr<RequestRecord>& record);

void HandleLiveness(ServerContext&, const httplib::Request&, httplib::Response&,
                    const std::shared_ptr<RequestRecord>&);  // GET /healthz
void HandleReadiness(ServerContext&, const httplib::Request&, httplib::Response&,
                     const std::shared_ptr<RequestRecord>&);  // GET /health
void HandleModels(ServerContext&, const httplib::Request&, httplib::Response&,
                  const std::shared_ptr<RequestRecord>&);  // GET /v1/models
void HandleMetrics(ServerContext&, const httplib::Request&, httplib::Response&,
                   const std::shared_ptr<RequestRecord>&);  // GET /metrics
void HandleChatCompletions(ServerContext&, const httplib::Request&, httplib::Response&,
                           const std::shared_ptr<RequestRecord>&);  // POST /v1/chat/completions
void HandleCompletions(ServerContext&, const httplib::Request&, httplib::Response&,
                       const std::shared_ptr<RequestRecord>&);  // POST /v1/completions

void SendJson(httplib::Response& response, const nlohmann::json& body, int status = 200);
// The OpenAI error body, its status, and Retry-After / x-should-retry when they apply.
void SendError(httplib::Response& response, const ApiError& error);

// "fp_snug": the same for every response of this build.
inline constexpr const char* kSystemFingerprint = "fp_snug";

}  // namespace snug::server
