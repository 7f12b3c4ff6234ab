// Token sampling: penalties, temperature, top-k, top-p, min-p, seeded randomness; greedy at
// temperature 0. Buffers are sized once for the vocabulary, so sampling allocates nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

namespace snug {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy (argmax)
  int top_k = 0;                    // 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off; keeps tokens with p ≥ min_p · p_max
  float repetition_penalty = 1.0f;  // 1: off; CTRL-style over the last `penalty_window` tokens
  int penalty_window = 64;
  float presence_penalty = 0.0f;    // OpenAI: subtracted once per generated token seen
  float frequency_penalty = 0.0f;   // OpenAI: subtracted per occurrence in the generated tokens
  uint64_t seed = 0;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

class Sampler {
 public:
  // Every buffer is sized here — for the vocabulary and, when presence or frequency
  // penalties count generated tokens, for `max_tokens` of them — so Sample never allocates.
  Sampler(const SamplingParams& params, int vocab_size, int max_tokens = 0);

  // The prompt's tokens count for the repetition penalty, not for presence/frequency.
  void AddPrompt(std::span<const int32_t> tokens);
  // Picks the next token from `logits` ([vocab_size]; left as they are: penalties apply to a
  // copy) and records it as generated.
  int32_t Sample(const float* logits);

 private:
  bool counts_generated() const {
    return params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
  }
  void ApplyPenalties(float* logits);
  // Calls visit(token, occurrences) once per distinct token of `tokens`.
  void ForEachDistinct(const std::vector<int32_t>& tokens,
                       const std::function<void(int32_t, int)>& visit);
  int32_t Pick(float* logits);

  SamplingParams params_;
  int vocab_size_;
  std::mt19937_64 rng_;
  std::vector<int32_t> recent_;     // last tokens (prompt and generated), for repetition
  std::vector<int32_t> generated_;  // every generated token, for presence/frequency (only)
  std::vector<int32_t> candidates_;
  std::vector<float> probabilities_;
  std::vector<float> working_;   // [vocab_size] the logits after penalties
  std::vector<int32_t> scratch_;  // sorted copy of recent_ or generated_
};

// Log-softmax of `logits` at `token`, and the `count` most likely tokens (descending).
float Logprob(std::span<const float> logits, int32_t token);
void TopLogprobs(std::span<const float> logits, int count, std::vector<TokenLogprob>& out);
int32_t Argmax(std::span<const float> logits);

}  // namespace snug
