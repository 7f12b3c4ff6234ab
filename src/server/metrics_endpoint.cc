// GET /metrics: Prometheus text — the server's own counters and the engine's Stats.
#include "server/routes.h"

namespace snug::server {

void HandleMetrics(ServerContext& context, const httplib::Request&, httplib::Response& response,
                   const std::shared_ptr<RequestRecord>&) {
  const std::shared_ptr<const ServedModel> model = context.model();
  std::optional<EngineStats> stats;
  if (model != nullptr && model->engine != nullptr) stats = model->engine->Stats();
  response.set_content(context.metrics().Render(stats ? &*stats : nullptr),
                       "text/plain; version=0.0.4");
}

}  // namespace snug::server
