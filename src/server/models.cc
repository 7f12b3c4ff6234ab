// GET /v1/models: the one model served, with the context a single request may use (prompt and
// completion together) so clients can size their prompts.
#include <ctime>

#include "server/routes.h"

namespace snug::server {

void HandleModels(ServerContext& context, const httplib::Request&, httplib::Response& response,
                  const std::shared_ptr<RequestRecord>&) {
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  const ServedModel& served = **model;
  const int context_tokens = served.engine->context_tokens();
  nlohmann::json card = {{"id", served.id},
                         {"object", "model"},
                         {"created", static_cast<int64_t>(std::time(nullptr))},
                         {"owned_by", "snug"},
                         {"context_length", context_tokens},
                         {"max_model_len", context_tokens}};
  SendJson(response, {{"object", "list"}, {"data", nlohmann::json::array({card})}});
}

}  // namespace snug::server
