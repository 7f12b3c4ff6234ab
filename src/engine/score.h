// Logits of every position of a prompt, for scoring and tests (a reference for the engine's
// echoed prompt log-probabilities). Generation itself is the Engine's (engine.h): `snug run` and
// the server are both its clients.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "base/status.h"
#include "kv/kv_cache.h"
#include "models/model.h"

namespace snug {

// The prompt runs in `slot` (cleared first) in chunks of at most `chunk_tokens` (≤ the model's
// batch_tokens), and each chunk's logits go to `on_chunk(first_position, logits)`, logits
// [rows, vocab_size] for positions first_position.. of the prompt. The buffer holds one chunk,
// so memory does not grow with the prompt. Errors: an empty prompt, one longer than the slot's
// context, a token id outside the vocabulary.
Status ScorePrompt(Model& model, KvCache& kv, int slot, std::span<const int32_t> prompt,
                   int chunk_tokens,
                   const std::function<void(int first_position, std::span<const float> logits)>&
                       on_chunk);

}  // namespace snug
