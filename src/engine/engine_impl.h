// The engine behind engine.h, shared by its two files: engine.cc (requests in, the loop thread,
// admission, shutdown and failure) and engine_step.cc (one step: the batch, the forward pass,
// tokens and events out). Internal to engine/: the server sees only engine.h.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/request_channel.h"
#include "engine/running_request.h"
#include "engine/slot_table.h"
#include "engine/step_pacer.h"
#include "kv/kv_cache.h"

namespace snug {

// OpenAI's limit on alternatives per token; each costs a partial sort of the vocabulary.
inline constexpr int kMaxTopLogprobs = 20;
// The shortest cached prefix worth taking a slot for rather than the least recently used one
// (SlotTable::TakeBest): longer than a chat template's opening, far less than one prefill chunk.
inline constexpr int kMinReusedTokens = 32;

// A request accepted by Submit that does not run yet.
struct Pending {
  Request request;
  std::shared_ptr<RequestChannel> channel;
};

class EngineImpl : public Engine {
 public:
  using Clock = std::chrono::steady_clock;

  EngineImpl(LoadedModel model, const EngineOptions& options, std::unique_ptr<KvCache> kv,
             SlotTable slot_table, std::vector<float> logits);
  ~EngineImpl() override { Shutdown(0); }

  void Start() {
    loop_ = std::thread([this] { Loop(); });
  }

  Result<std::unique_ptr<RequestHandle>> Submit(Request request) override;
  EngineStats Stats() const override;
  void Shutdown(int grace_ms) override;
  int context_tokens() const override { return options_.context_tokens; }
  const std::string& model_name() const override { return model_.model->spec().name; }
  const MediaSupport& media_support() const override { return media_support_; }

 private:
  Status Validate(const Request& request) const;

  // Loop thread only (engine.cc).
  void Loop();
  void Activate(Pending pending);
  // Ends a request that never got a slot: cancelled (error null) or refused with `error`.
  void EndWaiting(Pending& pending, const Status* error) noexcept;
  // Frees `count` slots for Submit and hands them to waiting requests at once, so a slot is
  // free before the Done that releases it reaches the client. Publishes the totals too.
  void ReturnSlots(int count);
  void EndAll(const Status& error);
  void Reap();
  void Publish(bool idle);
  void Fail(const std::string& reason);

  // Loop thread only (engine_step.cc).
  bool Step();  // false: nothing to run
  void FinishChunk(RunningRequest& request);
  // Adds batch_media_ entries for the media of the request's chunk, whose first row is
  // `first_row` of this step's batch.
  void AddBatchMedia(const RunningRequest& request, int first_row);
  void Advance(RunningRequest& request, Sequence& sequence, float* logits);
  // Constrained decoding: sets the logits of tokens the sequence's grammar forbids to -inf.
  // False: no token can continue (the vocabulary cannot spell what the grammar needs).
  bool Constrain(Sequence& sequence, float* logits) const;
  void FinishSequence(RunningRequest& request, Sequence& sequence, FinishReason reason);
  // Delivers a choice's tool calls and pieces of calls (Request::tool_format) as ToolCallDelta
  // events: a call's first piece names it (id, name), later ones carry its arguments.
  void SendToolCalls(RunningRequest& request, Sequence& sequence, std::vector<ToolCall>& calls);
  // Ends the request without allocating after memory ran out while serving it: its slots go
  // back, its handle gets an error (RequestChannel::Abort). The engine serves on.
  void Abandon(RunningRequest& request) noexcept;
  // Runs `body` for one request; if it runs out of memory, only that request ends.
  template <typename Body>
  void Guarded(RunningRequest& request, Body&& body) {
    try {
      body();
    } catch (const std::bad_alloc&) {
      Abandon(request);
    }
  }
  float* Row(int row) { return logits_.data() + static_cast<size_t>(row) * vocab_size_; }

  LoadedModel model_;
  const EngineOptions options_;
  std::unique_ptr<KvCache> kv_;
  const int vocab_size_;
  const std::vector<int32_t> end_of_generation_;  // sorted
  const MediaSupport media_support_;
  const MediaTokens media_tokens_;  // placeholders and end-of-media ids (-1: the model has none)

  // Loop thread only; buffers sized at start so a step allocates nothing that grows.
  SlotTable slot_table_;                                   // free slots and the prefix cache
  std::vector<std::unique_ptr<RunningRequest>> running_;   // [≤ parallel] in admission order
  std::vector<int32_t> tokens_, positions_, batch_slots_;  // [batch_tokens] this step's Batch
  std::vector<int32_t> logit_indices_;                     // [logit_rows_]
  std::vector<BatchMedia> batch_media_;                    // [≤ batch_tokens] this step's media
  std::vector<float> logits_;                              // [logit_rows_, vocab_size]
  const int logit_rows_;
  std::vector<Pending> arrived_;  // [≤ parallel] taken from admitted_ this iteration
  int64_t prompt_total_ = 0, generated_total_ = 0, cached_total_ = 0, cache_hits_ = 0;
  StepPacer pacer_{options_.max_pause_seconds};
  Clock::time_point window_start_ = Clock::now();
  int64_t window_prefill_ = 0, window_decode_ = 0;
  std::mt19937_64 call_ids_{std::random_device{}()};  // tool call ids ("call_…")

  // Shared with Submit / Stats / Shutdown, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;      // accepted, waiting for slots (at most max_queue)
  std::vector<Pending> admitted_;  // [≤ parallel] holding claimed slots, not yet activated
  int free_slots_;                 // slots neither running nor claimed
  bool stopping_ = false;
  Clock::time_point deadline_;
  bool failed_ = false;
  bool idle_ = true;
  Clock::time_point idle_since_ = Clock::now();
  EngineStats published_;  // totals, rates, health

  // Built by the first Submit with a grammar, before that request is queued (so the loop
  // thread, which reads it only for such requests, sees it complete).
  std::once_flag token_index_once_;
  std::optional<grammar::TokenIndex> token_index_;

  std::mutex join_mutex_;
  std::thread loop_;
};

}  // namespace snug
