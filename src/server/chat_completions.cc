// POST /v1/chat/completions: messages → the model's chat format → tokens → one engine request
// with n choices; the answer as one chat.completion or as chat.completion.chunk events.
#include <ctime>

#include "server/field_reader.h"
#include "server/generation.h"
#include "server/logprobs.h"
#include "server/params.h"
#include "server/routes.h"

namespace snug::server {
namespace {

// Today's date (UTC) as chat templates print it: "21 Nov 2026" (Llama 3.x's strftime form;
// Harmony reads it too).
std::string Today() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%d %b %Y", &utc);
  return text;
}

// One message's content: a string, or a list of {"type":"text","text":...} parts (joined by
// newlines, as vLLM does); null only for an assistant turn.
ApiResult<std::string> MessageContent(const nlohmann::json& message, const std::string& param,
                                      const std::string& role) {
  const auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    if (role == "assistant") return std::string();
    return BadParam(param + ".content", "'content' is required for a '" + role + "' message");
  }
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) {
    return BadParam(param + ".content",
                    "'content' must be a string or a list of content "
                    "parts, not " +
                        JsonTypeName(*it));
  }
  std::string text;
  for (size_t j = 0; j < it->size(); ++j) {
    const nlohmann::json& part = (*it)[j];
    const std::string part_param = param + ".content[" + std::to_string(j) + "]";
    if (!part.is_object()) {
      return BadParam(part_param, "a content part must be an object, not " + JsonTypeName(part));
    }
    const auto type = part.find("type");
    if (type == part.end() || !type->is_string()) {
      return BadParam(part_param + ".type", "a content part needs a string 'type'");
    }
    if (*type != "text") {
      return BadParam(part_param + ".type", "content parts of type '" + type->get<std::string>() +
                                                "' are not supported; only 'text' is");
    }
    const auto part_text = part.find("text");
    if (part_text == part.end() || !part_text->is_string()) {
      return BadParam(part_param + ".text", "a text part needs a string 'text'");
    }
    if (j > 0) text += "\n";
    text += part_text->get<std::string>();
  }
  return text;
}

ApiResult<std::vector<tokenizer::ChatMessage>> ParseMessages(const nlohmann::json& body) {
  const auto it = body.find("messages");
  if (it == body.end() || it->is_null()) {
    return BadParam("messages", "Missing required parameter: 'messages'.");
  }
  if (!it->is_array() || it->empty()) {
    return BadParam("messages", "'messages' must be a non-empty list of messages");
  }
  std::vector<tokenizer::ChatMessage> messages;
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& message = (*it)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!message.is_object()) {
      return BadParam(param, "a message must be an object, not " + JsonTypeName(message));
    }
    const auto role_it = message.find("role");
    if (role_it == message.end() || !role_it->is_string()) {
      return BadParam(param + ".role", "a message needs a string 'role'");
    }
    std::string role = role_it->get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for the system turn
    if (role != "system" && role != "user" && role != "assistant") {
      return BadParam(param + ".role", "role '" + role +
                                           "' is not supported; use system, developer, user "
                                           "or assistant");
    }
    if (const auto calls = message.find("tool_calls");
        calls != message.end() && !calls->is_null() && !(calls->is_array() && calls->empty())) {
      return BadParam(param + ".tool_calls", "tool calls are not supported yet");
    }
    ApiResult<std::string> content = MessageContent(message, param, role);
    if (!content.ok()) return content.error();
    messages.push_back({std::move(role), std::move(*content)});
  }
  return messages;
}

nlohmann::json ChunkBase(const std::string& id, int64_t created, const std::string& model) {
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", model},
          {"system_fingerprint", kSystemFingerprint}};
}

class ChatStream : public StreamFormatter {
 public:
  ChatStream(std::shared_ptr<const ServedModel> model, std::string id, int n,
             const GenerationParams& params)
      : model_(std::move(model)),
        id_(std::move(id)),
        created_(std::time(nullptr)),
        n_(n),
        logprobs_(params.logprobs),
        include_usage_(params.include_usage) {}

  void Start(std::vector<nlohmann::json>& out) override {
    for (int i = 0; i < n_; ++i) {
      out.push_back(Chunk(i, {{"role", "assistant"}, {"content", ""}}, nullptr, nullptr));
    }
  }

  void OnEvent(int, const Event& event, std::vector<nlohmann::json>& out) override {
    switch (event.kind) {
      case Event::Kind::kDelta: {
        if (event.text.empty() && event.reasoning.empty() && !logprobs_) return;
        nlohmann::json logprobs = nullptr;
        if (logprobs_) {
          logprobs = {{"content", ChatLogprobContent(model_->tokenizer, event.tokens,
                                                     event.logprobs, event.top_logprobs)},
                      {"refusal", nullptr}};
        }
        nlohmann::json delta = {{"content", event.text}};
        if (!event.reasoning.empty()) delta["reasoning"] = event.reasoning;
        out.push_back(Chunk(event.choice, std::move(delta), logprobs, nullptr));
        return;
      }
      case Event::Kind::kFinish:
        out.push_back(
            Chunk(event.choice, nlohmann::json::object(), nullptr, FinishReasonName(event.finish)));
        return;
      case Event::Kind::kDone:
        usage_.Add(event);
        return;
      default:
        return;
    }
  }

  void End(std::vector<nlohmann::json>& out) override {
    if (!include_usage_) return;
    nlohmann::json chunk = ChunkBase(id_, created_, model_->id);
    chunk["choices"] = nlohmann::json::array();
    chunk["usage"] = usage_.Json();
    out.push_back(std::move(chunk));
  }

 private:
  nlohmann::json Chunk(int choice, nlohmann::json delta, nlohmann::json logprobs,
                       const char* finish) const {
    nlohmann::json chunk = ChunkBase(id_, created_, model_->id);
    chunk["choices"] = nlohmann::json::array(
        {{{"index", choice},
          {"delta", std::move(delta)},
          {"logprobs", std::move(logprobs)},
          {"finish_reason", finish ? nlohmann::json(finish) : nlohmann::json(nullptr)}}});
    // With include_usage every chunk carries "usage": null; the last one the totals.
    if (include_usage_) chunk["usage"] = nullptr;
    return chunk;
  }

  std::shared_ptr<const ServedModel> model_;
  std::string id_;
  int64_t created_;
  int n_;
  bool logprobs_;
  bool include_usage_;
  Usage usage_;
};

nlohmann::json ChatResponse(const ServedModel& model, const std::string& id,
                            const Collected& collected, bool logprobs) {
  nlohmann::json choices = nlohmann::json::array();
  for (size_t i = 0; i < collected.choices.size(); ++i) {
    const CollectedChoice& choice = collected.choices[i];
    nlohmann::json choice_logprobs = nullptr;
    if (logprobs) {
      choice_logprobs = {{"content", ChatLogprobContent(model.tokenizer, choice.tokens,
                                                        choice.logprobs, choice.top_logprobs)},
                         {"refusal", nullptr}};
    }
    nlohmann::json message = {{"role", "assistant"}, {"content", choice.text}, {"refusal", nullptr}};
    if (!choice.reasoning.empty()) message["reasoning"] = choice.reasoning;
    choices.push_back(
        {{"index", i},
         {"message", std::move(message)},
         {"logprobs", std::move(choice_logprobs)},
         {"finish_reason", FinishReasonName(choice.finish)}});
  }
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", static_cast<int64_t>(std::time(nullptr))},
          {"model", model.id},
          {"system_fingerprint", kSystemFingerprint},
          {"choices", std::move(choices)},
          {"usage", collected.usage.Json()}};
}

}  // namespace

void HandleChatCompletions(ServerContext& context, const httplib::Request& request,
                           httplib::Response& response,
                           const std::shared_ptr<RequestRecord>& record) {
  const std::string id = ServerContext::NewId("chatcmpl-");
  record->set_id(id);
  response.set_header("x-request-id", id);
  auto body = ParseBody(request.body);
  if (!body.ok()) return SendError(response, body.error());
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  const std::shared_ptr<const ServedModel> served = *model;
  if (auto error = CheckModel(*body, *served)) return SendError(response, *error);
  auto messages = ParseMessages(*body);
  if (!messages.ok()) return SendError(response, messages.error());
  auto params = ParseGenerationParams(*body, Endpoint::kChat);
  if (!params.ok()) return SendError(response, params.error());
  if (auto error = CheckChoices(*params, *served->engine)) return SendError(response, *error);

  if (!served->chat_format.ok()) {
    return SendError(response, ErrorFromStatus(served->chat_format.status(), "messages"));
  }
  const tokenizer::ChatFormat format = *served->chat_format;
  Result<std::string> text = tokenizer::RenderChat(
      format, *messages,
      {.date_string = Today(), .reasoning_effort = params->reasoning_effort});
  if (!text.ok()) return SendError(response, ErrorFromStatus(text.status(), "messages"));
  std::vector<int32_t> prompt =
      served->tokenizer.Encode(*text, {.add_bos = false, .parse_special = true});
  auto max_tokens = ResolveMaxTokens(*params, Endpoint::kChat, static_cast<int>(prompt.size()),
                                     served->engine->context_tokens(), "messages");
  if (!max_tokens.ok()) return SendError(response, max_tokens.error());

  std::vector<Request> requests;
  requests.push_back(MakeRequest(std::move(prompt), *max_tokens, *params));
  // Harmony models think in the analysis channel: it goes to `reasoning`, not `content`.
  if (format == tokenizer::ChatFormat::kHarmony) requests.back().reasoning_format = format;
  auto handles = SubmitAll(*served->engine, std::move(requests), "messages", *record);
  if (!handles.ok()) return SendError(response, handles.error());
  if (params->stream) {
    return StreamResponse(response, std::move(*handles),
                          std::make_unique<ChatStream>(served, id, params->n, *params), record,
                          context.options());
  }
  auto collected = CollectAll(*handles, params->n, context.options(), *record,
                              ClientConnection::Of(request));
  if (!collected.ok()) return SendError(response, collected.error());
  SendJson(response, ChatResponse(*served, id, *collected, params->logprobs));
}

}  // namespace snug::server
