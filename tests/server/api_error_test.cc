// The pieces without a socket: Status → HTTP mapping, the error body, SSE framing, and the
// parsing of the shared generation parameters.
#include "server/api_error.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/params.h"
#include "server/sse.h"

namespace snug::server {
namespace {

using nlohmann::json;

TEST(ErrorFromStatus, MapsEveryCodeToTheDesignTable) {
  struct Case {
    Status status;
    int http_status;
    const char* type;
    const char* code;  // "" for null
    int retry_after;
  };
  const Case cases[] = {
      {InvalidArgument("x"), 400, "invalid_request_error", "", 0},
      {Unimplemented("x"), 400, "invalid_request_error", "", 0},
      {FailedPrecondition("x"), 400, "invalid_request_error", "", 0},
      {OutOfRange("x"), 400, "invalid_request_error", "context_length_exceeded", 0},
      {NotFound("x"), 404, "invalid_request_error", "model_not_found", 0},
      {ResourceExhausted("x"), 429, "rate_limit_error", "rate_limit_exceeded", 1},
      {Unavailable("x"), 503, "service_unavailable_error", "unavailable", 5},
      {Internal("x"), 500, "server_error", "internal_error", 0},
      {DataLoss("x"), 500, "server_error", "internal_error", 0},
  };
  for (const Case& c : cases) {
    const ApiError error = ErrorFromStatus(c.status, "messages");
    SCOPED_TRACE(c.status.ToString());
    EXPECT_EQ(error.http_status, c.http_status);
    EXPECT_EQ(error.type, c.type);
    EXPECT_EQ(error.code, c.code);
    EXPECT_EQ(error.retry_after_seconds, c.retry_after);
    EXPECT_EQ(error.message, "x");
  }
  // A field name only where the client can fix that field.
  EXPECT_EQ(ErrorFromStatus(OutOfRange("x"), "prompt").param, "prompt");
  EXPECT_EQ(ErrorFromStatus(ResourceExhausted("x"), "prompt").param, "");
}

TEST(ErrorBody, HasOpenAiShapeWithNulls) {
  const json body = json::parse(ErrorBody(BadParam("temperature", "too hot")));
  ASSERT_TRUE(body.contains("error"));
  const json& error = body["error"];
  EXPECT_EQ(error["message"], "too hot");
  EXPECT_EQ(error["type"], "invalid_request_error");
  EXPECT_EQ(error["param"], "temperature");
  EXPECT_TRUE(error["code"].is_null());
  EXPECT_EQ(error.size(), 4u);
  EXPECT_TRUE(json::parse(ErrorBody(InvalidApiKey()))["error"]["param"].is_null());
}

TEST(ErrorBody, ContextLengthStatesBothCounts) {
  const ApiError error = ContextLengthExceeded("messages", 4096, 5000, 100);
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.code, "context_length_exceeded");
  EXPECT_NE(error.message.find("4096"), std::string::npos);
  EXPECT_NE(error.message.find("5100"), std::string::npos);
  EXPECT_NE(error.message.find("5000 in the messages"), std::string::npos);
}

TEST(JsonText, ReplacesBrokenUtf8) { EXPECT_EQ(JsonText(json("a\xff")), "\"a\xEF\xBF\xBD\""); }

TEST(Sse, FramesLikeOpenAi) {
  EXPECT_EQ(SseData({{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(SseDone(), "data: [DONE]\n\n");
  EXPECT_EQ(SseKeepAlive(), ": keep-alive\n\n");
  const std::string error = SseError(ErrorFromStatus(Internal("boom")));
  ASSERT_EQ(error.rfind("data: {\"error\":", 0), 0u) << error;
  ASSERT_EQ(error.substr(error.size() - 2), "\n\n");
  const json parsed = json::parse(error.substr(6));
  EXPECT_EQ(parsed["error"]["message"], "boom");
}

TEST(GenerationParams, Defaults) {
  auto params = ParseGenerationParams(json::object(), Endpoint::kChat);
  ASSERT_TRUE(params.ok());
  EXPECT_FALSE(params->max_tokens.has_value());
  EXPECT_EQ(params->n, 1);
  EXPECT_FLOAT_EQ(params->sampling.temperature, 1.0f);
  EXPECT_FALSE(params->stream);
  EXPECT_FALSE(params->logprobs);
  // Unseeded requests get different seeds.
  auto other = ParseGenerationParams(json::object(), Endpoint::kChat);
  EXPECT_NE(params->sampling.seed, other->sampling.seed);
}

TEST(GenerationParams, ReadsEveryField) {
  const json body = {{"max_tokens", 5},
                     {"max_completion_tokens", 7},
                     {"n", 2},
                     {"temperature", 0.5},
                     {"top_p", 0.9},
                     {"top_k", 40},
                     {"min_p", 0.05},
                     {"presence_penalty", 0.1},
                     {"frequency_penalty", -0.2},
                     {"repetition_penalty", 1.1},
                     {"seed", 42},
                     {"stop", {"a", "b"}},
                     {"logprobs", true},
                     {"top_logprobs", 3},
                     {"stream", true},
                     {"stream_options", {{"include_usage", true}}},
                     {"unknown_field", {{"ignored", true}}}};
  auto params = ParseGenerationParams(body, Endpoint::kChat);
  ASSERT_TRUE(params.ok()) << params.error().message;
  EXPECT_EQ(*params->max_tokens, 7);  // max_completion_tokens wins
  EXPECT_EQ(params->n, 2);
  EXPECT_FLOAT_EQ(params->sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(params->sampling.top_p, 0.9f);
  EXPECT_EQ(params->sampling.top_k, 40);
  EXPECT_FLOAT_EQ(params->sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(params->sampling.presence_penalty, 0.1f);
  EXPECT_FLOAT_EQ(params->sampling.frequency_penalty, -0.2f);
  EXPECT_FLOAT_EQ(params->sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(params->sampling.seed, 42u);
  EXPECT_EQ(params->stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(params->logprobs);
  EXPECT_EQ(params->top_logprobs, 3);
  EXPECT_TRUE(params->stream);
  EXPECT_TRUE(params->include_usage);

  auto single = ParseGenerationParams({{"stop", "END"}}, Endpoint::kChat);
  EXPECT_EQ(single->stop, std::vector<std::string>{"END"});
  // Completions: `logprobs` is the number of alternatives.
  auto completions = ParseGenerationParams({{"logprobs", 2}}, Endpoint::kCompletions);
  ASSERT_TRUE(completions.ok());
  EXPECT_TRUE(completions->logprobs);
  EXPECT_EQ(completions->top_logprobs, 2);
}

TEST(GenerationParams, NamesTheFieldAtFault) {
  const std::pair<json, const char*> cases[] = {
      {{{"temperature", "hot"}}, "temperature"},
      {{{"temperature", 3}}, "temperature"},
      {{{"top_p", 0}}, "top_p"},
      {{{"max_tokens", 1.5}}, "max_tokens"},
      {{{"max_tokens", 0}}, "max_tokens"},
      {{{"max_completion_tokens", "many"}}, "max_completion_tokens"},
      {{{"n", 0}}, "n"},
      {{{"stop", 3}}, "stop"},
      {{{"stop", {"a", 1}}}, "stop"},
      {{{"stop", ""}}, "stop"},
      {{{"seed", "x"}}, "seed"},
      {{{"stream", "yes"}}, "stream"},
      {{{"logprobs", 1}}, "logprobs"},
      {{{"top_logprobs", 2}}, "top_logprobs"},  // without logprobs: true
      {{{"top_logprobs", 99}, {"logprobs", true}}, "top_logprobs"},
      {{{"stream_options", 1}}, "stream_options"},
      {{{"stream_options", {{"include_usage", "y"}}}}, "stream_options.include_usage"},
  };
  for (const auto& [body, param] : cases) {
    auto params = ParseGenerationParams(body, Endpoint::kChat);
    ASSERT_FALSE(params.ok()) << body.dump();
    EXPECT_EQ(params.error().http_status, 400) << body.dump();
    EXPECT_EQ(params.error().param, param) << body.dump();
    EXPECT_EQ(params.error().type, "invalid_request_error");
  }
  // Integral floats pass as integers (JavaScript has only numbers).
  EXPECT_TRUE(ParseGenerationParams({{"max_tokens", 3.0}}, Endpoint::kChat).ok());
  // Null means absent.
  EXPECT_TRUE(ParseGenerationParams({{"temperature", nullptr}}, Endpoint::kChat).ok());
}

TEST(ParseBody, RefusesWhatIsNotAnObject) {
  EXPECT_FALSE(ParseBody("{").ok());
  EXPECT_FALSE(ParseBody("[1]").ok());
  EXPECT_EQ(ParseBody("").error().http_status, 400);
  EXPECT_TRUE(ParseBody("{\"a\":1}").ok());
}

TEST(ResolveMaxTokens, ChecksTheContext) {
  GenerationParams params;
  auto chat = ResolveMaxTokens(params, Endpoint::kChat, 10, 64, "messages", 0);
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(*chat, 54);  // the rest of the context
  auto completions = ResolveMaxTokens(params, Endpoint::kCompletions, 10, 64, "prompt", 0);
  EXPECT_EQ(*completions, 16);
  // --max-tokens-default bounds both, within the room left.
  EXPECT_EQ(*ResolveMaxTokens(params, Endpoint::kChat, 10, 64, "messages", 20), 20);
  EXPECT_EQ(*ResolveMaxTokens(params, Endpoint::kCompletions, 10, 64, "prompt", 20), 20);
  EXPECT_EQ(*ResolveMaxTokens(params, Endpoint::kChat, 60, 64, "messages", 20), 4);
  auto full = ResolveMaxTokens(params, Endpoint::kChat, 64, 64, "messages", 0);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, "context_length_exceeded");
  params.max_tokens = 60;
  auto over = ResolveMaxTokens(params, Endpoint::kChat, 10, 64, "messages", 20);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().param, "messages");
  EXPECT_NE(over.error().message.find("70"), std::string::npos);
}

}  // namespace
}  // namespace snug::server
