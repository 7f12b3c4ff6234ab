#include "engine/request_channel.h"

#include <chrono>

namespace snug {

void RequestChannel::Push(Event event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
  }
  ready_.notify_all();
}

std::optional<Event> RequestChannel::Pop(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (drained_) return std::nullopt;
  auto has_event = [&] { return !events_.empty(); };
  if (timeout_ms < 0) {
    ready_.wait(lock, has_event);
  } else if (!ready_.wait_for(lock, std::chrono::milliseconds(timeout_ms), has_event)) {
    return std::nullopt;
  }
  Event event = std::move(events_.front());
  events_.pop_front();
  if (event.kind == Event::Kind::kDone) drained_ = true;
  return event;
}

}  // namespace snug
