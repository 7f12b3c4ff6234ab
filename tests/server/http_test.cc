// The server over a real socket (httplib on 127.0.0.1, a free port) against the fake engine:
// routes, auth, CORS, limits, every error-table row, response shapes and SSE framing.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_engine.h"
#include "server/context.h"
#include "server/http_server.h"
#include "tokenizer/chat_format.h"

namespace snug::server {
namespace {

using nlohmann::json;
using testing::FakeEngine;

// The `data:` payloads of an SSE body, in order; comments are counted apart.
struct SseBody {
  std::vector<std::string> data;
  int comments = 0;
};

SseBody ParseSse(const std::string& body) {
  SseBody parsed;
  size_t start = 0;
  while (start < body.size()) {
    const size_t end = body.find("\n\n", start);
    EXPECT_NE(end, std::string::npos) << "an event does not end with a blank line: " << body;
    if (end == std::string::npos) break;
    const std::string event = body.substr(start, end - start);
    if (event.rfind("data: ", 0) == 0) {
      parsed.data.push_back(event.substr(6));
    } else if (event.rfind(":", 0) == 0) {
      ++parsed.comments;
    } else {
      ADD_FAILURE() << "not an SSE event: " << event;
    }
    start = end + 2;
  }
  return parsed;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}, bool load = true) {
    options.keep_alive_ms = 50;
    context_ = std::make_unique<ServerContext>(options);
    http_ = std::make_unique<HttpServer>(*context_);
    auto port = http_->Bind("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    thread_ = std::thread([this] { http_->Serve(); });
    if (load) Load();
  }
  void Load(tokenizer::ChatFormat format = tokenizer::ChatFormat::kGemma3) {
    context_->SetModel(
        {.engine = &engine_, .tokenizer = testing::TestTokenizer(), .chat_format = format,
         .id = "tiny"});
  }
  void TearDown() override {
    if (http_) http_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Client Client() {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(10);
    return client;
  }
  httplib::Result Post(const std::string& path, const json& body, httplib::Headers headers = {}) {
    return Client().Post(path.c_str(), headers, body.dump(), "application/json");
  }
  // Expects an OpenAI error with this status and param ("" = null); returns the error object.
  static json ExpectError(const httplib::Result& result, int status, const std::string& param) {
    EXPECT_TRUE(result) << "no response";
    if (!result) return json();
    EXPECT_EQ(result->status, status) << result->body;
    const json body = json::parse(result->body, nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("error")) << result->body;
    if (!body.is_object() || !body.contains("error")) return json();
    const json& error = body["error"];
    for (const char* key : {"message", "type", "param", "code"}) {
      EXPECT_TRUE(error.contains(key)) << key << " missing in " << result->body;
    }
    EXPECT_TRUE(error["message"].is_string());
    if (param.empty()) {
      EXPECT_TRUE(error["param"].is_null()) << result->body;
    } else {
      EXPECT_EQ(error["param"], param) << result->body;
    }
    return error;
  }
  static json Chat(json extra = json::object()) {
    json body = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};
    body.update(extra);
    return body;
  }

  FakeEngine engine_;
  std::unique_ptr<ServerContext> context_;
  std::unique_ptr<HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(ServerTest, HealthSays503WhileLoadingThen200) {
  Start({}, /*load=*/false);
  auto loading = Client().Get("/health");
  ASSERT_TRUE(loading);
  EXPECT_EQ(loading->status, 503);
  EXPECT_EQ(loading->get_header_value("Retry-After"), "5");
  auto alive = Client().Get("/healthz");
  EXPECT_EQ(alive->status, 200);  // the process is alive while it loads
  ExpectError(Post("/v1/chat/completions", Chat()), 503, "");
  Load();
  EXPECT_EQ(Client().Get("/health")->status, 200);
  context_->SetDraining();
  auto draining = Client().Get("/health");
  EXPECT_EQ(draining->status, 503);
  EXPECT_TRUE(draining->has_header("Retry-After"));
  json error = ExpectError(Post("/v1/chat/completions", Chat()), 503, "");
  EXPECT_EQ(error["code"], "unavailable");
}

TEST_F(ServerTest, ModelsListsIdAndContext) {
  Start();
  auto result = Client().Get("/v1/models");
  ASSERT_TRUE(result);
  const json body = json::parse(result->body);
  EXPECT_EQ(body["object"], "list");
  ASSERT_EQ(body["data"].size(), 1u);
  EXPECT_EQ(body["data"][0]["id"], "tiny");
  EXPECT_EQ(body["data"][0]["object"], "model");
  EXPECT_EQ(body["data"][0]["context_length"], 64);
}

TEST_F(ServerTest, ChatCompletionRendersTheConversationAndAnswers) {
  Start();
  auto result =
      Post("/v1/chat/completions",
           {{"model", "tiny"},
            {"messages",
             {{{"role", "developer"}, {"content", "Be brief."}},
              {{"role", "user"},
               {"content",
                {{{"type", "text"}, {"text", "Hi"}}, {{"type", "text"}, {"text", "there"}}}}}}},
            {"max_completion_tokens", 9},
            {"temperature", 0},
            {"seed", 7},
            {"stop", "END"}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(body["model"], "tiny");
  EXPECT_TRUE(body["created"].is_number_integer());
  EXPECT_TRUE(body["system_fingerprint"].is_string());
  ASSERT_EQ(body["choices"].size(), 1u);
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hello world");
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(body["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(body["usage"]["completion_tokens"], 11);
  EXPECT_EQ(body["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
  EXPECT_EQ(body["usage"]["total_tokens"], body["usage"]["prompt_tokens"].get<int>() + 11);

  // The engine got the Gemma rendering of system (from developer) + user, as tokens.
  const std::vector<tokenizer::ChatMessage> messages = {{"system", "Be brief."},
                                                        {"user", "Hi\nthere"}};
  auto rendered = tokenizer::RenderChatPrompt(tokenizer::ChatFormat::kGemma3, messages);
  ASSERT_TRUE(rendered.ok());
  const auto expected = tokenizer::EncodeChat(testing::TestTokenizer(), *rendered);
  const std::vector<Request> requests = engine_.requests();
  ASSERT_EQ(requests.size(), 1u);
  const Request& request = requests[0];
  EXPECT_EQ(request.prompt, expected);
  EXPECT_EQ(request.prompt[0], 2);  // <bos> from the template, not added twice
  EXPECT_EQ(request.max_tokens, 9);
  EXPECT_EQ(request.sampling.temperature, 0);
  EXPECT_EQ(request.sampling.seed, 7u);
  EXPECT_EQ(request.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(body["usage"]["prompt_tokens"], static_cast<int>(expected.size()));
}

// Gemma 4 thinks when chat_template_kwargs.enable_thinking says so, or when a reasoning_effort
// is given (unless enable_thinking is false); its thought channel is split into `reasoning`.
TEST_F(ServerTest, Gemma4ThinkingSwitchAndToolRequests) {
  engine_.context = 1024;
  Start({}, /*load=*/false);
  Load(tokenizer::ChatFormat::kGemma4);
  const auto prompt_of = [&](const json& extra) {
    auto result = Post("/v1/chat/completions", Chat(extra));
    EXPECT_TRUE(result && result->status == 200) << (result ? result->body : "");
    const std::vector<Request> requests = engine_.requests();
    EXPECT_EQ(requests.back().reasoning_format, tokenizer::ChatFormat::kGemma4);
    return testing::TestTokenizer().Decode(requests.back().prompt);
  };
  EXPECT_EQ(prompt_of(json::object()).find("<|think|>"), std::string::npos);
  EXPECT_NE(prompt_of({{"chat_template_kwargs", {{"enable_thinking", true}}}}).find("<|think|>"),
            std::string::npos);
  EXPECT_NE(prompt_of({{"reasoning_effort", "low"}}).find("<|think|>"), std::string::npos);
  EXPECT_EQ(prompt_of({{"reasoning_effort", "low"},
                       {"chat_template_kwargs", {{"enable_thinking", false}}}})
                .find("<|think|>"),
            std::string::npos);
  ExpectError(Post("/v1/chat/completions",
                   Chat({{"chat_template_kwargs", {{"enable_thinking", "yes"}}}})),
              400, "chat_template_kwargs.enable_thinking");

  // Tools: declared in the prompt, parsed from the output, one call at most when asked.
  const json tools = json::parse(R"([{"type": "function", "function": {"name": "get_time",
      "parameters": {"type": "object", "properties": {}}}}])");
  EXPECT_NE(prompt_of({{"tools", tools}, {"parallel_tool_calls", false}})
                .find("<|tool>declaration:get_time"),
            std::string::npos);
  Request request = engine_.requests().back();
  EXPECT_EQ(request.tool_format, tokenizer::ChatFormat::kGemma4);
  EXPECT_FALSE(request.parallel_tool_calls);
  EXPECT_EQ(request.grammar, nullptr);
  prompt_of({{"tools", tools}, {"tool_choice", "required"}});
  EXPECT_NE(engine_.requests().back().grammar, nullptr);
  EXPECT_EQ(prompt_of({{"tools", tools}, {"tool_choice", "none"}}).find("<|tool>"),
            std::string::npos);
  EXPECT_FALSE(engine_.requests().back().tool_format.has_value());
  ExpectError(Post("/v1/chat/completions",
                   Chat({{"tools", tools},
                         {"tool_choice", {{"type", "function"}, {"function", {{"name", "x"}}}}}})),
              400, "tool_choice");
  ExpectError(Post("/v1/chat/completions", Chat({{"tool_choice", "required"}})), 400,
              "tool_choice");
}

// gpt-oss with tool_choice auto: strict functions' arguments get grammars the engine applies once
// the model addresses them; a strict schema outside the subset is a 400 naming it.
TEST_F(ServerTest, HarmonyStrictToolsGetArgumentGrammars) {
  engine_.context = 2048;
  Start({}, /*load=*/false);
  Load(tokenizer::ChatFormat::kHarmony);
  const json tools = json::parse(R"([
      {"type": "function", "function": {"name": "strict_one", "strict": true,
       "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}},
      {"type": "function", "function": {"name": "loose_one",
       "parameters": {"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}}}}])");
  auto result = Post("/v1/chat/completions", Chat({{"tools", tools}}));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const Request request = engine_.requests().back();
  EXPECT_EQ(request.tool_format, tokenizer::ChatFormat::kHarmony);
  EXPECT_EQ(request.argument_grammars.size(), 1u);
  EXPECT_TRUE(request.argument_grammars.contains("strict_one"));
  EXPECT_EQ(request.grammar, nullptr);
  json bad = tools;
  bad[1]["function"]["strict"] = true;
  const json error =
      ExpectError(Post("/v1/chat/completions", Chat({{"tools", bad}})), 400,
                  "tools[1].function.parameters");
  EXPECT_NE(error["message"].get<std::string>().find("unsupported keyword 'pattern'"),
            std::string::npos);
}

TEST_F(ServerTest, HarmonyReasoningGoesToItsOwnField) {
  engine_.context = 1024;  // Harmony's system turn alone is ~350 byte tokens here
  Start({}, /*load=*/false);
  Load(tokenizer::ChatFormat::kHarmony);
  auto result = Post("/v1/chat/completions", Chat({{"reasoning_effort", "high"}}));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const json message = json::parse(result->body)["choices"][0]["message"];
  EXPECT_EQ(message["reasoning"], "Let me think.");
  EXPECT_EQ(message["content"], "Hello world");
  const std::vector<Request> requests = engine_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].reasoning_format, tokenizer::ChatFormat::kHarmony);
  // The system turn carries the effort asked for (spaces are SentencePiece's "▁" here).
  const std::string prompt = testing::TestTokenizer().Decode(requests[0].prompt);
  EXPECT_NE(prompt.find("Reasoning:\u2581high"), std::string::npos) << prompt;

  auto stream = Post("/v1/chat/completions", Chat({{"stream", true}}));
  ASSERT_TRUE(stream);
  EXPECT_NE(stream->body.find(R"("delta":{"content":"","reasoning":"Let me think."})"),
            std::string::npos)
      << stream->body;
  ExpectError(Post("/v1/chat/completions", Chat({{"reasoning_effort", "max"}})), 400,
              "reasoning_effort");
}

TEST_F(ServerTest, ChatLogprobsAndChoices) {
  Start();
  auto result =
      Post("/v1/chat/completions", Chat({{"n", 2}, {"logprobs", true}, {"top_logprobs", 2}}));
  ASSERT_EQ(result->status, 200) << result->body;
  const json body = json::parse(result->body);
  ASSERT_EQ(body["choices"].size(), 2u);
  EXPECT_EQ(body["choices"][1]["index"], 1);
  const json& content = body["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 11u);  // one per token of "Hello world"
  EXPECT_EQ(content[0]["token"], "H");
  EXPECT_EQ(content[0]["bytes"], json({72}));
  EXPECT_FLOAT_EQ(content[0]["logprob"].get<float>(), -0.5f);
  ASSERT_EQ(content[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(engine_.requests()[0].n, 2);
  EXPECT_EQ(engine_.requests()[0].top_logprobs, 2);
}

TEST_F(ServerTest, ChatStreamIsFramedLikeOpenAi) {
  Start();
  auto result = Post("/v1/chat/completions",
                     Chat({{"stream", true}, {"stream_options", {{"include_usage", true}}}}));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/event-stream");
  const SseBody sse = ParseSse(result->body);
  EXPECT_GE(sse.comments, 1);  // the prefill-progress keep-alive
  ASSERT_GE(sse.data.size(), 5u);
  EXPECT_EQ(sse.data.back(), "[DONE]");
  std::string text;
  std::string id;
  for (size_t i = 0; i + 1 < sse.data.size(); ++i) {
    const json chunk = json::parse(sse.data[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    if (id.empty()) id = chunk["id"];
    EXPECT_EQ(chunk["id"], id);  // one id for the whole stream
    EXPECT_TRUE(chunk.contains("usage"));
    if (i == 0) {
      EXPECT_EQ(chunk["choices"][0]["delta"]["role"], "assistant");
    }
    if (i + 2 == sse.data.size()) {  // the usage chunk
      EXPECT_TRUE(chunk["choices"].empty());
      EXPECT_EQ(chunk["usage"]["completion_tokens"], 11);
      continue;
    }
    EXPECT_TRUE(chunk["usage"].is_null());
    const json& choice = chunk["choices"][0];
    if (choice["delta"].contains("content")) text += choice["delta"]["content"];
    if (i + 3 == sse.data.size()) {
      EXPECT_EQ(choice["finish_reason"], "stop");
    }
  }
  EXPECT_EQ(text, "Hello world");

  // Without include_usage: no usage key and no usage chunk.
  auto plain = Post("/v1/chat/completions", Chat({{"stream", true}}));
  const SseBody plain_sse = ParseSse(plain->body);
  for (size_t i = 0; i + 1 < plain_sse.data.size(); ++i) {
    const json chunk = json::parse(plain_sse.data[i]);
    EXPECT_FALSE(chunk.contains("usage"));
    EXPECT_FALSE(chunk["choices"].empty());
  }
}

TEST_F(ServerTest, ErrorMidStreamIsAnEventThenDone) {
  Start();
  engine_.fail_mid_stream = true;
  auto result = Post("/v1/chat/completions", Chat({{"stream", true}}));
  ASSERT_EQ(result->status, 200);
  const SseBody sse = ParseSse(result->body);
  ASSERT_GE(sse.data.size(), 2u);
  EXPECT_EQ(sse.data.back(), "[DONE]");
  const json error = json::parse(sse.data[sse.data.size() - 2]);
  ASSERT_TRUE(error.contains("error")) << error.dump();
  EXPECT_EQ(error["error"]["type"], "server_error");
  // Not streaming: the same failure is a 500 with the OpenAI body.
  ExpectError(Post("/v1/chat/completions", Chat()), 500, "");
}

TEST_F(ServerTest, ClientGoneMidStreamCancelsTheRequest) {
  Start();
  engine_.endless = true;
  httplib::Request request;
  request.method = "POST";
  request.path = "/v1/chat/completions";
  request.body = Chat({{"stream", true}}).dump();
  request.set_header("Content-Type", "application/json");
  int chunks = 0;
  request.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
    return ++chunks < 5;  // read a few chunks, then hang up
  };
  auto result = Client().send(request);
  EXPECT_GE(chunks, 5);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (engine_.cancels.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(engine_.cancels.load(), 1);
}

// Not streaming, nothing is written until the answer is complete, so a hang-up is noticed on
// the socket itself: the request is cancelled within a few hundred milliseconds.
TEST_F(ServerTest, ClientGoneBeforeANonStreamedAnswerCancelsTheRequest) {
  Start();
  engine_.endless = true;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port_));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string body = Chat().dump();
  const std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  const auto submitted = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (engine_.requests().empty() && std::chrono::steady_clock::now() < submitted) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(engine_.requests().size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(engine_.cancels.load(), 0) << "cancelled while the client still waited";
  close(fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (engine_.cancels.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(engine_.cancels.load(), 1);
  // The request is counted as 499, as a stream cut short is.
  const auto counted = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string metrics;
  while (std::chrono::steady_clock::now() < counted) {
    metrics = Client().Get("/metrics")->body;
    if (metrics.find("status=\"499\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(metrics.find("snug_requests_total{route=\"/v1/chat/completions\",status=\"499\"} 1"),
            std::string::npos)
      << metrics;
}

// A client that waits is not taken for gone: a generation that never ends runs until
// --request-timeout (which holds even while tokens keep coming), streamed or not.
TEST_F(ServerTest, AnEndlessGenerationRunsUntilTheRequestTimeout) {
  ServerOptions options;
  options.request_timeout_seconds = 1;
  Start(options);
  engine_.endless = true;
  json error = ExpectError(Post("/v1/chat/completions", Chat()), 504, "");
  EXPECT_EQ(error["code"], "timeout");
  EXPECT_EQ(engine_.cancels.load(), 1);
  auto stream = Post("/v1/chat/completions", Chat({{"stream", true}}));
  ASSERT_TRUE(stream);
  EXPECT_NE(stream->body.find("\"code\":\"timeout\""), std::string::npos);
  EXPECT_EQ(stream->body.substr(stream->body.size() - 14), "data: [DONE]\n\n");
  EXPECT_EQ(engine_.cancels.load(), 2);
}

TEST_F(ServerTest, ErrorTable) {
  ServerOptions options;
  options.max_body_bytes = 4096;
  Start(options);
  // Malformed JSON, and a body that is not an object.
  {
    auto result = Client().Post("/v1/chat/completions", "{\"model\":", "application/json");
    ExpectError(result, 400, "");
    ExpectError(Client().Post("/v1/completions", "[]", "application/json"), 400, "");
  }
  // Wrong types name their field; unknown fields are ignored.
  ExpectError(Post("/v1/chat/completions", Chat({{"temperature", "hot"}})), 400, "temperature");
  EXPECT_EQ(Post("/v1/chat/completions", Chat({{"frobnicate", 1}}))->status, 200);
  ExpectError(Post("/v1/chat/completions", {{"model", "tiny"}}), 400, "messages");
  ExpectError(Post("/v1/chat/completions", Chat({{"n", 5}})), 400, "n");  // 4 slots
  ExpectError(
      Post("/v1/chat/completions", Chat({{"messages", {{{"role", "tool"}, {"content", "x"}}}}})),
      400, "messages[0].tool_call_id");
  ExpectError(
      Post("/v1/chat/completions", Chat({{"messages", {{{"role", "robot"}, {"content", "x"}}}}})),
      400, "messages[0].role");
  // The fake model takes no images: the part is refused by name (tests/server/media_test.cc).
  ExpectError(
      Post("/v1/chat/completions",
           Chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}})),
      400, "messages[0].content[0]");
  ExpectError(
      Post("/v1/chat/completions",
           Chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "video"}}}}}}}})),
      400, "messages[0].content[0].type");
  // A conversation the format cannot express: a precise 400 on messages.
  ExpectError(Post("/v1/chat/completions", Chat({{"messages",
                                                  {{{"role", "assistant"}, {"content", "a"}},
                                                   {{"role", "assistant"}, {"content", "b"}}}}})),
              400, "messages");
  // Any model name, or none, is served by the one model (see CheckModel); a name that is not
  // a string is a 400; retrieving a model that is not served is a 404.
  EXPECT_EQ(Post("/v1/chat/completions", Chat({{"model", "gpt-4"}}))->status, 200);
  EXPECT_EQ(Post("/v1/chat/completions", {{"messages", Chat()["messages"]}})->status, 200);
  ExpectError(Post("/v1/chat/completions", Chat({{"model", 4}})), 400, "model");
  json error = ExpectError(Client().Get("/v1/models/gpt-4"), 404, "model");
  EXPECT_EQ(error["code"], "model_not_found");
  EXPECT_EQ(Client().Get("/v1/models/tiny")->status, 200);
  // Context exceeded: prompt + max_tokens over the 64 tokens one request may use.
  error = ExpectError(Post("/v1/chat/completions", Chat({{"max_tokens", 60}})), 400, "messages");
  EXPECT_EQ(error["code"], "context_length_exceeded");
  EXPECT_NE(error["message"].get<std::string>().find("64"), std::string::npos);
  error =
      ExpectError(Post("/v1/completions", {{"model", "tiny"}, {"prompt", std::vector<int>(70, 7)}}),
                  400, "prompt");
  EXPECT_EQ(error["code"], "context_length_exceeded");
  // Queue full: 429 with Retry-After.
  engine_.submit_status = ResourceExhausted("engine: 64 requests are already waiting");
  auto busy = Post("/v1/chat/completions", Chat());
  error = ExpectError(busy, 429, "");
  EXPECT_EQ(error["code"], "rate_limit_exceeded");
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  // The engine's own context refusal (it can never fit).
  engine_.submit_status = OutOfRange("engine: the prompt plus max_tokens exceeds the context");
  error = ExpectError(Post("/v1/chat/completions", Chat()), 400, "messages");
  EXPECT_EQ(error["code"], "context_length_exceeded");
  EXPECT_FALSE(Post("/v1/chat/completions", Chat())->has_header("Retry-After"));
  engine_.submit_status = Status();
  // Body too large: 413 in the same shape.
  const std::string big = Chat({{"pad", std::string(8000, 'x')}}).dump();
  ExpectError(Client().Post("/v1/chat/completions", big, "application/json"), 413, "");
  // Unknown route.
  error = ExpectError(Client().Get("/v1/nothing"), 404, "");
  // Completions: suffix, bad token ids, best_of.
  ExpectError(Post("/v1/completions", {{"model", "tiny"}, {"prompt", "a"}, {"suffix", "b"}}), 400,
              "suffix");
  ExpectError(Post("/v1/completions", {{"model", "tiny"}, {"prompt", {1, 99999}}}), 400, "prompt");
  ExpectError(Post("/v1/completions", {{"model", "tiny"}, {"prompt", {{1}, {"x"}}}}), 400,
              "prompt[1]");
  ExpectError(Post("/v1/completions", {{"model", "tiny"}, {"prompt", 5}}), 400, "prompt");
  ExpectError(Post("/v1/completions", {{"model", "tiny"}}), 400, "prompt");
  // More prompts than an idle server admits at once (4 slots / n, plus a queue of 2) can never
  // run: a 400 naming the limit, not a 429 that no retry clears.
  const std::vector<std::string> seven(7, "a");
  error = ExpectError(Post("/v1/completions", {{"model", "tiny"}, {"prompt", seven}}), 400,
                      "prompt");
  EXPECT_NE(error["message"].get<std::string>().find("at most 6 "), std::string::npos) << error;
  EXPECT_EQ(Post("/v1/completions", {{"model", "tiny"}, {"prompt", std::vector<std::string>(6, "a")}})
                ->status,
            200);
  const std::vector<std::string> five(5, "a");
  ExpectError(Post("/v1/completions", {{"model", "tiny"}, {"prompt", five}, {"n", 2}}), 400,
              "prompt");
}

// Input quoted back in an error is cut: a 1 MB role or type, or a 7 KB model id, does not make
// a 1 MB error body.
TEST_F(ServerTest, ReflectedInputIsCut) {
  Start();
  const std::string huge(1 << 20, 'x');
  auto small = [](const httplib::Result& result, int status) {
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, status) << result->body.substr(0, 300);
    EXPECT_LT(result->body.size(), 600u) << result->body.substr(0, 300);
  };
  small(Client().Get(("/v1/models/" + std::string(7000, 'm')).c_str()), 404);
  small(Post("/v1/chat/completions", Chat({{"messages", {{{"role", huge}, {"content", "x"}}}}})),
        400);
  small(Post("/v1/chat/completions",
             Chat({{"messages", {{{"role", "user"}, {"content", {{{"type", huge}}}}}}}})),
        400);
  small(Post("/v1/chat/completions", Chat({{"response_format", {{"type", huge}}}})), 400);
  small(Post("/detokenize", {{"tokens", {huge}}}), 400);
  small(Client().Get("/v1/models", {{"Host", std::string(8000, 'h')}}), 403);
}

TEST_F(ServerTest, ApiKeyGuardsEverythingButHealth) {
  ServerOptions options;
  options.api_key = "sesame";
  Start(options);
  json error = ExpectError(Post("/v1/chat/completions", Chat()), 401, "");
  EXPECT_EQ(error["code"], "invalid_api_key");
  ExpectError(Post("/v1/chat/completions", Chat(), {{"Authorization", "Bearer wrong"}}), 401, "");
  ExpectError(Client().Get("/v1/models"), 401, "");
  EXPECT_EQ(Post("/v1/chat/completions", Chat(), {{"Authorization", "Bearer sesame"}})->status,
            200);
  EXPECT_EQ(Client().Get("/health")->status, 200);
  EXPECT_EQ(Client().Get("/healthz")->status, 200);
}

TEST_F(ServerTest, CorsAllowList) {
  ServerOptions options;
  options.cors_origins = {"http://allowed.example"};
  Start(options);
  auto allowed = Client().Get("/v1/models", {{"Origin", "http://allowed.example"}});
  EXPECT_EQ(allowed->get_header_value("Access-Control-Allow-Origin"), "http://allowed.example");
  auto other = Client().Get("/v1/models", {{"Origin", "http://evil.example"}});
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
  auto preflight = Client().Options("/v1/chat/completions",
                                    {{"Origin", "http://allowed.example"},
                                     {"Access-Control-Request-Method", "POST"},
                                     {"Access-Control-Request-Headers", "authorization"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Headers"), "authorization");
}

TEST_F(ServerTest, CompletionsWithTokenPromptsNumberChoicesPromptMajor) {
  Start();
  auto result = Post("/v1/completions", {{"model", "tiny"},
                                         {"prompt", {{5, 6, 7}, {8, 9}}},
                                         {"n", 2},
                                         {"max_tokens", 4},
                                         {"echo", true}});
  ASSERT_EQ(result->status, 200) << result->body;
  const json body = json::parse(result->body);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  ASSERT_EQ(body["choices"].size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(body["choices"][i]["index"], i);
  ASSERT_EQ(engine_.requests().size(), 2u);
  EXPECT_EQ(engine_.requests()[0].prompt, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(engine_.requests()[1].prompt, (std::vector<int32_t>{8, 9}));
  EXPECT_EQ(engine_.requests()[1].max_tokens, 4);
  EXPECT_EQ(body["usage"]["prompt_tokens"], 5);
  // echo without logprobs: the prompt text in front (these ids decode to control bytes).
  const std::string echo = testing::TestTokenizer().Decode(std::vector<int32_t>{8, 9});
  EXPECT_EQ(body["choices"][2]["text"], echo + "Hello world");

  // A string prompt gets BOS; logprobs is an integer of alternatives.
  auto text = Post("/v1/completions", {{"model", "tiny"}, {"prompt", "ab"}, {"logprobs", 1}});
  ASSERT_EQ(text->status, 200) << text->body;
  EXPECT_EQ(engine_.requests().back().prompt, (std::vector<int32_t>{2, 6 + 'a', 6 + 'b'}));
  EXPECT_EQ(engine_.requests().back().max_tokens, 16);  // OpenAI's default for completions
  const json logprobs = json::parse(text->body)["choices"][0]["logprobs"];
  EXPECT_EQ(logprobs["tokens"].size(), 11u);
  EXPECT_EQ(logprobs["text_offset"][1], 1);
  EXPECT_EQ(logprobs["top_logprobs"][0].size(), 1u);
}

TEST_F(ServerTest, CompletionsStream) {
  Start();
  auto result = Post("/v1/completions", {{"model", "tiny"},
                                         {"prompt", {"a", "b"}},
                                         {"stream", true},
                                         {"stream_options", {{"include_usage", true}}}});
  ASSERT_EQ(result->status, 200);
  const SseBody sse = ParseSse(result->body);
  ASSERT_GE(sse.data.size(), 3u);
  EXPECT_EQ(sse.data.back(), "[DONE]");
  std::string texts[2];
  for (size_t i = 0; i + 2 < sse.data.size(); ++i) {
    const json chunk = json::parse(sse.data[i]);
    EXPECT_EQ(chunk["object"], "text_completion");
    const json& choice = chunk["choices"][0];
    texts[choice["index"].get<int>()] += choice["text"].get<std::string>();
  }
  EXPECT_EQ(texts[0], "Hello world");
  EXPECT_EQ(texts[1], "Hello world");
  const json usage = json::parse(sse.data[sse.data.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 22);
}

TEST_F(ServerTest, MetricsCountRequestsAndShowTheEngine) {
  Start();
  ASSERT_EQ(Post("/v1/chat/completions", Chat())->status, 200);
  ExpectError(Post("/v1/chat/completions", Chat({{"n", "x"}})), 400, "n");
  auto result = Client().Get("/metrics");
  ASSERT_EQ(result->status, 200);
  const std::string& text = result->body;
  EXPECT_NE(text.find("snug_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("snug_requests_total{route=\"/v1/chat/completions\",status=\"400\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("snug_time_to_first_token_seconds_count 1"), std::string::npos);
  EXPECT_NE(text.find("snug_inter_token_latency_seconds_count"), std::string::npos);
  EXPECT_NE(text.find("snug_queue_depth 2"), std::string::npos);
  EXPECT_NE(text.find("snug_running_sequences 1"), std::string::npos);
  EXPECT_NE(text.find("snug_kv_cache_bytes 12345"), std::string::npos);
  EXPECT_NE(text.find("snug_prompt_cached_tokens_total 300"), std::string::npos);
  EXPECT_NE(text.find("snug_prefix_cache_hits_total 7"), std::string::npos);
}

// Issue 14 item 8: a non-streamed answer holds its size until it is sent; what all of them
// hold draws from the response budget the memory plan counts.
TEST_F(ServerTest, NonStreamedAnswersAreBoundedByTheResponseBudget) {
  ServerOptions options;
  options.response_budget_bytes = 4096;
  Start(options);
  // "Hello world" is 11 tokens; with 20 alternatives each its logprobs alone are estimated at
  // 11 × 21 × 256 bytes, past the whole budget: refused, cancelled, and the budget given back.
  const int cancels_before = engine_.cancels.load();
  json error = ExpectError(
      Post("/v1/chat/completions", Chat({{"logprobs", true}, {"top_logprobs", 20}})), 400,
      "stream");
  EXPECT_EQ(error["code"], "response_too_large");
  EXPECT_NE(error["message"].get<std::string>().find("4096 bytes"), std::string::npos);
  EXPECT_GT(engine_.cancels.load(), cancels_before);
  EXPECT_EQ(context_->response_budget().used_bytes(), 0u);

  // The same answer streamed is not held whole, and a plain answer fits.
  auto streamed =
      Post("/v1/chat/completions",
           Chat({{"logprobs", true}, {"top_logprobs", 20}, {"stream", true}}));
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->status, 200);
  auto plain = Post("/v1/chat/completions", Chat());
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200) << plain->body;
  EXPECT_EQ(context_->response_budget().used_bytes(), 0u);

  // Other answers holding the budget: 429 with Retry-After, then fine once they are sent.
  ASSERT_TRUE(context_->response_budget().TryTake(4096 - 16));
  auto busy = Post("/v1/completions", {{"model", "tiny"}, {"prompt", "Hi"}});
  ExpectError(busy, 429, "");
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  context_->response_budget().Give(4096 - 16);
  auto after = Post("/v1/completions", {{"model", "tiny"}, {"prompt", "Hi"}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
}

}  // namespace
}  // namespace snug::server
