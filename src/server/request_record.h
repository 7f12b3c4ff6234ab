// One request's timeline and counts, from arrival to its last byte: it feeds the metrics (time
// to first token, inter-token latency, requests by route and status) and writes the one
// structured log line per request. Timing only — the request's state lives in the engine.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "engine/engine.h"
#include "server/metrics.h"
#include "server/usage.h"

namespace snug::server {

class RequestRecord {
 public:
  using Clock = std::chrono::steady_clock;

  RequestRecord(Metrics& metrics, std::string route)
      : metrics_(metrics), route_(std::move(route)), arrived_(Clock::now()) {
    metrics_.RequestStarted();
  }
  ~RequestRecord() { Finish(500); }  // a path that never answered: counted as a failure
  RequestRecord(const RequestRecord&) = delete;
  RequestRecord& operator=(const RequestRecord&) = delete;

  void set_id(std::string id) { id_ = std::move(id); }
  const std::string& id() const { return id_; }
  // A streamed response finishes when its last chunk is written, not when the handler returns.
  void set_streaming() { streaming_ = true; }
  bool streaming() const { return streaming_; }

  // `prompt_tokens`: of every prompt submitted, logged when no usage arrives (a request
  // cancelled before its end).
  void Submitted(int prompt_tokens);
  // Logged after the counts: the path of an unknown route, the reason of an error answer.
  void set_path(std::string path) { path_ = std::move(path); }
  void set_error(std::string message) { error_ = std::move(message); }
  // Every event of the request's handles, in order: timing and token counts.
  void Observe(const Event& event);

  // Logs and counts the request once; later calls do nothing.
  void Finish(int http_status);

 private:
  static double Ms(Clock::time_point from, Clock::time_point to);

  Metrics& metrics_;
  std::string route_;
  std::string id_;
  std::string path_;
  std::string error_;
  int submitted_prompt_tokens_ = 0;
  bool streaming_ = false;
  Clock::time_point arrived_;
  Clock::time_point submitted_{}, prefill_started_{}, first_token_{}, last_token_{};
  Usage usage_;
  std::once_flag finished_;
};

}  // namespace snug::server
