// What the engine loop keeps for a request holding KV slots: one Sequence per choice (its
// slot, sampler, detokenizer and stop matcher) and the request's prefill progress. Owned and
// touched only by the loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/media_prompt.h"
#include "engine/reasoning.h"
#include "engine/request_channel.h"
#include "engine/sampler.h"
#include "engine/stop.h"
#include "grammar/matcher.h"
#include "tokenizer/tokenizer.h"

namespace snug {

// Choice `choice` samples with seed + choice, so choices differ yet each is reproducible.
inline SamplingParams ChoiceSampling(SamplingParams params, int choice) {
  params.seed += static_cast<uint64_t>(choice);
  return params;
}

struct Sequence {
  Sequence(int choice, int slot, const Request& request, int vocab_size,
           const tokenizer::Tokenizer& tokenizer, const grammar::TokenIndex* token_index)
      : choice(choice),
        slot(slot),
        sampler(ChoiceSampling(request.sampling, choice), vocab_size, request.max_tokens),
        detokenizer(tokenizer, {.render_special = request.reasoning_format.has_value() ||
                                                  request.tool_format.has_value()}),
        stops(request.stop) {
    sampler.AddPrompt(request.prompt);
    if (request.tool_format) {
      reasoning.emplace(*request.tool_format, /*tool_calls=*/true);
    } else if (request.reasoning_format) {
      reasoning.emplace(*request.reasoning_format);
    }
    if (request.grammar) {
      matcher.emplace(request.grammar, token_index);
      mask.resize((vocab_size + 63) / 64);
    }
  }

  // Decoded text of `token` (or of the stream's end), split into reasoning, tool calls and
  // content when the request asked for it; `content` goes on through the stop matcher.
  std::string Content(std::string text, std::string& reasoning_out,
                      std::vector<ToolCall>& calls_out) {
    if (!reasoning) return text;
    ReasoningDelta split = reasoning->Push(text);
    reasoning_out += split.reasoning;
    for (ToolCall& call : split.tool_calls) calls_out.push_back(std::move(call));
    return std::move(split.content);
  }
  std::string FinishContent(std::string text, std::string& reasoning_out,
                            std::vector<ToolCall>& calls_out) {
    if (!reasoning) return text;
    std::string content = Content(std::move(text), reasoning_out, calls_out);
    ReasoningDelta rest = reasoning->Finish();
    reasoning_out += rest.reasoning;
    for (ToolCall& call : rest.tool_calls) calls_out.push_back(std::move(call));
    return content + rest.content;
  }

  int choice;
  int slot;  // -1 until the request is given its slots
  Sampler sampler;
  tokenizer::StreamingDetokenizer detokenizer;
  StopMatcher stops;
  std::optional<ReasoningSplitter> reasoning;  // Request::reasoning_format only
  std::optional<grammar::Matcher> matcher;     // Request::grammar only
  std::vector<uint64_t> mask;                  // [vocab words] Request::grammar only
  int generated_tokens = 0;
  int tool_calls = 0;            // calls begun (Request::tool_format)
  int completed_tool_calls = 0;  // of them, complete
  bool tool_call_open = false;   // the last one is delivered and still streaming
  int32_t next_token = 0;  // sampled last step; goes into the next decode step
  int logit_row = -1;      // this step's row of logits (-1: none)
  bool finished = false;
};

struct RunningRequest {
  RunningRequest(Request request, std::shared_ptr<RequestChannel> channel)
      : request(std::move(request)), channel(std::move(channel)) {}

  bool prefilling() const { return prefilled_tokens < static_cast<int>(request.prompt.size()); }
  // The prompt as the prefix cache holds it: its media positions keyed by content.
  std::span<const int32_t> keys() const {
    return prefix_keys.empty() ? std::span<const int32_t>(request.prompt) : prefix_keys;
  }

  Request request;
  std::shared_ptr<RequestChannel> channel;
  std::vector<MediaSpan> media_spans;  // the prompt's soft tokens, in order (media_prompt.h)
  std::vector<int32_t> prefix_keys;    // [prompt] PrefixKeys, with media only (else empty)
  std::vector<Sequence> sequences;  // [n]; the prompt is prefilled in sequences[0]'s slot
  int prefilled_tokens = 0;  // prompt positions in sequences[0]'s slot, cached ones included
  int cached_tokens = 0;     // of them, served from the prefix cache
  int chunk_tokens = 0;      // prompt tokens in this step's batch (0: none; -1: no room left)
  int chunk_first_row = -1;  // the chunk's first row of logits
  int unfinished = 0;        // choices still running; 0: done (Done sent)
  int completion_tokens = 0;
  std::vector<float> echo_logprobs;                 // [prompt] echo_prompt_logprobs only
  std::vector<std::vector<TokenLogprob>> echo_top;  // [prompt]
};

}  // namespace snug
