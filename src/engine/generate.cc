#include "engine/generate.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>

namespace snug {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

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

Status CheckTokens(const Model& model, const std::vector<int32_t>& tokens) {
  for (int32_t token : tokens) {
    if (token < 0 || token >= model.spec().vocab_size) {
      return InvalidArgument("engine: token id " + std::to_string(token) +
                             " is outside the vocabulary (0.." +
                             std::to_string(model.spec().vocab_size - 1) + ")");
    }
  }
  return Status::Ok();
}

// Runs tokens [begin, end) of `tokens` at positions begin.. in `slot`; logits of the rows
// listed in `logit_rows` (relative to begin) land in `logits`.
void RunChunk(Model& model, KvCache& kv, int slot, const std::vector<int32_t>& tokens,
              size_t begin, size_t end, std::vector<int32_t>& positions,
              std::vector<int32_t>& slots, const std::vector<int32_t>& logit_rows,
              float* logits) {
  const size_t n = end - begin;
  positions.resize(n);
  std::iota(positions.begin(), positions.end(), static_cast<int32_t>(begin));
  slots.assign(n, slot);
  Batch batch{std::span<const int32_t>(tokens.data() + begin, n), positions, slots, logit_rows};
  model.Forward(batch, kv, logits);
  kv.set_length(slot, static_cast<int>(end));
}

}  // namespace

Result<GenerateResult> Generate(Model& model, KvCache& kv, int slot,
                                const GenerateRequest& request,
                                const std::function<bool(const TokenEvent&)>& on_token) {
  RETURN_IF_ERROR(CheckFits(kv, request.prompt.size(), request.max_tokens));
  RETURN_IF_ERROR(CheckTokens(model, request.prompt));
  const int vocab = model.spec().vocab_size;
  const size_t chunk = std::max(1, request.batch_tokens);
  std::vector<float> logits(vocab);
  std::vector<int32_t> positions, slots, tokens = request.prompt;
  tokens.reserve(request.prompt.size() + request.max_tokens);
  GenerateResult result;
  result.prompt_tokens = static_cast<int>(request.prompt.size());
  kv.Clear(slot);

  const Clock::time_point prefill_start = Clock::now();
  for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
    const size_t end = std::min(tokens.size(), begin + chunk);
    std::vector<int32_t> logit_rows;
    if (end == tokens.size()) logit_rows.push_back(static_cast<int32_t>(end - begin - 1));
    RunChunk(model, kv, slot, tokens, begin, end, positions, slots, logit_rows, logits.data());
  }
  result.prefill_seconds = SecondsSince(prefill_start);

  Sampler sampler(request.sampling, vocab);
  sampler.AddPrompt(request.prompt);
  const std::vector<int32_t> last_row = {0};
  const Clock::time_point decode_start = Clock::now();
  TokenEvent event;
  while (result.generated_tokens < request.max_tokens) {
    if (request.top_logprobs > 0) TopLogprobs(logits, request.top_logprobs, event.top);
    event.token = sampler.Sample(logits.data());
    if (request.logprobs || request.top_logprobs > 0) event.logprob = Logprob(logits, event.token);
    if (std::find(request.stop_tokens.begin(), request.stop_tokens.end(), event.token) !=
        request.stop_tokens.end()) {
      result.finish = FinishReason::kStop;
      break;
    }
    ++result.generated_tokens;
    if (!on_token(event)) {
      result.finish = FinishReason::kStop;
      break;
    }
    if (result.generated_tokens == request.max_tokens) break;
    tokens.push_back(event.token);
    RunChunk(model, kv, slot, tokens, tokens.size() - 1, tokens.size(), positions, slots,
             last_row, logits.data());
  }
  result.decode_seconds = SecondsSince(decode_start);
  return result;
}

Result<std::vector<float>> PromptLogits(Model& model, KvCache& kv, int slot,
                                        const std::vector<int32_t>& prompt, int chunk_tokens) {
  RETURN_IF_ERROR(CheckFits(kv, prompt.size(), 0));
  RETURN_IF_ERROR(CheckTokens(model, prompt));
  const int vocab = model.spec().vocab_size;
  std::vector<float> logits(prompt.size() * vocab);
  std::vector<int32_t> positions, slots;
  kv.Clear(slot);
  const size_t chunk = std::max(1, chunk_tokens);
  for (size_t begin = 0; begin < prompt.size(); begin += chunk) {
    const size_t end = std::min(prompt.size(), begin + chunk);
    std::vector<int32_t> rows(end - begin);
    std::iota(rows.begin(), rows.end(), 0);
    RunChunk(model, kv, slot, prompt, begin, end, positions, slots, rows,
             logits.data() + begin * vocab);
  }
  return logits;
}

}  // namespace snug
