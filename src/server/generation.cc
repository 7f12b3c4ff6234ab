#include "server/generation.h"

#include <algorithm>
#include <chrono>

#include "base/overloaded.h"
#include "server/sse.h"

namespace snug::server {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point Deadline(const ServerOptions& options) {
  if (options.request_timeout_seconds <= 0) return Clock::time_point::max();
  return Clock::now() + std::chrono::seconds(options.request_timeout_seconds);
}

// How long to wait for the next event: `wait_ms`, or less when the deadline is nearer.
int WaitMs(Clock::time_point deadline, int wait_ms) {
  if (deadline == Clock::time_point::max()) return wait_ms;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, wait_ms));
}

void CancelAll(Handles& handles) {
  for (auto& handle : handles) handle->Cancel();
}

ApiError EngineError(const Status& status) {
  if (status.ok()) return ErrorFromStatus(Internal("engine: an error event without a status"));
  return ErrorFromStatus(status);
}

// JSON-escaped length of `text` without quotes: '"' and '\\' and the short escapes take 2,
// other control characters 6 (\u00XX), everything else itself.
size_t JsonEscapedBytes(std::string_view text) {
  size_t bytes = 0;
  for (const char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      bytes += 2;
    } else if (u < 0x20) {
      bytes += 6;
    } else {
      bytes += 1;
    }
  }
  return bytes;
}

ApiError ResponseTooLarge(size_t budget_bytes) {
  return ApiError{.http_status = 400,
                  .code = "response_too_large",
                  .param = "stream",
                  .message = "server: this answer would hold more than the " +
                             std::to_string(budget_bytes) +
                             " bytes set aside for non-streamed answers (logprobs and echo make "
                             "answers large); stream it (\"stream\": true) or ask for fewer "
                             "tokens or logprobs"};
}

ApiError ResponseBudgetSpent() {
  return ApiError{.http_status = 429,
                  .type = "rate_limit_error",
                  .code = "rate_limit_exceeded",
                  .message = "server: the non-streamed answers in progress hold all the memory "
                             "set aside for them; retry shortly, or stream the answer",
                  .retry_after_seconds = 1};
}

}  // namespace

size_t ResponseHeldBytes(const events::Delta& delta) {
  size_t top_entries = 0;
  for (const auto& alternatives : delta.top_logprobs) top_entries += alternatives.size();
  return 3 * (JsonEscapedBytes(delta.text) + JsonEscapedBytes(delta.reasoning)) +
         4 * delta.tokens.size() + kLogprobEntryBytes * (delta.logprobs.size() + top_entries);
}

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kToolCalls:
      return "tool_calls";
    // Cancelled (shutdown after its grace period) or failed: the text was cut short.
    case FinishReason::kLength:
    case FinishReason::kCancelled:
    case FinishReason::kError:
      return "length";
  }
  return "length";
}

std::optional<int> EventChoice(const Event& event) {
  using Choice = std::optional<int>;
  return std::visit(
      Overloaded{[](const events::Delta& e) -> Choice { return e.choice; },
                 [](const events::ToolCallDelta& e) -> Choice { return e.choice; },
                 [](const events::Finish& e) -> Choice { return e.choice; },
                 [](const events::Failure&) -> Choice { return std::nullopt; },
                 [](const events::Done&) -> Choice { return std::nullopt; },
                 [](const events::PrefillProgress&) -> Choice { return std::nullopt; }},
      event);
}

ApiResult<Handles> SubmitAll(Engine& engine, std::vector<Request> requests,
                             std::string_view prompt_param, RequestRecord& record) {
  Handles handles;
  int prompt_tokens = 0;
  for (const Request& request : requests) prompt_tokens += static_cast<int>(request.prompt.size());
  record.Submitted(prompt_tokens);
  for (Request& request : requests) {
    Result<std::unique_ptr<RequestHandle>> handle = engine.Submit(std::move(request));
    if (!handle.ok()) {
      CancelAll(handles);
      const bool context = handle.status().code() == StatusCode::kOutOfRange;
      return ErrorFromStatus(handle.status(), context ? prompt_param : "");
    }
    handles.push_back(std::move(*handle));
  }
  return handles;
}

ApiResult<Collected> CollectAll(Handles& handles, int n, const ServerOptions& options,
                                RequestRecord& record, const HttpRequest& client,
                                BodyBudget& response_budget) {
  // A hung-up client is noticed at the next event (the transport marks the connection gone the
  // moment it sees the hang-up; checking is an atomic load), or within this long without one.
  constexpr auto kClientCheck = std::chrono::milliseconds(200);
  Collected collected;
  collected.choices.resize(handles.size() * n);
  collected.held = BodyReservation(&response_budget);
  size_t held_bytes = 0;
  const Clock::time_point deadline = Deadline(options);
  for (size_t r = 0; r < handles.size(); ++r) {
    bool done = false;
    while (!done) {
      std::optional<Event> event = handles[r]->Next(WaitMs(deadline, kClientCheck.count()));
      if (client.ClientHungUp()) {
        CancelAll(handles);
        return ClientClosedRequest();
      }
      // Past the deadline, even while events keep coming.
      if (Clock::now() >= deadline) {
        CancelAll(handles);
        return RequestTimeout(options.request_timeout_seconds);
      }
      if (!event) continue;
      record.Observe(*event);
      const std::optional<int> index = EventChoice(*event);
      if (index && (*index < 0 || *index >= n)) {
        CancelAll(handles);
        return ErrorFromStatus(Internal("engine: an event for choice " + std::to_string(*index) +
                                        " of " + std::to_string(n)));
      }
      // Set for the per-choice kinds (Delta, ToolCallDelta, Finish), which alone use it.
      CollectedChoice* choice = index ? &collected.choices[r * n + *index] : nullptr;
      std::optional<ApiError> error;
      std::visit(Overloaded{[&](events::Delta& delta) {
                              held_bytes += ResponseHeldBytes(delta);
                              if (!collected.held.GrowTo(held_bytes)) {
                                error = held_bytes > response_budget.capacity_bytes()
                                            ? ResponseTooLarge(response_budget.capacity_bytes())
                                            : ResponseBudgetSpent();
                                return;
                              }
                              choice->text += delta.text;
                              choice->reasoning += delta.reasoning;
                              choice->tokens.insert(choice->tokens.end(), delta.tokens.begin(),
                                                    delta.tokens.end());
                              choice->logprobs.insert(choice->logprobs.end(),
                                                      delta.logprobs.begin(), delta.logprobs.end());
                              choice->top_logprobs.insert(
                                  choice->top_logprobs.end(),
                                  std::make_move_iterator(delta.top_logprobs.begin()),
                                  std::make_move_iterator(delta.top_logprobs.end()));
                            },
                            [&](events::ToolCallDelta& piece) {
                              auto& calls = choice->tool_calls;
                              if (piece.index >= static_cast<int>(calls.size()))
                                calls.resize(piece.index + 1);
                              CollectedToolCall& call = calls[piece.index];
                              call.id += piece.id;
                              call.name += piece.name;
                              call.arguments += piece.arguments;
                            },
                            [&](events::Finish& finish) { choice->finish = finish.reason; },
                            [&](events::Failure& failure) { error = EngineError(failure.error); },
                            [&](events::Done& usage) {
                              collected.usage.Add(usage);
                              done = true;
                            },
                            [](events::PrefillProgress&) {}},
                 *event);
      if (error) {
        CancelAll(handles);
        return *error;
      }
    }
  }
  return collected;
}

namespace {

// The cursor of one stream: which handle is being read, and whether the end was written.
class Stream : public ResponseStream {
 public:
  Stream(Handles handles, std::unique_ptr<StreamFormatter> formatter,
         std::shared_ptr<RequestRecord> record, const ServerOptions& options)
      : handles_(std::move(handles)),
        formatter_(std::move(formatter)),
        record_(std::move(record)),
        deadline_(Deadline(options)),
        timeout_seconds_(options.request_timeout_seconds),
        keep_alive_ms_(std::max(options.keep_alive_ms, 1)) {}
  // A stream dropped without Close (the transport failed before its first write): the engine
  // stops its work.
  ~Stream() override { Close(false); }

  // Appends the next piece of the stream to `out`; true once the stream is complete.
  bool Next(std::string& out) override {
    if (finished_) return true;
    finished_ = Step(out);
    return finished_;
  }

  void Close(bool delivered) override {
    if (closed_) return;
    closed_ = true;
    const bool complete = delivered && finished_;
    if (!complete) server::CancelAll(handles_);
    // 499: the client closed the connection before the end (nginx's convention).
    record_->Finish(complete ? 200 : 499);
  }

 private:
  bool Step(std::string& out) {
    std::vector<nlohmann::json> chunks;
    if (!started_) {
      started_ = true;
      formatter_->Start(chunks);
      Append(chunks, out);
      return false;
    }
    if (current_ == handles_.size()) {
      formatter_->End(chunks);
      Append(chunks, out);
      out += SseDone();
      return true;
    }
    std::optional<Event> event = handles_[current_]->Next(WaitMs(deadline_, keep_alive_ms_));
    // Past the deadline, even while events keep coming.
    if (Clock::now() >= deadline_) return Fail(RequestTimeout(timeout_seconds_), out);
    if (!event) {
      out += SseKeepAlive();
      return false;
    }
    record_->Observe(*event);
    if (std::holds_alternative<events::PrefillProgress>(*event)) {
      out += SseKeepAlive();
      return false;
    }
    if (const auto* failure = std::get_if<events::Failure>(&*event)) {
      return Fail(EngineError(failure->error), out);
    }
    formatter_->OnEvent(static_cast<int>(current_), *event, chunks);
    if (std::holds_alternative<events::Done>(*event)) ++current_;
    Append(chunks, out);
    return false;
  }

  static void Append(const std::vector<nlohmann::json>& chunks, std::string& out) {
    for (const nlohmann::json& chunk : chunks) out += SseData(chunk);
  }
  bool Fail(const ApiError& error, std::string& out) {
    server::CancelAll(handles_);
    out += SseError(error);
    out += SseDone();
    return true;
  }

  Handles handles_;
  std::unique_ptr<StreamFormatter> formatter_;
  std::shared_ptr<RequestRecord> record_;
  Clock::time_point deadline_;
  int timeout_seconds_;
  int keep_alive_ms_;
  bool started_ = false;
  bool finished_ = false;  // the last piece was produced
  bool closed_ = false;
  size_t current_ = 0;
};

}  // namespace

void StreamResponse(HttpResponse& response, Handles handles,
                    std::unique_ptr<StreamFormatter> formatter,
                    std::shared_ptr<RequestRecord> record, const ServerOptions& options) {
  record->set_streaming();
  response.SetHeader("Cache-Control", "no-cache");
  response.SetHeader("X-Accel-Buffering", "no");  // nginx: pass chunks through at once
  response.SetStream(std::make_shared<Stream>(std::move(handles), std::move(formatter),
                                              std::move(record), options),
                     "text/event-stream");
}

}  // namespace snug::server
