// Counters and histograms the server keeps itself (requests by route and status, time to first
// token, inter-token latency), rendered with the engine's Stats as Prometheus text.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace snug::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, ascending (+Inf implied)
  void Observe(double value);
  // `name`_bucket{le=...}, `name`_sum, `name`_count lines.
  void Render(const std::string& name, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // [bounds_.size() + 1], not cumulative
  double sum_ = 0;
  int64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // Every request counts once in flight from arrival until its last byte (graceful shutdown
  // waits for zero), then once by route and status.
  void RequestStarted() { ++in_flight_; }
  void CountRequest(const std::string& route, int status);
  int in_flight() const { return in_flight_.load(); }
  void ObserveTimeToFirstToken(double seconds);
  void ObserveInterTokenLatency(double seconds);
  // Prometheus text exposition format; `stats` is null while the model loads.
  std::string Render(const EngineStats* stats) const;

 private:
  std::atomic<int> in_flight_{0};
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (route, status) -> count
  Histogram time_to_first_token_;
  Histogram inter_token_latency_;
};

}  // namespace snug::server
