#include "server/params.h"

#include <random>

#include "server/field_reader.h"

namespace snug::server {
namespace {

constexpr int kMaxChoices = 16;
constexpr int kMaxTopLogprobs = 20;
constexpr size_t kMaxStops = 16;
constexpr int kCompletionsDefaultMaxTokens = 16;  // OpenAI's default for /v1/completions

}  // namespace

ApiResult<nlohmann::json> ParseBody(const std::string& body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return BadParam("",
                    "We could not parse the JSON body of your request. The body must be "
                    "a JSON object.");
  }
  if (!parsed.is_object()) {
    return BadParam(
        "", "The body of your request must be a JSON object, not " + JsonTypeName(parsed) + ".");
  }
  return parsed;
}

std::optional<ApiError> CheckModel(const nlohmann::json& body, const ServedModel&) {
  FieldReader reader(body);
  std::string name;
  reader.String("model", &name);
  if (!reader.ok()) return reader.error();
  return std::nullopt;
}

ApiResult<GenerationParams> ParseGenerationParams(const nlohmann::json& body, Endpoint endpoint) {
  GenerationParams params;
  FieldReader reader(body);
  int max_tokens = 0;
  const int min_max_tokens = endpoint == Endpoint::kChat ? 1 : 0;
  // max_completion_tokens supersedes max_tokens (OpenAI deprecated the latter for chat).
  const char* max_name = endpoint == Endpoint::kChat && reader.Has("max_completion_tokens")
                             ? "max_completion_tokens"
                             : "max_tokens";
  if (reader.Has(max_name)) {
    reader.Integer(max_name, &max_tokens, min_max_tokens, 1 << 24);
    params.max_tokens = max_tokens;
  }
  reader.Integer("n", &params.n, 1, kMaxChoices);
  reader.Number("temperature", &params.sampling.temperature, 0, 2);
  reader.Number("top_p", &params.sampling.top_p, 0, 1);
  if (reader.ok() && reader.Has("top_p") && params.sampling.top_p <= 0) {
    reader.Fail("top_p", "'top_p' must be greater than 0");
  }
  reader.Integer("top_k", &params.sampling.top_k, 0, 1 << 20);
  reader.Number("min_p", &params.sampling.min_p, 0, 1);
  reader.Number("presence_penalty", &params.sampling.presence_penalty, -2, 2);
  reader.Number("frequency_penalty", &params.sampling.frequency_penalty, -2, 2);
  reader.Number("repetition_penalty", &params.sampling.repetition_penalty, 0.01, 10);
  if (reader.Has("seed")) {
    reader.Unsigned("seed", &params.sampling.seed);
  } else {
    // Unseeded requests must differ from one another.
    thread_local std::mt19937_64 random(std::random_device{}());
    params.sampling.seed = random();
  }
  reader.StringOrList("stop", &params.stop, kMaxStops);
  if (endpoint == Endpoint::kChat) {
    reader.String("reasoning_effort", &params.reasoning_effort);
    if (reader.ok() && params.reasoning_effort != "low" && params.reasoning_effort != "medium" &&
        params.reasoning_effort != "high") {
      reader.Fail("reasoning_effort", "'reasoning_effort' must be 'low', 'medium' or 'high'");
    }
    reader.Boolean("logprobs", &params.logprobs);
    reader.Integer("top_logprobs", &params.top_logprobs, 0, kMaxTopLogprobs);
    if (reader.ok() && params.top_logprobs > 0 && !params.logprobs) {
      reader.Fail("top_logprobs", "'top_logprobs' needs 'logprobs' set to true");
    }
  } else if (reader.Has("logprobs")) {
    // Completions: `logprobs` is how many alternatives to list per token (0: only the chosen).
    reader.Integer("logprobs", &params.top_logprobs, 0, kMaxTopLogprobs);
    params.logprobs = true;
  }
  reader.Boolean("stream", &params.stream);
  if (reader.Has("stream_options")) {
    const nlohmann::json& options = reader.Get("stream_options");
    if (!options.is_object()) {
      reader.Fail("stream_options",
                  "'stream_options' must be an object, not " + JsonTypeName(options));
    } else {
      FieldReader options_reader(options);
      options_reader.Boolean("include_usage", &params.include_usage);
      if (!options_reader.ok()) {
        reader.Fail("stream_options.include_usage", options_reader.error().message);
      }
    }
  }
  if (!reader.ok()) return reader.error();
  return params;
}

std::optional<ApiError> CheckChoices(const GenerationParams& params, const Engine& engine) {
  const int slots = engine.Stats().slots;
  if (slots > 0 && params.n > slots) {
    return BadParam("n", "'n' is " + std::to_string(params.n) + " but at most " +
                             std::to_string(slots) +
                             " choices run at once on this server (--parallel)");
  }
  return std::nullopt;
}

ApiResult<int> ResolveMaxTokens(const GenerationParams& params, Endpoint endpoint,
                                int prompt_tokens, int context_tokens, const char* prompt_param,
                                int max_tokens_default) {
  if (params.max_tokens) {
    if (prompt_tokens + *params.max_tokens > context_tokens) {
      return ContextLengthExceeded(prompt_param, context_tokens, prompt_tokens, *params.max_tokens);
    }
    return *params.max_tokens;
  }
  // No limit asked: the prompt must leave room for at least one token.
  if (prompt_tokens >= context_tokens) {
    return ContextLengthExceeded(prompt_param, context_tokens, prompt_tokens, 1);
  }
  const int room = context_tokens - prompt_tokens;
  if (max_tokens_default > 0) return std::min(room, max_tokens_default);
  return endpoint == Endpoint::kChat ? room : std::min(room, kCompletionsDefaultMaxTokens);
}

Request MakeRequest(std::vector<int32_t> prompt, int max_tokens, const GenerationParams& params) {
  Request request;
  request.prompt = std::move(prompt);
  request.max_tokens = max_tokens;
  request.n = params.n;
  request.sampling = params.sampling;
  request.stop = params.stop;
  request.logprobs = params.logprobs;
  request.top_logprobs = params.top_logprobs;
  return request;
}

}  // namespace snug::server
