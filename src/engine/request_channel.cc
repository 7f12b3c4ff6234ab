#include "engine/request_channel.h"

#include <chrono>

namespace snug {

void RequestChannel::Push(Event event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_pushed_) return;  // after Done (or an abort) nothing more belongs to the request
    const bool done = std::holds_alternative<events::Done>(event);
    events_.push_back(std::move(event));
    done_pushed_ = done;
  }
  ready_.notify_all();
}

void RequestChannel::Abort(int prompt_tokens, int completion_tokens, int cached_tokens) noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_pushed_) return;
    done_pushed_ = true;
    aborted_events_ = 2;
    prompt_tokens_ = prompt_tokens;
    completion_tokens_ = completion_tokens;
    cached_tokens_ = cached_tokens;
  }
  ready_.notify_all();
}

std::optional<Event> RequestChannel::Pop(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (drained_) return std::nullopt;
  auto has_event = [&] { return !events_.empty() || aborted_events_ > 0; };
  if (timeout_ms < 0) {
    ready_.wait(lock, has_event);
  } else if (!ready_.wait_for(lock, std::chrono::milliseconds(timeout_ms), has_event)) {
    return std::nullopt;
  }
  if (events_.empty()) {  // aborted: made up here, on the handle's thread
    Event event;
    if (aborted_events_ == 2) {
      event = events::Failure{Unavailable("engine: out of memory while serving this request")};
    } else {
      event = events::Done{.prompt_tokens = prompt_tokens_,
                           .completion_tokens = completion_tokens_,
                           .cached_tokens = cached_tokens_};
      drained_ = true;
    }
    --aborted_events_;
    return event;
  }
  Event event = std::move(events_.front());
  events_.pop_front();
  if (std::holds_alternative<events::Done>(event)) drained_ = true;
  return event;
}

}  // namespace snug
