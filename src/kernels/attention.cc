// Online-softmax attention over f16 KV rows (kernels/attention.h). Per-target SIMD bodies are
// compiled once per Highway target and dispatched at run time.

// Arrays of vectors (the independent accumulators) are not allowed for SVE's sizeless types:
// arm64 dispatches to NEON, as for the matrix products.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

#include "kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "tensor/fp16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Keys scored per pass: scores stay in a small stack array, and each tile costs one rescale of
// the accumulator.
constexpr int kTileKeys = 32;

// Four independent sums (then one vector at a time, then scalars): one chain of multiply-adds
// would wait on its own latency at every step.
float DotF16(const float* query, const uint16_t* key, int head_dim) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const int lanes = static_cast<int>(hn::Lanes(df));
  const auto* k = reinterpret_cast<const hwy::float16_t*>(key);
  auto sum0 = hn::Zero(df), sum1 = hn::Zero(df), sum2 = hn::Zero(df), sum3 = hn::Zero(df);
  int i = 0;
  for (; i + 4 * lanes <= head_dim; i += 4 * lanes) {
    sum0 = hn::MulAdd(hn::LoadU(df, query + i), hn::PromoteTo(df, hn::LoadU(dh, k + i)), sum0);
    sum1 = hn::MulAdd(hn::LoadU(df, query + i + lanes),
                      hn::PromoteTo(df, hn::LoadU(dh, k + i + lanes)), sum1);
    sum2 = hn::MulAdd(hn::LoadU(df, query + i + 2 * lanes),
                      hn::PromoteTo(df, hn::LoadU(dh, k + i + 2 * lanes)), sum2);
    sum3 = hn::MulAdd(hn::LoadU(df, query + i + 3 * lanes),
                      hn::PromoteTo(df, hn::LoadU(dh, k + i + 3 * lanes)), sum3);
  }
  for (; i + lanes <= head_dim; i += lanes) {
    sum0 = hn::MulAdd(hn::LoadU(df, query + i), hn::PromoteTo(df, hn::LoadU(dh, k + i)), sum0);
  }
  float total = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(sum0, sum1), hn::Add(sum2, sum3))));
  for (; i < head_dim; ++i) total += query[i] * F16ToF32(key[i]);
  return total;
}

// accumulator[i .. i + kVectors·lanes) = accumulator · correction + Σ_t weights[t] · values[t]:
// kVectors independent chains of multiply-adds.
template <int kVectors>
HWY_INLINE void AccumulateVectorsF16(const float* weights, const uint16_t* values, int num_rows,
                                     int64_t row_stride, int i, float correction,
                                     float* accumulator) {
  const hn::ScalableTag<float> df;
  const hn::Rebind<hwy::float16_t, decltype(df)> dh;
  const int lanes = static_cast<int>(hn::Lanes(df));
  decltype(hn::Zero(df)) acc[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    acc[v] = hn::Mul(hn::LoadU(df, accumulator + i + v * lanes), hn::Set(df, correction));
  }
  for (int t = 0; t < num_rows; ++t) {
    const auto* row = reinterpret_cast<const hwy::float16_t*>(values + t * row_stride + i);
    const auto weight = hn::Set(df, weights[t]);
    for (int v = 0; v < kVectors; ++v) {
      acc[v] = hn::MulAdd(weight, hn::PromoteTo(df, hn::LoadU(dh, row + v * lanes)), acc[v]);
    }
  }
  for (int v = 0; v < kVectors; ++v) hn::StoreU(acc[v], df, accumulator + i + v * lanes);
}

// accumulator = accumulator · correction + Σ_t weights[t] · values[t]
void AccumulateF16(const float* weights, const uint16_t* values, int num_rows, int64_t row_stride,
                   int head_dim, float correction, float* accumulator) {
  const int lanes = static_cast<int>(hn::Lanes(hn::ScalableTag<float>()));
  int i = 0;
  for (; i + 4 * lanes <= head_dim; i += 4 * lanes) {
    AccumulateVectorsF16<4>(weights, values, num_rows, row_stride, i, correction, accumulator);
  }
  for (; i + lanes <= head_dim; i += lanes) {
    AccumulateVectorsF16<1>(weights, values, num_rows, row_stride, i, correction, accumulator);
  }
  for (; i < head_dim; ++i) {
    float acc = accumulator[i] * correction;
    for (int t = 0; t < num_rows; ++t) acc += weights[t] * F16ToF32(values[t * row_stride + i]);
    accumulator[i] = acc;
  }
}

void AttendF16(const float* query, const uint16_t* keys, const uint16_t* values, int64_t num_keys,
               int64_t row_stride, int head_dim, float scale, AttentionState& state,
               float* accumulator) {
  float weights[kTileKeys];
  for (int64_t start = 0; start < num_keys; start += kTileKeys) {
    const int rows = static_cast<int>(std::min<int64_t>(kTileKeys, num_keys - start));
    float tile_max = -HUGE_VALF;
    for (int t = 0; t < rows; ++t) {
      weights[t] = scale * DotF16(query, keys + (start + t) * row_stride, head_dim);
      tile_max = std::max(tile_max, weights[t]);
    }
    const float new_max = std::max(state.max, tile_max);
    const float correction = std::exp(state.max - new_max);  // 0 on the first tile
    float tile_sum = 0.0f;
    for (int t = 0; t < rows; ++t) {
      weights[t] = std::exp(weights[t] - new_max);
      tile_sum += weights[t];
    }
    AccumulateF16(weights, values + start * row_stride, rows, row_stride, head_dim, correction,
                  accumulator);
    state.sum = state.sum * correction + tile_sum;
    state.max = new_max;
  }
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {

HWY_EXPORT(AttendF16);

void AttendF16(const float* query, const uint16_t* keys, const uint16_t* values, int64_t num_keys,
               int64_t row_stride, int head_dim, float scale, AttentionState& state,
               float* accumulator) {
  HWY_DYNAMIC_DISPATCH(AttendF16)(query, keys, values, num_keys, row_stride, head_dim, scale,
                                  state, accumulator);
}

void FinishAttention(const AttentionState& state, const float* accumulator, int head_dim,
                     float sink, float* output) {
  float denominator = state.sum;
  if (std::isfinite(sink)) denominator += std::exp(sink - state.max);
  const float inverse = denominator > 0.0f ? 1.0f / denominator : 0.0f;
  for (int i = 0; i < head_dim; ++i) output[i] = accumulator[i] * inverse;
}

namespace reference {

void AttendF16(const float* query, const uint16_t* keys, const uint16_t* values, int64_t num_keys,
               int64_t row_stride, int head_dim, float scale, AttentionState& state,
               float* accumulator) {
  for (int64_t j = 0; j < num_keys; ++j) {
    double dot = 0.0;
    for (int i = 0; i < head_dim; ++i) dot += query[i] * F16ToF32(keys[j * row_stride + i]);
    const float score = scale * static_cast<float>(dot);
    const float new_max = std::max(state.max, score);
    const float correction = std::exp(state.max - new_max);
    const float weight = std::exp(score - new_max);
    for (int i = 0; i < head_dim; ++i) {
      accumulator[i] = accumulator[i] * correction + weight * F16ToF32(values[j * row_stride + i]);
    }
    state.sum = state.sum * correction + weight;
    state.max = new_max;
  }
}

}  // namespace reference
}  // namespace snug::kernels
#endif  // HWY_ONCE
