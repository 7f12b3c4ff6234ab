#include "server/metrics.h"

#include <cstdio>

namespace snug::server {
namespace {

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

void Header(const char* name, const char* type, const char* help, std::string& out) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Sample(const char* name, double value, std::string& out) {
  out += std::string(name) + " " + Number(value) + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::Render(const std::string& name, std::string& out) const {
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + Number(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + Number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : time_to_first_token_({0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
      inter_token_latency_({0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.25, 0.5, 1, 2.5}) {}

void Metrics::CountRequest(const std::string& route, int status) {
  {
    std::lock_guard lock(mutex_);
    ++requests_[{route, status}];
  }
  --in_flight_;
}

void Metrics::ObserveTimeToFirstToken(double seconds) {
  std::lock_guard lock(mutex_);
  time_to_first_token_.Observe(seconds);
}

void Metrics::ObserveInterTokenLatency(double seconds) {
  std::lock_guard lock(mutex_);
  inter_token_latency_.Observe(seconds);
}

std::string Metrics::Render(const EngineStats* stats) const {
  std::string out;
  {
    std::lock_guard lock(mutex_);
    Header("snug_requests_total", "counter", "HTTP requests by route and status.", out);
    for (const auto& [key, count] : requests_) {
      out += "snug_requests_total{route=\"" + key.first + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
    }
    Header("snug_http_requests_in_flight", "gauge", "Requests not yet answered in full.", out);
    Sample("snug_http_requests_in_flight", in_flight_.load(), out);
    Header("snug_time_to_first_token_seconds", "histogram",
           "From submission to the first generated token.", out);
    time_to_first_token_.Render("snug_time_to_first_token_seconds", out);
    Header("snug_inter_token_latency_seconds", "histogram",
           "Time between generated tokens of one request.", out);
    inter_token_latency_.Render("snug_inter_token_latency_seconds", out);
  }
  Header("snug_model_loaded", "gauge", "1 once the model serves requests.", out);
  Sample("snug_model_loaded", stats != nullptr ? 1 : 0, out);
  if (stats == nullptr) return out;
  Header("snug_engine_healthy", "gauge", "0 after an engine failure.", out);
  Sample("snug_engine_healthy", stats->healthy ? 1 : 0, out);
  Header("snug_queue_depth", "gauge", "Requests waiting for a slot.", out);
  Sample("snug_queue_depth", stats->waiting, out);
  Header("snug_running_sequences", "gauge", "Sequences holding a KV slot.", out);
  Sample("snug_running_sequences", stats->running, out);
  Header("snug_slots", "gauge", "KV slots (sequences that can run at once).", out);
  Sample("snug_slots", stats->slots, out);
  Header("snug_prompt_tokens_total", "counter", "Prompt tokens prefilled.", out);
  Sample("snug_prompt_tokens_total", static_cast<double>(stats->prompt_tokens), out);
  Header("snug_prompt_cached_tokens_total", "counter",
         "Prompt tokens served from the prefix cache (not prefilled).", out);
  Sample("snug_prompt_cached_tokens_total", static_cast<double>(stats->cached_prompt_tokens), out);
  Header("snug_prefix_cache_hits_total", "counter", "Requests that reused a cached prefix.", out);
  Sample("snug_prefix_cache_hits_total", static_cast<double>(stats->prefix_cache_hits), out);
  Header("snug_generated_tokens_total", "counter", "Tokens generated.", out);
  Sample("snug_generated_tokens_total", static_cast<double>(stats->generated_tokens), out);
  Header("snug_prefill_tokens_per_second", "gauge", "Recent prefill speed.", out);
  Sample("snug_prefill_tokens_per_second", stats->prefill_tokens_per_second, out);
  Header("snug_decode_tokens_per_second", "gauge", "Recent decode speed.", out);
  Sample("snug_decode_tokens_per_second", stats->decode_tokens_per_second, out);
  Header("snug_kv_cache_bytes", "gauge", "Bytes of the KV cache.", out);
  Sample("snug_kv_cache_bytes", static_cast<double>(stats->kv_bytes), out);
  return out;
}

}  // namespace snug::server
