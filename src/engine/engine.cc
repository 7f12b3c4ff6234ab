// The engine's requests and loop thread: Submit validates and queues, the loop admits queued
// requests into KV slots (taking the slot with the longest cached prefix), runs steps
// (engine_step.cc) until nothing runs, and ends everything on shutdown or failure. The request
// queue and the handles' event channels live in request_channel.*; per-request state in
// running_request.h; free slots and the prefix cache in slot_table.*.
#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "base/check.h"
#include "engine/engine_impl.h"
#include "engine/stop.h"

namespace snug {
namespace {

void PushDone(RequestChannel& channel, int prompt_tokens, int completion_tokens,
              int cached_tokens) {
  channel.Push(events::Done{.prompt_tokens = prompt_tokens,
                            .completion_tokens = completion_tokens,
                            .cached_tokens = cached_tokens});
}

// Failure then Done; if even those cannot be allocated, the channel makes them up.
void PushError(RequestChannel& channel, const Status& error, int prompt_tokens,
               int completion_tokens, int cached_tokens) noexcept {
  try {
    channel.Push(events::Failure{error});
    PushDone(channel, prompt_tokens, completion_tokens, cached_tokens);
  } catch (const std::bad_alloc&) {
    channel.Abort(prompt_tokens, completion_tokens, cached_tokens);
  }
}

MediaSupport MediaSupportOf(const MediaSpec& media, const EngineOptions& options) {
  MediaSupport support;
  support.image_patch_px = media.image_patch_px;
  support.audio_frame_samples = media.audio_frame_samples;
  if (media.images()) {
    // A step holds one decode token per running sequence beside the image's chunk.
    const int room = options.batch_tokens - options.parallel;
    support.max_image_tokens =
        options.max_image_tokens > 0 ? std::min(options.max_image_tokens, room) : room;
  }
  return support;
}

}  // namespace

EngineImpl::EngineImpl(LoadedModel model, const EngineOptions& options, std::unique_ptr<KvCache> kv,
                       SlotTable slot_table, std::vector<float> logits)
    : model_(std::move(model)),
      options_(options),
      kv_(std::move(kv)),
      vocab_size_(model_.model->spec().vocab_size),
      end_of_generation_(EndOfGenerationTokens(model_.tokenizer)),
      media_support_(MediaSupportOf(model_.model->spec().media, options)),
      media_tokens_(MediaTokensOf(model_.model->spec(), model_.tokenizer)),
      slot_table_(std::move(slot_table)),
      logits_(std::move(logits)),
      logit_rows_(static_cast<int>(logits_.size() / vocab_size_)),
      free_slots_(options.parallel) {
  tokens_.reserve(options.batch_tokens);
  batch_media_.reserve(options.batch_tokens);
  positions_.reserve(options.batch_tokens);
  batch_slots_.reserve(options.batch_tokens);
  logit_indices_.reserve(logit_rows_);
  running_.reserve(options.parallel);
  // Every entry of admitted_ (and of arrived_, which it is swapped with) holds at least one
  // claimed slot, so `parallel` bounds them and pushing never allocates.
  arrived_.reserve(options.parallel);
  admitted_.reserve(options.parallel);
  published_.slots = options.parallel;
  published_.queue_limit = options.max_queue;
  published_.kv_bytes = static_cast<int64_t>(kv_->bytes());
}

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
  if (!request.media.empty() && request.echo_prompt_logprobs) {
    return InvalidArgument("engine: prompt logprobs (echo) are not available with images or audio");
  }
  if (!request.media.empty() || media_tokens_.image >= 0 || media_tokens_.audio >= 0) {
    RETURN_IF_ERROR(LocateMedia(request.prompt, request.media, media_tokens_,
                                model_.model->spec().media, media_support_)
                        .status());
  }
  // The admission policy (engine.h): a slot holds the whole context, so this is the only
  // size check; an admitted request always has KV room for prompt + max_tokens.
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
  try {
    if (request.grammar || !request.argument_grammars.empty()) {
      std::call_once(token_index_once_, [this] {
        token_index_.emplace(grammar::TokenIndex::FromTokenizer(model_.tokenizer));
      });
    }
    // Everything this request needs from the heap comes first, so a failure leaves no trace.
    auto channel = std::make_shared<RequestChannel>();
    auto handle = std::make_unique<ChannelHandle>(channel);
    const int n = request.n;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failed_) return Unavailable("engine: stopped after a failure: " + published_.failure);
      if (stopping_) return Unavailable("engine: shutting down");
      // Straight to a slot only when nobody waits, so the queue stays first come, first served.
      if (queue_.empty() && free_slots_ >= n) {
        CHECK_LT(admitted_.size(), admitted_.capacity());
        admitted_.push_back({std::move(request), channel});
        free_slots_ -= n;
      } else if (static_cast<int>(queue_.size()) < options_.max_queue) {
        queue_.push_back({std::move(request), channel});
      } else {
        return ResourceExhausted("engine: " + std::to_string(queue_.size()) +
                                 " requests are already waiting for a slot; try again later");
      }
    }
    wake_.notify_all();
    return std::unique_ptr<RequestHandle>(std::move(handle));
  } catch (const std::bad_alloc&) {
    return Unavailable("engine: out of memory accepting the request; try again later");
  }
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

void EngineImpl::EndWaiting(Pending& pending, const Status* error) noexcept {
  RequestChannel& channel = *pending.channel;
  const int prompt_tokens = static_cast<int>(pending.request.prompt.size());
  if (error != nullptr) return PushError(channel, *error, prompt_tokens, 0, 0);
  try {  // cancelled before it ran: every choice finishes cancelled
    for (int choice = 0; choice < pending.request.n; ++choice) {
      channel.Push(events::Finish{.choice = choice, .reason = FinishReason::kCancelled});
    }
    PushDone(channel, prompt_tokens, 0, 0);
  } catch (const std::bad_alloc&) {
    channel.Abort(prompt_tokens, 0, 0);
  }
}

void EngineImpl::Loop() {
  try {
    const Status shutting_down = Unavailable("engine: shutting down");
    while (true) {
      bool stopping = false, past_deadline = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        arrived_.swap(admitted_);  // admitted_ was emptied last time round: now it is arrived_
        // Ended here, under the lock, so no list of them is needed (nothing to allocate).
        for (auto it = queue_.begin(); it != queue_.end();) {
          if (it->channel->cancelled()) {
            EndWaiting(*it, nullptr);
            it = queue_.erase(it);
          } else {
            ++it;
          }
        }
        stopping = stopping_;
        past_deadline = stopping_ && Clock::now() >= deadline_;
        if (stopping_) {  // waiting requests fail fast, so their clients can go elsewhere
          for (Pending& pending : queue_) EndWaiting(pending, &shutting_down);
          queue_.clear();
        }
        idle_ = false;
      }
      for (Pending& pending : arrived_) Activate(std::move(pending));
      arrived_.clear();
      if (past_deadline) {
        EndAll(shutting_down);
        Reap();
        Publish(true);
        return;
      }
      for (auto& request : running_) {
        if (!request->channel->cancelled()) continue;
        Guarded(*request, [&] {
          for (Sequence& sequence : request->sequences) {
            if (!sequence.finished) FinishSequence(*request, sequence, FinishReason::kCancelled);
          }
        });
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
// the vocabulary) is allocated first: if that fails, only this request fails.
void EngineImpl::Activate(Pending pending) {
  const int n = pending.request.n;
  const int prompt_tokens = static_cast<int>(pending.request.prompt.size());
  CHECK_GE(slot_table_.free_count(), n);
  std::shared_ptr<RequestChannel> channel = pending.channel;
  std::unique_ptr<RunningRequest> request;
  try {
    request = std::make_unique<RunningRequest>(std::move(pending.request), channel);
    if (!request->request.media.empty()) {
      // Checked by Submit's Validate: the same prompt and media locate the same way.
      Result<std::vector<MediaSpan>> spans =
          LocateMedia(request->request.prompt, request->request.media, media_tokens_,
                      model_.model->spec().media, media_support_);
      CHECK(spans.ok()) << spans.status().message();
      request->media_spans = std::move(*spans);
      request->prefix_keys =
          PrefixKeys(request->request.prompt, request->media_spans, request->request.media);
    }
    request->sequences.reserve(n);
    for (int choice = 0; choice < n; ++choice) {
      request->sequences.emplace_back(choice, /*slot=*/-1, request->request, vocab_size_,
                                      model_.tokenizer, token_index_ ? &*token_index_ : nullptr);
    }
    if (request->request.echo_prompt_logprobs) {
      request->echo_logprobs.assign(prompt_tokens, NAN);
      request->echo_top.resize(prompt_tokens);
    }
  } catch (const std::bad_alloc&) {
    ReturnSlots(n);  // the claim goes back; the slots were never taken
    PushError(*channel, Unavailable("engine: out of memory starting the request"), prompt_tokens, 0,
              0);
    return;
  }
  // Nothing below allocates. Echo needs logits for every prompt row, so it reuses nothing.
  const std::span<const int32_t> prompt = request->keys();
  SlotTable::Claim claim =
      request->request.echo_prompt_logprobs
          ? SlotTable::Claim{.slot = slot_table_.TakeLeastRecent(), .reused_tokens = 0}
          : slot_table_.TakeBest(prompt);
  // An image is prefilled whole (its attention is bidirectional): a reused prefix that ends
  // inside one keeps only what comes before it.
  for (const MediaSpan& span : request->media_spans) {
    if (span.image && claim.reused_tokens > span.first_token &&
        claim.reused_tokens < span.first_token + span.num_tokens) {
      claim.reused_tokens = span.first_token;
      slot_table_.Truncate(claim.slot, claim.reused_tokens);
    }
  }
  request->sequences[0].slot = claim.slot;
  kv_->set_length(claim.slot, claim.reused_tokens);
  for (int choice = 1; choice < n; ++choice) {  // filled by CopySlot once the prompt is in
    const int slot = slot_table_.TakeLeastRecent();
    kv_->Clear(slot);
    request->sequences[choice].slot = slot;
  }
  request->prefilled_tokens = request->cached_tokens = claim.reused_tokens;
  if (claim.reused_tokens > 0) {
    cached_total_ += claim.reused_tokens;
    ++cache_hits_;
  }
  request->unfinished = n;
  running_.push_back(std::move(request));  // reserved for `parallel`: cannot throw
  // It holds its slot now: its wait in the queue ends here, not at its first prefill chunk.
  RunningRequest& admitted = *running_.back();
  Guarded(admitted, [&] {
    admitted.channel->Push(events::PrefillProgress{.prefill_done = claim.reused_tokens,
                                                   .prefill_total = prompt_tokens});
  });
}

void EngineImpl::ReturnSlots(int count) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_slots_ += count;
  while (!stopping_ && !failed_ && !queue_.empty() && free_slots_ >= queue_.front().request.n) {
    free_slots_ -= queue_.front().request.n;
    CHECK_LT(admitted_.size(), admitted_.capacity());
    admitted_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  // The counters a client may read right after its Done include its request.
  published_.prompt_tokens = prompt_total_;
  published_.generated_tokens = generated_total_;
  published_.cached_prompt_tokens = cached_total_;
  published_.prefix_cache_hits = cache_hits_;
}

// Ends every running request with `error` (Failure, Done) and frees its slots.
void EngineImpl::EndAll(const Status& error) {
  for (auto& request : running_) {
    if (request->unfinished == 0) continue;
    int released = 0;
    for (Sequence& sequence : request->sequences) {
      if (sequence.finished) continue;
      sequence.finished = true;
      slot_table_.Release(sequence.slot);
      ++released;
    }
    request->unfinished = 0;
    ReturnSlots(released);
    PushError(*request->channel, error, static_cast<int>(request->request.prompt.size()),
              request->completion_tokens, request->cached_tokens);
  }
}

void EngineImpl::Reap() {
  std::erase_if(running_, [](const auto& request) { return request->unfinished == 0; });
}

// Publishes rates and totals for Stats().
void EngineImpl::Publish(bool idle) {
  const Clock::time_point now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - window_start_).count();
  std::lock_guard<std::mutex> lock(mutex_);
  published_.prompt_tokens = prompt_total_;
  published_.generated_tokens = generated_total_;
  published_.cached_prompt_tokens = cached_total_;
  published_.prefix_cache_hits = cache_hits_;
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
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_ = true;
    published_.healthy = false;
    published_.failure = "engine: a step failed: " + reason;
    for (Pending& pending : admitted_) waiting.push_back(std::move(pending));
    for (Pending& pending : queue_) waiting.push_back(std::move(pending));
    for (Pending& pending : arrived_) {
      if (pending.channel != nullptr) waiting.push_back(std::move(pending));
    }
    admitted_.clear();
    queue_.clear();
    arrived_.clear();
    idle_ = true;
    idle_since_ = Clock::now();
  } catch (...) {
    // Out of memory listing them: those not listed are still ended below where possible.
  }
  try {
    const Status error = Internal("engine: a step failed: " + reason);
    EndAll(error);
    for (Pending& pending : waiting) {
      if (pending.channel != nullptr) {
        PushError(*pending.channel, error, static_cast<int>(pending.request.prompt.size()), 0, 0);
      }
    }
    running_.clear();
  } catch (...) {
    // Out of memory even for the error events: nothing more can be done from here.
  }
  std::lock_guard<std::mutex> lock(mutex_);
  free_slots_ = options_.parallel;  // nothing runs any more
}

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
  const KvCacheOptions kv_options{.slots = options.parallel,
                                  .context_tokens = options.context_tokens,
                                  .batch_tokens = options.batch_tokens,
                                  .type = options.kv_type};
  ASSIGN_OR_RETURN(std::unique_ptr<KvCache> kv, KvCache::Create(spec.KvLayers(), kv_options));
  // Logits of one row per sequence (decode, or a prompt's last token) and one to spare.
  const size_t logit_floats = static_cast<size_t>(options.parallel + 1) * spec.vocab_size;
  try {
    std::vector<float> logits(logit_floats);
    // The token ids each slot holds (the prefix cache's keys): [parallel, context_tokens].
    SlotTable slot_table(spec.KvLayers(), kv_options, kMinReusedTokens);
    auto engine = std::make_unique<EngineImpl>(std::move(model), options, std::move(kv),
                                               std::move(slot_table), std::move(logits));
    engine->Start();
    return std::unique_ptr<Engine>(std::move(engine));
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("engine: cannot allocate the logits (" +
                             std::to_string(logit_floats * 4) + " bytes) and slot tables");
  }
}

}  // namespace snug
