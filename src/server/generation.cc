#include "server/generation.h"

#include <algorithm>
#include <chrono>

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

}  // namespace

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    // Cancelled (shutdown after its grace period) or failed: the text was cut short.
    case FinishReason::kLength:
    case FinishReason::kCancelled:
    case FinishReason::kError:
      return "length";
  }
  return "length";
}

ApiResult<Handles> SubmitAll(Engine& engine, std::vector<Request> requests,
                             std::string_view prompt_param, RequestRecord& record) {
  Handles handles;
  record.Submitted();
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
                                RequestRecord& record, const ClientConnection& client) {
  // A hung-up client is noticed within this long (one poll() each time).
  constexpr auto kClientCheck = std::chrono::milliseconds(200);
  Collected collected;
  collected.choices.resize(handles.size() * n);
  const Clock::time_point deadline = Deadline(options);
  Clock::time_point next_check = Clock::now();  // at the first event: it may be gone already
  for (size_t r = 0; r < handles.size(); ++r) {
    bool done = false;
    while (!done) {
      std::optional<Event> event = handles[r]->Next(WaitMs(deadline, kClientCheck.count()));
      if (const Clock::time_point now = Clock::now(); now >= next_check) {
        next_check = now + kClientCheck;
        if (client.HungUp()) {
          CancelAll(handles);
          return ClientClosedRequest();
        }
      }
      // Past the deadline, even while events keep coming.
      if (Clock::now() >= deadline) {
        CancelAll(handles);
        return RequestTimeout(options.request_timeout_seconds);
      }
      if (!event) continue;
      record.Observe(*event);
      if (event->kind == Event::Kind::kError) {
        CancelAll(handles);
        return EngineError(event->error);
      }
      if (event->kind == Event::Kind::kDone) {
        collected.usage.Add(*event);
        done = true;
        continue;
      }
      if (event->kind == Event::Kind::kPrefillProgress) continue;
      if (event->choice < 0 || event->choice >= n) {
        CancelAll(handles);
        return ErrorFromStatus(Internal("engine: an event for choice " +
                                        std::to_string(event->choice) + " of " +
                                        std::to_string(n)));
      }
      CollectedChoice& choice = collected.choices[r * n + event->choice];
      if (event->kind == Event::Kind::kFinish) {
        choice.finish = event->finish;
        continue;
      }
      choice.text += event->text;
      choice.reasoning += event->reasoning;
      choice.tokens.insert(choice.tokens.end(), event->tokens.begin(), event->tokens.end());
      choice.logprobs.insert(choice.logprobs.end(), event->logprobs.begin(), event->logprobs.end());
      choice.top_logprobs.insert(choice.top_logprobs.end(), event->top_logprobs.begin(),
                                 event->top_logprobs.end());
    }
  }
  return collected;
}

namespace {

// The cursor of one stream: which handle is being read, and whether the end was written.
class Stream {
 public:
  Stream(Handles handles, std::unique_ptr<StreamFormatter> formatter,
         std::shared_ptr<RequestRecord> record, const ServerOptions& options)
      : handles_(std::move(handles)),
        formatter_(std::move(formatter)),
        record_(std::move(record)),
        deadline_(Deadline(options)),
        timeout_seconds_(options.request_timeout_seconds),
        keep_alive_ms_(std::max(options.keep_alive_ms, 1)) {}

  // Appends the next piece of the stream to `out`; true once the stream is complete.
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
    switch (event->kind) {
      case Event::Kind::kPrefillProgress:
        out += SseKeepAlive();
        return false;
      case Event::Kind::kError:
        return Fail(EngineError(event->error), out);
      case Event::Kind::kDone:
        formatter_->OnEvent(static_cast<int>(current_), *event, chunks);
        ++current_;
        break;
      case Event::Kind::kDelta:
      case Event::Kind::kFinish:
        formatter_->OnEvent(static_cast<int>(current_), *event, chunks);
        break;
    }
    Append(chunks, out);
    return false;
  }

  void CancelAll() { server::CancelAll(handles_); }
  RequestRecord& record() { return *record_; }
  bool complete = false;  // [DONE] was written

 private:
  static void Append(const std::vector<nlohmann::json>& chunks, std::string& out) {
    for (const nlohmann::json& chunk : chunks) out += SseData(chunk);
  }
  bool Fail(const ApiError& error, std::string& out) {
    CancelAll();
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
  size_t current_ = 0;
};

}  // namespace

void StreamResponse(httplib::Response& response, Handles handles,
                    std::unique_ptr<StreamFormatter> formatter,
                    std::shared_ptr<RequestRecord> record, const ServerOptions& options) {
  record->set_streaming();
  auto stream = std::make_shared<Stream>(std::move(handles), std::move(formatter),
                                         std::move(record), options);
  response.set_header("Cache-Control", "no-cache");
  response.set_header("X-Accel-Buffering", "no");  // nginx: pass chunks through at once
  response.set_chunked_content_provider(
      "text/event-stream",
      [stream](size_t /*offset*/, httplib::DataSink& sink) {
        std::string out;
        const bool end = stream->Step(out);
        // A failed write is the client gone: stop the engine's work for it now.
        if (!out.empty() && !sink.write(out.data(), out.size())) {
          stream->CancelAll();
          return false;
        }
        if (end) {
          stream->complete = true;
          sink.done();
        }
        return true;
      },
      [stream](bool success) {
        if (!success || !stream->complete) stream->CancelAll();
        // 499: the client closed the connection before the end (nginx's convention).
        stream->record().Finish(success && stream->complete ? 200 : 499);
      });
}

}  // namespace snug::server
