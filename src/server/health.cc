// GET /healthz (liveness: the process and the engine loop are alive) and GET /health
// (readiness: 503 + Retry-After while loading or draining, 200 once requests are served).
#include "server/routes.h"

namespace snug::server {
namespace {

// An engine that failed: the process should be restarted, so both probes say so.
std::optional<ApiError> EngineFailure(const ServerContext& context) {
  const std::shared_ptr<const ServedModel> model = context.model();
  if (model == nullptr || model->engine == nullptr) return std::nullopt;
  const EngineStats stats = model->engine->Stats();
  if (stats.healthy) return std::nullopt;
  return ApiError{.http_status = 503,
                  .type = "service_unavailable_error",
                  .code = "engine_failed",
                  .message = "The engine stopped: " + stats.failure};
}

}  // namespace

void HandleLiveness(ServerContext& context, const HttpRequest&, HttpResponse& response,
                    const std::shared_ptr<RequestRecord>&) {
  if (auto failure = EngineFailure(context)) return SendError(response, *failure);
  SendJson(response, {{"status", "ok"}});
}

void HandleReadiness(ServerContext& context, const HttpRequest&, HttpResponse& response,
                     const std::shared_ptr<RequestRecord>&) {
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  if (auto failure = EngineFailure(context)) return SendError(response, *failure);
  SendJson(response, {{"status", "ok"}});
}

}  // namespace snug::server
