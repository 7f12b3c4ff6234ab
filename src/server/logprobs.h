// Log-probabilities in the two OpenAI shapes: chat ({"content":[{token, logprob, bytes,
// top_logprobs}]}) and completions ({tokens, token_logprobs, top_logprobs, text_offset}).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "engine/sampler.h"
#include "tokenizer/tokenizer.h"

namespace snug::server {

// The "content" list of a chat choice's logprobs.
nlohmann::json ChatLogprobContent(const tokenizer::Tokenizer& tokenizer,
                                  std::span<const int32_t> tokens, std::span<const float> logprobs,
                                  std::span<const std::vector<TokenLogprob>> top_logprobs);

// A completions choice's logprobs; text offsets count from `text_offset` (bytes of text before
// these tokens in the choice).
nlohmann::json CompletionLogprobs(const tokenizer::Tokenizer& tokenizer,
                                  std::span<const int32_t> tokens, std::span<const float> logprobs,
                                  std::span<const std::vector<TokenLogprob>> top_logprobs,
                                  size_t text_offset);

}  // namespace snug::server
