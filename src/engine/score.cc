// ScorePrompt (score.h): the prompt in chunks through Model::Forward, every row's logits out.
#include "engine/score.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace snug {
namespace {

Status CheckFits(const KvCache& kv, size_t prompt_tokens, int max_tokens) {
  if (prompt_tokens == 0) return InvalidArgument("engine: the prompt is empty");
  const size_t needed = prompt_tokens + std::max(max_tokens, 0);
  if (needed > static_cast<size_t>(kv.context_tokens())) {
    return OutOfRange("engine: the prompt (" + std::to_string(prompt_tokens) +
                      " tokens) plus max_tokens (" + std::to_string(max_tokens) +
                      ") exceeds the context of " + std::to_string(kv.context_tokens()) +
                      " tokens");
  }
  return Status::Ok();
}

Status CheckTokens(const Model& model, std::span<const int32_t> tokens) {
  for (int32_t token : tokens) {
    if (token < 0 || token >= model.spec().vocab_size) {
      return InvalidArgument("engine: token id " + std::to_string(token) +
                             " is outside the vocabulary (0.." +
                             std::to_string(model.spec().vocab_size - 1) + ")");
    }
  }
  return Status::Ok();
}

// Runs `tokens` at positions first.. in `slot`; logits of the rows listed in `logit_rows`
// (relative to the chunk) land in `logits`. `positions` and `slots` are the caller's scratch,
// reused from chunk to chunk.
void RunChunk(Model& model, KvCache& kv, int slot, std::span<const int32_t> tokens, int first,
              std::vector<int32_t>& positions, std::vector<int32_t>& slots,
              std::span<const int32_t> logit_rows, float* logits) {
  const size_t n = tokens.size();
  positions.resize(n);
  std::iota(positions.begin(), positions.end(), first);
  slots.assign(n, slot);
  const Batch batch{tokens, std::span<const int32_t>(positions.data(), n),
                    std::span<const int32_t>(slots.data(), n), logit_rows};
  model.Forward(batch, kv, logits);
  kv.set_length(slot, first + static_cast<int>(n));
}

}  // namespace

Status ScorePrompt(Model& model, KvCache& kv, int slot, std::span<const int32_t> prompt,
                   int chunk_tokens,
                   const std::function<void(int first_position, std::span<const float> logits)>&
                       on_chunk) {
  RETURN_IF_ERROR(CheckFits(kv, prompt.size(), 0));
  RETURN_IF_ERROR(CheckTokens(model, prompt));
  const int vocab = model.spec().vocab_size;
  const int prompt_tokens = static_cast<int>(prompt.size());
  const int chunk = std::clamp(chunk_tokens, 1, prompt_tokens);
  std::vector<float> logits(static_cast<size_t>(chunk) * vocab);  // [chunk, vocab_size]
  std::vector<int32_t> rows(chunk), positions, slots;
  std::iota(rows.begin(), rows.end(), 0);
  kv.Clear(slot);
  for (int begin = 0; begin < prompt_tokens; begin += chunk) {
    const int n = std::min(prompt_tokens - begin, chunk);
    RunChunk(model, kv, slot, prompt.subspan(begin, n), begin, positions, slots,
             std::span<const int32_t>(rows.data(), n), logits.data());
    on_chunk(begin, std::span<const float>(logits.data(), static_cast<size_t>(n) * vocab));
  }
  return Status::Ok();
}

}  // namespace snug
