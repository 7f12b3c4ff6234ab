// POST /v1/chat/completions: messages → the model's chat format → tokens → one engine request
// with n choices; the answer as one chat.completion or as chat.completion.chunk events.
#include <ctime>

#include "base/overloaded.h"
#include "server/field_reader.h"
#include "server/generation.h"
#include "server/logprobs.h"
#include "server/media_parts.h"
#include "server/params.h"
#include "server/response_format.h"
#include "server/routes.h"
#include "server/tools.h"

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

// One message's content: a string, or a list of parts. Text parts alone are joined by
// newlines (as vLLM does) into `text`; a list with an image or audio part (user messages only,
// as OpenAI has it) becomes ordered `parts`, its media decoded here, in the handler's thread,
// and appended to `media` in order. null content only for an assistant turn.
struct MessageContent {
  std::string text;
  std::vector<tokenizer::ChatPart> parts;
};

ApiResult<MessageContent> ParseContent(const nlohmann::json& message, const std::string& param,
                                       const std::string& role, const MediaDecoder& decoder,
                                       const MediaSupport& support, std::vector<MediaInput>& media,
                                       BodyReservation& media_bytes) {
  const auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    if (role == "assistant") return MessageContent{};
    return BadParam(param + ".content", "'content' is required for a '" + role + "' message");
  }
  if (it->is_string()) return MessageContent{.text = it->get<std::string>()};
  if (!it->is_array()) {
    return BadParam(param + ".content",
                    "'content' must be a string or a list of content "
                    "parts, not " +
                        JsonTypeName(*it));
  }
  MessageContent content;
  bool has_media = false;
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
    if (MediaDecoder::IsMediaPart(type->get<std::string>())) {
      if (role != "user") {
        return BadParam(part_param, "image and audio parts are accepted in user messages only");
      }
      auto decoded = decoder.Decode(part, part_param, support, media_bytes);
      if (!decoded.ok()) return decoded.error();
      const bool image = std::holds_alternative<media::PatchGrid>(*decoded);
      content.parts.push_back(
          {.type = image ? tokenizer::ChatPartType::kImage : tokenizer::ChatPartType::kAudio,
           .soft_tokens = image ? std::get<media::PatchGrid>(*decoded).soft_tokens()
                                : std::get<media::AudioFrames>(*decoded).soft_tokens()});
      media.push_back(std::move(*decoded));
      has_media = true;
      continue;
    }
    if (*type != "text") {
      return BadParam(part_param + ".type", "content parts of type '" +
                                                Reflected(type->get<std::string>()) +
                                                "' are not supported; use 'text', "
                                                "'image_url' or 'input_audio'");
    }
    const auto part_text = part.find("text");
    if (part_text == part.end() || !part_text->is_string()) {
      return BadParam(part_param + ".text", "a text part needs a string 'text'");
    }
    if (j > 0) content.text += "\n";
    content.text += part_text->get<std::string>();
    content.parts.push_back({.type = tokenizer::ChatPartType::kText,
                             .text = part_text->get<std::string>()});
  }
  if (has_media) {
    content.text.clear();
  } else {
    content.parts.clear();
  }
  return content;
}

// An assistant message's `tool_calls`: [{id, type: "function", function: {name, arguments}}],
// arguments a JSON string (or an object, which is written back as one).
ApiResult<std::vector<tokenizer::ChatToolCall>> ParseToolCalls(const nlohmann::json& calls,
                                                               const std::string& param) {
  std::vector<tokenizer::ChatToolCall> out;
  if (!calls.is_array()) return BadParam(param, "'tool_calls' must be a list");
  for (size_t j = 0; j < calls.size(); ++j) {
    const nlohmann::json& call = calls[j];
    const std::string call_param = param + "[" + std::to_string(j) + "]";
    const nlohmann::json* function = nullptr;
    if (call.is_object()) {
      const auto f = call.find("function");
      if (f != call.end() && f->is_object()) function = &*f;
    }
    if (function == nullptr || !function->contains("name") || !(*function)["name"].is_string()) {
      return BadParam(call_param + ".function", "a tool call needs a 'function' with a 'name'");
    }
    tokenizer::ChatToolCall parsed;
    if (const auto id = call.find("id"); id != call.end() && id->is_string()) parsed.id = *id;
    parsed.name = (*function)["name"].get<std::string>();
    const auto arguments = function->find("arguments");
    if (arguments == function->end() || arguments->is_null()) {
      parsed.arguments = "{}";
    } else if (arguments->is_string()) {
      parsed.arguments = arguments->get<std::string>();
    } else {
      parsed.arguments = arguments->dump();
    }
    out.push_back(std::move(parsed));
  }
  return out;
}

ApiResult<std::vector<tokenizer::ChatMessage>> ParseMessages(const nlohmann::json& body,
                                                             const MediaDecoder& decoder,
                                                             const MediaSupport& support,
                                                             std::vector<MediaInput>& media,
                                                             BodyReservation& media_bytes) {
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
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return BadParam(param + ".role", "role '" + Reflected(role) +
                                           "' is not supported; use system, developer, user, "
                                           "assistant or tool");
    }
    tokenizer::ChatMessage parsed;
    if (const auto calls = message.find("tool_calls");
        role == "assistant" && calls != message.end() && !calls->is_null()) {
      auto tool_calls = ParseToolCalls(*calls, param + ".tool_calls");
      if (!tool_calls.ok()) return tool_calls.error();
      parsed.tool_calls = std::move(*tool_calls);
    }
    if (role == "tool") {
      const auto id = message.find("tool_call_id");
      if (id == message.end() || !id->is_string()) {
        return BadParam(param + ".tool_call_id", "a 'tool' message needs a string 'tool_call_id'");
      }
      parsed.tool_call_id = id->get<std::string>();
    }
    for (const char* key : {"reasoning", "reasoning_content"}) {
      if (const auto it = message.find(key); role == "assistant" && it != message.end() &&
                                             it->is_string() && parsed.reasoning.empty()) {
        parsed.reasoning = it->get<std::string>();
      }
    }
    ApiResult<MessageContent> content =
        ParseContent(message, param, role, decoder, support, media, media_bytes);
    if (!content.ok()) return content.error();
    parsed.role = std::move(role);
    parsed.content = std::move(content->text);
    parsed.parts = std::move(content->parts);
    messages.push_back(std::move(parsed));
  }
  return messages;
}

// Gemma 4's thinking: on with chat_template_kwargs.enable_thinking (vLLM's and llama-server's
// switch) or, without it, when a reasoning_effort is given.
ApiResult<bool> ParseThinking(const nlohmann::json& body) {
  const auto kwargs = body.find("chat_template_kwargs");
  if (kwargs != body.end() && !kwargs->is_null()) {
    if (!kwargs->is_object()) {
      return BadParam("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    }
    const auto enable = kwargs->find("enable_thinking");
    if (enable != kwargs->end() && !enable->is_null()) {
      if (!enable->is_boolean()) {
        return BadParam("chat_template_kwargs.enable_thinking", "'enable_thinking' must be a "
                                                                "boolean");
      }
      return enable->get<bool>();
    }
  }
  const auto effort = body.find("reasoning_effort");
  return effort != body.end() && !effort->is_null();
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
             const GenerationParams& params, std::shared_ptr<BodyReservation> media_bytes)
      : media_bytes_(std::move(media_bytes)),
        model_(std::move(model)),
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
    std::visit(
        Overloaded{
            [&](const events::Delta& delta) {
              if (delta.text.empty() && delta.reasoning.empty() && !logprobs_) return;
              nlohmann::json logprobs = nullptr;
              if (logprobs_) {
                logprobs = {{"content", ChatLogprobContent(model_->tokenizer, delta.tokens,
                                                           delta.logprobs, delta.top_logprobs)},
                            {"refusal", nullptr}};
              }
              nlohmann::json content = {{"content", delta.text}};
              if (!delta.reasoning.empty()) content["reasoning"] = delta.reasoning;
              out.push_back(Chunk(delta.choice, std::move(content), logprobs, nullptr));
            },
            [&](const events::ToolCallDelta& piece) {
              // As OpenAI streams them: the first piece of a call names it, later pieces carry
              // only more of its arguments.
              nlohmann::json call = {{"index", piece.index}};
              if (!piece.id.empty()) {
                call["id"] = piece.id;
                call["type"] = "function";
                call["function"] = {{"name", piece.name}, {"arguments", piece.arguments}};
              } else {
                call["function"] = {{"arguments", piece.arguments}};
              }
              out.push_back(Chunk(piece.choice, {{"tool_calls", nlohmann::json::array({call})}},
                                  nullptr, nullptr));
            },
            [&](const events::Finish& finish) {
              out.push_back(Chunk(finish.choice, nlohmann::json::object(), nullptr,
                                  FinishReasonName(finish.reason)));
            },
            [&](const events::Done& done) { usage_.Add(done); },
            // The stream itself handles these two.
            [](const events::Failure&) {}, [](const events::PrefillProgress&) {}},
        event);
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

  std::shared_ptr<BodyReservation> media_bytes_;  // the request's decoded media, until the end
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
    if (!choice.tool_calls.empty()) {
      // OpenAI: a turn of only tool calls has null content.
      if (choice.text.empty()) message["content"] = nullptr;
      nlohmann::json calls = nlohmann::json::array();
      for (const CollectedToolCall& call : choice.tool_calls) {
        calls.push_back({{"id", call.id},
                         {"type", "function"},
                         {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
      }
      message["tool_calls"] = std::move(calls);
    }
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

void HandleChatCompletions(ServerContext& context, const HttpRequest& request,
                           HttpResponse& response,
                           const std::shared_ptr<RequestRecord>& record) {
  const std::string id = ServerContext::NewId("chatcmpl-");
  record->set_id(id);
  response.SetHeader("x-request-id", id);
  auto body = ParseBody(request.body);
  if (!body.ok()) return SendError(response, body.error());
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  const std::shared_ptr<const ServedModel> served = *model;
  if (auto error = CheckModel(*body, *served)) return SendError(response, *error);
  // Images and audio are decoded here, in this handler's thread, never in the engine's. Their
  // bytes stay reserved until the answer is complete (the stream holds the reservation).
  std::vector<MediaInput> media;
  auto media_bytes = std::make_shared<BodyReservation>(context.media().Reserve());
  auto messages = ParseMessages(*body, context.media(), served->engine->media_support(), media,
                                *media_bytes);
  if (!messages.ok()) return SendError(response, messages.error());
  auto params = ParseGenerationParams(*body, Endpoint::kChat);
  if (!params.ok()) return SendError(response, params.error());
  if (auto error = CheckChoices(*params, *served->engine)) return SendError(response, *error);

  if (!served->chat_format.ok()) {
    return SendError(response, ErrorFromStatus(served->chat_format.status(), "messages"));
  }
  const tokenizer::ChatFormat format = *served->chat_format;
  auto constraint = ParseResponseFormat(*body, request.body, format, served->tokenizer);
  if (!constraint.ok()) return SendError(response, constraint.error());
  auto tools = ParseTools(*body, request.body, *served);
  if (!tools.ok()) return SendError(response, tools.error());
  auto thinking = ParseThinking(*body);
  if (!thinking.ok()) return SendError(response, thinking.error());
  Result<tokenizer::ChatPrompt> rendered = tokenizer::RenderChatPrompt(
      format, *messages,
      {.date_string = Today(),
       .enable_thinking = *thinking,
       .reasoning_effort = params->reasoning_effort,
       .tools = tools->tools});
  if (!rendered.ok()) return SendError(response, ErrorFromStatus(rendered.status(), "messages"));
  // Message contents stay literal text: "<end_of_turn>" in a message cannot end its turn.
  std::vector<int32_t> prompt = tokenizer::EncodeChat(served->tokenizer, *rendered);
  auto max_tokens = ResolveMaxTokens(*params, Endpoint::kChat, static_cast<int>(prompt.size()),
                                     served->engine->context_tokens(), "messages",
                                     served->max_tokens_default);
  if (!max_tokens.ok()) return SendError(response, max_tokens.error());

  std::vector<Request> requests;
  requests.push_back(MakeRequest(std::move(prompt), *max_tokens, *params));
  requests.back().media = std::move(media);
  // Harmony models think in the analysis channel, Gemma 4 in its thought channel: it goes to
  // `reasoning`, not `content`.
  if (format == tokenizer::ChatFormat::kHarmony || format == tokenizer::ChatFormat::kGemma4) {
    requests.back().reasoning_format = format;
  }
  if (!tools->tools.empty()) {
    requests.back().tool_format = format;
    requests.back().parallel_tool_calls = tools->parallel;
    requests.back().argument_grammars = tools->argument_grammars;
  }
  if (tools->forced && *constraint) {
    return SendError(response, BadParam("response_format",
                                        "'response_format' cannot be combined with a forced "
                                        "tool call (tool_choice required or named)"));
  }
  requests.back().grammar = tools->forced ? tools->forced : *constraint;
  auto handles = SubmitAll(*served->engine, std::move(requests), "messages", *record);
  if (!handles.ok()) return SendError(response, handles.error());
  if (params->stream) {
    return StreamResponse(response, std::move(*handles),
                          std::make_unique<ChatStream>(served, id, params->n, *params,
                                                       std::move(media_bytes)),
                          record,
                          context.options());
  }
  auto collected = CollectAll(*handles, params->n, context.options(), *record, request,
                              context.response_budget());
  if (!collected.ok()) return SendError(response, collected.error());
  SendJson(response, ChatResponse(*served, id, *collected, params->logprobs));
}

}  // namespace snug::server
