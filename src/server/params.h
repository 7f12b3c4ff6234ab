// The request fields chat completions and completions share: model, sampling, limits, stop,
// n, streaming — parsed and range-checked into engine terms, each failure naming its field.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "server/api_error.h"
#include "server/context.h"

namespace snug::server {

enum class Endpoint { kChat, kCompletions };

struct GenerationParams {
  std::optional<int> max_tokens;  // absent: chat runs to the end of the context, completions 16
  int n = 1;
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool logprobs = false;
  int top_logprobs = 0;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string reasoning_effort = "medium";  // chat: low, medium or high (Harmony's system turn)
};

// The parsed body of a request, or 400 for a body that is not a JSON object.
ApiResult<nlohmann::json> ParseBody(const std::string& body);

// 400 when `model` is not a string. Any name is served: a single-model server has no other
// model a name could mean, and agents arrive with names configured elsewhere ("gpt-4o",
// "model"); the response's `model` says which model answered. (llama-server does the same;
// OpenAI and vLLM answer 404.) GET /v1/models/{id} is where a name is checked.
std::optional<ApiError> CheckModel(const nlohmann::json& body, const ServedModel& model);

ApiResult<GenerationParams> ParseGenerationParams(const nlohmann::json& body, Endpoint endpoint);

// 400 naming `n` when more choices are asked than the engine runs sequences at once.
std::optional<ApiError> CheckChoices(const GenerationParams& params, const Engine& engine);

// The tokens a request may generate: explicit `max_tokens`, else the operator's
// `max_tokens_default` (--max-tokens-default; 0: none), else the endpoint's default (chat: the
// rest of the context, as OpenAI; completions: 16), checked against the context one request
// may use (400 context_length_exceeded naming `prompt_param`).
ApiResult<int> ResolveMaxTokens(const GenerationParams& params, Endpoint endpoint,
                                int prompt_tokens, int context_tokens, const char* prompt_param,
                                int max_tokens_default);

// The engine request for `prompt` (everything but the prompt comes from `params`).
Request MakeRequest(std::vector<int32_t> prompt, int max_tokens, const GenerationParams& params);

}  // namespace snug::server
