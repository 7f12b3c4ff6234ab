// Matrix products of the 256-value super-block types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS:
// 4- to 8-bit sub-block scales) against activations quantized to int8 with one scale per 256
// values. The sub-block scale multiplies the int16 weights before the multiply-add, so a whole
// super-block sums in int32 (|sum| < 2^31: at most 256·(31·63)·127 for Q5_K, 256·(32·128)·127
// for Q6_K and IQ4_XS) and converts to f32 once. The mins of Q4_K/Q5_K use the activations'
// 32-value sums; Q2_K's, per 16 values, a second integer dot of the mins with the activations.

// Arrays of vectors are not allowed for SVE's sizeless types: arm64 dispatches to NEON.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif

#include <cstdint>
#include <type_traits>

#include "base/check.h"
#include "kernels/matmul_internal.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matmul_k.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "kernels/matmul_simd-inl.h"
#include "kernels/matmul_k_x86-inl.h"


HWY_BEFORE_NAMESPACE();
namespace snug::kernels::HWY_NAMESPACE {
namespace {

using internal::QuantizedActivations;

// The 6-bit scales and mins of Q4_K/Q5_K (specs/models.md §6.3).
HWY_INLINE void ScalesAndMins(const uint8_t* sc, int* scale, int* min) {
  for (int s = 0; s < 4; ++s) {
    scale[s] = sc[s] & 63;
    min[s] = sc[s + 4] & 63;
    scale[s + 4] = (sc[s + 8] & 0xF) | ((sc[s] >> 6) << 4);
    min[s + 4] = (sc[s + 8] >> 4) | ((sc[s + 4] >> 6) << 4);
  }
}

// A vector whose lanes hold the scale of their 16-value group: scales[first / 16] for the
// chunk of values [first, first + kLanes16) (two groups in one vector on AVX-512).
HWY_INLINE V16 GroupScale(const int8_t* scales, int first) {
#if HWY_TARGET <= HWY_AVX3
  const hn::Half<D16> dh;
  return hn::Combine(D16(), hn::Set(dh, scales[1]), hn::Set(dh, scales[0]));
#else
  return hn::Set(D16(), scales[first / 16]);
#endif
}

// Per-token int32 sums of one super-block, and each token's activations for it. Plain arrays
// (no struct of vectors: its implicit constructor would miss the target attributes on Arm).
template <int kTokens>
using Sums = VI32[kTokens];
template <int kTokens>
using Activations = const int16_t* [kTokens];

// Multiply-adds weights w (values [first, first + kLanes16) of the super-block).
template <int kTokens>
HWY_INLINE void AddProducts(V16 w, int first, const Activations<kTokens>& x, Sums<kTokens>& sum0,
                            Sums<kTokens>& sum1) {
  for (int t = 0; t < kTokens; ++t) {
    sum0[t] = hn::ReorderWidenMulAccumulate(D32(), w, hn::LoadU(D16(), x[t] + first), sum0[t],
                                            sum1[t]);
  }
}

// How a type's mins enter: none; Σ min_s · (activation sums per 32) (Q4_K, Q5_K); or a
// second integer dot Σ min·x accumulated by Accumulate into `mins` (Q2_K, per 16 values).
enum class Mins { kNone, kSums32, kDot };

// Each type: Accumulate() adds Σ scale_s·q·x over the super-block into `sum0/sum1` (and for
// Mins::kDot, Σ min_s·x into `min0/min1`).
struct Q4_K {
  using Block = BlockQ4_K;
  static constexpr Mins kMins = Mins::kSums32;
  template <int kTokens>
  static HWY_INLINE void Accumulate(const Block& block, const int* scale,
                                    const Activations<kTokens>& x, Sums<kTokens>& sum0,
                                    Sums<kTokens>& sum1, Sums<kTokens>&, Sums<kTokens>&) {
    const auto add = [&](V16 w, int first) HWY_ATTR {
      AddProducts<kTokens>(w, first, x, sum0, sum1);
    };
    const DU16 du16;
    for (int c = 0; c < 4; ++c) {
      const V16 scale_low = hn::Set(D16(), static_cast<int16_t>(scale[2 * c]));
      const V16 scale_high = hn::Set(D16(), static_cast<int16_t>(scale[2 * c + 1]));
      for (int k = 0; k < kChunks; ++k) {
        const VU16 v = hn::PromoteTo(du16, hn::LoadU(DU8(), block.qs + 32 * c + k * kLanes16));
        const V16 low = hn::BitCast(D16(), hn::And(v, hn::Set(du16, 0xF)));
        const V16 high = hn::BitCast(D16(), hn::ShiftRight<4>(v));
        add(hn::Mul(low, scale_low), 64 * c + k * kLanes16);
        add(hn::Mul(high, scale_high), 64 * c + 32 + k * kLanes16);
      }
    }
  }
};

struct Q5_K {
  using Block = BlockQ5_K;
  static constexpr Mins kMins = Mins::kSums32;
  template <int kTokens>
  static HWY_INLINE void Accumulate(const Block& block, const int* scale,
                                    const Activations<kTokens>& x, Sums<kTokens>& sum0,
                                    Sums<kTokens>& sum1, Sums<kTokens>&, Sums<kTokens>&) {
    const auto add = [&](V16 w, int first) HWY_ATTR {
      AddProducts<kTokens>(w, first, x, sum0, sum1);
    };
    const DU16 du16;
    const VU16 sixteen = hn::Set(du16, 16);
    for (int c = 0; c < 4; ++c) {
      const V16 scale_low = hn::Set(D16(), static_cast<int16_t>(scale[2 * c]));
      const V16 scale_high = hn::Set(D16(), static_cast<int16_t>(scale[2 * c + 1]));
      const VU16 bit_low = hn::Set(du16, static_cast<uint16_t>(1u << (2 * c)));
      const VU16 bit_high = hn::Set(du16, static_cast<uint16_t>(2u << (2 * c)));
      for (int k = 0; k < kChunks; ++k) {
        const VU16 v = hn::PromoteTo(du16, hn::LoadU(DU8(), block.qs + 32 * c + k * kLanes16));
        const VU16 h = hn::PromoteTo(du16, hn::LoadU(DU8(), block.qh + k * kLanes16));
        const VU16 low = hn::Or(hn::And(v, hn::Set(du16, 0xF)),
                                hn::IfThenElseZero(hn::TestBit(h, bit_low), sixteen));
        const VU16 high =
            hn::Or(hn::ShiftRight<4>(v), hn::IfThenElseZero(hn::TestBit(h, bit_high), sixteen));
        add(hn::Mul(hn::BitCast(D16(), low), scale_low), 64 * c + k * kLanes16);
        add(hn::Mul(hn::BitCast(D16(), high), scale_high), 64 * c + 32 + k * kLanes16);
      }
    }
  }
};

struct Q6_K {
  using Block = BlockQ6_K;
  static constexpr Mins kMins = Mins::kNone;
  template <int kTokens>
  static HWY_INLINE void Accumulate(const Block& block, const int*, const Activations<kTokens>& x,
                                    Sums<kTokens>& sum0, Sums<kTokens>& sum1, Sums<kTokens>&,
                                    Sums<kTokens>&) {
    const auto add = [&](V16 w, int first) HWY_ATTR {
      AddProducts<kTokens>(w, first, x, sum0, sum1);
    };
    const DU16 du16;
    const V16 offset = hn::Set(D16(), 32);
    const auto value = [&](VU16 v) HWY_ATTR { return hn::Sub(hn::BitCast(D16(), v), offset); };
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = block.ql + 64 * n;
      const uint8_t* qh = block.qh + 32 * n;
      const int8_t* sc = block.scales + 8 * n;
      for (int k = 0; k < kChunks; ++k) {
        const int first = k * kLanes16;  // l of specs/models.md §6.5
        const VU16 a = hn::PromoteTo(du16, hn::LoadU(DU8(), ql + first));
        const VU16 b = hn::PromoteTo(du16, hn::LoadU(DU8(), ql + 32 + first));
        const VU16 h = hn::PromoteTo(du16, hn::LoadU(DU8(), qh + first));
        const VU16 mask = hn::Set(du16, 0xF);
        const VU16 q1 = hn::Or(hn::And(a, mask), hn::ShiftLeft<4>(hn::And(h, hn::Set(du16, 3))));
        const VU16 q2 =
            hn::Or(hn::And(b, mask), hn::ShiftLeft<2>(hn::And(h, hn::Set(du16, 12))));
        const VU16 q3 = hn::Or(hn::ShiftRight<4>(a), hn::And(h, hn::Set(du16, 48)));
        const VU16 q4 =
            hn::Or(hn::ShiftRight<4>(b), hn::ShiftRight<2>(hn::And(h, hn::Set(du16, 192))));
        const int base = 128 * n + first;
        add(hn::Mul(value(q1), GroupScale(sc + 0, first)), base);
        add(hn::Mul(value(q2), GroupScale(sc + 2, first)), base + 32);
        add(hn::Mul(value(q3), GroupScale(sc + 4, first)), base + 64);
        add(hn::Mul(value(q4), GroupScale(sc + 6, first)), base + 96);
      }
    }
  }
};

// Q2_K and Q3_K: per 128 values, shifts 0, 2, 4, 6 of 32 bytes give 4 × 32 values (16-value
// sub-blocks 8n + 2j and 8n + 2j + 1); `value(v, n, j, first)` turns the shifted 2-bit codes of
// values [first, first + kLanes16) into the int16 weights before the sub-block scale.
template <int kTokens, class Value>
HWY_INLINE void TwoBitPlanes(const uint8_t* qs, const int8_t* scales, const int8_t* mins,
                             const Activations<kTokens>& x, Sums<kTokens>& sum0,
                             Sums<kTokens>& sum1, Sums<kTokens>& min0, Sums<kTokens>& min1,
                             const Value& value) {
  const DU16 du16;
  for (int n = 0; n < 2; ++n) {
    for (int j = 0; j < 4; ++j) {
      for (int k = 0; k < kChunks; ++k) {
        const int first = k * kLanes16;
        const VU16 bytes = hn::PromoteTo(du16, hn::LoadU(DU8(), qs + 32 * n + first));
        const VU16 code = hn::And(hn::ShiftRightSame(bytes, 2 * j), hn::Set(du16, 3));
        const int base = 128 * n + 32 * j + first;
        const int8_t* sub = scales + 8 * n + 2 * j;
        AddProducts<kTokens>(hn::Mul(value(code, n, j, first), GroupScale(sub, first)), base, x,
                             sum0, sum1);
        if (mins != nullptr) {
          AddProducts<kTokens>(GroupScale(mins + 8 * n + 2 * j, first), base, x, min0, min1);
        }
      }
    }
  }
}

struct Q2_K {
  using Block = BlockQ2_K;
  static constexpr Mins kMins = Mins::kDot;
  template <int kTokens>
  static HWY_INLINE void Accumulate(const Block& block, const int*, const Activations<kTokens>& x,
                                    Sums<kTokens>& sum0, Sums<kTokens>& sum1,
                                    Sums<kTokens>& min0, Sums<kTokens>& min1) {
    int8_t scales[16], mins[16];
    for (int s = 0; s < 16; ++s) {
      scales[s] = static_cast<int8_t>(block.scales[s] & 0xF);
      mins[s] = static_cast<int8_t>(block.scales[s] >> 4);
    }
    TwoBitPlanes<kTokens>(block.qs, scales, mins, x, sum0, sum1, min0, min1,
                          [](VU16 code, int, int, int) HWY_ATTR {
                            return hn::BitCast(D16(), code);
                          });
  }
};

struct Q3_K {
  using Block = BlockQ3_K;
  static constexpr Mins kMins = Mins::kNone;
  template <int kTokens>
  static HWY_INLINE void Accumulate(const Block& block, const int*, const Activations<kTokens>& x,
                                    Sums<kTokens>& sum0, Sums<kTokens>& sum1,
                                    Sums<kTokens>& min0, Sums<kTokens>& min1) {
    int8_t scales[16];  // 6-bit, less 32 (ggml's kmask shuffle, per scale)
    const uint8_t* sc = block.scales;
    for (int s = 0; s < 16; ++s) {
      const int low = s < 8 ? sc[s] & 0xF : sc[s - 8] >> 4;
      const int high = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
      scales[s] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
    const DU16 du16;
    // q = code − 4 where the hmask bit (4n + j) of the value is clear.
    const auto value = [&](VU16 code, int n, int j, int first) HWY_ATTR {
      const VU16 h = hn::PromoteTo(du16, hn::LoadU(DU8(), block.hmask + first));
      const VU16 bit = hn::Set(du16, static_cast<uint16_t>(1u << (4 * n + j)));
      const VU16 high = hn::IfThenElseZero(hn::TestBit(h, bit), hn::Set(du16, 4));
      return hn::Sub(hn::BitCast(D16(), hn::Or(code, high)), hn::Set(D16(), 4));
    };
    TwoBitPlanes<kTokens>(block.qs, scales, nullptr, x, sum0, sum1, min0, min1, value);
  }
};

struct IQ4_XS {
  using Block = BlockIQ4_XS;
  static constexpr Mins kMins = Mins::kNone;
  template <int kTokens>
  static HWY_INLINE void Accumulate(const Block& block, const int*, const Activations<kTokens>& x,
                                    Sums<kTokens>& sum0, Sums<kTokens>& sum1, Sums<kTokens>&,
                                    Sums<kTokens>&) {
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const int ls = ((block.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) |
                     (((block.scales_h >> (2 * ib)) & 3) << 4);
      const V16 scale = hn::Set(D16(), static_cast<int16_t>(ls - 32));
      V16 w[kChunks];
      LookupNibbles(block.qs + 16 * ib, kIQ4NLValues, w);
      for (int c = 0; c < kChunks; ++c) {
        AddProducts<kTokens>(hn::Mul(w[c], scale), 32 * ib + c * kLanes16, x, sum0, sum1);
      }
    }
  }
};

// y[t, row] for tokens t0 .. t0 + kTokens − 1; per token, the order of operations does not
// depend on kTokens (prefill equals token-by-token decode). Even and odd super-blocks use
// separate f32 accumulators to hide the FMA latency.
template <class Type, int kTokens>
HWY_INLINE void RowTile(const TensorView& weight, const QuantizedActivations& acts, int64_t row,
                        int64_t t0, float* HWY_RESTRICT y) {
  using Block = typename Type::Block;
  const DF df;
  const int64_t num_blocks = weight.cols() / kQK_K;
  const Block* blocks = reinterpret_cast<const Block*>(weight.row(row));
  VF acc0[kTokens], acc1[kTokens], min_acc[kTokens];
  float min_total[kTokens];
  for (int t = 0; t < kTokens; ++t) {
    acc0[t] = acc1[t] = min_acc[t] = hn::Zero(df);
    min_total[t] = 0.0f;
  }
  const auto step = [&](int64_t b, VF(&acc)[kTokens]) HWY_ATTR {
    const Block& block = blocks[b];
    int scale[8], min[8];
    if constexpr (Type::kMins == Mins::kSums32) ScalesAndMins(block.scales, scale, min);
    Sums<kTokens> sum0, sum1, min0, min1;
    Activations<kTokens> x;
    for (int t = 0; t < kTokens; ++t) {
      sum0[t] = sum1[t] = min0[t] = min1[t] = hn::Zero(D32());
      x[t] = acts.q_row(t0 + t) + b * kQK_K;
    }
    Type::template Accumulate<kTokens>(block, scale, x, sum0, sum1, min0, min1);
    const float d = F16ToF32(block.d);
    for (int t = 0; t < kTokens; ++t) {
      const float dx = acts.scale_row(t0 + t)[b];
      const VI32 dot = hn::RearrangeToOddPlusEven(sum0[t], sum1[t]);
      acc[t] = hn::MulAdd(hn::ConvertTo(df, dot), hn::Set(df, d * dx), acc[t]);
      if constexpr (Type::kMins == Mins::kDot) {
        const VI32 mins = hn::RearrangeToOddPlusEven(min0[t], min1[t]);
        min_acc[t] = hn::MulAdd(hn::ConvertTo(df, mins), hn::Set(df, F16ToF32(block.dmin) * dx),
                                min_acc[t]);
      }
      if constexpr (Type::kMins == Mins::kSums32) {
        const int32_t* x_sums = acts.sums_row(t0 + t) + b * 8;
        int32_t mins = 0;
        for (int s = 0; s < 8; ++s) mins += min[s] * x_sums[s];
        min_total[t] += F16ToF32(block.dmin) * dx * static_cast<float>(mins);
      }
    }
  };
  int64_t b = 0;
  for (; b + 2 <= num_blocks; b += 2) {
    step(b, acc0);
    step(b + 1, acc1);
  }
  if (b < num_blocks) step(b, acc0);
  const int64_t rows = weight.rows();
  for (int t = 0; t < kTokens; ++t) {
    const VF total = hn::Sub(hn::Add(acc0[t], acc1[t]), min_acc[t]);
    const float dot = hn::GetLane(hn::SumOfLanes(df, total));
    y[(t0 + t) * rows + row] = dot - min_total[t];
  }
}

template <class Type>
HWY_NOINLINE void Rows(const TensorView& weight, const QuantizedActivations& acts,
                       int64_t row_begin, int64_t row_end, float* y) {
  ForEachTile(row_begin, row_end, acts.num_tokens,
              [&]<int kTokens>(int64_t row, int64_t t0) HWY_ATTR {
                RowTile<Type, kTokens>(weight, acts, row, t0, y);
              });
}

}  // namespace

void MatMulRowsKImpl(const TensorView& weight, const QuantizedActivations& acts,
                     int64_t row_begin, int64_t row_end, float* y) {
#if SNUG_MATMUL_BYTES
  switch (weight.dtype) {
    case DType::kQ4_K: return x86::SuperBlockRows<x86::Q4_K>(weight, acts, row_begin, row_end, y);
    case DType::kQ5_K: return x86::SuperBlockRows<x86::Q5_K>(weight, acts, row_begin, row_end, y);
    case DType::kQ6_K: return x86::SuperBlockRows<x86::Q6_K>(weight, acts, row_begin, row_end, y);
    default: break;
  }
#endif
  switch (weight.dtype) {
    case DType::kQ4_K: return Rows<Q4_K>(weight, acts, row_begin, row_end, y);
    case DType::kQ5_K: return Rows<Q5_K>(weight, acts, row_begin, row_end, y);
    case DType::kQ6_K: return Rows<Q6_K>(weight, acts, row_begin, row_end, y);
    case DType::kQ2_K: return Rows<Q2_K>(weight, acts, row_begin, row_end, y);
    case DType::kQ3_K: return Rows<Q3_K>(weight, acts, row_begin, row_end, y);
    case DType::kIQ4_XS: return Rows<IQ4_XS>(weight, acts, row_begin, row_end, y);
    default: CHECK(false) << "not a K weight type: " << Name(weight.dtype);
  }
}

}  // namespace snug::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace snug::kernels {
HWY_EXPORT(MatMulRowsKImpl);

void internal::MatMulRowsK(const TensorView& weight, const QuantizedActivations& acts,
                           int64_t row_begin, int64_t row_end, float* y) {
  HWY_DYNAMIC_DISPATCH(MatMulRowsKImpl)(weight, acts, row_begin, row_end, y);
}
}  // namespace snug::kernels
#endif  // HWY_ONCE
