// Q2_K, Q3_K, IQ4_NL and IQ4_XS (the types of Q2_K / Q3_K_S/M/L / IQ4 files): hand-built blocks
// whose values follow from ggml's dequantize_row_* written out here per value (where each
// value's bits live), and the quantizers' round trip within the grid's half step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

constexpr int kGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                           1,    13,   25,  38,  53,  69,  89,  113};

std::vector<float> Dequantized(DType type, const void* src, int64_t elements) {
  std::vector<float> values(static_cast<size_t>(elements));
  reference::DequantizeRow(type, src, values.data(), elements);
  return values;
}

// Value v of a Q2_K / Q3_K super-block: half n = v / 128, shift 2j with j = v % 128 / 32,
// byte 32n + v % 32 of qs (hmask byte v % 32, bit 4n + j), sub-block v / 16.
struct TwoBitPlace {
  int byte, shift, hmask_bit, sub_block;
};
TwoBitPlace PlaceOf(int v) {
  const int n = v / 128, j = v % 128 / 32;
  return {32 * n + v % 32, 2 * j, 4 * n + j, v / 16};
}

TEST(LowBitDequantizeTest, Q2_KKnownValues) {
  BlockQ2_K block{};
  block.d = 0x3C00;     // 1
  block.dmin = 0x3800;  // 0.5
  for (int s = 0; s < 16; ++s) block.scales[s] = static_cast<uint8_t>(s | ((15 - s) << 4));
  auto code = [](int v) { return (v * 7 + v / 16) % 4; };
  for (int v = 0; v < 256; ++v) {
    const TwoBitPlace p = PlaceOf(v);
    block.qs[p.byte] = static_cast<uint8_t>(block.qs[p.byte] | (code(v) << p.shift));
  }
  const std::vector<float> y = Dequantized(DType::kQ2_K, &block, 256);
  for (int v = 0; v < 256; ++v) {
    const int s = v / 16;
    EXPECT_EQ(y[v], static_cast<float>(s * code(v)) - 0.5f * static_cast<float>(15 - s)) << v;
  }
}

TEST(LowBitDequantizeTest, Q3_KKnownValues) {
  BlockQ3_K block{};
  block.d = 0x3800;  // 0.5
  // 6-bit stored scales: low 4 bits in the nibbles of bytes 0..7 (s < 8 low, s ≥ 8 high of
  // byte s − 8), high 2 bits in bytes 8..11 (byte 8 + s % 4, bits 2·(s / 4)).
  auto stored = [](int s) { return (s * 5 + 3) % 64; };
  for (int s = 0; s < 16; ++s) {
    const int low = stored(s) & 0xF, high = stored(s) >> 4;
    block.scales[s % 8] = static_cast<uint8_t>(block.scales[s % 8] | (low << (s < 8 ? 0 : 4)));
    block.scales[8 + s % 4] = static_cast<uint8_t>(block.scales[8 + s % 4] | (high << (2 * (s / 4))));
  }
  auto code = [](int v) { return (v * 3 + v / 32) % 8; };  // 0..7: value code − 4
  for (int v = 0; v < 256; ++v) {
    const TwoBitPlace p = PlaceOf(v);
    block.qs[p.byte] = static_cast<uint8_t>(block.qs[p.byte] | ((code(v) & 3) << p.shift));
    if (code(v) >= 4) {
      block.hmask[v % 32] = static_cast<uint8_t>(block.hmask[v % 32] | (1 << p.hmask_bit));
    }
  }
  const std::vector<float> y = Dequantized(DType::kQ3_K, &block, 256);
  for (int v = 0; v < 256; ++v) {
    const float expected = 0.5f * static_cast<float>(stored(v / 16) - 32) *
                           static_cast<float>(code(v) - 4);
    EXPECT_EQ(y[v], expected) << v;
  }
}

TEST(LowBitDequantizeTest, IQ4_NLKnownValues) {
  BlockIQ4_NL block{};
  block.d = 0x3400;  // 0.25
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = Dequantized(DType::kIQ4_NL, &block, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.25f * static_cast<float>(kGrid[j])) << j;
    EXPECT_EQ(y[j + 16], 0.25f * static_cast<float>(kGrid[15 - j])) << j;
  }
}

TEST(LowBitDequantizeTest, IQ4_XSKnownValues) {
  BlockIQ4_XS block{};
  block.d = 0x3800;  // 0.5
  auto stored = [](int ib) { return (ib * 9 + 5) % 64; };
  for (int ib = 0; ib < 8; ++ib) {
    block.scales_l[ib / 2] =
        static_cast<uint8_t>(block.scales_l[ib / 2] | ((stored(ib) & 0xF) << (4 * (ib % 2))));
    block.scales_h = static_cast<uint16_t>(block.scales_h | ((stored(ib) >> 4) << (2 * ib)));
    for (int j = 0; j < 16; ++j) {
      block.qs[16 * ib + j] = static_cast<uint8_t>(((j + ib) % 16) | (((j * 3 + ib) % 16) << 4));
    }
  }
  const std::vector<float> y = Dequantized(DType::kIQ4_XS, &block, 256);
  for (int ib = 0; ib < 8; ++ib) {
    const float dl = 0.5f * static_cast<float>(stored(ib) - 32);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[32 * ib + j], dl * static_cast<float>(kGrid[(j + ib) % 16])) << ib << " " << j;
      EXPECT_EQ(y[32 * ib + j + 16], dl * static_cast<float>(kGrid[(j * 3 + ib) % 16]))
          << ib << " " << j;
    }
  }
}

// Round trip: each value within `steps_of_max` of its sub-block's largest magnitude (half the
// grid's widest gap, or the clipping of the far end), plus super_max / 8 for the sub-block
// scales and mins rounded to 4 or 6 bits of the super-block's largest.
void CheckRoundTrip(DType type, int sub_block, double steps_of_max) {
  const int64_t rows = 2, cols = 512;
  std::mt19937 rng(static_cast<uint32_t>(type));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (float& value : x) value = normal(rng);
  for (int i = 0; i < 256; ++i) x[256 + i] = 0.0f;  // an all-zero super-block
  std::vector<uint8_t> bytes(static_cast<size_t>(rows * RowBytes(type, cols)));
  Quantize(type, x.data(), rows, cols, bytes.data());
  std::vector<float> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    reference::DequantizeRow(type, bytes.data() + r * RowBytes(type, cols), &y[r * cols], cols);
  }
  for (size_t start = 0; start < x.size(); start += 256) {
    float super_max = 0.0f;
    for (int i = 0; i < 256; ++i) super_max = std::max(super_max, std::fabs(x[start + i]));
    for (int s = 0; s < 256; s += sub_block) {
      float amax = 0.0f;
      for (int i = 0; i < sub_block; ++i) amax = std::max(amax, std::fabs(x[start + s + i]));
      // Half the widest step of the sub-block's grid, plus the scale's own rounding against
      // the super-block's largest.
      const double bound = steps_of_max * amax + super_max / 8.0 + 1e-6;
      for (int i = 0; i < sub_block; ++i) {
        const size_t k = start + s + i;
        ASSERT_NEAR(y[k], x[k], bound) << Name(type) << " value " << k;
      }
    }
  }
}

TEST(LowBitQuantizeTest, Q2_KRoundTrips) { CheckRoundTrip(DType::kQ2_K, 16, 0.34); }
TEST(LowBitQuantizeTest, Q3_KRoundTrips) { CheckRoundTrip(DType::kQ3_K, 16, 0.26); }
TEST(LowBitQuantizeTest, IQ4_NLRoundTrips) { CheckRoundTrip(DType::kIQ4_NL, 32, 0.1); }
TEST(LowBitQuantizeTest, IQ4_XSRoundTrips) { CheckRoundTrip(DType::kIQ4_XS, 32, 0.1); }

TEST(LowBitQuantizeTest, TypesAreKnownToGguf) {
  EXPECT_EQ(FindDType(10)->dtype, DType::kQ2_K);
  EXPECT_EQ(FindDType(11)->dtype, DType::kQ3_K);
  EXPECT_EQ(FindDType(20)->dtype, DType::kIQ4_NL);
  EXPECT_EQ(FindDType(23)->dtype, DType::kIQ4_XS);
  EXPECT_EQ(FindDType(static_cast<uint32_t>(DType::kMlxQ4)), nullptr);  // never from a GGUF
  for (DType type : {DType::kQ2_K, DType::kQ3_K, DType::kIQ4_NL, DType::kIQ4_XS}) {
    EXPECT_TRUE(CanQuantize(type)) << Name(type);
  }
}

}  // namespace
}  // namespace snug::kernels
