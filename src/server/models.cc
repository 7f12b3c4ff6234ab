// GET /v1/models and GET /v1/models/{id}: the one model served, under its id and every --alias,
// with the context a single request may use (prompt and completion together) so clients can
// size their prompts, the operator's default answer length, and the input modalities.
#include <ctime>
#include <string_view>

#include "server/routes.h"

namespace snug::server {
namespace {

nlohmann::json ModelCard(const ServedModel& served, const std::string& name) {
  const int context_tokens = served.engine->context_tokens();
  nlohmann::json card = {{"id", name},
                         {"object", "model"},
                         {"created", static_cast<int64_t>(std::time(nullptr))},
                         {"owned_by", "snug"},
                         {"context_length", context_tokens},
                         {"max_model_len", context_tokens}};
  if (name != served.id) card["root"] = served.id;  // vLLM's name for what an alias stands for
  // null: OpenAI's semantics (a request without max_tokens may run to the end of the context).
  card["max_tokens_default"] =
      served.max_tokens_default > 0 ? nlohmann::json(served.max_tokens_default) : nlohmann::json();
  // What a chat message may hold (the web page shows its image button for "image").
  const MediaSupport& media = served.engine->media_support();
  nlohmann::json modalities = {"text"};
  if (media.images()) modalities.push_back("image");
  if (media.audio()) modalities.push_back("audio");
  card["input_modalities"] = std::move(modalities);
  return card;
}

}  // namespace

void HandleModels(ServerContext& context, const HttpRequest&, HttpResponse& response,
                  const std::shared_ptr<RequestRecord>&) {
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  nlohmann::json cards = nlohmann::json::array();
  for (const std::string& name : (*model)->Names()) cards.push_back(ModelCard(**model, name));
  SendJson(response, {{"object", "list"}, {"data", std::move(cards)}});
}

void HandleModel(ServerContext& context, const HttpRequest& request,
                 HttpResponse& response, const std::shared_ptr<RequestRecord>&) {
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  // Everything after /v1/models/ (an id may hold '/'); the router matched the prefix.
  constexpr std::string_view kPrefix = "/v1/models/";
  const std::string name = request.path.substr(kPrefix.size());
  // Retrieval names what exists (unlike generation, which serves any name: see CheckModel).
  if (!(*model)->Serves(name)) return SendError(response, ModelNotFound(name));
  SendJson(response, ModelCard(**model, name));
}

}  // namespace snug::server
