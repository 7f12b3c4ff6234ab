// Bit-exact block layouts of ggml's quantized types (specs/models.md §6; ggml-common.h).
// Half-precision fields are raw IEEE binary16 bits (tensor/fp16.h converts them).
#pragma once

#include <cstdint>

namespace snug {

inline constexpr int kQK = 32;    // elements per block of the legacy types and MXFP4
inline constexpr int kQK_K = 256; // elements per super-block of the K types
inline constexpr int kKScaleBytes = 12;

struct BlockQ4_0 {  // y[j] = ((qs[j] & 15) - 8) * d; y[j+16] = ((qs[j] >> 4) - 8) * d
  uint16_t d;
  uint8_t qs[kQK / 2];
};
struct BlockQ4_1 {  // y = q * d + m
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {  // 5th bit of element j in bit j of qh; y = (q - 16) * d
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {  // y = q * d + m
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {  // y = qs[j] * d
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ8_1 {  // activations: s = d * sum(qs)
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];  // 8 six-bit scales and 8 six-bit mins, packed
  uint8_t qs[kQK_K / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
struct BlockQ6_K {  // note: d comes last
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
struct BlockQ8_K {  // activations for the K types: f32 scale, sums of 16-element groups
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
// Q2_K: 16 sub-blocks of 16; scales[s] = 4-bit scale | 4-bit min << 4;
// y = d·scale·q − dmin·min with q 2 bits (specs/models.md §6; ggml dequantize_row_q2_K).
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};
// Q3_K: 16 sub-blocks of 16, 6-bit signed scales (−32 offset) packed in 12 bytes; q = 2 low
// bits from qs and a high bit from hmask (clear: subtract 4); y = d·(scale − 32)·q.
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[kKScaleBytes];
  uint16_t d;
};
// IQ4_NL: Q4_0's layout with a non-linear grid: y = d·kIQ4NLValues[nibble].
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
// IQ4_XS: 8 sub-blocks of 32 with 6-bit scales (low 4 bits in scales_l, high 2 in scales_h),
// y = d·(scale − 32)·kIQ4NLValues[nibble]; nibbles as IQ4_NL per sub-block.
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
struct BlockMXFP4 {  // y[j] = kE2M1x2[qs[j] & 15] * 2^(e-128); y[j+16] from the high nibble
  uint8_t e;
  uint8_t qs[kQK / 2];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockMXFP4) == 17);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockIQ4_XS) == 136);

// The non-linear 4-bit grid of IQ4_NL and IQ4_XS (ggml-common.h kvalues_iq4nl).
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// E2M1 values doubled (so they are integers); the scale 2^(e-128) compensates.
inline constexpr int8_t kE2M1x2[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

}  // namespace snug
