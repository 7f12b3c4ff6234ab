#include "server/request_record.h"

#include <cstdio>

#include "base/log.h"

namespace snug::server {

double RequestRecord::Ms(Clock::time_point from, Clock::time_point to) {
  if (from == Clock::time_point{} || to == Clock::time_point{} || to < from) return 0;
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void RequestRecord::Submitted() { submitted_ = Clock::now(); }

void RequestRecord::Observe(const Event& event) {
  const Clock::time_point now = Clock::now();
  switch (event.kind) {
    case Event::Kind::kPrefillProgress:
      if (prefill_started_ == Clock::time_point{}) prefill_started_ = now;
      break;
    case Event::Kind::kDelta: {
      if (event.tokens.empty() || event.echo) break;  // the echoed prompt is not generated
      if (first_token_ == Clock::time_point{}) {
        first_token_ = now;
        metrics_.ObserveTimeToFirstToken(Ms(submitted_, now) / 1000.0);
      } else {
        // A delta may carry several tokens (text held back for a stop string): spread the gap.
        const double gap_seconds = Ms(last_token_, now) / 1000.0;
        for (size_t i = 0; i < event.tokens.size(); ++i) {
          metrics_.ObserveInterTokenLatency(gap_seconds / event.tokens.size());
        }
      }
      last_token_ = now;
      break;
    }
    case Event::Kind::kDone:
      usage_.Add(event);
      break;
    case Event::Kind::kFinish:
    case Event::Kind::kError:
      break;
  }
}

void RequestRecord::Finish(int http_status) {
  std::call_once(finished_, [&] {
    const Clock::time_point now = Clock::now();
    metrics_.CountRequest(route_, http_status);
    // Queue: submitted → prefill began (or the first token when no progress came); prefill:
    // → first token; decode: first token → last.
    const Clock::time_point prefill_start =
        prefill_started_ != Clock::time_point{} ? prefill_started_ : first_token_;
    char line[512];
    std::snprintf(line, sizeof(line),
                  "request id=%s route=%s status=%d prompt_tokens=%d completion_tokens=%d "
                  "cached_tokens=%d queue_ms=%.1f prefill_ms=%.1f decode_ms=%.1f total_ms=%.1f",
                  id_.empty() ? "-" : id_.c_str(), route_.c_str(), http_status, usage_.prompt_tokens,
                  usage_.completion_tokens, usage_.cached_tokens, Ms(submitted_, prefill_start),
                  Ms(prefill_start, first_token_), Ms(first_token_, last_token_),
                  Ms(arrived_, now));
    // Probes and scrapes arrive every few seconds: only worth a line when debugging.
    if (route_ == "/health" || route_ == "/healthz" || route_ == "/metrics") {
      LOG(DEBUG) << line;
    } else {
      LOG(INFO) << line;
    }
  });
}

}  // namespace snug::server
