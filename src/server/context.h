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
#include "server/metrics.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace snug::server {

struct ServerOptions {
  std::string api_key;                    // empty: no authentication
  std::vector<std::string> cors_origins;  // allowed Origins; "*" allows any
  size_t max_body_bytes = 8u << 20;       // larger bodies get 413
  int request_timeout_seconds = 600;      // 0: none
  int keep_alive_ms = 5000;               // SSE comment when no event came for this long
  // Connections served at once. A request holds its connection's thread while it runs or
  // waits, so size it as parallel + max_queue + a few (probes, metrics, 429s): then the engine's
  // queue, not this pool, is what makes requests wait. (An idle keep-alive connection also
  // holds a thread, for up to httplib's 5 s keep-alive timeout.)
  int http_threads = 16;
  // Prometheus text appended to /metrics as is: the memory plan's figures (the server does not
  // depend on memory/, so the caller renders them; see cli PlanMetrics).
  std::string plan_metrics;
};

// The model being served. `engine` is owned by the caller and outlives the server.
struct ServedModel {
  Engine* engine = nullptr;
  tokenizer::Tokenizer tokenizer;
  Result<tokenizer::ChatFormat> chat_format;  // why chat is unavailable, when it is
  std::string id;                             // what /v1/models lists and requests name
};

enum class ServerState { kLoading, kReady, kDraining };

class ServerContext {
 public:
  explicit ServerContext(ServerOptions options) : options_(std::move(options)) {}

  const ServerOptions& options() const { return options_; }
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
  Metrics metrics_;
  std::atomic<ServerState> state_{ServerState::kLoading};
  mutable std::mutex mutex_;
  std::shared_ptr<const ServedModel> model_;  // set once, under mutex_
};

}  // namespace snug::server
