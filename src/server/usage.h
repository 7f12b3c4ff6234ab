// Token counts of one HTTP response, summed over the Done events of its engine requests, and
// OpenAI's `usage` object for them. Shared by the JSON and streaming paths and the request log.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/engine.h"

namespace snug::server {

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;

  void Add(const events::Done& done) {
    prompt_tokens += done.prompt_tokens;
    completion_tokens += done.completion_tokens;
    cached_tokens += done.cached_tokens;
  }
  // {"prompt_tokens","completion_tokens","total_tokens","prompt_tokens_details":{"cached_tokens"}}
  nlohmann::json Json() const {
    return {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", cached_tokens}}}};
  }
};

}  // namespace snug::server
