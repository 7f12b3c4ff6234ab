// POST /tokenize and POST /detokenize in llama-server's shape, so users can see what their
// prompt becomes: {"content", "add_special", "parse_special", "with_pieces"} → {"tokens"}, and
// {"tokens"} → {"content"}. Behind the API key like every model endpoint.
#include "server/field_reader.h"
#include "server/params.h"
#include "server/routes.h"

namespace snug::server {
namespace {

constexpr size_t kMaxDetokenizeTokens = 1 << 20;

}  // namespace

void HandleTokenize(ServerContext& context, const HttpRequest& request,
                    HttpResponse& response, const std::shared_ptr<RequestRecord>&) {
  auto body = ParseBody(request.body);
  if (!body.ok()) return SendError(response, body.error());
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  FieldReader reader(*body);
  std::string content;
  bool add_special = false;   // llama-server's defaults
  bool parse_special = true;
  bool with_pieces = false;
  if (!reader.Has("content")) reader.Fail("content", "you must provide 'content' (a string)");
  reader.String("content", &content);
  reader.Boolean("add_special", &add_special);
  reader.Boolean("parse_special", &parse_special);
  reader.Boolean("with_pieces", &with_pieces);
  if (!reader.ok()) return SendError(response, reader.error());

  const tokenizer::Tokenizer& tokenizer = (*model)->tokenizer;
  const std::vector<int32_t> ids =
      tokenizer.Encode(content, {.add_bos = add_special, .parse_special = parse_special});
  nlohmann::json tokens = nlohmann::json::array();
  for (const int32_t id : ids) {
    if (with_pieces) {
      tokens.push_back({{"id", id}, {"piece", tokenizer.TokenBytes(id, {.render_special = true})}});
    } else {
      tokens.push_back(id);
    }
  }
  SendJson(response, {{"tokens", std::move(tokens)}});
}

void HandleDetokenize(ServerContext& context, const HttpRequest& request,
                      HttpResponse& response, const std::shared_ptr<RequestRecord>&) {
  auto body = ParseBody(request.body);
  if (!body.ok()) return SendError(response, body.error());
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  const tokenizer::Tokenizer& tokenizer = (*model)->tokenizer;
  FieldReader reader(*body);
  if (!reader.Has("tokens")) {
    return SendError(response, BadParam("tokens", "you must provide 'tokens' (token ids)"));
  }
  const nlohmann::json& list = reader.Get("tokens");
  if (!list.is_array() || list.size() > kMaxDetokenizeTokens) {
    return SendError(response, BadParam("tokens", "'tokens' must be a list of token ids"));
  }
  const int64_t vocab = static_cast<int64_t>(tokenizer.vocab_size());
  std::vector<int32_t> ids;
  ids.reserve(list.size());
  for (const nlohmann::json& item : list) {
    if (!item.is_number_integer() || item.get<int64_t>() < 0 || item.get<int64_t>() >= vocab) {
      return SendError(response, BadParam("tokens", "'tokens' holds " + Reflected(JsonText(item)) +
                                                        ", not a token id between 0 and " +
                                                        std::to_string(vocab - 1)));
    }
    ids.push_back(static_cast<int32_t>(item.get<int64_t>()));
  }
  SendJson(response, {{"content", tokenizer.Decode(ids, {.render_special = true})}});
}

}  // namespace snug::server
