// GET /metrics: Prometheus text — the server's own counters, the engine's Stats, the process's
// resident memory and the memory plan it is held to.
#include "base/process_memory.h"
#include "server/routes.h"

namespace snug::server {

void HandleMetrics(ServerContext& context, const HttpRequest&, HttpResponse& response,
                   const std::shared_ptr<RequestRecord>&) {
  const std::shared_ptr<const ServedModel> model = context.model();
  std::optional<EngineStats> stats;
  if (model != nullptr && model->engine != nullptr) stats = model->engine->Stats();
  std::string text = context.metrics().Render(stats ? &*stats : nullptr);
  text += "# HELP snug_resident_bytes Resident memory of the process (VmRSS).\n"
          "# TYPE snug_resident_bytes gauge\n"
          "snug_resident_bytes " + std::to_string(CurrentRssBytes()) + "\n"
          "# HELP snug_resident_peak_bytes The resident high-water mark since start (VmHWM).\n"
          "# TYPE snug_resident_peak_bytes gauge\n"
          "snug_resident_peak_bytes " + std::to_string(PeakRssBytes()) + "\n";
  text += context.options().plan_metrics;
  response.SetContent(text, "text/plain; version=0.0.4");
}

}  // namespace snug::server
