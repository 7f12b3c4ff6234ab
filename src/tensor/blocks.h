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

// E2M1 values doubled (so they are integers); the scale 2^(e-128) compensates.
inline constexpr int8_t kE2M1x2[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

}  // namespace snug
