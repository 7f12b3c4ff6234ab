// Where a request's images and audio sit in its prompt (engine.h, Request::media): the runs of
// placeholder tokens each item fills, checked against what the model takes, and the prefix
// cache's keys for those positions (the item's content hash, not the placeholder id, so a resent
// screenshot reuses its KV and a different one does not).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace snug {

// The placeholder and end-of-media token ids of the model's chat format (-1: none).
struct MediaTokens {
  int32_t image = -1, image_end = -1;
  int32_t audio = -1, audio_end = -1;
};
MediaTokens MediaTokensOf(const ModelSpec& spec, const tokenizer::Tokenizer& tokenizer);

// One item's soft tokens: prompt positions [first_token, first_token + num_tokens), filled by
// Request::media[item].
struct MediaSpan {
  int first_token = 0;
  int num_tokens = 0;
  int item = 0;
  bool image = false;
};

// Matches the prompt's placeholder runs to the request's media in order (images to image runs,
// audio to audio runs) and checks each item against the model (`spec`) and the engine's limits
// (`support`). Errors are the caller's 400s and name the item ("image 2 …").
Result<std::vector<MediaSpan>> LocateMedia(std::span<const int32_t> prompt,
                                           std::span<const MediaInput> media,
                                           const MediaTokens& tokens, const MediaSpec& spec,
                                           const MediaSupport& support);

// The prompt as the prefix cache keys it: token ids (≥ 0), and at each soft-token position a
// negative key drawn from the item's hash and the position's index in the item. Two items with
// different hashes differ at every position with probability 1 − 2⁻³¹.
std::vector<int32_t> PrefixKeys(std::span<const int32_t> prompt, std::span<const MediaSpan> spans,
                                std::span<const MediaInput> media);

}  // namespace snug
