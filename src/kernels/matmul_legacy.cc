// Matrix products of the 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, MXFP4, IQ4_NL) against
// activations quantized to int8 per 32 values (matmul_internal.h): each weight block is decoded
// once, multiply-added with each token's activations, and the int32 block sum is scaled by
// d_w·d_x into an f32 accumulator. Offsets (Q4_0's −8, Q4_1's m, ...) are not applied per
// value but folded in once per block through the activation block sums.
// Generic path (every target): weights decoded to int16, int16 multiply-add. x86 path for Q4_0,
// Q8_0, MXFP4 and IQ4_NL (AVX2 and up, matmul_x86-inl.h): weights as unsigned bytes multiplied with the
// int8 activations directly (maddubs, or VNNI's dpbusd), so decode is bound by memory.

// Also compile AVX3_DL (AVX-512 with VNNI: Ice Lake, Zen 4), whose dpbusd multiplies bytes in
// one instruction. Highway 1.0.3 leaves it out unless asked; this file's dispatch table is its
// own, so only this file's kernels gain the target.
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

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_legacy.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/matmul_simd-inl.h"
#include "kernels/matmul_x86-inl.h"


HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace {

using internal::kGroupBlocks;
using internal::QuantizedActivations;

// Bit i of each 16-value half, for selecting the 5th bits of Q5_0/Q5_1 (qh bit j is value j's).
alignas(64) constexpr uint16_t kBitOfLane[32] = {
    1,     2,     4,     8,     16,    32,    64,    128,  256,  512,   1024,
    2048,  4096,  8192,  16384, 32768, 1,     2,     4,    8,    16,    32,
    64,    128,   256,   512,   1024,  2048,  4096,  8192, 16384, 32768};

// Converts the blocks' f16 field at `offset` (d or m) of n ≤ kGroupBlocks blocks, and zeros
// up to `padded` (n rounded up to whole f32 vectors).
template <class Block>
HWY_INLINE void GatherHalves(const Block* blocks, int64_t n, int64_t padded, size_t offset,
                             float* out) {
  const uint8_t* first = reinterpret_cast<const uint8_t*>(blocks) + offset;
  alignas(64) uint16_t half[kGroupBlocks];
  for (int64_t i = 0; i < n; ++i) std::memcpy(&half[i], first + i * sizeof(Block), 2);
  for (int64_t i = n; i < padded; ++i) half[i] = 0;
  HalfToFloat(half, padded, out);
}

template <class Block>
HWY_INLINE void NibbleBlock(const Block& block, V16* w) {
  VU16 u[kChunks];
  NibblesLowThenHigh(block.qs, u);
  for (int c = 0; c < kChunks; ++c) w[c] = hn::BitCast(D16(), u[c]);
}

// Adds 16 to each value whose bit is set in qh (value j ↔ bit j, little-endian).
template <class Block>
HWY_INLINE void FifthBits(const Block& block, V16* w) {
  const DU16 du16;
  uint32_t qh;
  std::memcpy(&qh, block.qh, 4);
  const uint16_t low = static_cast<uint16_t>(qh), high = static_cast<uint16_t>(qh >> 16);
  const VU16 sixteen = hn::Set(du16, 16);
#if HWY_TARGET <= HWY_AVX3
  const hn::Half<DU16> dh;
  const VU16 bits = hn::Combine(du16, hn::Set(dh, high), hn::Set(dh, low));
  const VU16 add = hn::IfThenElseZero(hn::TestBit(bits, hn::Load(du16, kBitOfLane)), sixteen);
  w[0] = hn::Or(w[0], hn::BitCast(D16(), add));
#else
  for (int c = 0; c < kChunks; ++c) {
    const int first = c * kLanes16;
    const VU16 bits = hn::Set(du16, first < 16 ? low : high);
    const VU16 mask = hn::LoadU(du16, kBitOfLane + first % 16);
    w[c] = hn::Or(w[c], hn::BitCast(D16(), hn::IfThenElseZero(hn::TestBit(bits, mask), sixteen)));
  }
#endif
}

// Each type: Scales() gives the per-block scale d and offset o (value = d·q + o, q the
// non-negative integer Decode() yields) for n ≤ kGroupBlocks blocks, zeros up to `padded`.
struct Q4_0 {
  using Block = BlockQ4_0;
  static constexpr bool kHasOffset = true;
  static HWY_INLINE void Scales(const Block* blocks, int64_t n, int64_t padded, float* scale,
                                 float* offset) {
    GatherHalves(blocks, n, padded, offsetof(Block, d), scale);
    for (int64_t i = 0; i < padded; ++i) offset[i] = -8.0f * scale[i];
  }
  static HWY_INLINE void Decode(const Block& block, V16* w) { NibbleBlock(block, w); }
};

struct Q4_1 {
  using Block = BlockQ4_1;
  static constexpr bool kHasOffset = true;
  static HWY_INLINE void Scales(const Block* blocks, int64_t n, int64_t padded, float* scale,
                                 float* offset) {
    GatherHalves(blocks, n, padded, offsetof(Block, d), scale);
    GatherHalves(blocks, n, padded, offsetof(Block, m), offset);
  }
  static HWY_INLINE void Decode(const Block& block, V16* w) { NibbleBlock(block, w); }
};

struct Q5_0 {
  using Block = BlockQ5_0;
  static constexpr bool kHasOffset = true;
  static HWY_INLINE void Scales(const Block* blocks, int64_t n, int64_t padded, float* scale,
                                 float* offset) {
    GatherHalves(blocks, n, padded, offsetof(Block, d), scale);
    for (int64_t i = 0; i < padded; ++i) offset[i] = -16.0f * scale[i];
  }
  static HWY_INLINE void Decode(const Block& block, V16* w) {
    NibbleBlock(block, w);
    FifthBits(block, w);
  }
};

struct Q5_1 {
  using Block = BlockQ5_1;
  static constexpr bool kHasOffset = true;
  static HWY_INLINE void Scales(const Block* blocks, int64_t n, int64_t padded, float* scale,
                                 float* offset) {
    GatherHalves(blocks, n, padded, offsetof(Block, d), scale);
    GatherHalves(blocks, n, padded, offsetof(Block, m), offset);
  }
  static HWY_INLINE void Decode(const Block& block, V16* w) {
    NibbleBlock(block, w);
    FifthBits(block, w);
  }
};

struct Q8_0 {
  using Block = BlockQ8_0;
  static constexpr bool kHasOffset = false;
  static HWY_INLINE void Scales(const Block* blocks, int64_t n, int64_t padded, float* scale,
                                 float*) {
    GatherHalves(blocks, n, padded, offsetof(Block, d), scale);
  }
  static HWY_INLINE void Decode(const Block& block, V16* w) {
    for (int c = 0; c < kChunks; ++c) {
      w[c] = hn::PromoteTo(D16(), hn::LoadU(DI8(), block.qs + c * kLanes16));
    }
  }
};

struct MXFP4 {
  using Block = BlockMXFP4;
  static constexpr bool kHasOffset = false;
  // 2^(e−128) as ggml computes it, denormals for e < 2 included.
  static HWY_INLINE float E8M0Half(uint8_t e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
    return std::bit_cast<float>(bits);
  }
  static HWY_INLINE void Scales(const Block* blocks, int64_t n, int64_t padded, float* scale,
                                 float*) {
    for (int64_t i = 0; i < n; ++i) scale[i] = E8M0Half(blocks[i].e);
    for (int64_t i = n; i < padded; ++i) scale[i] = 0.0f;
  }
  static HWY_INLINE void Decode(const Block& block, V16* w) {
    LookupNibbles(block.qs, kE2M1x2, w);
  }
};

struct IQ4_NL {
  using Block = BlockIQ4_NL;
  static constexpr bool kHasOffset = false;
  static HWY_INLINE void Scales(const Block* blocks, int64_t n, int64_t padded, float* scale,
                                 float*) {
    GatherHalves(blocks, n, padded, offsetof(Block, d), scale);
  }
  static HWY_INLINE void Decode(const Block& block, V16* w) {
    LookupNibbles(block.qs, kIQ4NLValues, w);
  }
};

// For the kGroupBlocks-block group at `group` (n blocks): scale[t][i] = d_w·d_x of each block
// and token, zeros up to whole vectors; adds each token's Σ o·d_x·Σq to offset[t].
template <class Type, int kTokens>
HWY_INLINE void GroupScales(const typename Type::Block* blocks, const QuantizedActivations& acts,
                            int64_t t0, int64_t group, int64_t n,
                            float (&scale)[kTokens][kGroupBlocks], VF (&offset)[kTokens]) {
  const DF df;
  const D32 d32;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t padded = (n + lanes - 1) / lanes * lanes;
  alignas(64) float weight_scale[kGroupBlocks];
  alignas(64) float weight_offset[kGroupBlocks];
  Type::Scales(blocks + group, n, padded, weight_scale, weight_offset);
  for (int t = 0; t < kTokens; ++t) {
    const float* dx = acts.scale_row(t0 + t) + group;
    const int32_t* sums = acts.sums_row(t0 + t) + group;
    for (int64_t i = 0; i < padded; i += lanes) {
      const VF dxv = hn::LoadU(df, dx + i);
      hn::Store(hn::Mul(hn::Load(df, weight_scale + i), dxv), df, scale[t] + i);
      if constexpr (Type::kHasOffset) {
        const VF sum = hn::Mul(dxv, hn::ConvertTo(df, hn::LoadU(d32, sums + i)));
        offset[t] = hn::MulAdd(hn::Load(df, weight_offset + i), sum, offset[t]);
      }
    }
  }
}

// y[t, row] for tokens t0 .. t0 + kTokens − 1. Each token has two accumulators (even and odd
// blocks) to hide the FMA latency; the order of operations per token does not depend on
// kTokens, so prefill and token-by-token decode give identical results.
template <class Type, int kTokens>
HWY_INLINE void RowTile(const TensorView& weight, const QuantizedActivations& acts, int64_t row,
                        int64_t t0, float* HWY_RESTRICT y) {
  using Block = typename Type::Block;
  const DF df;
  const int64_t num_blocks = weight.cols() / kQK;
  const Block* blocks = reinterpret_cast<const Block*>(weight.row(row));
  VF acc0[kTokens], acc1[kTokens], offset[kTokens];
  const int16_t* x[kTokens];  // quantized activations of each token
  for (int t = 0; t < kTokens; ++t) {
    acc0[t] = acc1[t] = offset[t] = hn::Zero(df);
    x[t] = acts.q_row(t0 + t);
  }
  alignas(64) float scale[kTokens][kGroupBlocks];  // d_w · d_x per block and token
  for (int64_t group = 0; group < num_blocks; group += kGroupBlocks) {
    const int64_t n = std::min(kGroupBlocks, num_blocks - group);
    GroupScales<Type, kTokens>(blocks, acts, t0, group, n, scale, offset);
    const auto step = [&](int64_t b, VF(&acc)[kTokens]) HWY_ATTR {
      V16 w[kChunks];
      Type::Decode(blocks[group + b], w);
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

}  // namespace

void MatMulRowsLegacyImpl(const TensorView& weight, const QuantizedActivations& acts,
                          int64_t row_begin, int64_t row_end, float* y) {
#if SNUG_MATMUL_BYTES
  switch (weight.dtype) {
    case DType::kQ4_0: return x86::Rows<x86::Q4_0>(weight, acts, row_begin, row_end, y);
    case DType::kQ8_0: return x86::Rows<x86::Q8_0>(weight, acts, row_begin, row_end, y);
    case DType::kMXFP4: return x86::Rows<x86::MXFP4>(weight, acts, row_begin, row_end, y);
    case DType::kIQ4_NL: return x86::Rows<x86::IQ4_NL>(weight, acts, row_begin, row_end, y);
    default: break;
  }
#endif
  switch (weight.dtype) {
    case DType::kQ4_0: return Rows<Q4_0>(weight, acts, row_begin, row_end, y);
    case DType::kQ4_1: return Rows<Q4_1>(weight, acts, row_begin, row_end, y);
    case DType::kQ5_0: return Rows<Q5_0>(weight, acts, row_begin, row_end, y);
    case DType::kQ5_1: return Rows<Q5_1>(weight, acts, row_begin, row_end, y);
    case DType::kQ8_0: return Rows<Q8_0>(weight, acts, row_begin, row_end, y);
    case DType::kMXFP4: return Rows<MXFP4>(weight, acts, row_begin, row_end, y);
    case DType::kIQ4_NL: return Rows<IQ4_NL>(weight, acts, row_begin, row_end, y);
    default: CHECK(false) << "not a 32-block weight type: " << Name(weight.dtype);
  }
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {
HWY_EXPORT(MatMulRowsLegacyImpl);

void internal::MatMulRowsLegacy(const TensorView& weight, const QuantizedActivations& acts,
                                int64_t row_begin, int64_t row_end, float* y) {
  HWY_DYNAMIC_DISPATCH(MatMulRowsLegacyImpl)(weight, acts, row_begin, row_end, y);
}
}  // namespace snug::kernels
#endif  // HWY_ONCE
