// DequantizeRow, the dispatched entry point (embedding lookups, fallbacks of other kernels).
// SIMD for the types read a row at a time in bulk (F16, BF16, Q8_0, Q4_0, MXFP4); the others go
// to the scalar twin. Every SIMD path is bit-exact with reference::DequantizeRow (tested).
#include <cstring>

#include "base/check.h"
#include "kernels/kernels.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/dequantize.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace snug::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// At most 16 lanes: one vector covers the 16 bytes of nibbles in a 32-element block.
using FloatTag = hn::CappedTag<float, 16>;

// Returns false where the vector does not tile a half block (an SVE length such as 384 bits).
bool TilesHalfBlock() { return (kQK / 2) % hn::Lanes(FloatTag()) == 0; }

void DequantizeF16(const uint16_t* src, float* dst, int64_t elements) {
  const FloatTag df;
  const hn::Rebind<hwy::float16_t, FloatTag> dh;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const hwy::float16_t* halves = reinterpret_cast<const hwy::float16_t*>(src);
  int64_t i = 0;
  for (; i + lanes <= elements; i += lanes) {
    hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, halves + i)), df, dst + i);
  }
  for (; i < elements; ++i) dst[i] = F16ToF32(src[i]);
}

void DequantizeBf16(const uint16_t* src, float* dst, int64_t elements) {
  const FloatTag df;
  const hn::Rebind<uint32_t, FloatTag> du32;
  const hn::Rebind<uint16_t, FloatTag> du16;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  int64_t i = 0;
  for (; i + lanes <= elements; i += lanes) {
    const auto bits = hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, src + i)));
    hn::StoreU(hn::BitCast(df, bits), df, dst + i);
  }
  for (; i < elements; ++i) dst[i] = Bf16ToF32(src[i]);
}

void DequantizeQ8_0(const BlockQ8_0* blocks, float* y, int64_t num_blocks) {
  const FloatTag df;
  const hn::Rebind<int8_t, FloatTag> d8;
  const hn::Rebind<int32_t, FloatTag> di;
  const size_t lanes = hn::Lanes(df);
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const auto d = hn::Set(df, F16ToF32(blocks[i].d));
    for (size_t j = 0; j < kQK; j += lanes) {
      const auto q = hn::PromoteTo(di, hn::LoadU(d8, blocks[i].qs + j));
      hn::StoreU(hn::Mul(hn::ConvertTo(df, q), d), df, y + j);
    }
  }
}

void DequantizeQ4_0(const BlockQ4_0* blocks, float* y, int64_t num_blocks) {
  const FloatTag df;
  const hn::Rebind<uint8_t, FloatTag> d8;
  const hn::Rebind<int32_t, FloatTag> di;
  const size_t lanes = hn::Lanes(df);
  const auto low_mask = hn::Set(di, 0xF);
  const auto eight = hn::Set(di, 8);
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    const auto d = hn::Set(df, F16ToF32(blocks[i].d));
    for (size_t j = 0; j < kQK / 2; j += lanes) {
      const auto bytes = hn::PromoteTo(di, hn::LoadU(d8, blocks[i].qs + j));
      const auto low = hn::Sub(hn::And(bytes, low_mask), eight);
      const auto high = hn::Sub(hn::ShiftRight<4>(bytes), eight);
      hn::StoreU(hn::Mul(hn::ConvertTo(df, low), d), df, y + j);
      hn::StoreU(hn::Mul(hn::ConvertTo(df, high), d), df, y + kQK / 2 + j);
    }
  }
}

// kE2M1x2[nibble] computed in lanes: magnitudes 0,1,2,3,4,6,8,12 are m for m < 2, else
// (2 + (m & 1)) << (m/2 - 1); bit 3 is the sign (an integer negation, so nibble 8 stays +0).
template <class DI, class V>
V E2M1x2(DI di, V nibble) {
  const auto one = hn::Set(di, 1);
  const auto magnitude = hn::And(nibble, hn::Set(di, 7));
  const auto shift = hn::Max(hn::Sub(hn::ShiftRight<1>(magnitude), one), hn::Zero(di));
  const auto large = hn::Shl(hn::Add(hn::Set(di, 2), hn::And(magnitude, one)), shift);
  const auto value = hn::IfThenElse(hn::Lt(magnitude, hn::Set(di, 2)), magnitude, large);
  const auto negative = hn::Ne(hn::And(nibble, hn::Set(di, 8)), hn::Zero(di));
  return hn::IfThenElse(negative, hn::Sub(hn::Zero(di), value), value);
}

void DequantizeMXFP4(const BlockMXFP4* blocks, float* y, int64_t num_blocks) {
  const FloatTag df;
  const hn::Rebind<uint8_t, FloatTag> d8;
  const hn::Rebind<int32_t, FloatTag> di;
  const size_t lanes = hn::Lanes(df);
  for (int64_t i = 0; i < num_blocks; ++i, y += kQK) {
    // 2^(e-128), subnormal for e < 2 (ggml_e8m0_to_fp32_half).
    const uint8_t e = blocks[i].e;
    const uint32_t scale_bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
    float scale;
    std::memcpy(&scale, &scale_bits, sizeof(scale));
    const auto d = hn::Set(df, scale);
    for (size_t j = 0; j < kQK / 2; j += lanes) {
      const auto bytes = hn::PromoteTo(di, hn::LoadU(d8, blocks[i].qs + j));
      const auto low = E2M1x2(di, hn::And(bytes, hn::Set(di, 0xF)));
      const auto high = E2M1x2(di, hn::ShiftRight<4>(bytes));
      hn::StoreU(hn::Mul(hn::ConvertTo(df, low), d), df, y + j);
      hn::StoreU(hn::Mul(hn::ConvertTo(df, high), d), df, y + kQK / 2 + j);
    }
  }
}

// Returns false for types without a SIMD path here (the caller uses the reference).
bool DequantizeRowSimd(DType type, const void* src, float* dst, int64_t elements) {
  switch (type) {
    case DType::kF16:
      DequantizeF16(static_cast<const uint16_t*>(src), dst, elements);
      return true;
    case DType::kBF16:
      DequantizeBf16(static_cast<const uint16_t*>(src), dst, elements);
      return true;
    case DType::kQ8_0:
      if (!TilesHalfBlock()) return false;
      DequantizeQ8_0(static_cast<const BlockQ8_0*>(src), dst, elements / kQK);
      return true;
    case DType::kQ4_0:
      if (!TilesHalfBlock()) return false;
      DequantizeQ4_0(static_cast<const BlockQ4_0*>(src), dst, elements / kQK);
      return true;
    case DType::kMXFP4:
      if (!TilesHalfBlock()) return false;
      DequantizeMXFP4(static_cast<const BlockMXFP4*>(src), dst, elements / kQK);
      return true;
    default:
      return false;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace snug::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {

HWY_EXPORT(DequantizeRowSimd);

void DequantizeRow(DType type, const void* src, float* dst, int64_t elements) {
  const int block_elements = Info(type).block_elements;
  CHECK(elements % block_elements == 0)
      << Name(type) << ": " << elements << " is not a multiple of " << block_elements;
  if (HWY_DYNAMIC_DISPATCH(DequantizeRowSimd)(type, src, dst, elements)) return;
  reference::DequantizeRow(type, src, dst, elements);
}

// MLX rows are read a row at a time only for embeddings (one token's row per step): the
// scalar twin serves.
void DequantizeRow(const TensorView& weight, int64_t row, float* dst) {
  if (IsMlx(weight.dtype)) return reference::DequantizeRow(weight, row, dst);
  DequantizeRow(weight.dtype, weight.row(row), dst, weight.cols());
}

}  // namespace snug::kernels
#endif  // HWY_ONCE
