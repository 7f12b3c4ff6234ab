// The engine's loop thread: admits queued requests into KV slots, builds each step's Batch from
// one decode token per running sequence plus prefill chunks in what is left of batch_tokens,
// runs one Forward, and turns each sequence's logits into tokens, text and Events. The request
// queue and the handles' event channels live in request_channel.*; per-request state in
// running_request.*; sampling and stop rules in sampler.* and stop.*.
#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include "base/check.h"
#include "engine/request_channel.h"
#include "engine/running_request.h"
#include "engine/stop.h"
#include "kv/kv_cache.h"

namespace snug {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxTopLogprobs = 20;  // OpenAI's limit; each costs a partial sort of the vocab

// A request accepted by Submit that does not run yet.
struct Pending {
  Request request;
  std::shared_ptr<RequestChannel> channel;
};

void PushDone(RequestChannel& channel, int prompt_tokens, int completion_tokens) {
  Event done;
  done.kind = Event::Kind::kDone;
  done.prompt_tokens = prompt_tokens;
  done.completion_tokens = completion_tokens;
  channel.Push(std::move(done));
}

void PushError(RequestChannel& channel, Status error, int prompt_tokens, int completion_tokens) {
  Event event;
  event.kind = Event::Kind::kError;
  event.error = std::move(error);
  channel.Push(std::move(event));
  PushDone(channel, prompt_tokens, completion_tokens);
}

// A request that never ran: every choice finishes cancelled.
void PushCancelled(const Pending& pending) {
  for (int choice = 0; choice < pending.request.n; ++choice) {
    Event finish;
    finish.kind = Event::Kind::kFinish;
    finish.choice = choice;
    finish.finish = FinishReason::kCancelled;
    pending.channel->Push(std::move(finish));
  }
  PushDone(*pending.channel, static_cast<int>(pending.request.prompt.size()), 0);
}

class EngineImpl : public Engine {
 public:
  EngineImpl(LoadedModel model, const EngineOptions& options, std::unique_ptr<KvCache> kv,
             std::vector<float> logits)
      : model_(std::move(model)),
        options_(options),
        kv_(std::move(kv)),
        vocab_size_(model_.model->spec().vocab_size),
        end_of_generation_(EndOfGenerationTokens(model_.tokenizer)),
        logits_(std::move(logits)),
        logit_rows_(static_cast<int>(logits_.size() / vocab_size_)),
        free_slots_(options.parallel) {
    tokens_.reserve(options.batch_tokens);
    positions_.reserve(options.batch_tokens);
    slots_.reserve(options.batch_tokens);
    logit_indices_.reserve(logit_rows_);
    running_.reserve(options.parallel);
    for (int slot = options.parallel - 1; slot >= 0; --slot) free_list_.push_back(slot);
    published_.slots = options.parallel;
    published_.kv_bytes = static_cast<int64_t>(kv_->bytes());
  }
  ~EngineImpl() override { Shutdown(0); }

  void Start() {
    loop_ = std::thread([this] { Loop(); });
  }

  Result<std::unique_ptr<RequestHandle>> Submit(Request request) override;
  EngineStats Stats() const override;
  void Shutdown(int grace_ms) override;
  int context_tokens() const override { return options_.context_tokens; }
  const std::string& model_name() const override { return model_.model->spec().name; }

 private:
  Status Validate(const Request& request) const;

  // Loop thread only.
  void Loop();
  void Activate(Pending pending);
  bool Step();  // false: nothing to run
  void FinishChunk(RunningRequest& request);
  void Advance(RunningRequest& request, Sequence& sequence, const float* logits);
  void FinishSequence(RunningRequest& request, Sequence& sequence, FinishReason reason);
  void EndAll(const Status& error);
  void Reap();
  void Publish(bool idle);
  void Fail(const std::string& reason);
  const float* Row(int row) const {
    return logits_.data() + static_cast<size_t>(row) * vocab_size_;
  }

  LoadedModel model_;
  const EngineOptions options_;
  std::unique_ptr<KvCache> kv_;
  const int vocab_size_;
  const std::vector<int32_t> end_of_generation_;  // sorted

  // Loop thread only; buffers sized at start so a step allocates nothing that grows.
  std::vector<std::unique_ptr<RunningRequest>> running_;  // in admission order
  std::vector<int> free_list_;                            // slots not held by a running sequence
  std::vector<int32_t> tokens_, positions_, slots_;       // [batch_tokens] this step's Batch
  std::vector<int32_t> logit_indices_;                    // [logit_rows_]
  std::vector<float> logits_;                             // [logit_rows_, vocab_size]
  const int logit_rows_;
  std::vector<Pending> arrived_, dropped_, refused_;
  int released_slots_ = 0;  // since the last Publish
  int64_t prompt_total_ = 0, generated_total_ = 0;
  Clock::time_point window_start_ = Clock::now();
  int64_t window_prefill_ = 0, window_decode_ = 0;

  // Shared with Submit / Stats / Shutdown, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;      // accepted, waiting for slots (at most max_queue)
  std::vector<Pending> admitted_;  // holding claimed slots, not yet picked up by the loop
  int free_slots_;                 // slots neither running nor claimed
  bool stopping_ = false;
  Clock::time_point deadline_;
  bool failed_ = false;
  bool idle_ = true;
  Clock::time_point idle_since_ = Clock::now();
  EngineStats published_;  // totals, rates, health

  std::mutex join_mutex_;
  std::thread loop_;
};

Status EngineImpl::Validate(const Request& request) const {
  if (request.prompt.empty()) return InvalidArgument("engine: the prompt is empty");
  for (int32_t token : request.prompt) {
    if (token < 0 || token >= vocab_size_) {
      return InvalidArgument("engine: token id " + std::to_string(token) +
                             " is outside the vocabulary (0.." + std::to_string(vocab_size_ - 1) +
                             ")");
    }
  }
  if (request.n < 1 || request.n > options_.parallel) {
    return InvalidArgument("engine: n must be between 1 and " + std::to_string(options_.parallel) +
                           " (the sequences run at once), got " + std::to_string(request.n));
  }
  if (request.max_tokens < 0) {
    return InvalidArgument("engine: max_tokens must not be negative, got " +
                           std::to_string(request.max_tokens));
  }
  if (request.top_logprobs < 0 || request.top_logprobs > kMaxTopLogprobs) {
    return InvalidArgument("engine: top_logprobs must be between 0 and " +
                           std::to_string(kMaxTopLogprobs) + ", got " +
                           std::to_string(request.top_logprobs));
  }
  const SamplingParams& s = request.sampling;
  if (!(s.temperature >= 0 && std::isfinite(s.temperature)) || s.top_k < 0 ||
      !(s.top_p > 0 && s.top_p <= 1) || !(s.min_p >= 0 && s.min_p <= 1) ||
      !(s.repetition_penalty > 0 && std::isfinite(s.repetition_penalty)) ||
      !std::isfinite(s.presence_penalty) || !std::isfinite(s.frequency_penalty)) {
    return InvalidArgument(
        "engine: sampling needs temperature ≥ 0, top_k ≥ 0, 0 < top_p ≤ 1, 0 ≤ min_p ≤ 1, "
        "repetition_penalty > 0 and finite penalties");
  }
  const int64_t needed = static_cast<int64_t>(request.prompt.size()) + request.max_tokens;
  if (needed > options_.context_tokens) {
    return OutOfRange("engine: the prompt (" + std::to_string(request.prompt.size()) +
                      " tokens) plus max_tokens (" + std::to_string(request.max_tokens) +
                      ") exceeds the context of " + std::to_string(options_.context_tokens) +
                      " tokens");
  }
  return Status::Ok();
}

Result<std::unique_ptr<RequestHandle>> EngineImpl::Submit(Request request) {
  RETURN_IF_ERROR(Validate(request));
  auto channel = std::make_shared<RequestChannel>();
  const int n = request.n;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) return Unavailable("engine: stopped after a failure: " + published_.failure);
    if (stopping_) return Unavailable("engine: shutting down");
    // Straight to a slot only when nobody waits, so the queue stays first come, first served.
    if (queue_.empty() && free_slots_ >= n) {
      free_slots_ -= n;
      admitted_.push_back({std::move(request), channel});
    } else if (static_cast<int>(queue_.size()) < options_.max_queue) {
      queue_.push_back({std::move(request), channel});
    } else {
      return ResourceExhausted("engine: " + std::to_string(queue_.size()) +
                               " requests are already waiting for a slot; try again later");
    }
  }
  wake_.notify_all();
  return std::unique_ptr<RequestHandle>(std::make_unique<ChannelHandle>(std::move(channel)));
}

EngineStats EngineImpl::Stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EngineStats stats = published_;
  stats.running = options_.parallel - free_slots_;  // slots held or claimed
  stats.waiting = static_cast<int>(queue_.size());
  // Rates are of the last busy second; an engine idle for longer than that does nothing now.
  if (idle_ && Clock::now() - idle_since_ > std::chrono::seconds(1)) {
    stats.prefill_tokens_per_second = 0;
    stats.decode_tokens_per_second = 0;
  }
  return stats;
}

void EngineImpl::Shutdown(int grace_ms) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(std::max(grace_ms, 0));
    if (!stopping_ || deadline < deadline_) deadline_ = deadline;
    stopping_ = true;
  }
  wake_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mutex_);
  if (loop_.joinable()) loop_.join();
}

void EngineImpl::Loop() {
  try {
    while (true) {
      bool stopping = false, past_deadline = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        arrived_.clear();
        arrived_.swap(admitted_);
        for (auto it = queue_.begin(); it != queue_.end();) {
          if (it->channel->cancelled()) {
            dropped_.push_back(std::move(*it));
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
        stopping = stopping_;
        past_deadline = stopping_ && Clock::now() >= deadline_;
        if (stopping_) {  // waiting requests fail fast, so their clients can go elsewhere
          for (Pending& pending : queue_) refused_.push_back(std::move(pending));
          queue_.clear();
        }
        idle_ = false;
      }
      for (const Pending& pending : dropped_) PushCancelled(pending);
      for (const Pending& pending : refused_) {
        PushError(*pending.channel, Unavailable("engine: shutting down"),
                  static_cast<int>(pending.request.prompt.size()), 0);
      }
      dropped_.clear();
      refused_.clear();
      for (Pending& pending : arrived_) Activate(std::move(pending));
      arrived_.clear();
      if (past_deadline) {
        EndAll(Unavailable("engine: shutting down"));
        Reap();
        Publish(true);
        return;
      }
      for (auto& request : running_) {
        if (!request->channel->cancelled()) continue;
        for (Sequence& sequence : request->sequences) {
          if (!sequence.finished) FinishSequence(*request, sequence, FinishReason::kCancelled);
        }
      }
      Reap();
      Step();
      Reap();
      const bool idle = running_.empty();
      Publish(idle);
      if (!idle) continue;
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping && admitted_.empty() && queue_.empty()) return;
      wake_.wait(lock, [&] { return !admitted_.empty() || stopping_; });
      window_start_ = Clock::now();
    }
  } catch (const std::exception& e) {
    Fail(e.what());
  } catch (...) {
    Fail("unknown exception");
  }
}

// Gives the request its claimed slots. Its per-request state (a sampler per choice, sized for
// the vocabulary) is allocated here: if that fails, only this request fails.
void EngineImpl::Activate(Pending pending) {
  const int n = pending.request.n;
  const int prompt_tokens = static_cast<int>(pending.request.prompt.size());
  CHECK_GE(static_cast<int>(free_list_.size()), n);
  std::shared_ptr<RequestChannel> channel = pending.channel;
  try {
    auto request = std::make_unique<RunningRequest>(std::move(pending.request), channel);
    request->sequences.reserve(n);
    for (int choice = 0; choice < n; ++choice) {
      const int slot = free_list_[free_list_.size() - 1 - choice];
      kv_->Clear(slot);
      request->sequences.emplace_back(choice, slot, request->request, vocab_size_,
                                      model_.tokenizer);
    }
    request->unfinished = n;
    if (request->request.echo_prompt_logprobs) {
      request->echo_logprobs.assign(prompt_tokens, NAN);
      request->echo_top.resize(prompt_tokens);
    }
    running_.push_back(std::move(request));  // reserved for `parallel`: cannot throw
    free_list_.resize(free_list_.size() - n);
  } catch (const std::bad_alloc&) {
    released_slots_ += n;  // the claim goes back; the slots never left free_list_
    PushError(*channel, ResourceExhausted("engine: out of memory starting the request"),
              prompt_tokens, 0);
  }
}

bool EngineImpl::Step() {
  tokens_.clear();
  positions_.clear();
  slots_.clear();
  logit_indices_.clear();
  auto add_token = [&](int32_t token, int position, int slot) {
    tokens_.push_back(token);
    positions_.push_back(position);
    slots_.push_back(slot);
  };
  // (a) One decode token for every running sequence: streams never wait for a prefill.
  for (auto& request : running_) {
    request->chunk_tokens = 0;
    if (request->prefilling()) continue;
    for (Sequence& sequence : request->sequences) {
      sequence.logit_row = -1;
      if (sequence.finished) continue;
      sequence.logit_row = static_cast<int>(logit_indices_.size());
      logit_indices_.push_back(static_cast<int32_t>(tokens_.size()));
      add_token(sequence.next_token, kv_->length(sequence.slot), sequence.slot);
    }
  }
  const int decode_tokens = static_cast<int>(tokens_.size());
  // (b) Prefill chunks in what is left, oldest request first.
  int budget = options_.batch_tokens - decode_tokens;
  for (auto& request : running_) {
    if (!request->prefilling() || budget <= 0) continue;
    const int prompt_tokens = static_cast<int>(request->request.prompt.size());
    const bool echo = request->request.echo_prompt_logprobs;
    int chunk = std::min(budget, prompt_tokens - request->prefilled_tokens);
    // Echo needs every prompt row's logits; the logits buffer bounds the chunk instead.
    if (echo) chunk = std::min(chunk, logit_rows_ - static_cast<int>(logit_indices_.size()));
    if (chunk <= 0) continue;
    const bool last = request->prefilled_tokens + chunk == prompt_tokens;
    const int slot = request->sequences[0].slot;
    request->chunk_tokens = chunk;
    request->chunk_first_row = static_cast<int>(logit_indices_.size());
    for (int i = 0; i < chunk; ++i) {
      const int position = request->prefilled_tokens + i;
      if (echo || (last && i == chunk - 1)) {
        logit_indices_.push_back(static_cast<int32_t>(tokens_.size()));
      }
      add_token(request->request.prompt[position], position, slot);
    }
    budget -= chunk;
  }
  if (tokens_.empty()) return false;
  CHECK_LE(static_cast<int>(logit_indices_.size()), logit_rows_);

  const Batch batch{tokens_, positions_, slots_, logit_indices_};
  model_.model->Forward(batch, *kv_, logits_.data());
  window_decode_ += decode_tokens;
  window_prefill_ += static_cast<int64_t>(tokens_.size()) - decode_tokens;

  for (auto& request : running_) {
    if (request->chunk_tokens > 0) {
      kv_->set_length(request->sequences[0].slot,
                      request->prefilled_tokens + request->chunk_tokens);
      FinishChunk(*request);
      continue;
    }
    for (Sequence& sequence : request->sequences) {
      if (sequence.logit_row < 0 || sequence.finished) continue;
      kv_->set_length(sequence.slot, kv_->length(sequence.slot) + 1);
      Advance(*request, sequence, Row(sequence.logit_row));
    }
  }
  return true;
}

void EngineImpl::FinishChunk(RunningRequest& request) {
  const std::vector<int32_t>& prompt = request.request.prompt;
  const int prompt_tokens = static_cast<int>(prompt.size());
  const int begin = request.prefilled_tokens;
  const int chunk = request.chunk_tokens;
  request.prefilled_tokens += chunk;
  prompt_total_ += chunk;
  const bool echo = request.request.echo_prompt_logprobs;
  if (echo) {
    // Row i predicts the token after begin + i.
    for (int i = 0; i < chunk && begin + i + 1 < prompt_tokens; ++i) {
      const std::span<const float> row(Row(request.chunk_first_row + i), vocab_size_);
      const int next = begin + i + 1;
      request.echo_logprobs[next] = Logprob(row, prompt[next]);
      if (request.request.top_logprobs > 0) {
        TopLogprobs(row, request.request.top_logprobs, request.echo_top[next]);
      }
    }
  }
  Event progress;
  progress.kind = Event::Kind::kPrefillProgress;
  progress.prefill_done = request.prefilled_tokens;
  progress.prefill_total = prompt_tokens;
  request.channel->Push(std::move(progress));
  if (request.prefilling()) return;

  // The prompt is in: the other choices get a copy of its KV, then everyone samples.
  const Sequence& first = request.sequences[0];
  for (size_t i = 1; i < request.sequences.size(); ++i) {
    kv_->CopySlot(first.slot, request.sequences[i].slot, prompt_tokens);
  }
  if (echo) {
    const std::string text = model_.tokenizer.Decode(prompt);
    for (const Sequence& sequence : request.sequences) {
      Event delta;
      delta.choice = sequence.choice;
      delta.echo = true;
      delta.text = text;
      delta.tokens = prompt;
      delta.logprobs = request.echo_logprobs;
      if (request.request.top_logprobs > 0) delta.top_logprobs = request.echo_top;
      request.channel->Push(std::move(delta));
    }
  }
  const float* last_row = Row(request.chunk_first_row + (echo ? chunk - 1 : 0));
  for (Sequence& sequence : request.sequences) {
    if (request.request.max_tokens == 0) {
      FinishSequence(request, sequence, FinishReason::kLength);
    } else {
      Advance(request, sequence, last_row);
    }
  }
}

// Samples the sequence's next token from `logits` [vocab_size] and streams it, as Generate().
void EngineImpl::Advance(RunningRequest& request, Sequence& sequence, const float* logits) {
  const Request& r = request.request;
  const std::span<const float> row(logits, vocab_size_);
  Event delta;
  delta.choice = sequence.choice;
  if (r.top_logprobs > 0) {
    delta.top_logprobs.emplace_back();
    TopLogprobs(row, r.top_logprobs, delta.top_logprobs.back());
  }
  const int32_t token = sequence.sampler.Sample(logits);
  if (std::binary_search(end_of_generation_.begin(), end_of_generation_.end(), token)) {
    FinishSequence(request, sequence, FinishReason::kStop);
    return;
  }
  ++sequence.generated_tokens;
  ++request.completion_tokens;
  ++generated_total_;
  if (r.logprobs || r.top_logprobs > 0) delta.logprobs.push_back(Logprob(row, token));
  delta.tokens.push_back(token);
  delta.text = sequence.stops.Push(sequence.detokenizer.Push(token));
  request.channel->Push(std::move(delta));
  if (sequence.stops.stopped()) {
    FinishSequence(request, sequence, FinishReason::kStop);
  } else if (sequence.generated_tokens == r.max_tokens) {
    FinishSequence(request, sequence, FinishReason::kLength);
  } else {
    sequence.next_token = token;
  }
}

void EngineImpl::FinishSequence(RunningRequest& request, Sequence& sequence, FinishReason reason) {
  if (reason != FinishReason::kCancelled) {
    // Text still held back: an incomplete UTF-8 tail, or a possible start of a stop string.
    std::string tail = sequence.stops.Push(sequence.detokenizer.Finish());
    if (sequence.stops.stopped()) {
      reason = FinishReason::kStop;
    } else {
      tail += sequence.stops.Finish();
    }
    if (!tail.empty()) {
      Event delta;
      delta.choice = sequence.choice;
      delta.text = std::move(tail);
      request.channel->Push(std::move(delta));
    }
  }
  Event finish;
  finish.kind = Event::Kind::kFinish;
  finish.choice = sequence.choice;
  finish.finish = reason;
  request.channel->Push(std::move(finish));
  sequence.finished = true;
  kv_->Clear(sequence.slot);
  free_list_.push_back(sequence.slot);
  ++released_slots_;
  if (--request.unfinished == 0) {
    PushDone(*request.channel, static_cast<int>(request.request.prompt.size()),
             request.completion_tokens);
  }
}

// Ends every running request with `error` (kError, kDone) and frees its slots.
void EngineImpl::EndAll(const Status& error) {
  for (auto& request : running_) {
    if (request->unfinished == 0) continue;
    for (Sequence& sequence : request->sequences) {
      if (sequence.finished) continue;
      sequence.finished = true;
      kv_->Clear(sequence.slot);
      free_list_.push_back(sequence.slot);
      ++released_slots_;
    }
    request->unfinished = 0;
    PushError(*request->channel, error, static_cast<int>(request->request.prompt.size()),
              request->completion_tokens);
  }
}

void EngineImpl::Reap() {
  std::erase_if(running_, [](const auto& request) { return request->unfinished == 0; });
}

// Hands freed slots to waiting requests and publishes counters for Stats().
void EngineImpl::Publish(bool idle) {
  const Clock::time_point now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - window_start_).count();
  std::lock_guard<std::mutex> lock(mutex_);
  free_slots_ += released_slots_;
  released_slots_ = 0;
  while (!stopping_ && !queue_.empty() && free_slots_ >= queue_.front().request.n) {
    free_slots_ -= queue_.front().request.n;
    admitted_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  published_.prompt_tokens = prompt_total_;
  published_.generated_tokens = generated_total_;
  if (seconds >= 1.0 || (idle && window_prefill_ + window_decode_ > 0 && seconds > 0)) {
    published_.prefill_tokens_per_second = window_prefill_ / seconds;
    published_.decode_tokens_per_second = window_decode_ / seconds;
    window_start_ = now;
    window_prefill_ = window_decode_ = 0;
  }
  idle_ = idle;
  if (idle) idle_since_ = now;
}

// After a failed step nothing the loop holds can be trusted: every request ends with the
// reason, the engine reports unhealthy and refuses new work, and the loop thread ends.
void EngineImpl::Fail(const std::string& reason) {
  std::vector<Pending> waiting;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_ = true;
    published_.healthy = false;
    published_.failure = "engine: a step failed: " + reason;
    for (Pending& pending : admitted_) waiting.push_back(std::move(pending));
    for (Pending& pending : queue_) waiting.push_back(std::move(pending));
    for (Pending& pending : arrived_) waiting.push_back(std::move(pending));
    admitted_.clear();
    queue_.clear();
    arrived_.clear();
    idle_ = true;
    idle_since_ = Clock::now();
  }
  const Status error = Internal("engine: a step failed: " + reason);
  try {
    EndAll(error);
    for (Pending& pending : waiting) {
      if (pending.channel != nullptr) {
        PushError(*pending.channel, error, static_cast<int>(pending.request.prompt.size()), 0);
      }
    }
    running_.clear();
  } catch (...) {
    // Out of memory even for the error events: nothing more can be done from here.
  }
  std::lock_guard<std::mutex> lock(mutex_);
  free_slots_ = options_.parallel;  // nothing runs any more
}

}  // namespace

Result<std::unique_ptr<Engine>> StartEngine(LoadedModel model, const EngineOptions& options) {
  if (model.model == nullptr) return InvalidArgument("engine: no model");
  if (options.parallel < 1 || options.context_tokens < 1 || options.max_queue < 0) {
    return InvalidArgument(
        "engine: parallel and context_tokens must be positive, max_queue "
        "not negative");
  }
  // Every running sequence puts one token into each step, so a step must hold them all.
  if (options.batch_tokens < options.parallel) {
    return InvalidArgument("engine: batch_tokens (" + std::to_string(options.batch_tokens) +
                           ") must be at least parallel (" + std::to_string(options.parallel) +
                           ")");
  }
  const ModelSpec& spec = model.model->spec();
  ASSIGN_OR_RETURN(std::unique_ptr<KvCache> kv,
                   KvCache::Create(spec.KvLayers(), {.slots = options.parallel,
                                                     .context_tokens = options.context_tokens,
                                                     .batch_tokens = options.batch_tokens}));
  // Logits of one row per sequence (decode, or a prompt's last token) and one to spare.
  const size_t logit_floats = static_cast<size_t>(options.parallel + 1) * spec.vocab_size;
  std::vector<float> logits;
  try {
    logits.resize(logit_floats);
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("engine: cannot allocate " + std::to_string(logit_floats * 4) +
                             " bytes of logits");
  }
  auto engine =
      std::make_unique<EngineImpl>(std::move(model), options, std::move(kv), std::move(logits));
  engine->Start();
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace snug
