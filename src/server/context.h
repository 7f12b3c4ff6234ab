// What every handler shares: the server's options, the model once it is loaded (the engine owns
// all request state), the lifecycle (loading → ready → draining) and the metrics.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "server/api_error.h"
#include "server/body_budget.h"
#include "server/media_parts.h"
#include "server/metrics.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace snug::server {

// A file of the web page (GET `url`), compiled into the binary by the caller.
struct WebAsset {
  std::string_view url;  // "/", "/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

struct ServerOptions {
  std::string api_key;                    // empty: no authentication
  std::vector<std::string> cors_origins;  // allowed Origins; "*" allows any
  size_t max_body_bytes = 8u << 20;       // larger bodies get 413
  int request_timeout_seconds = 600;      // 0: none
  int keep_alive_ms = 5000;               // SSE comment when no event came for this long
  // Worker threads: requests handled at once. A request holds a worker while it runs or waits
  // (a connection that is idle, slow or being written to does not), so size it as parallel +
  // max_queue + a few (probes, metrics, 429s): then the engine's queue, not this pool, is what
  // makes requests wait.
  int http_threads = 16;
  // The transport's bounds (http_server.h), applied before any handler or auth runs.
  int max_connections = 512;      // at the cap, the longest-waiting idle connection is closed
  int header_timeout_ms = 10000;  // the whole request head, from its first byte
  int idle_timeout_ms = 5000;     // a keep-alive connection waiting for its next request
  int body_timeout_ms = 30000;    // the whole body, from the end of the head
  int write_stall_ms = 30000;     // a client that reads nothing of its answer for this long
  // The bytes all request bodies may hold at once (BodyBudget); at least max_body_bytes.
  size_t body_budget_bytes = 16u << 20;
  // The bytes all non-streamed answers may hold at once, as ResponseHeldBytes estimates them
  // (generation.h): an answer past it alone is refused (400: stream it), one that finds it
  // spent by others gets 429. The memory plan counts it (PlanOptions::http_response_budget_bytes).
  size_t response_budget_bytes = 16u << 20;
  // Host names a key-less server answers to besides IP addresses and localhost (--allow-host).
  std::vector<std::string> allowed_hosts;
  // Prometheus text appended to /metrics as is: the memory plan's figures (the server does not
  // depend on memory/, so the caller renders them; see cli PlanMetrics).
  std::string plan_metrics;
  // The chat and status page at / (empty: no page, `--no-web`).
  std::vector<WebAsset> web_assets;
  // Image and audio content parts: URL fetching, detail budgets, decode limits.
  MediaOptions media;
};

// The model being served. `engine` is owned by the caller and outlives the server.
struct ServedModel {
  Engine* engine = nullptr;
  tokenizer::Tokenizer tokenizer;
  Result<tokenizer::ChatFormat> chat_format;  // why chat is unavailable, when it is
  std::string id;                             // what /v1/models lists and responses name
  std::vector<std::string> aliases;           // --alias: more names /v1/models lists
  int max_tokens_default = 0;                 // --max-tokens-default; 0: none (OpenAI's)

  // The id and the aliases, in that order.
  std::vector<std::string> Names() const;
  // Whether `name` is the id or an alias.
  bool Serves(std::string_view name) const;
};

enum class ServerState { kLoading, kReady, kDraining };

class ServerContext {
 public:
  explicit ServerContext(ServerOptions options)
      : options_(std::move(options)),
        media_(options_.media),
        response_budget_(options_.response_budget_bytes) {}

  const ServerOptions& options() const { return options_; }
  const MediaDecoder& media() const { return media_; }
  BodyBudget& response_budget() { return response_budget_; }
  Metrics& metrics() { return metrics_; }

  // Loading → ready.
  void SetModel(ServedModel model);
  // Ready → draining: new generation requests get 503.
  void SetDraining() { state_ = ServerState::kDraining; }
  ServerState state() const { return state_; }
  // The model (null while loading).
  std::shared_ptr<const ServedModel> model() const;
  // The model for a generation request, or the 503 that says why there is none.
  ApiResult<std::shared_ptr<const ServedModel>> AcquireModel() const;

  // "chatcmpl-" + 24 random characters.
  static std::string NewId(std::string_view prefix);

 private:
  ServerOptions options_;
  MediaDecoder media_;
  BodyBudget response_budget_;  // what non-streamed answers hold (ServerOptions)
  Metrics metrics_;
  std::atomic<ServerState> state_{ServerState::kLoading};
  mutable std::mutex mutex_;
  std::shared_ptr<const ServedModel> model_;  // set once, under mutex_
};

}  // namespace snug::server
