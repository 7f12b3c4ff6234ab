// x86 byte kernels of the super-block types Q4_K, Q5_K and Q6_K (AVX2, AVX3 and AVX3_DL;
// matmul_k.cc includes this per target), on matmul_x86-inl.h's pair dots and tiles: a
// super-block of 256 values is one span of 8 sub-blocks of 32, so its values meet the
// activations in the same Q8Index order as a span of 8 legacy blocks.
#if defined(SNUG_KERNELS_MATMUL_K_X86_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SNUG_KERNELS_MATMUL_K_X86_INL_H_
#undef SNUG_KERNELS_MATMUL_K_X86_INL_H_
#else
#define SNUG_KERNELS_MATMUL_K_X86_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/matmul_internal.h"
#include "kernels/matmul_x86-inl.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

#if SNUG_MATMUL_BYTES

HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace x86 {

// Q4_K and Q5_K: a super-block of 256 values is one span of 8 sub-blocks of 32 (sub-block j
// in lane j, like a legacy block), so the pairs (j, j + 4) meet the activations in Q8Index
// order too. Chunk c of the codes (32 bytes) holds sub-block 2c in its low nibbles and 2c + 1
// in its high ones, so pair k's halves are the nibbles of chunks k / 2 and k / 2 + 2.
// value = d·scale_j·u − dmin·min_j with u the unsigned code: Σ u·x per sub-block is exact in
// int32, scaled by the 6-bit integer scales in int32 too (|Σ| < 8·63·32·31·127), and the mins
// enter through the activations' 32-value sums.
struct Q4_K {
  using Block = BlockQ4_K;
  static HWY_INLINE void Pairs(const Block& block, PairBytes (&pairs)[4]) {
    NibblePairs(block.qs, pairs);
  }
  // Pair k (sub-blocks k, k + 4) of a super-block's 128 code bytes: low halves, high halves.
  static HWY_INLINE void NibblePairs(const uint8_t* codes, PairBytes (&pairs)[4]) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int chunk = 0; chunk < 2; ++chunk) {  // chunks 0|2, then 1|3
      const uint8_t* qs = codes + 32 * chunk;
      const __m256i low = Load16x2(qs, qs + 64), high = Load16x2(qs + 16, qs + 80);
      pairs[2 * chunk] = {_mm256_and_si256(low, mask), _mm256_and_si256(high, mask)};
      pairs[2 * chunk + 1] = {_mm256_and_si256(_mm256_srli_epi64(low, 4), mask),
                              _mm256_and_si256(_mm256_srli_epi64(high, 4), mask)};
    }
  }
};

// Q5_K: Q4_K's nibbles plus a fifth bit, bit j of qh[i] for value i of sub-block j (u ≤ 31:
// a pair's two int16 halves stay below 2·2·31·127 < 2^15 without VNNI).
struct Q5_K {
  using Block = BlockQ5_K;
  static HWY_INLINE void Pairs(const Block& block, PairBytes (&pairs)[4]) {
    Q4_K::NibblePairs(block.qs, pairs);
    // Bit k of each byte of the low 128 bits and bit k + 4 of the high 128 bits, moved to 16.
    const __m256i bits_low = Load16x2(block.qh, block.qh);
    const __m256i bits_high = Load16x2(block.qh + 16, block.qh + 16);
    const __m256i sixteen = _mm256_set1_epi8(0x10);
    for (int k = 0; k < 4; ++k) {
      const __m256i left = _mm256_setr_epi64x(4 - k, 4 - k, 0, 0);
      const __m256i right = _mm256_setr_epi64x(0, 0, k, k);
      const auto fifth = [&](__m256i bits) HWY_ATTR {
        return _mm256_and_si256(_mm256_srlv_epi64(_mm256_sllv_epi64(bits, left), right), sixteen);
      };
      pairs[k].low = _mm256_or_si256(pairs[k].low, fifth(bits_low));
      pairs[k].high = _mm256_or_si256(pairs[k].high, fifth(bits_high));
    }
  }
};

// Q6_K: each 128-value half holds sub-blocks j = 0..3 at the same places (ql + 64, qh + 32 for
// the second), so pair k is sub-block k of both halves. Codes are q = u − 32 (signed, |q| ≤ 32)
// with a signed 8-bit scale per 16 values: the pair's bytes are q itself, multiplied as |q|
// against the activations signed by q, and each 16-value half takes its scale in the int16 to
// int32 step (madd), so a super-block sums in int32 (< 8·2·2·32·127·128 in a lane).
struct Q6_K {
  using Block = BlockQ6_K;
  static HWY_INLINE void Pairs(const Block& block, PairBytes (&pairs)[4]) {
    const __m256i nibble_mask = _mm256_set1_epi8(0x0F), high_mask = _mm256_set1_epi8(0x30);
    const __m256i offset = _mm256_set1_epi8(32);
    const __m256i bits_low = Load16x2(block.qh, block.qh + 32);
    const __m256i bits_high = Load16x2(block.qh + 16, block.qh + 48);
    for (int column = 0; column < 2; ++column) {  // ql + 0: sub-blocks 0, 2; ql + 32: 1, 3
      const uint8_t* ql = block.ql + 32 * column;
      const __m256i codes_low = Load16x2(ql, ql + 64), codes_high = Load16x2(ql + 16, ql + 80);
      for (int nibble = 0; nibble < 2; ++nibble) {
        const int j = column + 2 * nibble;
        // Bits 2j, 2j + 1 of qh moved to bits 4, 5 (16-bit shifts: what crosses a byte is
        // masked off).
        const auto value = [&](__m256i codes, __m256i bits) HWY_ATTR {
          const __m256i low = _mm256_and_si256(
              _mm256_srl_epi16(codes, _mm_cvtsi32_si128(4 * nibble)), nibble_mask);
          const __m256i high = j < 3 ? _mm256_sll_epi16(bits, _mm_cvtsi32_si128(4 - 2 * j))
                                     : _mm256_srli_epi16(bits, 2);
          return _mm256_sub_epi8(_mm256_or_si256(low, _mm256_and_si256(high, high_mask)), offset);
        };
        pairs[j] = {value(codes_low, bits_low), value(codes_high, bits_high)};
      }
    }
  }
};

// The 8 six-bit scales and 8 mins of a Q4_K/Q5_K super-block (specs/models.md §6.3), one per
// int32 lane: four 32-bit words rearranged as ggml does, then widened.
HWY_INLINE void ScalesAndMins(const uint8_t* packed, __m256i* scales, __m256i* mins) {
  constexpr uint32_t kLow6 = 0x3F3F3F3F, kLow4 = 0x0F0F0F0F, kLow2 = 0x03030303;
  uint32_t w[3];
  std::memcpy(w, packed, 12);
  const uint32_t scale_low = w[0] & kLow6, min_low = w[1] & kLow6;
  const uint32_t scale_high = (w[2] & kLow4) | (((w[0] >> 6) & kLow2) << 4);
  const uint32_t min_high = ((w[2] >> 4) & kLow4) | (((w[1] >> 6) & kLow2) << 4);
  const auto widen = [](uint32_t low, uint32_t high) HWY_ATTR {
    const uint64_t bytes = (uint64_t{high} << 32) | low;
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(bytes)));
  };
  *scales = widen(scale_low, scale_high);
  *mins = widen(min_low, min_high);
}

// RowTokens for the super-block types: per super-block, the pair dots reduce to one exact
// int32 per sub-block (PairSpanSums), times its integer scale; the mins times the activations'
// sub-block sums; each converted once and scaled by d·dx and dmin·dx (one activation scale per
// super-block). The same arithmetic for every tile and row split, as above.
template <class Type, int kTokens>
HWY_INLINE void SuperBlockRowTokens(const typename Type::Block* HWY_RESTRICT blocks,
                                    int64_t num_blocks, const internal::QuantizedActivations& acts,
                                    int64_t t0, float* HWY_RESTRICT y, int64_t y_stride) {
  const TileActivations<kTokens> tile(acts, t0);
  const auto& x = tile.x;
  const auto& x_scale = tile.scale;
  const auto& x_sums = tile.sums;
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < num_blocks; ++b) {
    const auto& block = blocks[b];
    PairBytes pairs[4];
    Type::Pairs(block, pairs);
    __m256i pair[kTokens][4];
    for (int k = 0; k < 4; ++k) {
      for (int t = 0; t < kTokens; ++t) {
        const int8_t* xk = x[t] + b * kQK_K + k * 2 * kQK;
        pair[t][k] = DotHalves(pairs[k].low, Load32(xk), pairs[k].high, Load32(xk + kQK));
      }
    }
    __m256i scales, mins;
    ScalesAndMins(block.scales, &scales, &mins);
    const float d = F16ToF32(block.d), dmin = F16ToF32(block.dmin);
    for (int t = 0; t < kTokens; ++t) {
      const __m256i dot = _mm256_mullo_epi32(PairSpanSums(pair[t]), scales);
      const __m256i offset = _mm256_mullo_epi32(Load32(x_sums[t] + b * 8), mins);
      const float dx = x_scale[t][b];
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(d * dx), acc[t]);
      acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(offset), _mm256_set1_ps(dmin * dx), acc[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t) y[t * y_stride] = ReduceAdd(acc[t]);
}

// RowTokens for Q6_K (see Q6_K above): one int32 accumulator per token and super-block.
template <int kTokens>
HWY_INLINE void Q6KRowTokens(const BlockQ6_K* HWY_RESTRICT blocks, int64_t num_blocks,
                             const internal::QuantizedActivations& acts, int64_t t0,
                             float* HWY_RESTRICT y, int64_t y_stride) {
  const TileActivations<kTokens> tile(acts, t0);
  const auto& x = tile.x;
  const auto& x_scale = tile.scale;
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < num_blocks; ++b) {
    const BlockQ6_K& block = blocks[b];
    PairBytes q[4];
    Q6_K::Pairs(block, q);
    // The 16 scales as int16, the first half's 8 in the low 128 bits, the second's in the high.
    const __m256i scales = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales)));
    __m256i sum[kTokens];
    for (int t = 0; t < kTokens; ++t) sum[t] = _mm256_setzero_si256();
    for (int k = 0; k < 4; ++k) {
      // Scale 2k (values 0..15 of sub-block k) and 2k + 1 (16..31) of each half, in every lane.
      const __m256i scale_low = _mm256_shuffle_epi8(scales, _mm256_set1_epi16(0x0100 + 0x0404 * k));
      const __m256i scale_high =
          _mm256_shuffle_epi8(scales, _mm256_set1_epi16(0x0302 + 0x0404 * k));
      const __m256i size_low = _mm256_sign_epi8(q[k].low, q[k].low);
      const __m256i size_high = _mm256_sign_epi8(q[k].high, q[k].high);
      for (int t = 0; t < kTokens; ++t) {
        const int8_t* xk = x[t] + b * kQK_K + k * 2 * kQK;
        const __m256i low = _mm256_maddubs_epi16(size_low, _mm256_sign_epi8(Load32(xk), q[k].low));
        const __m256i high =
            _mm256_maddubs_epi16(size_high, _mm256_sign_epi8(Load32(xk + kQK), q[k].high));
        sum[t] = _mm256_add_epi32(sum[t], _mm256_add_epi32(_mm256_madd_epi16(low, scale_low),
                                                           _mm256_madd_epi16(high, scale_high)));
      }
    }
    const float d = F16ToF32(block.d);
    for (int t = 0; t < kTokens; ++t) {
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), _mm256_set1_ps(d * x_scale[t][b]),
                               acc[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t) y[t * y_stride] = ReduceAdd(acc[t]);
}

// Rows [row_begin, row_end) of a Q4_K, Q5_K or Q6_K weight, every token.
template <class Type>
HWY_INLINE void SuperBlockRows(const TensorView& weight,
                               const internal::QuantizedActivations& acts, int64_t row_begin,
                               int64_t row_end, float* y) {
  using Block = typename Type::Block;
  const Block* blocks = reinterpret_cast<const Block*>(weight.data);
  const int64_t num_blocks = weight.cols() / kQK_K;
  TiledRows(weight.rows(), acts.num_tokens, row_begin, row_end, y,
            [&]<int kTokens>(int64_t row, int64_t t0, float* out, int64_t stride) HWY_ATTR {
              const Block* row_blocks = blocks + row * num_blocks;
              if constexpr (std::is_same_v<Type, Q6_K>) {
                Q6KRowTokens<kTokens>(row_blocks, num_blocks, acts, t0, out, stride);
              } else {
                SuperBlockRowTokens<Type, kTokens>(row_blocks, num_blocks, acts, t0, out, stride);
              }
            });
}

}  // namespace x86
}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // x86 targets
#endif  // SNUG_KERNELS_MATMUL_K_X86_INL_H_
