// Attention of one query head over a run of cached keys/values, tile by tile with an online
// softmax: no [tokens × context] score matrix exists anywhere; the running max, sum and
// weighted value accumulator are carried from run to run in f32.
#pragma once

#include <cstdint>

namespace snug::kernels {

struct AttentionState {
  float max = -__builtin_huge_valf();  // largest score seen so far
  float sum = 0.0f;                    // Σ exp(score - max)
};

// For each of `num_keys` rows j (f16 keys/values, `row_stride` elements apart):
//   s_j = scale · (query · key_j); folds exp(s_j - max) into `state` and `accumulator`
//   ([head_dim], = Σ_j exp(s_j - max) · value_j, rescaled whenever max grows).
void AttendF16(const float* query, const uint16_t* keys, const uint16_t* values, int64_t num_keys,
               int64_t row_stride, int head_dim, float scale, AttentionState& state,
               float* accumulator);

// output = accumulator / (sum + exp(sink - max)); sink = -inf for no sink (gpt-oss adds one
// learned logit per head to the denominator only).
void FinishAttention(const AttentionState& state, const float* accumulator, int head_dim,
                     float sink, float* output);

namespace reference {
void AttendF16(const float* query, const uint16_t* keys, const uint16_t* values, int64_t num_keys,
               int64_t row_stride, int head_dim, float scale, AttentionState& state,
               float* accumulator);
}  // namespace reference

}  // namespace snug::kernels
