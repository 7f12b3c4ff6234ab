// Per-target pieces shared by the integer matmul files (matmul_legacy.cc, matmul_k.cc): vector
// tags sized for one 32-value block, the int16 block dot, f16 scale conversion and the
// rows × token-tiles loop. Highway's -inl convention: included once per target, the guard toggles.
#if defined(SNUG_KERNELS_MATMUL_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SNUG_KERNELS_MATMUL_SIMD_INL_H_
#undef SNUG_KERNELS_MATMUL_SIMD_INL_H_
#else
#define SNUG_KERNELS_MATMUL_SIMD_INL_H_
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <hwy/highway.h>

#include "kernels/matmul_internal.h"

HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One 32-value block is 1 (AVX-512), 2 (AVX2), 4 (SSE4/NEON) or 32 (scalar) int16 vectors.
using D16 = hn::CappedTag<int16_t, 32>;
using DU16 = hn::RebindToUnsigned<D16>;
using D32 = hn::Repartition<int32_t, D16>;
using DF = hn::Repartition<float, D16>;
using DU8 = hn::Rebind<uint8_t, D16>;  // as many bytes as D16 has lanes
using DI8 = hn::Rebind<int8_t, D16>;
using V16 = hn::Vec<D16>;
using VU16 = hn::Vec<DU16>;
using VI32 = hn::Vec<D32>;
using VF = hn::Vec<DF>;
inline constexpr int kLanes16 = static_cast<int>(hn::MaxLanes(D16()));
inline constexpr int kChunks = 32 / kLanes16;  // int16 vectors per 32 values
static_assert(kLanes16 == 1 || kLanes16 == 8 || kLanes16 == 16 || kLanes16 == 32,
              "matmul kernels assume fixed-size vectors (SVE targets are disabled)");

// Token tile of prefill: each decoded weight block is reused for this many tokens. Four tokens
// keep 2 float accumulators each (8) plus the block and temporaries in 16 registers (AVX2/NEON).
inline constexpr int kTokenTile = 4;

// Σ w·x over kChunks int16 vectors (32 values); int32 lanes whose total is the dot product.
HWY_INLINE VI32 BlockDot(const V16* w, const int16_t* HWY_RESTRICT x) {
  const D16 d16;
  const D32 d32;
  VI32 sum0 = hn::Zero(d32);
  VI32 sum1 = hn::Zero(d32);
  for (int c = 0; c < kChunks; ++c) {
    sum0 = hn::ReorderWidenMulAccumulate(d32, w[c], hn::LoadU(d16, x + c * kLanes16), sum0, sum1);
  }
  return hn::RearrangeToOddPlusEven(sum0, sum1);
}

// Accumulates Σ w·x of one 32-value block into `sum` (K types sum a whole super-block).
HWY_INLINE void BlockDotAccumulate(const V16* w, const int16_t* HWY_RESTRICT x, VI32& sum0,
                                   VI32& sum1) {
  const D16 d16;
  const D32 d32;
  for (int c = 0; c < kChunks; ++c) {
    sum0 = hn::ReorderWidenMulAccumulate(d32, w[c], hn::LoadU(d16, x + c * kLanes16), sum0, sum1);
  }
}

// Converts `count` (a multiple of Lanes(DF), ≤ kGroupBlocks) IEEE half bit patterns to f32.
HWY_INLINE void HalfToFloat(const uint16_t* HWY_RESTRICT half, int64_t count,
                            float* HWY_RESTRICT out) {
  const DF df;
  const hn::Rebind<hwy::float16_t, DF> dh;
  for (int64_t i = 0; i < count; i += hn::Lanes(df)) {
    hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(half + i))),
               df, out + i);
  }
}

// The 16 low nibbles and then the 16 high nibbles of `bytes` as kChunks uint16 vectors.
HWY_INLINE void NibblesLowThenHigh(const uint8_t* HWY_RESTRICT bytes, VU16* out) {
  const DU16 du16;
  const VU16 mask = hn::Set(du16, 0xF);
#if HWY_TARGET <= HWY_AVX3  // 32 lanes: both halves in one vector
  const hn::Half<DU16> dh;
  const auto v = hn::PromoteTo(dh, hn::LoadU(hn::Rebind<uint8_t, decltype(dh)>(), bytes));
  out[0] = hn::Combine(du16, hn::ShiftRight<4>(v), hn::And(v, hn::Set(dh, 0xF)));
  (void)mask;
#else
  constexpr int kHalf = kChunks / 2;  // vectors per 16 values
  for (int c = 0; c < kHalf; ++c) {
    const VU16 v = hn::PromoteTo(du16, hn::LoadU(DU8(), bytes + c * kLanes16));
    out[c] = hn::And(v, mask);
    out[c + kHalf] = hn::ShiftRight<4>(v);
  }
#endif
}

// Values table[nibble] (int8) of 16 bytes' low nibbles, then of their high nibbles, as kChunks
// int16 vectors (IQ4_NL, IQ4_XS).
HWY_INLINE void LookupNibbles(const uint8_t* HWY_RESTRICT bytes16, const int8_t* table16,
                              V16* w) {
#if HWY_TARGET == HWY_SCALAR
  for (int j = 0; j < 16; ++j) {
    w[j] = hn::Set(D16(), table16[bytes16[j] & 0xF]);
    w[j + 16] = hn::Set(D16(), table16[bytes16[j] >> 4]);
  }
#else
  const hn::Full128<uint8_t> d8;
  const auto table = hn::LoadU(d8, reinterpret_cast<const uint8_t*>(table16));
#if HWY_TARGET <= HWY_AVX3
  const hn::Half<D16> dh;
  const auto bytes = hn::LoadU(d8, bytes16);
  const auto low = hn::TableLookupBytes(table, hn::And(bytes, hn::Set(d8, 0xF)));
  const auto high = hn::TableLookupBytes(table, hn::ShiftRight<4>(bytes));
  const hn::Full128<int8_t> di8;
  w[0] = hn::Combine(D16(), hn::PromoteTo(dh, hn::BitCast(di8, high)),
                     hn::PromoteTo(dh, hn::BitCast(di8, low)));
#else
  constexpr int kHalf = kChunks / 2;
  for (int c = 0; c < kHalf; ++c) {
    const auto bytes = hn::LoadU(DU8(), bytes16 + c * kLanes16);
    const auto low = hn::TableLookupBytes(table, hn::And(bytes, hn::Set(DU8(), 0xF)));
    const auto high = hn::TableLookupBytes(table, hn::ShiftRight<4>(bytes));
    w[c] = hn::PromoteTo(D16(), hn::BitCast(DI8(), low));
    w[c + kHalf] = hn::PromoteTo(D16(), hn::BitCast(DI8(), high));
  }
#endif
#endif
}

// Runs tile.template operator()<kTokens>(row, first_token) over rows [row_begin, row_end) and
// all tokens, kTokenTile tokens at a time with single tokens for the rest. A row's tiles run
// back to back, so its weights are read from memory once and then from L1.
template <class Tile>
HWY_INLINE void ForEachTile(int64_t row_begin, int64_t row_end, int64_t num_tokens,
                            const Tile& tile) {
  for (int64_t row = row_begin; row < row_end; ++row) {
    int64_t t = 0;
    for (; t + kTokenTile <= num_tokens; t += kTokenTile) {
      tile.template operator()<kTokenTile>(row, t);
    }
    for (; t < num_tokens; ++t) tile.template operator()<1>(row, t);
  }
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // SNUG_KERNELS_MATMUL_SIMD_INL_H_
