// x86 byte kernels of Q4_0, Q8_0, MXFP4 and IQ4_NL (AVX2, AVX3 and AVX3_DL; matmul_legacy.cc
// includes this per target; matmul_k_x86-inl.h builds the K types on it): weights become unsigned bytes multiplied with the int8 activations (VNNI's
// dpbusd, else maddubs); each span of 8 blocks is reduced to one exact int32 per block, so the
// float work is one conversion and one FMA per 8 blocks instead of per block.
#if defined(SNUG_KERNELS_MATMUL_X86_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SNUG_KERNELS_MATMUL_X86_INL_H_
#undef SNUG_KERNELS_MATMUL_X86_INL_H_
#else
#define SNUG_KERNELS_MATMUL_X86_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/matmul_internal.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

// Whether this target has the byte kernels, for the files that include this one (a macro, set
// again for every target as foreach_target re-includes them).
#undef SNUG_MATMUL_BYTES
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define SNUG_MATMUL_BYTES 1
#else
#define SNUG_MATMUL_BYTES 0
#endif

#if SNUG_MATMUL_BYTES

HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace x86 {

// Why the kernels look the way they do (measured on Zen 4; Intel's cores have the same
// budget): the loop is bound by issue slots, about four 256-bit vector operations or loads per
// cycle, not by memory, so every operation per block counts.
// - Blocks k and k + 4 of a span share one vector: the low 128 bits carry block k, the high
//   block k + 4, and the low and high nibbles (values 0..15, 16..31) are multiplied in two
//   steps into the same lanes, against activations stored in that order (Q8Index). Decode is
//   then one 16-byte load per block plus a few byte operations per pair.
// - The four pair vectors of a span reduce to one int32 per block with unpacks and adds (phaddd,
//   which would read better, takes 2 cycles each on Zen 4): 9 operations per 8 blocks.
// - Offsets (Q4_0's −8, MXFP4's bias, Q8_0's +128 under VNNI) are subtracted from those exact
//   sums through the activations' block sums, so only scale · sum remains in f32.
// - One row at a time: interleaving two rows' weight streams halves the activation loads but,
//   from memory, defeats the hardware prefetcher (measured 2.5× slower).
// - 256-bit vectors on AVX-512 too: Zen 4 splits 512-bit operations in two, so wider vectors
//   save nothing and need wider decode shuffles (measured slower).
inline constexpr int kSpan = static_cast<int>(internal::kSpanBlocks);
inline constexpr bool kVnni = HWY_TARGET == HWY_AVX3_DL;

// Σ over each 4 bytes of u·x added to the 8 int32 lanes of `sum`; u unsigned ≤ 128 without
// VNNI (maddubs sums byte pairs into int16 with saturation: 2·128·127 < 2^15), x int8 in
// [−127, 127].
HWY_INLINE __m256i DotBytes(__m256i sum, __m256i u, __m256i x) {
  if constexpr (kVnni) {
    // Spelled out: Highway 1.0.3's AVX3_DL flags include AVX-VNNI, so the intrinsic may compile
    // to the VEX form, which AVX-512 CPUs without AVX-VNNI (Zen 4, Ice Lake) do not have.
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(u), "vm"(x));
    return sum;
  } else {
    return _mm256_add_epi32(sum,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
  }
}

// Σ u·x of a pair's two halves (low nibbles against x_low, high against x_high) in 8 int32
// lanes. Without VNNI the two int16 products are added before widening: callers keep each
// below 2^14 (2·24·127 for MXFP4, 2·15·127 for Q4_0).
HWY_INLINE __m256i DotHalves(__m256i u_low, __m256i x_low, __m256i u_high, __m256i x_high) {
  if constexpr (kVnni) {
    return DotBytes(DotBytes(_mm256_setzero_si256(), u_low, x_low), u_high, x_high);
  } else {
    const __m256i products =
        _mm256_add_epi16(_mm256_maddubs_epi16(u_low, x_low), _mm256_maddubs_epi16(u_high, x_high));
    return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
  }
}

HWY_INLINE __m256i Load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// The 16 bytes at a, then the 16 bytes at b.
HWY_INLINE __m256i Load16x2(const uint8_t* a, const uint8_t* b) {
  const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
  return _mm256_inserti128_si256(_mm256_castsi128_si256(low),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1);
}

HWY_INLINE float ReduceAdd(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

// The 16-bit fields at byte `kOffset` of n ≤ 8 blocks of kStride bytes, zeros past n, reading
// only those blocks. Packed in general registers: that spares vector issue slots, and stored
// one by one then loaded as a vector, the fields would stall on store-to-load forwarding.
template <int kStride, int kOffset>
HWY_INLINE __m128i GatherU16(const uint8_t* HWY_RESTRICT first, int n) {
  uint64_t low = 0, high = 0;
  for (int j = 0; j < kSpan; ++j) {
    if (j >= n) break;
    uint16_t field;
    std::memcpy(&field, first + j * kStride + kOffset, 2);
    (j < 4 ? low : high) |= uint64_t{field} << (16 * (j % 4));
  }
  return _mm_set_epi64x(static_cast<int64_t>(high), static_cast<int64_t>(low));
}

// Stands in for the blocks past a row's end in its last span (read as weights, against zero
// activations, zero scales and zero sums).
template <class Block>
inline constexpr Block kZeroBlock{};

// A block pair's weights as bytes: low nibbles or values 0..15 of blocks a (low 128 bits) and
// b (high 128 bits), then their high nibbles or values 16..31.
struct PairBytes {
  __m256i low, high;
};

// Each type: value = d·(u − kBias) with u the unsigned byte its decode yields.
//   Pair(a, b): the pair's bytes, decoded once for every token of a tile.
//   PairDot(bytes, x_low, x_high): Σ u·x of the pair against its activations in Q8Index order,
//     4 int32 lanes per block.
//   Scales(blocks, n): d of n ≤ 8 blocks, zeros past n (finite: they multiply zero sums).
struct Q4_0 {
  using Block = BlockQ4_0;
  static constexpr int kBias = 8;
  static HWY_INLINE PairBytes Pair(const Block& a, const Block& b) {
    const __m256i bytes = Load16x2(a.qs, b.qs);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    return {_mm256_and_si256(bytes, mask), _mm256_and_si256(_mm256_srli_epi64(bytes, 4), mask)};
  }
  static HWY_INLINE __m256i PairDot(const PairBytes& u, __m256i x_low, __m256i x_high) {
    return DotHalves(u.low, x_low, u.high, x_high);
  }
  static HWY_INLINE __m256 Scales(const Block* blocks, int n) {
    return _mm256_cvtph_ps(
        GatherU16<sizeof(Block), offsetof(Block, d)>(reinterpret_cast<const uint8_t*>(blocks), n));
  }
};

struct Q8_0 {
  using Block = BlockQ8_0;
  // VNNI: u = q + 128, so Σu·x = Σq·x + 128·Σx. Else u = |q| ≤ 128 against x signed by q, no
  // bias; each half is widened on its own (two int16 pair sums could reach 2^16).
  static constexpr int kBias = kVnni ? 128 : 0;
  static HWY_INLINE __m256i Flip(__m256i q) {
    return _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
  }
  static HWY_INLINE __m256i SignedDot(__m256i sum, __m256i q, __m256i x) {
    return DotBytes(sum, _mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
  }
  // VNNI: the unsigned bytes; else the signed q (the activations take their signs per token).
  static HWY_INLINE PairBytes Pair(const Block& a, const Block& b) {
    const __m256i qa = Load32(a.qs), qb = Load32(b.qs);
    const __m256i low = _mm256_permute2x128_si256(qa, qb, 0x20);
    const __m256i high = _mm256_permute2x128_si256(qa, qb, 0x31);
    if constexpr (kVnni) return {Flip(low), Flip(high)};
    return {low, high};
  }
  static HWY_INLINE __m256i PairDot(const PairBytes& q, __m256i x_low, __m256i x_high) {
    const __m256i zero = _mm256_setzero_si256();
    if constexpr (kVnni) return DotBytes(DotBytes(zero, q.low, x_low), q.high, x_high);
    return SignedDot(SignedDot(zero, q.low, x_low), q.high, x_high);
  }
  static HWY_INLINE __m256 Scales(const Block* blocks, int n) {
    return _mm256_cvtph_ps(
        GatherU16<sizeof(Block), offsetof(Block, d)>(reinterpret_cast<const uint8_t*>(blocks), n));
  }
};

struct MXFP4 {
  using Block = BlockMXFP4;
  static constexpr int kBias = 12;  // u = kE2M1x2 + 12 ≥ 0
  // u of each byte's low nibble (VBMI's vpermb reads the low 5 index bits, the table repeats;
  // pshufb reads 4 bits and zeroes bytes with bit 7 set, so it needs the mask).
  static HWY_INLINE __m256i Lookup(__m256i nibbles) {
    alignas(32) static constexpr uint8_t kBiased[32] = {
        12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,   // one table per 128 bits,
        12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0};  // and vpermb's bit 4
    const __m256i table = _mm256_load_si256(reinterpret_cast<const __m256i*>(kBiased));
    if constexpr (kVnni) {  // AVX3_DL has VBMI
      return _mm256_permutexvar_epi8(nibbles, table);
    } else {
      return _mm256_shuffle_epi8(table, _mm256_and_si256(nibbles, _mm256_set1_epi8(0xF)));
    }
  }
  static HWY_INLINE PairBytes Pair(const Block& a, const Block& b) {
    const __m256i bytes = Load16x2(a.qs, b.qs);
    return {Lookup(bytes), Lookup(_mm256_srli_epi64(bytes, 4))};
  }
  static HWY_INLINE __m256i PairDot(const PairBytes& u, __m256i x_low, __m256i x_high) {
    return DotHalves(u.low, x_low, u.high, x_high);
  }
  // 2^(e−128) as ggml computes it, denormals for e < 2 included: 2^(e−127) is e << 23 for
  // e ≥ 1, the max supplies e = 0's denormal 2^−127, and halving is exact. Lanes past n are
  // zero, not 2^−128: denormal operands would cost a microcode assist per multiply.
  static HWY_INLINE __m256 Scales(const Block* blocks, int n) {
    uint64_t packed = 0;
    for (int j = 0; j < kSpan; ++j) {
      if (j >= n) break;
      packed |= uint64_t{blocks[j].e} << (8 * j);
    }
    const __m256i e = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(packed)));
    __m256i bits = _mm256_max_epu32(_mm256_slli_epi32(e, 23), _mm256_set1_epi32(1 << 22));
    if (n < kSpan) {
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      bits = _mm256_and_si256(bits, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane));
    }
    return _mm256_mul_ps(_mm256_castsi256_ps(bits), _mm256_set1_ps(0.5f));
  }
};

// IQ4_NL: the grid values (int8, −127..113) looked up per nibble, then multiplied as Q8_0's
// signed bytes (VNNI: flipped to unsigned, 128·Σx subtracted).
struct IQ4_NL {
  using Block = BlockIQ4_NL;
  static constexpr int kBias = Q8_0::kBias;
  static HWY_INLINE __m256i Lookup(__m256i bytes) {
    const __m256i table = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIQ4NLValues)));
    return _mm256_shuffle_epi8(table, _mm256_and_si256(bytes, _mm256_set1_epi8(0xF)));
  }
  static HWY_INLINE PairBytes Pair(const Block& a, const Block& b) {
    const __m256i bytes = Load16x2(a.qs, b.qs);
    const __m256i low = Lookup(bytes), high = Lookup(_mm256_srli_epi64(bytes, 4));
    if constexpr (kVnni) return {Q8_0::Flip(low), Q8_0::Flip(high)};
    return {low, high};
  }
  static HWY_INLINE __m256i PairDot(const PairBytes& q, __m256i x_low, __m256i x_high) {
    return Q8_0::PairDot(q, x_low, x_high);
  }
  static HWY_INLINE __m256 Scales(const Block* blocks, int n) {
    return _mm256_cvtph_ps(
        GatherU16<sizeof(Block), offsetof(Block, d)>(reinterpret_cast<const uint8_t*>(blocks), n));
  }
};

// The activation rows of a tile of kTokens tokens from t0: int8 values (Q8Index order), block
// scales and 32-value sums.
template <int kTokens>
struct TileActivations {
  const int8_t* x[kTokens];
  const float* scale[kTokens];
  const int32_t* sums[kTokens];
  TileActivations(const internal::QuantizedActivations& acts, int64_t t0) {
    for (int t = 0; t < kTokens; ++t) {
      x[t] = acts.q8_row(t0 + t);
      scale[t] = acts.scale_row(t0 + t);
      sums[t] = acts.sums_row(t0 + t);
    }
  }
};

// [a0+a2, b0+b2, a1+a3, b1+b3] in each 128-bit half.
HWY_INLINE __m256i PairSum(__m256i a, __m256i b) {
  return _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
}

// [Σa, Σb, Σc, Σd] in each 128-bit half, from PairSum(a, b) and PairSum(c, d).
HWY_INLINE __m256i QuadSum(__m256i ab, __m256i cd) {
  return _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
}

// Lane j = Σ of block j's lanes for a whole span of PairDots (pair k: blocks k, k + 4).
HWY_INLINE __m256i PairSpanSums(const __m256i (&pair)[4]) {
  return QuadSum(PairSum(pair[0], pair[1]), PairSum(pair[2], pair[3]));
}

// y[t, row] = Σ_c w[row, c]·x[t, c] for kTokens tokens from t0: per span of 8 blocks, the
// exact int32 block sums less the offsets, scaled per block into one f32 accumulator per token
// (spans arrive every ~15 cycles, far apart enough for the FMA latency). Prefill tiles decode
// each weight pair once for kTokens tokens. The arithmetic of a (row, token) does not depend
// on the tile or on the other rows, so decode, prefill and any split of rows across threads
// agree exactly.
template <class Type, int kTokens>
HWY_INLINE void RowTokens(const typename Type::Block* HWY_RESTRICT blocks, int64_t num_blocks,
                          const internal::QuantizedActivations& acts, int64_t t0,
                          float* HWY_RESTRICT y, int64_t y_stride) {
  using Block = typename Type::Block;
  const TileActivations<kTokens> tile(acts, t0);
  const auto& x = tile.x;
  const auto& x_scale = tile.scale;
  const auto& x_sums = tile.sums;
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm256_setzero_ps();
  // Activation scales and sums are zero past the last block, up to whole spans.
  const auto accumulate = [&](int t, int64_t b0, __m256 weight_scale, __m256i sums) HWY_ATTR {
    constexpr unsigned kBias = Type::kBias;
    const __m256i x_sum = Load32(x_sums[t] + b0);
    if constexpr (std::has_single_bit(kBias)) {
      sums = _mm256_sub_epi32(sums, _mm256_slli_epi32(x_sum, std::countr_zero(kBias)));
    } else if constexpr (kBias != 0) {
      sums = _mm256_sub_epi32(sums, _mm256_mullo_epi32(x_sum, _mm256_set1_epi32(kBias)));
    }
    const __m256 scale = _mm256_mul_ps(weight_scale, _mm256_loadu_ps(x_scale[t] + b0));
    acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc[t]);
  };
  // One span of n ≤ 8 blocks from b0. Past n (the row's last span) the pairs take zero blocks
  // instead of reading past the row, against the activations' zero padding.
  const auto span = [&](int64_t b0, int n) HWY_ATTR {
    __m256i pair[kTokens][4];
    for (int k = 0; k < 4; ++k) {
      const Block& a = k < n ? blocks[b0 + k] : kZeroBlock<Block>;
      const Block& b = k + 4 < n ? blocks[b0 + k + 4] : kZeroBlock<Block>;
      const PairBytes bytes = Type::Pair(a, b);
      for (int t = 0; t < kTokens; ++t) {
        const int8_t* xk = x[t] + b0 * kQK + k * 2 * kQK;  // [low, high halves] of k, k + 4
        pair[t][k] = Type::PairDot(bytes, Load32(xk), Load32(xk + kQK));
      }
    }
    const __m256 weight_scale = Type::Scales(blocks + b0, n);
    for (int t = 0; t < kTokens; ++t) accumulate(t, b0, weight_scale, PairSpanSums(pair[t]));
  };
  int64_t b0 = 0;
  for (; b0 + kSpan <= num_blocks; b0 += kSpan) span(b0, kSpan);
  if (b0 < num_blocks) span(b0, static_cast<int>(num_blocks - b0));
  for (int t = 0; t < kTokens; ++t) y[t * y_stride] = ReduceAdd(acc[t]);
}

// y[t, row] for rows [row_begin, row_end) and tokens [t_begin, t_end), kTokens at a time
// (t_end − t_begin a multiple of kTokens), each by `row_tokens.template operator()<kTokens>(row,
// t, &y[t, row], y_stride)`. Tokens outside: a tile's activations (4 · 4 KB for 4096 columns)
// stay in L1 while the rows pass, instead of every token's streaming from L2 for each row. Not
// inlined: decode's loop compiles ~7% faster on its own than beside the tiles.
template <int kTokens, class RowFn>
HWY_NOINLINE void TokenTiles(int64_t rows, int64_t row_begin, int64_t row_end, int64_t t_begin,
                             int64_t t_end, float* y, const RowFn& row_tokens) {
  for (int64_t t = t_begin; t < t_end; t += kTokens) {
    for (int64_t row = row_begin; row < row_end; ++row) {
      row_tokens.template operator()<kTokens>(row, t, y + t * rows + row, rows);
    }
  }
}

// Tokens per prefill tile: 4 tokens' 16 pair sums fit AVX-512's 32 registers; AVX2 has 16.
inline constexpr int kTokenTile = HWY_TARGET == HWY_AVX2 ? 2 : 4;
// Rows per prefill pass: their weights (≤ 16 · 2.3 KB for 4096 columns) stay in L2 between the
// token tiles and the leftover tokens, so each weight is read from memory once.
inline constexpr int64_t kPrefillRows = 16;

// Rows [row_begin, row_end) of a weight of `rows` rows, for num_tokens tokens; y: [num_tokens,
// rows]. Decode is one pass over the rows; prefill passes kPrefillRows rows at a time.
template <class RowFn>
HWY_INLINE void TiledRows(int64_t rows, int64_t num_tokens, int64_t row_begin, int64_t row_end,
                          float* y, const RowFn& row_tokens) {
  if (num_tokens == 1) return TokenTiles<1>(rows, row_begin, row_end, 0, 1, y, row_tokens);
  const int64_t tiled = num_tokens / kTokenTile * kTokenTile;
  for (int64_t begin = row_begin; begin < row_end; begin += kPrefillRows) {
    const int64_t end = std::min(begin + kPrefillRows, row_end);
    if (tiled > 0) TokenTiles<kTokenTile>(rows, begin, end, 0, tiled, y, row_tokens);
    if (tiled < num_tokens) TokenTiles<1>(rows, begin, end, tiled, num_tokens, y, row_tokens);
  }
}

// The legacy types (blocks of 32).
template <class Type>
HWY_INLINE void Rows(const TensorView& weight, const internal::QuantizedActivations& acts,
                     int64_t row_begin, int64_t row_end, float* y) {
  using Block = typename Type::Block;
  const Block* blocks = reinterpret_cast<const Block*>(weight.data);
  const int64_t num_blocks = weight.cols() / kQK;
  TiledRows(weight.rows(), acts.num_tokens, row_begin, row_end, y,
            [&]<int kTokens>(int64_t row, int64_t t0, float* out, int64_t stride) HWY_ATTR {
              RowTokens<Type, kTokens>(blocks + row * num_blocks, num_blocks, acts, t0, out,
                                       stride);
            });
}

}  // namespace x86
}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // x86 targets
#endif  // SNUG_KERNELS_MATMUL_X86_INL_H_
