// Generation for one sequence: prefill the prompt in chunks of at most batch_tokens, then
// decode token by token until an end-of-generation token, the token limit, or the caller says
// stop. The server's scheduler (continuous batching) builds on the same Model::Forward.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "engine/sampler.h"
#include "kv/kv_cache.h"
#include "models/model.h"

namespace snug {

struct GenerateRequest {
  std::vector<int32_t> prompt;
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> stop_tokens;  // end-of-generation ids (not part of the output)
  bool logprobs = false;             // report the chosen token's log-probability
  int top_logprobs = 0;              // alternatives reported per token (0: none)
  int batch_tokens = 512;            // prefill chunk size
};

struct TokenEvent {
  int32_t token = 0;
  float logprob = 0.0f;            // of the chosen token (when requested), model distribution
  std::vector<TokenLogprob> top;   // the top_logprobs most likely tokens
};

struct GenerateResult {
  FinishReason finish = FinishReason::kLength;
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// Runs `request` in KV slot `slot` (cleared first). `on_token` gets each generated token and
// returns false to stop early (a stop string matched): that ends with kStop.
Result<GenerateResult> Generate(Model& model, KvCache& kv, int slot,
                                const GenerateRequest& request,
                                const std::function<bool(const TokenEvent&)>& on_token);

// Logits of every prompt position, for scoring and tests. The prompt runs in `slot` (cleared
// first) in chunks of at most `chunk_tokens` (≤ the model's batch_tokens), and each chunk's
// logits go to `on_chunk(first_position, logits)`, logits [rows, vocab_size] for positions
// first_position.. of the prompt. The buffer holds one chunk, so memory does not grow with
// the prompt.
Status ScorePrompt(Model& model, KvCache& kv, int slot, std::span<const int32_t> prompt,
                   int chunk_tokens,
                   const std::function<void(int first_position, std::span<const float> logits)>&
                       on_chunk);

}  // namespace snug
