// Attention of one query head over a run of cached keys/values (f16, q8_0 or q4_0 rows), tile
// by tile with an online softmax: no [tokens × context] score matrix exists anywhere; the
// running max, sum and weighted value accumulator are carried from run to run in f32.
#pragma once

#include <cstdint>

#include "tensor/blocks.h"

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

// The same over block-quantized rows (tensor/blocks.h), `row_stride` blocks apart; head_dim is
// a multiple of 32, at most kMaxAttentionHeadDim. Keys are scored with integer dot products
// against the query rounded to int16 per 32 values (scale max|q|/32767, to nearest even: an
// error of 1/65534 of the block's max, where llama.cpp's int8 query adds 1/254); values are
// decoded to f32 and accumulated.
inline constexpr int kMaxAttentionHeadDim = 1024;  // the query's int16 copy lives on the stack
void AttendQ8_0(const float* query, const BlockQ8_0* keys, const BlockQ8_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator);
void AttendQ4_0(const float* query, const BlockQ4_0* keys, const BlockQ4_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator);

// output = accumulator / (sum + exp(sink - max)); sink = -inf for no sink (gpt-oss adds one
// learned logit per head to the denominator only).
void FinishAttention(const AttentionState& state, const float* accumulator, int head_dim,
                     float sink, float* output);

namespace reference {
void AttendF16(const float* query, const uint16_t* keys, const uint16_t* values, int64_t num_keys,
               int64_t row_stride, int head_dim, float scale, AttentionState& state,
               float* accumulator);
// One key at a time, in double, with the query rounded exactly as the SIMD versions do.
void AttendQ8_0(const float* query, const BlockQ8_0* keys, const BlockQ8_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator);
void AttendQ4_0(const float* query, const BlockQ4_0* keys, const BlockQ4_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator);
}  // namespace reference

}  // namespace snug::kernels
