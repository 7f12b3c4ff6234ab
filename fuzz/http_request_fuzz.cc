// Request parsing as the server does it, from bytes to a validated engine request: the HTTP
// head and body framing (http_parser.h), then the Router with every route — JSON body, fields,
// messages, prompts, sampling — against an engine that answers every request with one token.
// Nothing here may crash, leak or read out of bounds, whatever the bytes.
// Its seeds are valid requests for every route (seeds.h).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "../tests/server/fake_engine.h"
#include "seeds.h"
#include "server/context.h"
#include "server/http_parser.h"
#include "server/router.h"

namespace {

using namespace snug;
using namespace snug::server;

// Per choice one delta and its Finish, then Done, so the formatting paths run too, without
// recording anything (the tests' FakeEngine keeps every request, which would grow over a
// fuzzing run).
class OneTokenHandle : public RequestHandle {
 public:
  explicit OneTokenHandle(int n) {
    for (int choice = 0; choice < n; ++choice) {
      events::Delta delta;
      delta.choice = choice;
      delta.text = "a";
      delta.tokens = {6 + 'a'};
      events_.push_back(std::move(delta));
      events_.push_back(events::Finish{.choice = choice, .reason = FinishReason::kStop});
    }
    events_.push_back(events::Done{.prompt_tokens = 1, .completion_tokens = n});
  }
  std::optional<Event> Next(int) override {
    if (events_.empty()) return std::nullopt;
    Event event = std::move(events_.front());
    events_.pop_front();
    return event;
  }
  void Cancel() override {}

 private:
  std::deque<Event> events_;
};

class OneTokenEngine : public Engine {
 public:
  Result<std::unique_ptr<RequestHandle>> Submit(Request request) override {
    return std::unique_ptr<RequestHandle>(std::make_unique<OneTokenHandle>(request.n));
  }
  EngineStats Stats() const override { return {.slots = 4, .queue_limit = 2}; }
  void Shutdown(int) override {}
  int context_tokens() const override { return 64; }
  const std::string& model_name() const override { return name_; }
  // Takes images and audio, so fuzzed media parts reach the decoders (media_parts.cc).
  const MediaSupport& media_support() const override { return media_; }

 private:
  std::string name_ = "tiny";
  MediaSupport media_{.image_patch_px = 48, .max_image_tokens = 280, .audio_frame_samples = 640};
};

// Small bodies and small media keep each run fast; the code paths are the server's.
ServerOptions FuzzOptions() {
  ServerOptions options{.max_body_bytes = 1 << 16};
  options.media.image_limits = {.max_width = 1024, .max_height = 1024, .max_pixels = 1 << 18};
  options.media.audio_limits.max_seconds = 2;
  return options;
}

struct Server {
  Server() : context(FuzzOptions()), router(context) {
    context.SetModel({.engine = &engine,
                      .tokenizer = testing::TestTokenizer(),
                      .chat_format = tokenizer::ChatFormat::kGemma3,
                      .id = "tiny"});
  }
  OneTokenEngine engine;
  ServerContext context;
  Router router;
};

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<std::string> Seeds() {
  const std::string chat = R"({"model":"tiny","messages":[{"role":"system","content":"be brief"},)"
                           R"({"role":"user","content":[{"type":"text","text":"hi"}]}],)"
                           R"("max_tokens":4,"temperature":0.5,"top_p":0.9,"stop":["x"],"n":2,)"
                           R"("logprobs":true,"top_logprobs":2,"seed":1})";
  return {
      Post("/v1/chat/completions", chat),
      Post("/v1/chat/completions", R"({"model":"tiny","messages":[{"role":"user","content":"a"}],"stream":true,"stream_options":{"include_usage":true}})"),
      // A 1×1 PNG as a data URL (media_parts.cc, then the decoders).
      Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==","detail":"low"}}]}]})"),
      Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"a"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}})"),
      Post("/v1/completions", R"({"model":"tiny","prompt":["ab",[7,8,9]],"echo":true,"logprobs":3,"max_tokens":2})"),
      Post("/v1/completions", R"({"model":"tiny","prompt":"hello","stream":true})"),
      Post("/tokenize", R"({"content":"a<end_of_turn>b","add_special":true,"with_pieces":true})"),
      Post("/detokenize", R"({"tokens":[2,7,8,5]})"),
      "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "1c\r\n{\"model\":\"tiny\",\"prompt\":\"a\"}\r\n0\r\n\r\n",
      "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /v1/models/tiny HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: [::1]:8080\r\nOrigin: http://[::1]:8080\r\n\r\n",
      "OPTIONS /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
  };
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snug::fuzz::WriteSeedsIfAsked(Seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* server = new Server();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  HttpLimits limits;
  limits.max_body_bytes = 1 << 16;
  RequestHead head;
  size_t head_bytes = 0;
  HttpFault fault;
  if (ParseRequestHead(bytes, limits, head, head_bytes, fault) != ParseState::kComplete) return 0;
  std::string_view rest = bytes.substr(head_bytes);
  HttpRequest request = std::move(head.request);
  if (head.framing == BodyFraming::kLength) {
    if (rest.size() < head.content_length) return 0;
    request.body = std::string(rest.substr(0, head.content_length));
  } else if (head.framing == BodyFraming::kChunked) {
    ChunkedDecoder decoder(limits.max_body_bytes);
    size_t consumed = 0;
    if (decoder.Feed(rest, consumed, request.body, fault) != ParseState::kComplete) return 0;
  }
  HttpResponse response;
  server->router.Handle(request, response);
  if (response.stream != nullptr) {
    std::string piece;
    for (int i = 0; i < 64 && !response.stream->Next(piece); ++i) {
    }
    response.stream->Close(true);
  }
  return 0;
}
