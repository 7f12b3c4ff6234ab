// Online-softmax attention over block-quantized KV rows, Q8_0 and Q4_0 (kernels/attention.h),
// and their scalar twins. Keys are scored with integer dot products (the matmul's int16
// multiply-add, matmul_simd-inl.h) against the query rounded to int16 per 32 values; values are
// decoded to f32 and accumulated with one scale per row and block. The f16 version is
// attention.cc.

// Arrays of vectors are not allowed for SVE's sizeless types: arm64 dispatches to NEON.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "base/check.h"
#include "kernels/attention.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention_quantized.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/matmul_simd-inl.h"

HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace {

// Keys scored per pass, as attention.cc: the scores and the per-row block scales of a tile stay
// in small stack arrays, and each tile costs one rescale of the accumulator.
constexpr int kTileKeys = 32;
constexpr int kMaxBlocks = kMaxAttentionHeadDim / kQK;
constexpr int kTileScales = kTileKeys * kMaxBlocks;  // per row and block of one tile

// The query as int16 values and one f32 scale per block (the attention scale folded in). The
// multiply-add takes int16 operands anyway, so 16 bits cost nothing over llama.cpp's 8 and make
// the query's rounding negligible. No overflow: a block's 32 products are at most
// 32 · 128 · 32767 < 2^31.
struct QuantizedQuery {
  alignas(64) int16_t q[kMaxAttentionHeadDim];
  alignas(64) float scale[kMaxBlocks];
  int32_t sum[kMaxBlocks];  // Σ q per block: offsets of stored integers (Q4_0's −8) fold in
};

// Per 32 values: scale = max|x| / 32767, q = NearestInt(x · (32767 / max|x|)): ties to even,
// the same float operations as the reference twin.
void QuantizeQuery(const float* query, int blocks, float attention_scale, QuantizedQuery& out) {
  const DF df;
  const hn::Rebind<int16_t, DF> di16;
  const hn::RebindToSigned<DF> di32;
  const int lanes = static_cast<int>(hn::Lanes(df));
  for (int b = 0; b < blocks; ++b) {
    const float* x = query + b * kQK;
    auto max_abs = hn::Zero(df);
    for (int i = 0; i < kQK; i += lanes) max_abs = hn::Max(max_abs, hn::Abs(hn::LoadU(df, x + i)));
    const float amax = hn::GetLane(hn::MaxOfLanes(df, max_abs));
    out.scale[b] = amax / 32767.0f * attention_scale;
    const auto inverse = hn::Set(df, amax > 0.0f ? 32767.0f / amax : 0.0f);
    auto sum = hn::Zero(di32);
    for (int i = 0; i < kQK; i += lanes) {
      const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, x + i), inverse));
      hn::StoreU(hn::DemoteTo(di16, q), di16, out.q + b * kQK + i);
      sum = hn::Add(sum, q);
    }
    out.sum[b] = hn::GetLane(hn::SumOfLanes(di32, sum));
  }
}

// A block's f16 scale as f32, one at a time: the hardware conversion where the target has it
// (F16C on x86). Gathering a tile's scales into an array to convert a vector at a time costs
// more: the vector load waits for the many narrow stores to retire (no store forwarding).
HWY_INLINE float ScaleOf(const uint16_t& half) {
  const hn::CappedTag<float, 1> d;
  const hn::Rebind<hwy::float16_t, decltype(d)> dh;
  return hn::GetLane(
      hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(&half))));
}

// Each format stores integers n with value = d · (n + kOffset). DecodeKey gives a block's 32 n
// as int16 vectors; DecodeValues the Lanes(DF) of them from index `first` (a multiple of the
// lanes) as f32. The offset is applied once per block, not per value (see Score, Accumulate).
struct Q8_0 {
  using Block = BlockQ8_0;
  static constexpr int kOffset = 0;
  static HWY_INLINE void DecodeKey(const Block& block, V16* w) {
    for (int c = 0; c < kChunks; ++c) {
      w[c] = hn::PromoteTo(D16(), hn::LoadU(DI8(), block.qs + c * kLanes16));
    }
  }
  static HWY_INLINE VF DecodeValues(const Block& block, int first) {
    const hn::RebindToSigned<DF> di32;
    return hn::ConvertTo(
        DF(), hn::PromoteTo(di32, hn::LoadU(hn::Rebind<int8_t, DF>(), block.qs + first)));
  }
};

struct Q4_0 {
  using Block = BlockQ4_0;
  static constexpr int kOffset = -8;
  static HWY_INLINE void DecodeKey(const Block& block, V16* w) {
    VU16 nibbles[kChunks];
    NibblesLowThenHigh(block.qs, nibbles);
    for (int c = 0; c < kChunks; ++c) w[c] = hn::BitCast(D16(), nibbles[c]);
  }
  static HWY_INLINE VF DecodeValues(const Block& block, int first) {
    const hn::RebindToSigned<DF> di32;
    // Values 0..15 are the low nibbles of qs[0..15], values 16..31 the high nibbles.
    const auto bytes =
        hn::PromoteTo(di32, hn::LoadU(hn::Rebind<uint8_t, DF>(), block.qs + first % (kQK / 2)));
    return hn::ConvertTo(
        DF(), first < kQK / 2 ? hn::And(bytes, hn::Set(di32, 15)) : hn::ShiftRight<4>(bytes));
  }
};

// Adds d · query.scale[b] · (q_b · n_b) of block b to `sum`, and its offset term
// d · query.scale[b] · Σq_b to `offset` (scaled by kOffset once per key).
template <class Format>
HWY_INLINE void BlockProduct(const QuantizedQuery& query, const typename Format::Block& key, int b,
                             VF& sum, float& offset) {
  V16 w[kChunks];
  Format::DecodeKey(key, w);
  const VI32 dot = BlockDot(w, query.q + b * kQK);
  const float scale = ScaleOf(key.d) * query.scale[b];
  sum = hn::MulAdd(hn::ConvertTo(DF(), dot), hn::Set(DF(), scale), sum);
  if constexpr (Format::kOffset != 0) offset += scale * static_cast<float>(query.sum[b]);
}

// One key's score, attention scale included. Even and odd blocks go to separate sums: one
// chain of multiply-adds would wait on its own latency at every block.
template <class Format>
HWY_INLINE float Score(const QuantizedQuery& query, const typename Format::Block* key, int blocks) {
  const DF df;
  VF even = hn::Zero(df), odd = hn::Zero(df);
  float offset = 0.0f;
  int b = 0;
  for (; b + 2 <= blocks; b += 2) {
    BlockProduct<Format>(query, key[b], b, even, offset);
    BlockProduct<Format>(query, key[b + 1], b + 1, odd, offset);
  }
  if (b < blocks) BlockProduct<Format>(query, key[b], b, even, offset);
  return hn::GetLane(hn::SumOfLanes(df, hn::Add(even, odd))) + Format::kOffset * offset;
}

// f32 vectors per 32-value block, and blocks per accumulation pass: at least four vectors, so
// that four independent chains of multiply-adds overlap instead of waiting on their latency.
constexpr int kVectorsPerBlock = kQK / static_cast<int>(hn::MaxLanes(DF()));
constexpr int kPassBlocks = kVectorsPerBlock >= 4 ? 1 : 4 / kVectorsPerBlock;

// Blocks [first, first + kBlocks) of the accumulator: · rescale, then
// + Σ_t coefficients[t · blocks + b] · (n[t, b] + kOffset), the coefficient being row t's
// softmax weight times its block's d; block_sums[b] = Σ_t coefficients[t · blocks + b].
template <class Format, int kBlocks>
HWY_INLINE void AccumulateBlocks(const float* coefficients, const float* block_sums,
                                 const typename Format::Block* values, int rows, int64_t row_stride,
                                 int blocks, VF rescale, int first, float* accumulator) {
  const DF df;
  constexpr int kLanes = kQK / kVectorsPerBlock;
  float* out = accumulator + first * kQK;
  VF acc[kBlocks][kVectorsPerBlock];
  for (int k = 0; k < kBlocks; ++k) {
    for (int v = 0; v < kVectorsPerBlock; ++v) {
      acc[k][v] = hn::Mul(hn::LoadU(df, out + k * kQK + v * kLanes), rescale);
    }
  }
  for (int t = 0; t < rows; ++t) {
    const typename Format::Block* row = values + t * row_stride + first;
    const float* row_coefficients = coefficients + t * blocks + first;
    for (int k = 0; k < kBlocks; ++k) {
      const VF coefficient = hn::Set(df, row_coefficients[k]);
      for (int v = 0; v < kVectorsPerBlock; ++v) {
        acc[k][v] = hn::MulAdd(coefficient, Format::DecodeValues(row[k], v * kLanes), acc[k][v]);
      }
    }
  }
  for (int k = 0; k < kBlocks; ++k) {
    const VF offset = hn::Set(df, Format::kOffset * block_sums[first + k]);
    for (int v = 0; v < kVectorsPerBlock; ++v) {
      if constexpr (Format::kOffset != 0) acc[k][v] = hn::Add(acc[k][v], offset);
      hn::StoreU(acc[k][v], df, out + k * kQK + v * kLanes);
    }
  }
}

// accumulator = accumulator · correction + Σ_t weight_t · value_t over one tile.
template <class Format>
void Accumulate(const float* coefficients, const float* block_sums,
                const typename Format::Block* values, int rows, int64_t row_stride, int blocks,
                float correction, float* accumulator) {
  const VF rescale = hn::Set(DF(), correction);
  int first = 0;
  for (; first + kPassBlocks <= blocks; first += kPassBlocks) {
    AccumulateBlocks<Format, kPassBlocks>(coefficients, block_sums, values, rows, row_stride,
                                          blocks, rescale, first, accumulator);
  }
  for (; first < blocks; ++first) {
    AccumulateBlocks<Format, 1>(coefficients, block_sums, values, rows, row_stride, blocks, rescale,
                                first, accumulator);
  }
}

template <class Format>
void Attend(const float* query, const typename Format::Block* keys,
            const typename Format::Block* values, int64_t num_keys, int64_t row_stride,
            int head_dim, float scale, AttentionState& state, float* accumulator) {
  const int blocks = head_dim / kQK;
  QuantizedQuery quantized;
  QuantizeQuery(query, blocks, scale, quantized);
  float coefficients[kTileScales];
  float block_sums[kMaxBlocks];
  float weights[kTileKeys];
  for (int64_t start = 0; start < num_keys; start += kTileKeys) {
    const int rows = static_cast<int>(std::min<int64_t>(kTileKeys, num_keys - start));
    const typename Format::Block* tile_keys = keys + start * row_stride;
    float tile_max = -HUGE_VALF;
    for (int t = 0; t < rows; ++t) {
      weights[t] = Score<Format>(quantized, tile_keys + t * row_stride, blocks);
      tile_max = std::max(tile_max, weights[t]);
    }
    const float new_max = std::max(state.max, tile_max);
    const float correction = std::exp(state.max - new_max);  // 0 on the first tile
    float tile_sum = 0.0f;
    const typename Format::Block* tile_values = values + start * row_stride;
    std::fill(block_sums, block_sums + blocks, 0.0f);
    for (int t = 0; t < rows; ++t) {
      weights[t] = std::exp(weights[t] - new_max);
      tile_sum += weights[t];
      const typename Format::Block* row = tile_values + t * row_stride;
      for (int b = 0; b < blocks; ++b) {
        coefficients[t * blocks + b] = weights[t] * ScaleOf(row[b].d);
        if constexpr (Format::kOffset != 0) block_sums[b] += coefficients[t * blocks + b];
      }
    }
    Accumulate<Format>(coefficients, block_sums, tile_values, rows, row_stride, blocks, correction,
                       accumulator);
    state.sum = state.sum * correction + tile_sum;
    state.max = new_max;
  }
}

}  // namespace

void AttendQ8_0(const float* query, const BlockQ8_0* keys, const BlockQ8_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator) {
  Attend<Q8_0>(query, keys, values, num_keys, row_stride, head_dim, scale, state, accumulator);
}

void AttendQ4_0(const float* query, const BlockQ4_0* keys, const BlockQ4_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator) {
  Attend<Q4_0>(query, keys, values, num_keys, row_stride, head_dim, scale, state, accumulator);
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {

HWY_EXPORT(AttendQ8_0);
HWY_EXPORT(AttendQ4_0);

namespace {

void CheckHeadDim(int head_dim) {
  CHECK(head_dim > 0 && head_dim % kQK == 0 && head_dim <= kMaxAttentionHeadDim)
      << "attention over block-quantized KV: head_dim " << head_dim;
}

}  // namespace

void AttendQ8_0(const float* query, const BlockQ8_0* keys, const BlockQ8_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator) {
  CheckHeadDim(head_dim);
  HWY_DYNAMIC_DISPATCH(AttendQ8_0)(query, keys, values, num_keys, row_stride, head_dim, scale,
                                   state, accumulator);
}

void AttendQ4_0(const float* query, const BlockQ4_0* keys, const BlockQ4_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator) {
  CheckHeadDim(head_dim);
  HWY_DYNAMIC_DISPATCH(AttendQ4_0)(query, keys, values, num_keys, row_stride, head_dim, scale,
                                   state, accumulator);
}

namespace reference {
namespace {

float Value(const BlockQ8_0& block, int j) { return block.qs[j]; }
float Value(const BlockQ4_0& block, int j) {
  const uint8_t byte = block.qs[j % (kQK / 2)];
  return static_cast<float>((j < kQK / 2 ? byte & 15 : byte >> 4) - 8);
}

template <class Block>
void AttendBlocks(const float* query, const Block* keys, const Block* values, int64_t num_keys,
                  int64_t row_stride, int head_dim, float scale, AttentionState& state,
                  float* accumulator) {
  CheckHeadDim(head_dim);
  const int blocks = head_dim / kQK;
  // The query rounded as the SIMD versions do it (float operations in the same order).
  std::vector<int> q(head_dim);
  std::vector<float> q_scale(blocks);
  for (int b = 0; b < blocks; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < kQK; ++i) amax = std::max(amax, std::fabs(query[b * kQK + i]));
    q_scale[b] = amax / 32767.0f;
    const float inverse = amax > 0.0f ? 32767.0f / amax : 0.0f;
    for (int i = 0; i < kQK; ++i) {
      q[b * kQK + i] = static_cast<int>(std::nearbyint(query[b * kQK + i] * inverse));
    }
  }
  for (int64_t j = 0; j < num_keys; ++j) {
    const Block* key = keys + j * row_stride;
    const Block* value = values + j * row_stride;
    double dot = 0.0;
    for (int b = 0; b < blocks; ++b) {
      int64_t block_dot = 0;
      for (int i = 0; i < kQK; ++i) block_dot += q[b * kQK + i] * Value(key[b], i);
      dot += static_cast<double>(q_scale[b]) * F16ToF32(key[b].d) * block_dot;
    }
    const float score = scale * static_cast<float>(dot);
    const float new_max = std::max(state.max, score);
    const float correction = std::exp(state.max - new_max);
    const float weight = std::exp(score - new_max);
    for (int i = 0; i < head_dim; ++i) {
      const Block& block = value[i / kQK];
      accumulator[i] =
          accumulator[i] * correction + weight * F16ToF32(block.d) * Value(block, i % kQK);
    }
    state.sum = state.sum * correction + weight;
    state.max = new_max;
  }
}

}  // namespace

void AttendQ8_0(const float* query, const BlockQ8_0* keys, const BlockQ8_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator) {
  AttendBlocks(query, keys, values, num_keys, row_stride, head_dim, scale, state, accumulator);
}

void AttendQ4_0(const float* query, const BlockQ4_0* keys, const BlockQ4_0* values,
                int64_t num_keys, int64_t row_stride, int head_dim, float scale,
                AttentionState& state, float* accumulator) {
  AttendBlocks(query, keys, values, num_keys, row_stride, head_dim, scale, state, accumulator);
}

}  // namespace reference
}  // namespace snug::kernels
#endif  // HWY_ONCE
