// Matrix products of the MLX types (specs/models.md §1.3): codes packed per row, with the
// per-group scales (and affine biases) in tensors of their own (TensorView::groups), against
// activations quantized to int8 per 32 values. Integer dots as for Q4_0: Σ q·x per 32-value
// block is exact in int32, scaled by scale·d_x, and the affine bias enters once per block as
// bias · d_x · Σq_x (the activations' block sums), never per value.
// Generic path (every target): codes decoded to int16, int16 multiply-add. x86 path for the
// 4-bit, 8-bit and mxfp4 types (AVX2 and up): the byte kernels of matmul_x86-inl.h, with the
// group parameters expanded to one lane per 32-value block.
// The 4-bit types keep two codes per byte in element order (value 2i in the low nibble of
// byte i), so they take activations in the even_odd order (matmul_internal.h): the low nibbles
// of a block are then its first 16 activations, as for Q4_0.

#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
// Arrays of vectors are not allowed for SVE's sizeless types: arm64 dispatches to NEON.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#include "base/check.h"
#include "kernels/matmul_internal.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_mlx.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/matmul_simd-inl.h"
#include "kernels/matmul_x86-inl.h"


HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace {

using internal::kGroupBlocks;
using internal::QuantizedActivations;

// One row's group parameters.
struct GroupRow {
  const uint8_t* scales;
  const uint8_t* biases;  // null for mxfp4
  DType scale_dtype;
  int64_t group_size;

  static GroupRow Of(const TensorView& weight, int64_t row) {
    return {weight.scale_row(row),
            weight.groups.biases != nullptr ? weight.bias_row(row) : nullptr,
            weight.groups.scale_dtype, weight.groups.group_size};
  }
};

HWY_INLINE float GroupValue(DType dtype, const uint8_t* array, int64_t index) {
  if (dtype == DType::kF32) {
    float value;
    std::memcpy(&value, array + 4 * index, 4);
    return value;
  }
  uint16_t half;
  std::memcpy(&half, array + 2 * index, 2);
  return dtype == DType::kF16 ? F16ToF32(half) : Bf16ToF32(half);
}

// 2^(e−128) as ggml computes it, denormals for e < 2 included (pairs with kE2M1x2).
HWY_INLINE float E8M0Half(uint8_t e) {
  const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  return std::bit_cast<float>(bits);
}

// Per 32-value block b in [first, first + n): scale[i] and bias[i] of its group; zeros up to
// `padded`.
HWY_INLINE void BlockParams(const GroupRow& row, bool affine, int64_t first, int64_t n,
                            int64_t padded, float* scale, float* bias) {
  const int64_t blocks_per_group = row.group_size / kQK;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t group = (first + i) / blocks_per_group;
    if (affine) {
      scale[i] = GroupValue(row.scale_dtype, row.scales, group);
      bias[i] = GroupValue(row.scale_dtype, row.biases, group);
    } else {
      scale[i] = E8M0Half(row.scales[group]);
      bias[i] = 0.0f;
    }
  }
  for (int64_t i = n; i < padded; ++i) scale[i] = bias[i] = 0.0f;
}

// Each type: kBits, kAffine, Decode(codes of one block, w) into the order of its activations.
template <int kBitsValue>
struct Affine {
  static constexpr int kBits = kBitsValue;
  static constexpr bool kAffine = true;
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT codes, V16* w) {
    if constexpr (kBits == 4) {  // even_odd order: low nibbles are values 0, 2, 4, ...
      VU16 u[kChunks];
      NibblesLowThenHigh(codes, u);
      for (int c = 0; c < kChunks; ++c) w[c] = hn::BitCast(D16(), u[c]);
    } else if constexpr (kBits == 8) {
      for (int c = 0; c < kChunks; ++c) {
        w[c] = hn::BitCast(D16(), hn::PromoteTo(DU16(), hn::LoadU(DU8(), codes + c * kLanes16)));
      }
    } else {  // 2, 3, 5, 6 bits: the bit stream read code by code (a code spans ≤ 2 bytes)
      alignas(64) int16_t values[kQK];
      constexpr int kMask = (1 << kBits) - 1;
      for (int j = 0; j < kQK; ++j) {
        const int bit = j * kBits, byte = bit / 8, shift = bit % 8;
        int word = codes[byte];
        if (shift + kBits > 8) word |= codes[byte + 1] << 8;
        values[j] = static_cast<int16_t>((word >> shift) & kMask);
      }
      for (int c = 0; c < kChunks; ++c) w[c] = hn::Load(D16(), values + c * kLanes16);
    }
  }
};

struct Mxfp4 {
  static constexpr int kBits = 4;
  static constexpr bool kAffine = false;
  static HWY_INLINE void Decode(const uint8_t* HWY_RESTRICT codes, V16* w) {
    LookupNibbles(codes, kE2M1x2, w);
  }
};

// y[t, row] for tokens t0 .. t0 + kTokens − 1; per token the order of operations does not
// depend on kTokens (prefill equals token-by-token decode).
template <class Type, int kTokens>
HWY_INLINE void RowTile(const TensorView& weight, const QuantizedActivations& acts, int64_t row,
                        int64_t t0, float* HWY_RESTRICT y) {
  constexpr int64_t kBlockBytes = 4 * Type::kBits;
  const DF df;
  const D32 d32;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t num_blocks = weight.cols() / kQK;
  const uint8_t* codes = weight.row(row);
  const GroupRow groups = GroupRow::Of(weight, row);
  VF acc0[kTokens], acc1[kTokens], offset[kTokens];
  const int16_t* x[kTokens];
  for (int t = 0; t < kTokens; ++t) {
    acc0[t] = acc1[t] = offset[t] = hn::Zero(df);
    x[t] = acts.q_row(t0 + t);
  }
  alignas(64) float scale[kTokens][kGroupBlocks];  // weight scale · d_x per block and token
  for (int64_t group = 0; group < num_blocks; group += kGroupBlocks) {
    const int64_t n = std::min(kGroupBlocks, num_blocks - group);
    const int64_t padded = (n + lanes - 1) / lanes * lanes;
    alignas(64) float weight_scale[kGroupBlocks], weight_bias[kGroupBlocks];
    BlockParams(groups, Type::kAffine, group, n, padded, weight_scale, weight_bias);
    for (int t = 0; t < kTokens; ++t) {
      const float* dx = acts.scale_row(t0 + t) + group;
      const int32_t* sums = acts.sums_row(t0 + t) + group;
      for (int64_t i = 0; i < padded; i += lanes) {
        const VF dxv = hn::LoadU(df, dx + i);
        hn::Store(hn::Mul(hn::Load(df, weight_scale + i), dxv), df, scale[t] + i);
        if constexpr (Type::kAffine) {
          const VF sum = hn::Mul(dxv, hn::ConvertTo(df, hn::LoadU(d32, sums + i)));
          offset[t] = hn::MulAdd(hn::Load(df, weight_bias + i), sum, offset[t]);
        }
      }
    }
    const auto step = [&](int64_t b, VF(&acc)[kTokens]) HWY_ATTR {
      V16 w[kChunks];
      Type::Decode(codes + (group + b) * kBlockBytes, w);
      for (int t = 0; t < kTokens; ++t) {
        const VI32 dot = BlockDot(w, x[t] + (group + b) * kQK);
        acc[t] = hn::MulAdd(hn::ConvertTo(df, dot), hn::Set(df, scale[t][b]), acc[t]);
      }
    };
    int64_t b = 0;
    for (; b + 2 <= n; b += 2) {
      step(b, acc0);
      step(b + 1, acc1);
    }
    if (b < n) step(b, acc0);
  }
  const int64_t rows = weight.rows();
  for (int t = 0; t < kTokens; ++t) {
    const VF total = hn::Add(hn::Add(acc0[t], acc1[t]), offset[t]);
    y[(t0 + t) * rows + row] = hn::GetLane(hn::SumOfLanes(df, total));
  }
}

template <class Type>
HWY_NOINLINE void Rows(const TensorView& weight, const QuantizedActivations& acts,
                       int64_t row_begin, int64_t row_end, float* y) {
  ForEachTile(row_begin, row_end, acts.num_tokens, [&]<int kTokens>(int64_t row, int64_t t0) {
    RowTile<Type, kTokens>(weight, acts, row, t0, y);
  });
}


#if SNUG_MATMUL_BYTES
// x86 byte kernels (matmul_x86-inl.h explains the shape): per span of 8 blocks, exact int32
// block sums Σu·x, then per token one FMA with scale·d_x and, affine, one with bias·d_x·Σq_x.
namespace mlx_x86 {

using namespace x86;  // NOLINT: DotBytes, DotHalves, Load32, Load16x2, PairSpanSums, ...

alignas(32) constexpr uint8_t kZeroCodes[32] = {};

// The 8 lanes of a span's blocks from the group values (bf16, f16 or f32) of its groups:
// lane j takes group j / (group_size / 32). Full spans load exactly their groups' bytes; a
// row's last, partial span gathers them, zeros past its n blocks.
HWY_INLINE __m256 SpanGroupValues(const uint8_t* HWY_RESTRICT array, DType dtype,
                                  int64_t group_size, int64_t b0, int n, __m256i expand) {
  const int64_t blocks_per_group = group_size / kQK;
  const int64_t first = b0 / blocks_per_group;
  const int count = static_cast<int>(kSpan / blocks_per_group);
  __m256 values;
  if (n == kSpan) {
    if (dtype == DType::kF32) {
      const float* p = reinterpret_cast<const float*>(array) + first;
      if (count == 8) {
        values = _mm256_loadu_ps(p);
      } else if (count == 4) {
        values = _mm256_castps128_ps256(_mm_loadu_ps(p));
      } else {
        values = _mm256_castps128_ps256(
            _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
      }
    } else {
      const uint8_t* p = array + 2 * first;
      __m128i halves;
      if (count == 8) {
        halves = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      } else if (count == 4) {
        halves = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
      } else {
        int32_t two;
        std::memcpy(&two, p, 4);
        halves = _mm_cvtsi32_si128(two);
      }
      values = dtype == DType::kF16
                   ? _mm256_cvtph_ps(halves)
                   : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16));
    }
  } else {
    alignas(32) float gathered[kSpan] = {};
    const int used = static_cast<int>(n / blocks_per_group);
    for (int i = 0; i < used; ++i) gathered[i] = GroupValue(dtype, array, first + i);
    values = _mm256_load_ps(gathered);
  }
  return _mm256_permutevar8x32_ps(values, expand);
}

// Each type: kBlockBytes; Pair(a, b) and PairDot as in matmul_x86-inl.h; Adjust(sums, x_sum)
// turns Σu·x into Σq·x (the code's value before scale and bias); Scales/Biases per span.
struct Q4 {
  static constexpr int kBlockBytes = 16;
  static constexpr bool kAffine = true;
  static HWY_INLINE PairBytes Pair(const uint8_t* a, const uint8_t* b) {
    const __m256i bytes = Load16x2(a, b);
    const __m256i mask = _mm256_set1_epi8(0x0F);
    return {_mm256_and_si256(bytes, mask), _mm256_and_si256(_mm256_srli_epi64(bytes, 4), mask)};
  }
  static HWY_INLINE __m256i PairDot(const PairBytes& u, __m256i x_low, __m256i x_high) {
    return DotHalves(u.low, x_low, u.high, x_high);
  }
  static HWY_INLINE __m256i Adjust(__m256i sums, __m256i) { return sums; }
};

struct Q8 {
  static constexpr int kBlockBytes = 32;
  static constexpr bool kAffine = true;
  // VNNI multiplies the unsigned codes directly. Else maddubs would saturate on 255·127 pairs:
  // the codes become signed q − 128 (sign trick as Q8_0) and 128·Σx is added back.
  static HWY_INLINE PairBytes Pair(const uint8_t* a, const uint8_t* b) {
    const __m256i qa = Load32(a), qb = Load32(b);
    const __m256i low = _mm256_permute2x128_si256(qa, qb, 0x20);
    const __m256i high = _mm256_permute2x128_si256(qa, qb, 0x31);
    if constexpr (kVnni) return {low, high};
    return {x86::Q8_0::Flip(low), x86::Q8_0::Flip(high)};
  }
  static HWY_INLINE __m256i PairDot(const PairBytes& q, __m256i x_low, __m256i x_high) {
    const __m256i zero = _mm256_setzero_si256();
    if constexpr (kVnni) return DotBytes(DotBytes(zero, q.low, x_low), q.high, x_high);
    return x86::Q8_0::SignedDot(x86::Q8_0::SignedDot(zero, q.low, x_low), q.high, x_high);
  }
  static HWY_INLINE __m256i Adjust(__m256i sums, __m256i x_sum) {
    if constexpr (kVnni) return sums;
    return _mm256_add_epi32(sums, _mm256_slli_epi32(x_sum, 7));
  }
};

struct Mxfp4 {
  static constexpr int kBlockBytes = 16;
  static constexpr bool kAffine = false;
  static HWY_INLINE PairBytes Pair(const uint8_t* a, const uint8_t* b) {
    const __m256i bytes = Load16x2(a, b);
    return {x86::MXFP4::Lookup(bytes), x86::MXFP4::Lookup(_mm256_srli_epi64(bytes, 4))};
  }
  static HWY_INLINE __m256i PairDot(const PairBytes& u, __m256i x_low, __m256i x_high) {
    return DotHalves(u.low, x_low, u.high, x_high);
  }
  static HWY_INLINE __m256i Adjust(__m256i sums, __m256i x_sum) {  // u = kE2M1x2 + 12
    return _mm256_sub_epi32(sums, _mm256_mullo_epi32(x_sum, _mm256_set1_epi32(12)));
  }
  // 2^(e−128) of the span's n blocks (one E8M0 byte each), zeros past n (see x86::MXFP4).
  static HWY_INLINE __m256 Scales(const uint8_t* e_bytes, int n) {
    uint64_t packed = 0;
    if (n == kSpan) {
      std::memcpy(&packed, e_bytes, 8);
    } else {
      for (int j = 0; j < n; ++j) packed |= uint64_t{e_bytes[j]} << (8 * j);
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

// y[t, row] for kTokens tokens from t0 (y strided by y_stride per token). The arithmetic of a
// (row, token) does not depend on the tile, so prefill equals decode exactly.
template <class Type, int kTokens>
HWY_INLINE void RowTokens(const uint8_t* HWY_RESTRICT codes, const GroupRow& groups,
                          int64_t num_blocks, const QuantizedActivations& acts, int64_t t0,
                          float* HWY_RESTRICT y, int64_t y_stride) {
  const x86::TileActivations<kTokens> tile(acts, t0);
  const auto& x = tile.x;
  const auto& x_scale = tile.scale;
  const auto& x_sums = tile.sums;
  __m256 acc[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm256_setzero_ps();
  const int64_t blocks_per_group = groups.group_size / kQK;
  alignas(32) int32_t lane_group[kSpan];
  for (int j = 0; j < kSpan; ++j) lane_group[j] = static_cast<int32_t>(j / blocks_per_group);
  const __m256i expand = _mm256_load_si256(reinterpret_cast<const __m256i*>(lane_group));
  const auto span = [&](int64_t b0, int n) HWY_ATTR {
    __m256i pair[kTokens][4];
    for (int k = 0; k < 4; ++k) {
      const uint8_t* a = k < n ? codes + (b0 + k) * Type::kBlockBytes : kZeroCodes;
      const uint8_t* b = k + 4 < n ? codes + (b0 + k + 4) * Type::kBlockBytes : kZeroCodes;
      const PairBytes bytes = Type::Pair(a, b);
      for (int t = 0; t < kTokens; ++t) {
        const int8_t* xk = x[t] + b0 * kQK + k * 2 * kQK;
        pair[t][k] = Type::PairDot(bytes, Load32(xk), Load32(xk + kQK));
      }
    }
    __m256 weight_scale, weight_bias;
    if constexpr (Type::kAffine) {
      weight_scale =
          SpanGroupValues(groups.scales, groups.scale_dtype, groups.group_size, b0, n, expand);
      weight_bias =
          SpanGroupValues(groups.biases, groups.scale_dtype, groups.group_size, b0, n, expand);
    } else {
      weight_scale = Type::Scales(groups.scales + b0, n);
    }
    for (int t = 0; t < kTokens; ++t) {
      const __m256i x_sum = Load32(x_sums[t] + b0);
      const __m256i sums = Type::Adjust(PairSpanSums(pair[t]), x_sum);
      const __m256 dx = _mm256_loadu_ps(x_scale[t] + b0);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(weight_scale, dx), acc[t]);
      if constexpr (Type::kAffine) {
        acc[t] = _mm256_fmadd_ps(weight_bias, _mm256_mul_ps(dx, _mm256_cvtepi32_ps(x_sum)),
                                 acc[t]);
      }
    }
  };
  int64_t b0 = 0;
  for (; b0 + kSpan <= num_blocks; b0 += kSpan) span(b0, kSpan);
  if (b0 < num_blocks) span(b0, static_cast<int>(num_blocks - b0));
  for (int t = 0; t < kTokens; ++t) y[t * y_stride] = ReduceAdd(acc[t]);
}

// Rows [row_begin, row_end), every token, on x86::TiledRows (decode and prefill passes).
template <class Type>
HWY_INLINE void Rows(const TensorView& weight, const QuantizedActivations& acts,
                     int64_t row_begin, int64_t row_end, float* y) {
  const int64_t num_blocks = weight.cols() / kQK;
  x86::TiledRows(weight.rows(), acts.num_tokens, row_begin, row_end, y,
                 [&]<int kTokens>(int64_t row, int64_t t0, float* out, int64_t stride) HWY_ATTR {
                   RowTokens<Type, kTokens>(weight.row(row), GroupRow::Of(weight, row),
                                            num_blocks, acts, t0, out, stride);
                 });
}

}  // namespace mlx_x86
#endif  // SNUG_MATMUL_BYTES

}  // namespace

void MatMulRowsMlxImpl(const TensorView& weight, const QuantizedActivations& acts,
                       int64_t row_begin, int64_t row_end, float* y) {
#if SNUG_MATMUL_BYTES
  switch (weight.dtype) {
    case DType::kMlxQ4: return mlx_x86::Rows<mlx_x86::Q4>(weight, acts, row_begin, row_end, y);
    case DType::kMlxQ8: return mlx_x86::Rows<mlx_x86::Q8>(weight, acts, row_begin, row_end, y);
    case DType::kMlxMXFP4:
      return mlx_x86::Rows<mlx_x86::Mxfp4>(weight, acts, row_begin, row_end, y);
    default: break;
  }
#endif
  switch (weight.dtype) {
    case DType::kMlxQ2: return Rows<Affine<2>>(weight, acts, row_begin, row_end, y);
    case DType::kMlxQ3: return Rows<Affine<3>>(weight, acts, row_begin, row_end, y);
    case DType::kMlxQ4: return Rows<Affine<4>>(weight, acts, row_begin, row_end, y);
    case DType::kMlxQ5: return Rows<Affine<5>>(weight, acts, row_begin, row_end, y);
    case DType::kMlxQ6: return Rows<Affine<6>>(weight, acts, row_begin, row_end, y);
    case DType::kMlxQ8: return Rows<Affine<8>>(weight, acts, row_begin, row_end, y);
    case DType::kMlxMXFP4: return Rows<Mxfp4>(weight, acts, row_begin, row_end, y);
    default: CHECK(false) << "not an MLX weight type: " << Name(weight.dtype);
  }
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {
HWY_EXPORT(MatMulRowsMlxImpl);

void internal::MatMulRowsMlx(const TensorView& weight, const QuantizedActivations& acts,
                             int64_t row_begin, int64_t row_end, float* y) {
  HWY_DYNAMIC_DISPATCH(MatMulRowsMlxImpl)(weight, acts, row_begin, row_end, y);
}
}  // namespace snug::kernels
#endif  // HWY_ONCE
