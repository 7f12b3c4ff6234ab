#include "server/request_record.h"

#include <cstdio>
#include <string>
#include <vector>

#include "base/log_event.h"
#include "base/overloaded.h"

namespace snug::server {

double RequestRecord::Ms(Clock::time_point from, Clock::time_point to) {
  if (from == Clock::time_point{} || to == Clock::time_point{} || to < from) return 0;
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void RequestRecord::Submitted(int prompt_tokens) {
  submitted_ = Clock::now();
  submitted_prompt_tokens_ = prompt_tokens;
}

void RequestRecord::Observe(const Event& event) {
  const Clock::time_point now = Clock::now();
  std::visit(
      Overloaded{
          [&](const events::PrefillProgress&) {
            if (prefill_started_ == Clock::time_point{}) prefill_started_ = now;
          },
          [&](const events::Delta& delta) {
            if (delta.tokens.empty() || delta.echo) return;  // the echoed prompt is not generated
            if (first_token_ == Clock::time_point{}) {
              first_token_ = now;
              metrics_.ObserveTimeToFirstToken(Ms(submitted_, now) / 1000.0);
            } else {
              // A delta may carry several tokens (text held back for a stop string): spread
              // the gap.
              const double gap_seconds = Ms(last_token_, now) / 1000.0;
              for (size_t i = 0; i < delta.tokens.size(); ++i) {
                metrics_.ObserveInterTokenLatency(gap_seconds / delta.tokens.size());
              }
            }
            last_token_ = now;
          },
          [&](const events::Done& done) { usage_.Add(done); },
          // Tool-call pieces are text the tokens of Delta events already timed.
          [](const events::ToolCallDelta&) {}, [](const events::Finish&) {},
          [](const events::Failure&) {}},
      event);
}

void RequestRecord::Finish(int http_status) {
  std::call_once(finished_, [&] {
    const Clock::time_point now = Clock::now();
    metrics_.CountRequest(route_, http_status);
    // Queue: submitted → prefill began (or the first token when no progress came); prefill:
    // → first token; decode: first token → last.
    const Clock::time_point prefill_start =
        prefill_started_ != Clock::time_point{} ? prefill_started_ : first_token_;
    // A request cancelled before its end has no usage: its prompt still counts.
    const int prompt_tokens =
        usage_.prompt_tokens > 0 ? usage_.prompt_tokens : submitted_prompt_tokens_;
    std::vector<LogField> fields = {
        {"id", id_},
        {"route", route_},
        {"status", http_status},
        {"prompt_tokens", prompt_tokens},
        {"completion_tokens", usage_.completion_tokens},
        {"cached_tokens", usage_.cached_tokens},
        {"queue_ms", Ms(submitted_, prefill_start), 1},
        {"prefill_ms", Ms(prefill_start, first_token_), 1},
        {"decode_ms", Ms(first_token_, last_token_), 1},
        {"total_ms", Ms(arrived_, now), 1}};
    // Untrusted text (a path, a message quoting the request) is cut.
    const auto cut = [](const std::string& value) {
      return value.size() > 300 ? value.substr(0, 300) + "..." : value;
    };
    if (!path_.empty()) fields.emplace_back("path", cut(path_));
    if (!error_.empty()) fields.emplace_back("error", cut(error_));
    // Probes and scrapes arrive every few seconds: only worth a line when debugging.
    if (route_ == "/health" || route_ == "/healthz" || route_ == "/metrics") {
      LOG_EVENT(DEBUG, "request", fields);
    } else {
      LOG_EVENT(INFO, "request", fields);
    }
  });
}

}  // namespace snug::server
