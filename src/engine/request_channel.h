// The bridge between the engine's loop thread and one request's handle: an ordered queue of
// Events that the loop pushes and Next() pops, and the cancel flag the loop polls every step.
// Shared by both sides, so a handle may outlive the engine and the engine may outlive a handle.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/engine.h"

namespace snug {

class RequestChannel {
 public:
  // Loop side. Push may throw std::bad_alloc (the event is then not queued).
  void Push(Event event);
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  // Ends the request without allocating, for when memory ran out while serving it: after the
  // events already queued, Next() delivers Failure (out of memory) and Done with these counts.
  // Does nothing once Done was pushed.
  void Abort(int prompt_tokens, int completion_tokens, int cached_tokens) noexcept;

  // Handle side. Pop waits up to `timeout_ms` (negative: no limit); after Done: nullopt.
  std::optional<Event> Pop(int timeout_ms);
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  bool done_pushed_ = false;  // Done is queued (or was delivered)
  bool drained_ = false;      // Done was popped
  // Abort(): the error and Done the handle side still has to make up, and their counts.
  int aborted_events_ = 0;
  int prompt_tokens_ = 0, completion_tokens_ = 0, cached_tokens_ = 0;
  std::atomic<bool> cancelled_{false};
};

// The RequestHandle the server holds. Dropping it (client gone) cancels the request.
class ChannelHandle : public RequestHandle {
 public:
  explicit ChannelHandle(std::shared_ptr<RequestChannel> channel) : channel_(std::move(channel)) {}
  ~ChannelHandle() override { channel_->Cancel(); }

  std::optional<Event> Next(int timeout_ms) override { return channel_->Pop(timeout_ms); }
  void Cancel() override { channel_->Cancel(); }

 private:
  std::shared_ptr<RequestChannel> channel_;
};

}  // namespace snug
