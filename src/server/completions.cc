// POST /v1/completions: raw prompts (a string, strings, token ids, or lists of token ids), no
// chat format; one engine request per prompt, each with n choices, numbered prompt-major.
#include <ctime>

#include "base/overloaded.h"
#include "server/field_reader.h"
#include "server/generation.h"
#include "server/logprobs.h"
#include "server/params.h"
#include "server/response_format.h"
#include "server/routes.h"

namespace snug::server {
namespace {

constexpr size_t kMaxPrompts = 16;

struct Prompt {
  std::vector<int32_t> tokens;
  std::string text;  // what `echo` returns
};

ApiResult<std::vector<int32_t>> TokenIds(const nlohmann::json& list, const std::string& param,
                                         const tokenizer::Tokenizer& tokenizer) {
  if (list.empty()) return BadParam(param, "a prompt of token ids must not be empty");
  std::vector<int32_t> ids;
  for (const nlohmann::json& item : list) {
    if (!item.is_number_integer()) {
      return BadParam(param, "a token-id prompt holds only integers, not " + JsonTypeName(item));
    }
    const int64_t id = item.get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(tokenizer.vocab_size())) {
      return BadParam(param, "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                 std::to_string(tokenizer.vocab_size() - 1) + ")");
    }
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

Prompt TextPrompt(const std::string& text, const tokenizer::Tokenizer& tokenizer) {
  // Like `snug run --raw`: BOS when the vocabulary asks for it; control tokens in the text
  // count as themselves, so a caller may write its own template.
  return {tokenizer.Encode(text, {.add_bos = true, .parse_special = true}), text};
}

ApiResult<std::vector<Prompt>> ParsePrompts(const nlohmann::json& body,
                                            const tokenizer::Tokenizer& tokenizer) {
  const auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) {
    return BadParam("prompt", "Missing required parameter: 'prompt'.");
  }
  if (it->is_string()) return std::vector<Prompt>{TextPrompt(it->get<std::string>(), tokenizer)};
  if (!it->is_array() || it->empty()) {
    return BadParam("prompt",
                    "'prompt' must be a string, a list of strings, a list of token "
                    "ids or a list of such lists");
  }
  std::vector<Prompt> prompts;
  if ((*it)[0].is_number()) {  // one prompt of token ids
    auto ids = TokenIds(*it, "prompt", tokenizer);
    if (!ids.ok()) return ids.error();
    prompts.push_back({*ids, tokenizer.Decode(*ids)});
    return prompts;
  }
  if (it->size() > kMaxPrompts) {
    return BadParam("prompt", "at most " + std::to_string(kMaxPrompts) +
                                  " prompts per request, got " + std::to_string(it->size()));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& item = (*it)[i];
    const std::string param = "prompt[" + std::to_string(i) + "]";
    if (item.is_string()) {
      prompts.push_back(TextPrompt(item.get<std::string>(), tokenizer));
    } else if (item.is_array()) {
      auto ids = TokenIds(item, param, tokenizer);
      if (!ids.ok()) return ids.error();
      prompts.push_back({*ids, tokenizer.Decode(*ids)});
    } else {
      return BadParam(
          param, "a prompt must be a string or a list of token ids, not " + JsonTypeName(item));
    }
  }
  return prompts;
}

// Every prompt is its own engine request of n choices, and an idle engine takes at most
// slots / n of them at once and queues max_queue more: a request with more prompts could never
// be admitted, so it is a 400 naming the limit rather than a 429 that no retry would clear.
std::optional<ApiError> CheckPromptCount(size_t prompts, int n, const EngineStats& stats) {
  if (stats.slots <= 0) return std::nullopt;
  const size_t admitted = static_cast<size_t>(stats.slots / n + stats.queue_limit);
  if (prompts <= admitted) return std::nullopt;
  return BadParam("prompt",
                  "'prompt' holds " + std::to_string(prompts) + " prompts, but at most " +
                      std::to_string(admitted) + " can be admitted at once on this server (" +
                      std::to_string(stats.slots) + " sequences (--parallel) / n=" +
                      std::to_string(n) + ", plus a queue of " + std::to_string(stats.queue_limit) +
                      " (--max-queue)); send at most " + std::to_string(admitted) + " per request");
}

nlohmann::json ChoiceJson(int index, std::string text, nlohmann::json logprobs,
                          const char* finish) {
  return {{"index", index},
          {"text", std::move(text)},
          {"logprobs", std::move(logprobs)},
          {"finish_reason", finish ? nlohmann::json(finish) : nlohmann::json(nullptr)}};
}

class CompletionStream : public StreamFormatter {
 public:
  CompletionStream(std::shared_ptr<const ServedModel> model, std::string id,
                   std::vector<Prompt> prompts, int n, bool echo, const GenerationParams& params)
      : model_(std::move(model)),
        id_(std::move(id)),
        created_(std::time(nullptr)),
        prompts_(std::move(prompts)),
        n_(n),
        echo_(echo),
        logprobs_(params.logprobs),
        include_usage_(params.include_usage),
        text_bytes_(prompts_.size() * n, 0) {}

  void Start(std::vector<nlohmann::json>& out) override {
    if (!echo_) return;
    for (size_t p = 0; p < prompts_.size(); ++p) {
      for (int c = 0; c < n_; ++c) {
        const int index = static_cast<int>(p) * n_ + c;
        text_bytes_[index] = prompts_[p].text.size();
        out.push_back(Chunk(ChoiceJson(index, prompts_[p].text, nullptr, nullptr)));
      }
    }
  }

  void OnEvent(int request_index, const Event& event, std::vector<nlohmann::json>& out) override {
    std::visit(
        Overloaded{
            [&](const events::Delta& delta) {
              if (delta.text.empty() && !logprobs_) return;
              const int index = request_index * n_ + delta.choice;
              nlohmann::json logprobs = nullptr;
              if (logprobs_) {
                logprobs = CompletionLogprobs(model_->tokenizer, delta.tokens, delta.logprobs,
                                              delta.top_logprobs, text_bytes_[index]);
              }
              text_bytes_[index] += delta.text.size();
              out.push_back(Chunk(ChoiceJson(index, delta.text, std::move(logprobs), nullptr)));
            },
            // A completion request sets no tool format, so the engine sends no tool calls.
            [](const events::ToolCallDelta&) {},
            [&](const events::Finish& finish) {
              const int index = request_index * n_ + finish.choice;
              out.push_back(
                  Chunk(ChoiceJson(index, "", nullptr, FinishReasonName(finish.reason))));
            },
            [&](const events::Done& done) { usage_.Add(done); },
            // The stream itself handles these two.
            [](const events::Failure&) {}, [](const events::PrefillProgress&) {}},
        event);
  }

  void End(std::vector<nlohmann::json>& out) override {
    if (!include_usage_) return;
    nlohmann::json chunk = Chunk(nullptr);
    chunk["choices"] = nlohmann::json::array();
    chunk["usage"] = usage_.Json();
    out.push_back(std::move(chunk));
  }

 private:
  nlohmann::json Chunk(nlohmann::json choice) const {
    nlohmann::json chunk = {{"id", id_},
                            {"object", "text_completion"},
                            {"created", created_},
                            {"model", model_->id},
                            {"system_fingerprint", kSystemFingerprint},
                            {"choices", nlohmann::json::array({std::move(choice)})}};
    if (include_usage_) chunk["usage"] = nullptr;
    return chunk;
  }

  std::shared_ptr<const ServedModel> model_;
  std::string id_;
  int64_t created_;
  std::vector<Prompt> prompts_;
  int n_;
  bool echo_;
  bool logprobs_;
  bool include_usage_;
  std::vector<size_t> text_bytes_;  // [prompts × n] text sent so far per choice
  Usage usage_;
};

}  // namespace

void HandleCompletions(ServerContext& context, const HttpRequest& request,
                       HttpResponse& response, const std::shared_ptr<RequestRecord>& record) {
  const std::string id = ServerContext::NewId("cmpl-");
  record->set_id(id);
  response.SetHeader("x-request-id", id);
  auto body = ParseBody(request.body);
  if (!body.ok()) return SendError(response, body.error());
  auto model = context.AcquireModel();
  if (!model.ok()) return SendError(response, model.error());
  const std::shared_ptr<const ServedModel> served = *model;
  if (auto error = CheckModel(*body, *served)) return SendError(response, *error);

  FieldReader reader(*body);
  if (reader.Has("suffix")) {
    return SendError(response, BadParam("suffix", "'suffix' (insertion) is not supported"));
  }
  int best_of = 1;
  reader.Integer("best_of", &best_of, 1, 1);
  bool echo = false;
  reader.Boolean("echo", &echo);
  if (!reader.ok()) return SendError(response, reader.error());
  auto params = ParseGenerationParams(*body, Endpoint::kCompletions);
  if (!params.ok()) return SendError(response, params.error());
  if (auto error = CheckChoices(*params, *served->engine)) return SendError(response, *error);
  auto prompts = ParsePrompts(*body, served->tokenizer);
  if (!prompts.ok()) return SendError(response, prompts.error());
  if (auto error = CheckPromptCount(prompts->size(), params->n, served->engine->Stats())) {
    return SendError(response, *error);
  }
  auto constraint = ParseResponseFormat(*body, request.body, std::nullopt, served->tokenizer);
  if (!constraint.ok()) return SendError(response, constraint.error());

  // With logprobs the engine scores the prompt and sends it as the first delta of each choice
  // (Event::echo); without, the prompt's text is simply put in front.
  const bool engine_echo = echo && params->logprobs;
  const bool text_echo = echo && !engine_echo;
  std::vector<Request> requests;
  for (const Prompt& prompt : *prompts) {
    auto max_tokens =
        ResolveMaxTokens(*params, Endpoint::kCompletions, static_cast<int>(prompt.tokens.size()),
                         served->engine->context_tokens(), "prompt", served->max_tokens_default);
    if (!max_tokens.ok()) return SendError(response, max_tokens.error());
    requests.push_back(MakeRequest(prompt.tokens, *max_tokens, *params));
    requests.back().echo_prompt_logprobs = engine_echo;
    requests.back().grammar = *constraint;
  }
  auto handles = SubmitAll(*served->engine, std::move(requests), "prompt", *record);
  if (!handles.ok()) return SendError(response, handles.error());
  if (params->stream) {
    return StreamResponse(response, std::move(*handles),
                          std::make_unique<CompletionStream>(served, id, std::move(*prompts),
                                                             params->n, text_echo, *params),
                          record, context.options());
  }
  auto collected = CollectAll(*handles, params->n, context.options(), *record, request,
                              context.response_budget());
  if (!collected.ok()) return SendError(response, collected.error());

  nlohmann::json choices = nlohmann::json::array();
  for (size_t i = 0; i < collected->choices.size(); ++i) {
    const CollectedChoice& choice = collected->choices[i];
    const std::string prefix = text_echo ? (*prompts)[i / params->n].text : std::string();
    nlohmann::json logprobs = nullptr;
    if (params->logprobs) {
      logprobs = CompletionLogprobs(served->tokenizer, choice.tokens, choice.logprobs,
                                    choice.top_logprobs, prefix.size());
    }
    choices.push_back(ChoiceJson(static_cast<int>(i), prefix + choice.text, std::move(logprobs),
                                 FinishReasonName(choice.finish)));
  }
  SendJson(response, {{"id", id},
                      {"object", "text_completion"},
                      {"created", static_cast<int64_t>(std::time(nullptr))},
                      {"model", served->id},
                      {"system_fingerprint", kSystemFingerprint},
                      {"choices", std::move(choices)},
                      {"usage", collected->usage.Json()}});
}

}  // namespace snug::server
