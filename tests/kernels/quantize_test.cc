// Quantize: bytes of ggml's reference quantizers on fixed inputs (hand-computed), and
// quantize → dequantize round trips within error bounds that follow from each format.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

template <class Block>
Block QuantizeOne(DType type, const float* x) {
  Block block;
  std::memset(&block, 0xAB, sizeof(block));  // every byte must be written
  Quantize(type, x, 1, Info(type).block_elements, &block);
  return block;
}

TEST(QuantizeTest, CanQuantize) {
  for (const DType type :
       {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
        DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kMXFP4}) {
    EXPECT_TRUE(CanQuantize(type)) << Name(type);
  }
  EXPECT_FALSE(CanQuantize(DType::kQ8_1));
  EXPECT_FALSE(CanQuantize(DType::kQ8_K));
}

// amax 63.5 → d = 0.5 exactly, 1/d = 2; x·2 rounds half away from zero (roundf), as ggml.
TEST(QuantizeTest, Q8_0MatchesGgmlReference) {
  float x[32] = {};
  x[0] = -63.5f;  // → -127
  x[1] = 0.26f;   // 0.52 → 1
  x[2] = 0.74f;   // 1.48 → 1
  x[3] = 0.76f;   // 1.52 → 2
  x[4] = 0.25f;   // 0.5 → 1 (away from zero, not to even)
  x[5] = -0.25f;  // -0.5 → -1
  x[6] = 1.25f;   // 2.5 → 3
  x[31] = 63.0f;  // 126
  const BlockQ8_0 block = QuantizeOne<BlockQ8_0>(DType::kQ8_0, x);
  EXPECT_EQ(block.d, 0x3800);
  int8_t expected[32] = {-127, 1, 1, 2, 1, -1, 3};
  expected[31] = 126;
  for (int j = 0; j < 32; ++j) EXPECT_EQ(block.qs[j], expected[j]) << j;
}

// The value of largest magnitude (4) sets d = 4 / -8 = -0.5, so 1/d = -2 and q = ⌊x·(-2) + 8.5⌋
// clamped to 15.
TEST(QuantizeTest, Q4_0MatchesGgmlReference) {
  float x[32] = {};
  x[0] = 4.0f;    // -8 + 8.5 → 0
  x[1] = -4.0f;   // 16.5 → 16 → clamped 15
  x[2] = 1.0f;    // 6.5 → 6
  x[3] = -1.0f;   // 10.5 → 10
  x[4] = 0.25f;   // 8.0 → 8
  x[5] = 0.3f;    // 7.9 → 7
  x[6] = 0.2f;    // 8.1 → 8
  x[16] = -1.0f;  // 10
  x[17] = 3.0f;   // 2.5 → 2
  x[18] = 2.2f;   // 4.1 → 4
  const BlockQ4_0 block = QuantizeOne<BlockQ4_0>(DType::kQ4_0, x);
  EXPECT_EQ(block.d, 0xB800);  // -0.5
  uint8_t expected[16] = {0xA0, 0x2F, 0x46, 0x8A, 0x88, 0x87, 0x88};
  std::fill(expected + 7, expected + 16, 0x88);  // zeros are level 8
  for (int j = 0; j < 16; ++j) EXPECT_EQ(block.qs[j], expected[j]) << j;
}

// amax 6 → e = ⌊log2 6⌋ - 2 + 127 = 127, so the grid is kE2M1x2 · 0.5 = {0, .5, 1, 1.5, 2, 3, 4,
// 6} and their negatives; ties go to the lower index.
TEST(QuantizeTest, Mxfp4MatchesGgmlReference) {
  float x[32] = {};
  x[0] = 6.0f;     // 7
  x[1] = 5.0f;     // tie 4 | 6 → index 6 (4)
  x[2] = -5.0f;    // tie → index 14 (-4)
  x[3] = 0.2f;     // 0
  x[4] = -0.2f;    // +0 (index 0 before index 8)
  x[5] = 2.5f;     // tie 2 | 3 → index 4
  x[16] = -6.0f;   // 15
  x[17] = 1.2f;    // 1 → index 2
  x[18] = -0.75f;  // tie -0.5 | -1 → index 9
  const BlockMXFP4 block = QuantizeOne<BlockMXFP4>(DType::kMXFP4, x);
  EXPECT_EQ(block.e, 127);
  const uint8_t expected[16] = {0xF7, 0x26, 0x9E, 0x00, 0x00, 0x04};
  for (int j = 0; j < 16; ++j) EXPECT_EQ(block.qs[j], expected[j]) << j;
}

TEST(QuantizeTest, AllZeroBlocksDequantizeToZero) {
  const std::vector<float> zeros(256, 0.0f);
  for (const DType type : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                           DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kMXFP4,
                           DType::kQ2_K, DType::kQ3_K, DType::kIQ4_NL, DType::kIQ4_XS}) {
    std::vector<uint8_t> bytes(RowBytes(type, 256));
    Quantize(type, zeros.data(), 1, 256, bytes.data());
    std::vector<float> y(256, 1.0f);
    reference::DequantizeRow(type, bytes.data(), y.data(), 256);
    for (float v : y) ASSERT_EQ(v, 0.0f) << Name(type);
  }
}

TEST(QuantizeTest, RowsAreQuantizedIndependently) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  constexpr int kRows = 3, kCols = 512;
  std::vector<float> x(kRows * kCols);
  for (float& v : x) v = normal(rng);
  for (const DType type : {DType::kQ4_K, DType::kQ8_0, DType::kBF16}) {
    const int64_t row_bytes = RowBytes(type, kCols);
    std::vector<uint8_t> all(kRows * row_bytes), one(row_bytes);
    Quantize(type, x.data(), kRows, kCols, all.data());
    for (int r = 0; r < kRows; ++r) {
      Quantize(type, x.data() + r * kCols, 1, kCols, one.data());
      EXPECT_EQ(std::memcmp(one.data(), all.data() + r * row_bytes, row_bytes), 0) << Name(type);
    }
  }
}

// Inputs with a different magnitude per block (and some constant or one-signed blocks), so
// the bounds are exercised across scales.
std::vector<float> TestInput(int64_t elements, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(elements));
  for (int64_t block = 0; block < elements / 32; ++block) {
    const float scale = std::ldexp(1.0f, static_cast<int>(rng() % 16) - 8);
    const int kind = static_cast<int>(rng() % 8);
    for (int j = 0; j < 32; ++j) {
      float v = normal(rng) * scale;
      if (kind == 0) v = scale;                 // constant
      if (kind == 1) v = std::fabs(v);          // all positive
      if (kind == 2) v = -std::fabs(v) - 1.0f;  // all negative, away from zero
      x[block * 32 + j] = v;
    }
  }
  return x;
}

std::vector<float> RoundTrip(DType type, const std::vector<float>& x, std::vector<uint8_t>* bytes) {
  const int64_t n = static_cast<int64_t>(x.size());
  bytes->assign(RowBytes(type, n), 0);
  Quantize(type, x.data(), 1, n, bytes->data());
  std::vector<float> y(x.size());
  reference::DequantizeRow(type, bytes->data(), y.data(), n);
  return y;
}

constexpr int64_t kElements = 64 * 256;
constexpr float kF16Epsilon = 1.0f / 2048;  // relative rounding of an f16 scale

TEST(QuantizeRoundTripTest, FloatTypes) {
  const std::vector<float> x = TestInput(kElements, 10);
  std::vector<uint8_t> bytes;
  EXPECT_EQ(RoundTrip(DType::kF32, x, &bytes), x);
  const std::vector<float> f16 = RoundTrip(DType::kF16, x, &bytes);
  const std::vector<float> bf16 = RoundTrip(DType::kBF16, x, &bytes);
  for (size_t i = 0; i < x.size(); ++i) {
    // Half an ulp: 2^-11 relative (f16, above its subnormals at 2^-14), 2^-8 (bf16).
    EXPECT_LE(std::fabs(f16[i] - x[i]), std::max(std::fabs(x[i]) * kF16Epsilon, 0x1p-25f)) << i;
    EXPECT_LE(std::fabs(bf16[i] - x[i]), std::fabs(x[i]) / 256.0f) << i;
  }
}

// Symmetric formats (Q8_0, Q4_0, Q5_0): levels q·d with d = |max| / levels_below_zero; an
// element is within d/2 of its level, or within d where the positive end of the grid (one level
// short) clamps it; the f16 rounding of d moves a level by at most |q|·Δd.
void CheckSymmetric(DType type, int levels) {
  const std::vector<float> x = TestInput(kElements, 11 + levels);
  std::vector<uint8_t> bytes;
  const std::vector<float> y = RoundTrip(type, x, &bytes);
  const int block_bytes = Info(type).block_bytes;
  for (int64_t b = 0; b < kElements / 32; ++b) {
    const float* xb = &x[b * 32];
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    uint16_t d_bits;
    std::memcpy(&d_bits, &bytes[b * block_bytes], 2);
    const float d = amax / static_cast<float>(levels);
    const float stored_d = std::fabs(F16ToF32(d_bits));
    const float level_error = static_cast<float>(levels) * std::fabs(stored_d - d);
    for (int j = 0; j < 32; ++j) {
      const bool clamped = type != DType::kQ8_0 && std::fabs(xb[j]) > (levels - 1.5f) * d;
      const float bound = (clamped ? d : 0.5f * d) * 1.0001f + level_error;
      ASSERT_LE(std::fabs(y[b * 32 + j] - xb[j]), bound) << Name(type) << " block " << b;
    }
  }
}

TEST(QuantizeRoundTripTest, Q8_0) { CheckSymmetric(DType::kQ8_0, 127); }
TEST(QuantizeRoundTripTest, Q4_0) { CheckSymmetric(DType::kQ4_0, 8); }
TEST(QuantizeRoundTripTest, Q5_0) { CheckSymmetric(DType::kQ5_0, 16); }

// Affine formats (Q4_1, Q5_1): q·d + m with m = min, d = (max - min) / top_level.
void CheckAffine(DType type, int top_level) {
  const std::vector<float> x = TestInput(kElements, 20 + top_level);
  std::vector<uint8_t> bytes;
  const std::vector<float> y = RoundTrip(type, x, &bytes);
  const int block_bytes = Info(type).block_bytes;
  for (int64_t b = 0; b < kElements / 32; ++b) {
    const float* xb = &x[b * 32];
    const auto [min, max] = std::minmax_element(xb, xb + 32);
    uint16_t d_bits, m_bits;
    std::memcpy(&d_bits, &bytes[b * block_bytes], 2);
    std::memcpy(&m_bits, &bytes[b * block_bytes + 2], 2);
    const float d = (*max - *min) / static_cast<float>(top_level);
    const float bound = 0.5f * d * 1.0001f + std::fabs(F16ToF32(m_bits) - *min) +
                        static_cast<float>(top_level) * std::fabs(F16ToF32(d_bits) - d) +
                        std::fabs(*min) * 1e-6f;
    for (int j = 0; j < 32; ++j) {
      ASSERT_LE(std::fabs(y[b * 32 + j] - xb[j]), bound) << Name(type) << " block " << b;
    }
  }
}

TEST(QuantizeRoundTripTest, Q4_1) { CheckAffine(DType::kQ4_1, 15); }
TEST(QuantizeRoundTripTest, Q5_1) { CheckAffine(DType::kQ5_1, 31); }

// MXFP4: scale D = 2^(e-128) with amax in [8D, 16D); the doubled grid's widest gap is 8 → 12
// (error ≤ 2D) and values above 12D clamp to it (error < 4D).
TEST(QuantizeRoundTripTest, Mxfp4) {
  const std::vector<float> x = TestInput(kElements, 30);
  std::vector<uint8_t> bytes;
  const std::vector<float> y = RoundTrip(DType::kMXFP4, x, &bytes);
  for (int64_t b = 0; b < kElements / 32; ++b) {
    const float* xb = &x[b * 32];
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const int e = bytes[b * sizeof(BlockMXFP4)];
    EXPECT_EQ(e, std::ilogb(amax) - 2 + 127) << "block " << b;
    const float scale = std::ldexp(1.0f, e - 128);
    for (int j = 0; j < 32; ++j) {
      const float bound = std::fabs(xb[j]) > 12 * scale ? 4 * scale : 2 * scale;
      ASSERT_LE(std::fabs(y[b * 32 + j] - xb[j]), bound) << "block " << b << " j " << j;
    }
  }
}

// Q4_K / Q5_K: per 32-element sub-block the grid spans [min(0, min x), max x] in steps
// s = range / top_level; the 6-bit scale and min are off by at most half a unit of the
// super-block's d and dmin (plus f16 rounding), which moves a level by ≤ top_level·0.53·d +
// 0.53·dmin.
void CheckAffineK(DType type, int top_level) {
  const std::vector<float> x = TestInput(kElements, 40 + top_level);
  std::vector<uint8_t> bytes;
  const std::vector<float> y = RoundTrip(type, x, &bytes);
  const int block_bytes = Info(type).block_bytes;
  double squared_error = 0, squared_step = 0;
  for (int64_t b = 0; b < kElements / 256; ++b) {
    uint16_t d_bits, dmin_bits;
    std::memcpy(&d_bits, &bytes[b * block_bytes], 2);
    std::memcpy(&dmin_bits, &bytes[b * block_bytes + 2], 2);
    const float d = F16ToF32(d_bits), dmin = F16ToF32(dmin_bits);
    for (int s = 0; s < 8; ++s) {
      const float* xs = &x[b * 256 + s * 32];
      const auto [min_it, max_it] = std::minmax_element(xs, xs + 32);
      const float min = std::min(0.0f, *min_it);
      const float step = (std::max(*max_it, min) - min) / static_cast<float>(top_level);
      const float bound = 0.5f * step + 0.53f * (top_level * d + dmin) + 1e-6f * std::fabs(min);
      for (int j = 0; j < 32; ++j) {
        const float error = std::fabs(y[b * 256 + s * 32 + j] - xs[j]);
        ASSERT_LE(error, bound) << Name(type) << " super-block " << b << " sub-block " << s;
        squared_error += static_cast<double>(error) * error;
        squared_step += static_cast<double>(step) * step;
      }
    }
  }
  // Rounding to the nearest of a uniform grid gives an RMS error of step/√12 ≈ 0.29·step; the
  // 6-bit scales add some. Far above 0.5 would mean levels systematically off.
  EXPECT_LT(std::sqrt(squared_error / squared_step), 0.5) << Name(type);
}

TEST(QuantizeRoundTripTest, Q4_K) { CheckAffineK(DType::kQ4_K, 15); }
TEST(QuantizeRoundTripTest, Q5_K) { CheckAffineK(DType::kQ5_K, 31); }

// Q6_K: per 16 elements a symmetric step s = |max| / 32 (the extreme lands on -32, values of the
// other sign may clamp at 31: error ≤ s); the 8-bit scales relative to d add ≤ 32·0.56·|d|.
TEST(QuantizeRoundTripTest, Q6_K) {
  const std::vector<float> x = TestInput(kElements, 50);
  std::vector<uint8_t> bytes;
  const std::vector<float> y = RoundTrip(DType::kQ6_K, x, &bytes);
  for (int64_t b = 0; b < kElements / 256; ++b) {
    BlockQ6_K block;
    std::memcpy(&block, &bytes[b * sizeof(BlockQ6_K)], sizeof(block));
    const float d = std::fabs(F16ToF32(block.d));
    for (int s = 0; s < 16; ++s) {
      const float* xs = &x[b * 256 + s * 16];
      float amax = 0;
      for (int j = 0; j < 16; ++j) amax = std::max(amax, std::fabs(xs[j]));
      const float step = amax / 32;
      for (int j = 0; j < 16; ++j) {
        const float bound =
            (std::fabs(xs[j]) > 30.5f * step ? step : 0.5f * step) * 1.0001f + 32 * 0.56f * d;
        ASSERT_LE(std::fabs(y[b * 256 + s * 16 + j] - xs[j]), bound)
            << "super-block " << b << " sub-block " << s;
      }
    }
  }
}

}  // namespace
}  // namespace snug::kernels
