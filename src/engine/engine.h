// The engine: one loop thread owns the model and the KV cache and runs continuous batching —
// every running sequence decodes in one Forward per step, and long prompts are prefilled in
// chunks interleaved with those steps. Requests come in through Submit() from any thread and
// their results go out as Events on the request's handle. The server sees only this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/loaded_model.h"
#include "engine/sampler.h"
#include "tokenizer/chat_format.h"

namespace snug {

// Admission policy. Every KV slot reserves the whole per-request context, so a request
// admitted to a free slot always has KV room for its prompt plus max_tokens and is never
// preempted; one whose prompt + max_tokens exceeds context_tokens is refused at Submit
// (kOutOfRange → 400 context_length_exceeded), and one that finds every slot taken waits in
// the queue (max_queue; beyond it kResourceExhausted → 429). Memory for a request's own state
// (samplers, events, stop and logprob buffers) is allocated while serving it: if that fails
// the request ends with an error (kUnavailable) and the engine serves on.
//
// Prefix cache. A finished sequence's slot keeps its KV; a new request takes the free slot
// whose held tokens share the longest prefix with its prompt (at least 32 tokens, else the
// least recently used slot) and prefills only the rest (Event::cached_tokens). Sliding-window
// rings reuse a prefix only while they still hold the window before it. Echo requests (prompt
// logprobs) prefill in full. See slot_table.h.
//
// Compute threads are not an engine option: they are the ThreadPool the model was loaded with
// (LoadModelFile), which the model keeps.
struct EngineOptions {
  int parallel = 4;           // sequences decoding at once (KV slots)
  int context_tokens = 4096;  // per sequence: prompt + max_tokens of one request
  int batch_tokens = 512;     // tokens per Forward (prefill chunks + decode tokens)
  int max_queue = 64;         // requests waiting for a slot; more are refused (429)
  KvType kv_type = KvType::kF16;  // element type of the KV cache (kv/kv_cache.h)
};

struct Request {
  std::vector<int32_t> prompt;       // token ids, already rendered/tokenized by the caller
  int max_tokens = 256;
  int n = 1;                         // choices sharing one prefilled prompt
  SamplingParams sampling;
  std::vector<std::string> stop;     // stop strings (matched on the decoded text)
  bool logprobs = false;
  int top_logprobs = 0;
  bool echo_prompt_logprobs = false; // completions `echo` with logprobs
  // Set: the generated text is split by this chat format's channels (Harmony's analysis channel
  // is reasoning, its final channel content); stop strings apply to the content only.
  std::optional<tokenizer::ChatFormat> reasoning_format;
};

enum class FinishReason { kStop, kLength, kCancelled, kError };

// What a request's handle delivers, in order: for each choice any number of kDelta, then one
// kFinish; finally one kDone for the whole request (usage). On failure: kError then kDone.
struct Event {
  enum class Kind { kDelta, kFinish, kError, kDone, kPrefillProgress };
  Kind kind = Kind::kDelta;
  int choice = 0;
  std::string text;                    // kDelta: new text (whole UTF-8, stop strings held back)
  std::string reasoning;               // kDelta: new reasoning text (Request::reasoning_format)
  std::vector<int32_t> tokens;         // kDelta: the tokens behind `text`
  std::vector<float> logprobs;         // kDelta: per token, when requested
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // kDelta: per token
  // kDelta: this delta is the prompt itself (echo_prompt_logprobs): one per choice, before any
  // generated token; the first prompt token has no logprob (NaN) and no alternatives.
  bool echo = false;
  FinishReason finish = FinishReason::kStop;            // kFinish
  Status error;                                         // kError
  // kDone: cached_tokens of the prompt_tokens came from the prefix cache (not prefilled).
  int prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
  int prefill_done = 0, prefill_total = 0;                          // kPrefillProgress
};

class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  // Blocks until the next event (or `timeout_ms`, returning nullopt; negative: no limit).
  // After kDone: nullopt.
  virtual std::optional<Event> Next(int timeout_ms) = 0;
  // Stops the request within one engine step and frees its KV; further Next() calls drain.
  virtual void Cancel() = 0;
};

struct EngineStats {
  bool healthy = true;       // false after an engine failure (health endpoints report it)
  std::string failure;       // why, when not healthy
  int running = 0;           // sequences holding a slot
  int waiting = 0;           // requests in the queue
  int slots = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0;  // totals since start (prompt: prefilled)
  int64_t cached_prompt_tokens = 0;  // prompt tokens served from the prefix cache, since start
  int64_t prefix_cache_hits = 0;     // requests that reused a cached prefix, since start
  int64_t kv_bytes = 0;
  double prefill_tokens_per_second = 0, decode_tokens_per_second = 0;  // recent
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Queues a request. Errors: invalid request (400), prompt + max_tokens beyond the context
  // (context_length_exceeded), queue full (ResourceExhausted → 429), shutting down or out of
  // memory (Unavailable → 503). A request's slot is free again before its kDone is delivered,
  // so a client may send its next request at once.
  virtual Result<std::unique_ptr<RequestHandle>> Submit(Request request) = 0;
  virtual EngineStats Stats() const = 0;
  // Stops taking requests; lets running ones finish for `grace_ms`, then cancels the rest.
  virtual void Shutdown(int grace_ms) = 0;
  virtual int context_tokens() const = 0;
  virtual const std::string& model_name() const = 0;
};

// Starts the loop thread on `model` (its tokenizer decodes the text of events).
Result<std::unique_ptr<Engine>> StartEngine(LoadedModel model, const EngineOptions& options);

}  // namespace snug
