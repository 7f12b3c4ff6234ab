// One budget for the bytes held by every request body at once (issue 9): the transport draws
// from it as a body arrives and returns it when the handler is done with the body, so the
// memory plan reserves this one figure instead of connections × the largest body. A request
// whose body does not fit now gets 429 (Retry-After), one larger than --max-body-bytes 413.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace snug::server {

class BodyBudget {
 public:
  explicit BodyBudget(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // Takes `bytes` if they fit; never blocks.
  bool TryTake(size_t bytes) {
    size_t used = used_bytes_.load();
    do {
      if (bytes > capacity_bytes_ - used) return false;
    } while (!used_bytes_.compare_exchange_weak(used, used + bytes));
    return true;
  }
  void Give(size_t bytes) { used_bytes_.fetch_sub(bytes); }

  size_t capacity_bytes() const { return capacity_bytes_; }
  size_t used_bytes() const { return used_bytes_.load(); }

 private:
  const size_t capacity_bytes_;
  std::atomic<size_t> used_bytes_{0};
};

// What one request holds of the budget; given back when destroyed.
class BodyReservation {
 public:
  BodyReservation() = default;
  explicit BodyReservation(BodyBudget* budget) : budget_(budget) {}
  BodyReservation(BodyReservation&& other) noexcept { *this = std::move(other); }
  BodyReservation& operator=(BodyReservation&& other) noexcept {
    if (this != &other) {
      Release();
      budget_ = other.budget_;
      bytes_ = other.bytes_;
      other.bytes_ = 0;
    }
    return *this;
  }
  ~BodyReservation() { Release(); }

  // Grows the reservation to `total_bytes`; false (and unchanged) when the budget is spent.
  bool GrowTo(size_t total_bytes) {
    if (total_bytes <= bytes_) return true;
    if (budget_ == nullptr || !budget_->TryTake(total_bytes - bytes_)) return false;
    bytes_ = total_bytes;
    return true;
  }
  void Release() {
    if (budget_ != nullptr && bytes_ > 0) budget_->Give(bytes_);
    bytes_ = 0;
  }
  size_t bytes() const { return bytes_; }

 private:
  BodyBudget* budget_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace snug::server
