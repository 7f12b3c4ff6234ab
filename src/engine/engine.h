// The engine: one loop thread owns the model and the KV cache and runs continuous batching —
// every running sequence decodes in one Forward per step, and long prompts are prefilled in
// chunks interleaved with those steps. Requests come in through Submit() from any thread and
// their results go out as Events on the request's handle. The server sees only this header.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"
#include "engine/loaded_model.h"
#include "engine/sampler.h"
#include "grammar/grammar.h"
#include "media/media.h"
#include "tokenizer/chat_format.h"

namespace snug {

// Admission policy. Every KV slot reserves the whole per-request context, so a request
// admitted to a free slot always has KV room for its prompt plus max_tokens and is never
// preempted; one whose prompt + max_tokens exceeds context_tokens is refused at Submit
// (kOutOfRange → 400 context_length_exceeded), and one that finds every slot taken waits in
// the queue (max_queue; beyond it kResourceExhausted → 429). Each step puts one decode token of
// every running sequence first, then prefill chunks in what is left of batch_tokens, the
// request with the fewest prompt tokens left first: a prompt that fits in one step's budget is
// prefilled in the step after its admission, whatever longer prompts are prefilling. Memory for
// a request's own state (samplers, events, stop and logprob buffers) is allocated while serving
// it: if that fails the request ends with an error (kUnavailable) and the engine serves on.
//
// Prefix cache. A finished sequence's slot keeps its KV; a new request takes the free slot
// whose held tokens share the longest prefix with its prompt (at least 32 tokens, else the
// least recently used slot) and prefills only the rest (events::Done::cached_tokens). Sliding-window
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
  // The largest image (soft tokens) a request may hold, for a model that takes images: an
  // image is prefilled in one chunk (its attention is bidirectional), so this is at most
  // batch_tokens, and the memory plan sizes the embedder's buffers by it. 0: batch_tokens.
  int max_image_tokens = 0;
  // While streams decode, a step's prefill share is sized so the pause they see between two
  // tokens stays near this (engine/step_pacer.h); a prompt alone takes whole steps.
  double max_pause_seconds = 0.5;
};

// An image or audio clip of a prompt, preprocessed for the model (media/media.h).
using MediaInput = std::variant<media::PatchGrid, media::AudioFrames>;

// What the loaded model accepts besides text (Engine::media_support); zeros: text only. A caller
// preprocesses images into patches of image_patch_px and audio into frames of
// audio_frame_samples, and refuses a part the model does not take (the server: 400 naming it).
struct MediaSupport {
  int image_patch_px = 0;       // 0: no images
  int max_image_tokens = 0;     // soft tokens of the largest image a request may hold
  int audio_frame_samples = 0;  // 0: no audio
  bool images() const { return image_patch_px > 0; }
  bool audio() const { return audio_frame_samples > 0; }
};

struct Request {
  std::vector<int32_t> prompt;       // token ids, already rendered/tokenized by the caller
  // The prompt's images and audio clips. The prompt holds each one's soft tokens as a run of its
  // placeholder token (the chat format's MediaMarkup: "<|image|>", "<|audio|>"; what
  // tokenizer::EncodeChat makes of parts rendered with ChatPart::soft_tokens): the k-th run of
  // image placeholders is filled by the k-th image here, likewise for audio, and each run's
  // length must equal its item's soft_tokens(). Submit refuses (400) media the model does not
  // take, placeholder runs without an item or of another length, and an image larger than
  // MediaSupport::max_image_tokens. Their soft tokens count as prompt tokens (usage), and the
  // prefix cache tells items apart by their hash.
  std::vector<MediaInput> media;
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
  // Set: the request declared tools in this chat format. The calls the model writes in the
  // format's syntax (tool_calls.h, reasoning.h) are delivered as ToolCallDelta events, never as
  // text, and a choice that made any ends with kToolCalls. Without parallel_tool_calls a choice
  // ends after its first call.
  std::optional<tokenizer::ChatFormat> tool_format;
  bool parallel_tool_calls = true;
  // Harmony with tools: the grammars of strict functions' arguments, by function name. Once the
  // model addresses a call to one (its header ends at <|message|>), the call's body is decoded
  // under that grammar, as Request::grammar is, and the turn ends when it is complete.
  std::map<std::string, std::shared_ptr<const grammar::Grammar>> argument_grammars;
  // Set: constrained decoding. Every choice's generated tokens spell a prefix of a sentence of
  // this grammar (grammar/grammar.h): tokens that cannot continue it are masked before
  // sampling (top_logprobs and logprobs see the masked distribution), end-of-generation tokens
  // are allowed only once the sentence is complete, and a choice whose sentence can take
  // nothing more finishes (kStop) at once. Control tokens appear only where the grammar names
  // them (GrammarBuilder::Token). Stop strings and max_tokens still end a choice early. The
  // first such request builds the vocabulary index (grammar::TokenIndex) once per engine.
  std::shared_ptr<const grammar::Grammar> grammar;
};

// kToolCalls: the choice ended its turn with tool calls (Request::tool_format).
enum class FinishReason { kStop, kLength, kCancelled, kError, kToolCalls };

// What a request's handle delivers, in order: PrefillProgress while the prompt goes in; for each
// choice any number of Delta and ToolCallDelta, then one Finish; finally one Done for the whole
// request (usage). On failure: Failure then Done. Each kind is its own struct and Event is their
// variant, so a consumer visiting it with Overloaded{...} handles every kind or does not compile.
namespace events {

// New text of one choice and the tokens behind it.
struct Delta {
  int choice = 0;
  std::string text;                    // whole UTF-8, stop strings held back
  std::string reasoning;               // Request::reasoning_format: new reasoning text
  std::vector<int32_t> tokens;         // the tokens behind `text` and `reasoning`
  std::vector<float> logprobs;         // per token, when requested
  std::vector<std::vector<TokenLogprob>> top_logprobs;  // per token, when requested
  // This delta is the prompt itself (echo_prompt_logprobs): one per choice, before any
  // generated token; the first prompt token has no logprob (NaN) and no alternatives.
  bool echo = false;
};

// A piece of one tool call of one choice (Request::tool_format): the first piece of a call
// carries its id and function name, later ones more of its JSON arguments.
struct ToolCallDelta {
  int choice = 0;
  int index = 0;          // the call's position among the choice's calls
  std::string id;         // first piece only
  std::string name;       // first piece only
  std::string arguments;  // the next piece of the arguments' JSON text
};

// One choice is complete.
struct Finish {
  int choice = 0;
  FinishReason reason = FinishReason::kStop;
};

// The request failed; Done follows.
struct Failure {
  Status error;
};

// The whole request is complete: its token counts. cached_tokens of the prompt_tokens came from
// the prefix cache (not prefilled).
struct Done {
  int prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};

// Prompt tokens in the KV so far, of prefill_total. The first comes when the request is given
// its slot (prefill_done: what the prefix cache already holds), then one per prefill chunk.
struct PrefillProgress {
  int prefill_done = 0, prefill_total = 0;
};

}  // namespace events

using Event = std::variant<events::Delta, events::ToolCallDelta, events::Finish, events::Failure,
                           events::Done, events::PrefillProgress>;

class RequestHandle {
 public:
  virtual ~RequestHandle() = default;
  // Blocks until the next event (or `timeout_ms`, returning nullopt; negative: no limit).
  // After Done: nullopt.
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
  int queue_limit = 0;       // requests that may wait for a slot (max_queue)
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
  // memory (Unavailable → 503). A request's slot is free again before its Done is delivered,
  // so a client may send its next request at once.
  virtual Result<std::unique_ptr<RequestHandle>> Submit(Request request) = 0;
  virtual EngineStats Stats() const = 0;
  // Stops taking requests; lets running ones finish for `grace_ms`, then cancels the rest.
  virtual void Shutdown(int grace_ms) = 0;
  virtual int context_tokens() const = 0;
  virtual const std::string& model_name() const = 0;
  // The images and audio the model takes (zeros: text only).
  virtual const MediaSupport& media_support() const = 0;
};

// Starts the loop thread on `model` (its tokenizer decodes the text of events).
Result<std::unique_ptr<Engine>> StartEngine(LoadedModel model, const EngineOptions& options);

}  // namespace snug
