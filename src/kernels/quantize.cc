// f32 → weight types. The legacy types and MXFP4 follow ggml's reference quantizers
// (quantize_row_*_ref in ggml-quants.c) so files we write round-trip as well as llama.cpp's;
// the K types, IQ4_NL and IQ4_XS use a plain max scale per sub-block (valid ggml blocks,
// simpler than ggml's least-squares and grid searches). Inputs are expected finite; non-finite values never cause UB.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "kernels/kernels.h"
#include "kernels/quantize_internal.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

using internal::NearestE2M1;

// C's (int8_t) cast of a float, made total: clamps first (NaN → lo) so out-of-range input is
// defined; for in-range values it truncates toward zero exactly as ggml's casts do.
int TruncateClamped(float v, int lo, int hi) {
  if (!(v >= static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(v);
}

// Round half to even (ggml's nearest_int), clamped to [lo, hi]; NaN → lo.
int NearestClamped(float v, int lo, int hi) {
  if (!(v >= static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return static_cast<int>(std::nearbyint(v));
}

void QuantizeQ8_0(const float* x, BlockQ8_0* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    for (int j = 0; j < kQK; ++j) {
      // roundf: halves away from zero, as ggml.
      y[i].qs[j] = static_cast<int8_t>(TruncateClamped(std::round(x[j] * id), -127, 127));
    }
  }
}

// The signed value of largest magnitude (its sign picks which end of the grid is exact).
float SignedAbsMax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void QuantizeQ4_0(const float* x, BlockQ4_0* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK) {
    const float d = SignedAbsMax(x, kQK) / -8.0f;  // the extreme maps to -8, exactly
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = TruncateClamped(x[j] * id + 8.5f, 0, 15);
      const int q1 = TruncateClamped(x[j + kQK / 2] * id + 8.5f, 0, 15);
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void QuantizeQ4_1(const float* x, BlockQ4_1* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK) {
    const auto [min_it, max_it] = std::minmax_element(x, x + kQK);
    const float min = *min_it;
    const float d = (*max_it - min) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    y[i].m = F32ToF16(min);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = TruncateClamped((x[j] - min) * id + 0.5f, 0, 15);
      const int q1 = TruncateClamped((x[j + kQK / 2] - min) * id + 0.5f, 0, 15);
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// Splits 32 five-bit values into low nibbles (element j low, j+16 high) and the qh bit mask.
void PackFiveBit(const int* q, uint8_t qs[kQK / 2], uint8_t qh_bytes[4]) {
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + kQK / 2] & 0xF) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + kQK / 2] >> 4) & 1) << (j + kQK / 2);
  }
  for (int b = 0; b < 4; ++b) qh_bytes[b] = static_cast<uint8_t>(qh >> (8 * b));
}

void QuantizeQ5_0(const float* x, BlockQ5_0* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK) {
    const float d = SignedAbsMax(x, kQK) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = TruncateClamped(x[j] * id + 16.5f, 0, 31);
    PackFiveBit(q, y[i].qs, y[i].qh);
  }
}

void QuantizeQ5_1(const float* x, BlockQ5_1* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK) {
    const auto [min_it, max_it] = std::minmax_element(x, x + kQK);
    const float min = *min_it;
    const float d = (*max_it - min) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = F32ToF16(d);
    y[i].m = F32ToF16(min);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = TruncateClamped((x[j] - min) * id + 0.5f, 0, 31);
    PackFiveBit(q, y[i].qs, y[i].qh);
  }
}

void QuantizeMXFP4(const float* x, BlockMXFP4* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    // The largest magnitude lands in [8, 16)·2^(e-128): the top of the grid (12) or above it.
    const int e = amax > 0.0f ? TruncateClamped(std::floor(std::log2(amax)) - 2 + 127, 0, 255) : 0;
    y[i].e = static_cast<uint8_t>(e);
    const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
    float d;  // 2^(e-128), as the dequantizer computes it
    std::memcpy(&d, &bits, sizeof(d));
    for (int j = 0; j < kQK / 2; ++j) {
      y[i].qs[j] =
          static_cast<uint8_t>(NearestE2M1(x[j], d) | (NearestE2M1(x[j + kQK / 2], d) << 4));
    }
  }
}

// ---- K types: 256-element super-blocks ---------------------------------------------------

// Packs the 6-bit scale and min of sub-block s into the 12 scale bytes (inverse of §6.3).
void PackScaleMinK4(int s, int scale, int min, uint8_t* scales) {
  if (s < 4) {
    scales[s] = static_cast<uint8_t>((scales[s] & 0xC0) | scale);
    scales[s + 4] = static_cast<uint8_t>((scales[s + 4] & 0xC0) | min);
  } else {
    scales[s + 4] = static_cast<uint8_t>((scale & 0xF) | ((min & 0xF) << 4));
    scales[s - 4] = static_cast<uint8_t>(scales[s - 4] | ((scale >> 4) << 6));
    scales[s] = static_cast<uint8_t>(scales[s] | ((min >> 4) << 6));
  }
}

void UnpackScaleMinK4(int s, const uint8_t* scales, int* scale, int* min) {
  if (s < 4) {
    *scale = scales[s] & 63;
    *min = scales[s + 4] & 63;
  } else {
    *scale = (scales[s + 4] & 0xF) | ((scales[s - 4] >> 6) << 4);
    *min = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
  }
}

// Shared by Q4_K (max_level 15) and Q5_K (31): per 32-element sub-block, y = d·sc·q − dmin·m
// with the grid spanning [min(0, min x), max x]; the 6-bit sc and m are relative to the
// largest of the super-block. Writes d, dmin, the 12 scale bytes and levels[256].
void QuantizeSuperBlockAffine(const float* x, int max_level, uint16_t* d_out, uint16_t* dmin_out,
                              uint8_t scales_out[kKScaleBytes], int levels[kQK_K]) {
  constexpr int kSubBlocks = kQK_K / 32;
  float sub_scales[kSubBlocks], sub_mins[kSubBlocks];
  float max_scale = 0.0f, max_min = 0.0f;
  for (int s = 0; s < kSubBlocks; ++s) {
    const auto [min_it, max_it] = std::minmax_element(x + 32 * s, x + 32 * s + 32);
    const float min = std::min(0.0f, *min_it);  // m is unsigned: the grid must reach 0
    sub_scales[s] = (std::max(*max_it, min) - min) / static_cast<float>(max_level);
    sub_mins[s] = -min;
    max_scale = std::max(max_scale, sub_scales[s]);
    max_min = std::max(max_min, sub_mins[s]);
  }
  const float inverse_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inverse_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
  std::memset(scales_out, 0, kKScaleBytes);
  for (int s = 0; s < kSubBlocks; ++s) {
    PackScaleMinK4(s, NearestClamped(inverse_scale * sub_scales[s], 0, 63),
                   NearestClamped(inverse_min * sub_mins[s], 0, 63), scales_out);
  }
  *d_out = F32ToF16(max_scale / 63.0f);
  *dmin_out = F32ToF16(max_min / 63.0f);
  // Levels against the scales as the dequantizer will see them (6-bit, f16-rounded).
  const float d = F16ToF32(*d_out), dmin = F16ToF32(*dmin_out);
  for (int s = 0; s < kSubBlocks; ++s) {
    int scale, min;
    UnpackScaleMinK4(s, scales_out, &scale, &min);
    const float step = d * static_cast<float>(scale);
    const float offset = dmin * static_cast<float>(min);
    for (int l = 0; l < 32; ++l) {
      levels[32 * s + l] =
          step > 0.0f ? NearestClamped((x[32 * s + l] + offset) / step, 0, max_level) : 0;
    }
  }
}

void QuantizeQ4_K(const float* x, BlockQ4_K* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK_K) {
    int levels[kQK_K];
    QuantizeSuperBlockAffine(x, 15, &y[i].d, &y[i].dmin, y[i].scales, levels);
    for (int chunk = 0; chunk < 4; ++chunk) {  // 64 elements: low nibbles, then high nibbles
      for (int l = 0; l < 32; ++l) {
        y[i].qs[32 * chunk + l] =
            static_cast<uint8_t>(levels[64 * chunk + l] | (levels[64 * chunk + 32 + l] << 4));
      }
    }
  }
}

void QuantizeQ5_K(const float* x, BlockQ5_K* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK_K) {
    int levels[kQK_K];
    QuantizeSuperBlockAffine(x, 31, &y[i].d, &y[i].dmin, y[i].scales, levels);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    for (int chunk = 0; chunk < 4; ++chunk) {
      for (int l = 0; l < 32; ++l) {
        const int low = levels[64 * chunk + l], high = levels[64 * chunk + 32 + l];
        y[i].qs[32 * chunk + l] = static_cast<uint8_t>((low & 0xF) | ((high & 0xF) << 4));
        y[i].qh[l] |=
            static_cast<uint8_t>(((low >> 4) << (2 * chunk)) | ((high >> 4) << (2 * chunk + 1)));
      }
    }
  }
}

// Q6_K: per 16-element sub-block a symmetric scale whose extreme maps to -32; the 8-bit scales
// are relative to the largest, whose level is -128.
void QuantizeQ6_K(const float* x, BlockQ6_K* y, int64_t num_blocks) {
  constexpr int kSubBlocks = kQK_K / 16;
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK_K) {
    float sub_scales[kSubBlocks];
    float max_scale = 0.0f;  // signed, of largest magnitude
    for (int s = 0; s < kSubBlocks; ++s) {
      sub_scales[s] = SignedAbsMax(x + 16 * s, 16) / -32.0f;
      if (std::fabs(sub_scales[s]) > std::fabs(max_scale)) max_scale = sub_scales[s];
    }
    const float inverse = max_scale != 0.0f ? -128.0f / max_scale : 0.0f;
    y[i].d = F32ToF16(inverse != 0.0f ? 1.0f / inverse : 0.0f);
    for (int s = 0; s < kSubBlocks; ++s) {
      y[i].scales[s] = static_cast<int8_t>(NearestClamped(inverse * sub_scales[s], -128, 127));
    }
    const float d = F16ToF32(y[i].d);
    int levels[kQK_K];  // 0..63 (the stored q + 32)
    for (int s = 0; s < kSubBlocks; ++s) {
      const float step = d * static_cast<float>(y[i].scales[s]);
      for (int l = 0; l < 16; ++l) {
        levels[16 * s + l] = step != 0.0f ? NearestClamped(x[16 * s + l] / step, -32, 31) + 32 : 32;
      }
    }
    for (int half = 0; half < 2; ++half) {
      uint8_t* ql = y[i].ql + 64 * half;
      uint8_t* qh = y[i].qh + 32 * half;
      const int* q = levels + 128 * half;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((q[l] & 0xF) | ((q[l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q[l + 32] & 0xF) | ((q[l + 96] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q[l] >> 4) | ((q[l + 32] >> 4) << 2) |
                                     ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
      }
    }
  }
}

// ---- Low-bit K types and the non-linear grid (valid ggml blocks; plain max scales, not
// ggml's searches) -------------------------------------------------------------------------

// Q2_K: per 16-value sub-block y = d·sc·q − dmin·m with q in 0..3 and 4-bit sc, m relative to
// the largest of the super-block; the grid spans [min(0, min x), max x].
void QuantizeQ2_K(const float* x, BlockQ2_K* y, int64_t num_blocks) {
  constexpr int kSubBlocks = kQK_K / 16;
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK_K) {
    float sub_scales[kSubBlocks], sub_mins[kSubBlocks], max_scale = 0.0f, max_min = 0.0f;
    for (int s = 0; s < kSubBlocks; ++s) {
      const auto [min_it, max_it] = std::minmax_element(x + 16 * s, x + 16 * s + 16);
      const float min = std::min(0.0f, *min_it);
      sub_scales[s] = (std::max(*max_it, min) - min) / 3.0f;
      sub_mins[s] = -min;
      max_scale = std::max(max_scale, sub_scales[s]);
      max_min = std::max(max_min, sub_mins[s]);
    }
    y[i].d = F32ToF16(max_scale / 15.0f);
    y[i].dmin = F32ToF16(max_min / 15.0f);
    const float d = F16ToF32(y[i].d), dmin = F16ToF32(y[i].dmin);
    std::memset(y[i].qs, 0, sizeof(y[i].qs));
    for (int s = 0; s < kSubBlocks; ++s) {
      const int scale = d > 0.0f ? NearestClamped(sub_scales[s] / d, 0, 15) : 0;
      const int min = dmin > 0.0f ? NearestClamped(sub_mins[s] / dmin, 0, 15) : 0;
      y[i].scales[s] = static_cast<uint8_t>(scale | (min << 4));
      const float step = d * static_cast<float>(scale), offset = dmin * static_cast<float>(min);
      // Sub-block s holds values 16s..16s+15: half n = s / 8, shift 2·(s % 8 / 2), bytes
      // 32n + 16·(s % 2) + l (ggml dequantize_row_q2_K's order).
      const int n = s / 8, shift = 2 * (s % 8 / 2), first = 32 * n + 16 * (s % 2);
      for (int l = 0; l < 16; ++l) {
        const int q = step > 0.0f ? NearestClamped((x[16 * s + l] + offset) / step, 0, 3) : 0;
        y[i].qs[first + l] = static_cast<uint8_t>(y[i].qs[first + l] | (q << shift));
      }
    }
  }
}

// Q3_K: per 16-value sub-block a symmetric scale whose extreme maps to −4; the 6-bit scales
// (stored + 32) are relative to the largest, whose level is −32.
void QuantizeQ3_K(const float* x, BlockQ3_K* y, int64_t num_blocks) {
  constexpr int kSubBlocks = kQK_K / 16;
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK_K) {
    float sub_scales[kSubBlocks], max_scale = 0.0f;
    for (int s = 0; s < kSubBlocks; ++s) {
      sub_scales[s] = SignedAbsMax(x + 16 * s, 16) / -4.0f;
      if (std::fabs(sub_scales[s]) > std::fabs(max_scale)) max_scale = sub_scales[s];
    }
    const float inverse = max_scale != 0.0f ? -32.0f / max_scale : 0.0f;
    y[i].d = F32ToF16(inverse != 0.0f ? 1.0f / inverse : 0.0f);
    const float d = F16ToF32(y[i].d);
    std::memset(y[i].scales, 0, sizeof(y[i].scales));
    std::memset(y[i].qs, 0, sizeof(y[i].qs));
    std::memset(y[i].hmask, 0, sizeof(y[i].hmask));
    for (int s = 0; s < kSubBlocks; ++s) {
      const int scale = NearestClamped(inverse * sub_scales[s], -32, 31);
      const int stored = scale + 32;
      if (s < 8) {
        y[i].scales[s] = static_cast<uint8_t>(y[i].scales[s] | (stored & 0xF));
      } else {
        y[i].scales[s - 8] = static_cast<uint8_t>(y[i].scales[s - 8] | ((stored & 0xF) << 4));
      }
      y[i].scales[8 + s % 4] =
          static_cast<uint8_t>(y[i].scales[8 + s % 4] | ((stored >> 4) << (2 * (s / 4))));
      const float step = d * static_cast<float>(scale);
      const int n = s / 8, j = s % 8 / 2, first = 32 * n + 16 * (s % 2);
      for (int l = 0; l < 16; ++l) {
        const int q = step != 0.0f ? NearestClamped(x[16 * s + l] / step, -4, 3) + 4 : 4;
        const int byte = first + l;  // qs index; hmask is indexed by byte % 32
        y[i].qs[byte] = static_cast<uint8_t>(y[i].qs[byte] | ((q & 3) << (2 * j)));
        if (q >= 4) {
          y[i].hmask[byte % 32] = static_cast<uint8_t>(y[i].hmask[byte % 32] | (1u << (4 * n + j)));
        }
      }
    }
  }
}

// Index of the IQ4_NL grid value nearest to v (v in grid units).
int NearestIQ4(float v) {
  int best = 0;
  for (int k = 1; k < 16; ++k) {
    if (std::fabs(kIQ4NLValues[k] - v) < std::fabs(kIQ4NLValues[best] - v)) best = k;
  }
  return best;
}

// 32 values against the grid scaled by `step` (low nibble value j, high j + 16).
void PackIQ4(const float* x, float step, uint8_t* qs) {
  const float inverse = step != 0.0f ? 1.0f / step : 0.0f;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>(NearestIQ4(x[j] * inverse) | (NearestIQ4(x[j + 16] * inverse) << 4));
  }
}

void QuantizeIQ4_NL(const float* x, BlockIQ4_NL* y, int64_t num_blocks) {
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK) {
    y[i].d = F32ToF16(SignedAbsMax(x, kQK) / -127.0f);  // the extreme maps to −127
    PackIQ4(x, F16ToF32(y[i].d), y[i].qs);
  }
}

void QuantizeIQ4_XS(const float* x, BlockIQ4_XS* y, int64_t num_blocks) {
  constexpr int kSubBlocks = kQK_K / 32;
  for (int64_t i = 0; i < num_blocks; ++i, x += kQK_K) {
    float sub_scales[kSubBlocks], max_scale = 0.0f;
    for (int s = 0; s < kSubBlocks; ++s) {
      sub_scales[s] = SignedAbsMax(x + 32 * s, 32) / -127.0f;
      if (std::fabs(sub_scales[s]) > std::fabs(max_scale)) max_scale = sub_scales[s];
    }
    const float inverse = max_scale != 0.0f ? -32.0f / max_scale : 0.0f;
    y[i].d = F32ToF16(inverse != 0.0f ? 1.0f / inverse : 0.0f);
    const float d = F16ToF32(y[i].d);
    y[i].scales_h = 0;
    std::memset(y[i].scales_l, 0, sizeof(y[i].scales_l));
    for (int s = 0; s < kSubBlocks; ++s) {
      const int scale = NearestClamped(inverse * sub_scales[s], -32, 31);
      const int stored = scale + 32;
      y[i].scales_l[s / 2] =
          static_cast<uint8_t>(y[i].scales_l[s / 2] | ((stored & 0xF) << (4 * (s % 2))));
      y[i].scales_h = static_cast<uint16_t>(y[i].scales_h | ((stored >> 4) << (2 * s)));
      PackIQ4(x + 32 * s, d * static_cast<float>(scale), y[i].qs + 16 * s);
    }
  }
}

template <class Block>
Block* Blocks(void* dst) {
  return static_cast<Block*>(dst);
}

void QuantizeRow(DType type, const float* x, int64_t cols, void* dst) {
  const int64_t num_blocks = cols / Info(type).block_elements;
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, x, static_cast<size_t>(cols) * sizeof(float));
      return;
    case DType::kF16: {
      uint16_t* halves = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < cols; ++i) halves[i] = F32ToF16(x[i]);
      return;
    }
    case DType::kBF16: {
      uint16_t* halves = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < cols; ++i) halves[i] = F32ToBf16(x[i]);
      return;
    }
    case DType::kQ8_0:
      return QuantizeQ8_0(x, Blocks<BlockQ8_0>(dst), num_blocks);
    case DType::kQ4_0:
      return QuantizeQ4_0(x, Blocks<BlockQ4_0>(dst), num_blocks);
    case DType::kQ4_1:
      return QuantizeQ4_1(x, Blocks<BlockQ4_1>(dst), num_blocks);
    case DType::kQ5_0:
      return QuantizeQ5_0(x, Blocks<BlockQ5_0>(dst), num_blocks);
    case DType::kQ5_1:
      return QuantizeQ5_1(x, Blocks<BlockQ5_1>(dst), num_blocks);
    case DType::kQ4_K:
      return QuantizeQ4_K(x, Blocks<BlockQ4_K>(dst), num_blocks);
    case DType::kQ5_K:
      return QuantizeQ5_K(x, Blocks<BlockQ5_K>(dst), num_blocks);
    case DType::kQ6_K:
      return QuantizeQ6_K(x, Blocks<BlockQ6_K>(dst), num_blocks);
    case DType::kMXFP4:
      return QuantizeMXFP4(x, Blocks<BlockMXFP4>(dst), num_blocks);
    case DType::kQ2_K:
      return QuantizeQ2_K(x, Blocks<BlockQ2_K>(dst), num_blocks);
    case DType::kQ3_K:
      return QuantizeQ3_K(x, Blocks<BlockQ3_K>(dst), num_blocks);
    case DType::kIQ4_NL:
      return QuantizeIQ4_NL(x, Blocks<BlockIQ4_NL>(dst), num_blocks);
    case DType::kIQ4_XS:
      return QuantizeIQ4_XS(x, Blocks<BlockIQ4_XS>(dst), num_blocks);
    default:
      break;
  }
  CHECK(false) << "Quantize: unsupported type " << Name(type);
}

}  // namespace

bool CanQuantize(DType type) {
  switch (type) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kMXFP4:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS:
      return true;
    default:  // activation types; the MLX types have QuantizeMlx
      return false;
  }
}

void Quantize(DType type, const float* src, int64_t rows, int64_t cols, void* dst) {
  CHECK(CanQuantize(type)) << "Quantize: unsupported type " << Name(type);
  CHECK(cols % Info(type).block_elements == 0)
      << "Quantize " << Name(type) << ": " << cols << " columns";
  const int64_t row_bytes = RowBytes(type, cols);
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRow(type, src + r * cols, cols, static_cast<uint8_t*>(dst) + r * row_bytes);
  }
}

}  // namespace snug::kernels
