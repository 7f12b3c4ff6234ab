// reference::DequantizeRow on hand-built blocks whose values follow from the formulas of
// specs/models.md §6; reference::MatMul on small known products; and the dispatched
// DequantizeRow against the reference, bit for bit, on random blocks and every SIMD target.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/targets.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

std::vector<float> Dequantized(DType type, const void* src, int64_t elements) {
  std::vector<float> values(static_cast<size_t>(elements));
  reference::DequantizeRow(type, src, values.data(), elements);
  return values;
}

TEST(ReferenceDequantizeTest, F32F16Bf16KnownValues) {
  const float f32[3] = {1.5f, -0.0f, 3e38f};
  EXPECT_EQ(Dequantized(DType::kF32, f32, 3), std::vector<float>({1.5f, -0.0f, 3e38f}));
  const uint16_t f16[5] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555};
  EXPECT_EQ(Dequantized(DType::kF16, f16, 5),
            std::vector<float>({1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24), 0.333251953125f}));
  const uint16_t bf16[3] = {0x3F80, 0xC0A0, 0x0000};
  EXPECT_EQ(Dequantized(DType::kBF16, bf16, 3), std::vector<float>({1.0f, -5.0f, 0.0f}));
}

TEST(ReferenceDequantizeTest, Q4_0KnownValues) {
  BlockQ4_0 block{};
  block.d = 0x3800;  // 0.5
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = Dequantized(DType::kQ4_0, &block, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 0.5f) << j;
    EXPECT_EQ(y[j + 16], (7 - j) * 0.5f) << j;
  }
}

TEST(ReferenceDequantizeTest, Q4_1KnownValues) {
  BlockQ4_1 block{};
  block.d = 0x3400;  // 0.25
  block.m = 0xBC00;  // -1
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = Dequantized(DType::kQ4_1, &block, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 0.25f - 1.0f) << j;
    EXPECT_EQ(y[j + 16], (15 - j) * 0.25f - 1.0f) << j;
  }
}

TEST(ReferenceDequantizeTest, Q5_0KnownValuesAndHighBitOrder) {
  BlockQ5_0 block{};
  block.d = 0x3C00;  // 1
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | (j << 4));
  // qh as a little-endian u32: bits 0 and 31 set → the 5th bit of elements 0 and 31.
  block.qh[0] = 0x01;
  block.qh[3] = 0x80;
  const std::vector<float> y = Dequantized(DType::kQ5_0, &block, 32);
  for (int j = 0; j < 32; ++j) {
    const int high = (j == 0 || j == 31) ? 16 : 0;
    EXPECT_EQ(y[j], static_cast<float>((j % 16) + high - 16)) << j;
  }
}

TEST(ReferenceDequantizeTest, Q5_1KnownValues) {
  BlockQ5_1 block{};
  block.d = 0x3800;  // 0.5
  block.m = 0x4000;  // 2
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>((15 - j) | (j << 4));
  block.qh[0] = 0x02;  // element 1
  block.qh[2] = 0x01;  // element 16
  const std::vector<float> y = Dequantized(DType::kQ5_1, &block, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (15 - j + (j == 1 ? 16 : 0)) * 0.5f + 2.0f) << j;
    EXPECT_EQ(y[j + 16], (j + (j == 0 ? 16 : 0)) * 0.5f + 2.0f) << j;
  }
}

TEST(ReferenceDequantizeTest, Q8_0KnownValues) {
  BlockQ8_0 blocks[2]{};
  blocks[0].d = 0x3000;  // 0.125
  blocks[1].d = 0xC400;  // -4
  for (int j = 0; j < 32; ++j) {
    blocks[0].qs[j] = static_cast<int8_t>(8 * j - 128);
    blocks[1].qs[j] = static_cast<int8_t>(j - 16);
  }
  const std::vector<float> y = Dequantized(DType::kQ8_0, blocks, 64);
  for (int j = 0; j < 32; ++j) {
    EXPECT_EQ(y[j], (8 * j - 128) * 0.125f);
    EXPECT_EQ(y[32 + j], (j - 16) * -4.0f);
  }
}

TEST(ReferenceDequantizeTest, Mxfp4KnownValuesIncludingSubnormalScales) {
  // The true E2M1 values; the block's scale is 2^(e-127).
  const float kE2M1[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  for (const int e : {0, 1, 2, 126, 127, 130, 254}) {
    BlockMXFP4 block{};
    block.e = static_cast<uint8_t>(e);
    for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    const std::vector<float> y = Dequantized(DType::kMXFP4, &block, 32);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[j], static_cast<float>(std::ldexp(static_cast<double>(kE2M1[j]), e - 127)))
          << "e " << e << " j " << j;
      EXPECT_EQ(y[j + 16],
                static_cast<float>(std::ldexp(static_cast<double>(kE2M1[15 - j]), e - 127)));
    }
    EXPECT_FALSE(std::signbit(y[8])) << "nibble 8 is +0 in ggml's table";
  }
}

// Q4_K / Q5_K test blocks: sub-block scales {1,2,3,4,17,33,50,63}, mins {0,5,10,63,16,31,48,7},
// packed by hand into the 12 bytes (low 6 bits in bytes 0-7, the rest in 8-11 and the top bits).
constexpr int kScales[8] = {1, 2, 3, 4, 17, 33, 50, 63};
constexpr int kMins[8] = {0, 5, 10, 63, 16, 31, 48, 7};
constexpr uint8_t kPackedScales[12] = {0x41, 0x82, 0xC3, 0xC4, 0x40, 0x45,
                                       0xCA, 0x3F, 0x01, 0xF1, 0x02, 0x7F};

TEST(ReferenceDequantizeTest, Q4_KKnownValues) {
  BlockQ4_K block{};
  block.d = 0x3C00;     // 1
  block.dmin = 0x3800;  // 0.5
  std::memcpy(block.scales, kPackedScales, 12);
  int levels[256];
  for (int i = 0; i < 256; ++i) levels[i] = (i * 7 + 3) % 16;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      block.qs[32 * c + l] =
          static_cast<uint8_t>(levels[64 * c + l] | levels[64 * c + 32 + l] << 4);
    }
  }
  const std::vector<float> y = Dequantized(DType::kQ4_K, &block, 256);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(y[i], kScales[i / 32] * static_cast<float>(levels[i]) - 0.5f * kMins[i / 32]) << i;
  }
}

TEST(ReferenceDequantizeTest, Q5_KKnownValues) {
  BlockQ5_K block{};
  block.d = 0x3800;     // 0.5
  block.dmin = 0x3C00;  // 1
  std::memcpy(block.scales, kPackedScales, 12);
  int levels[256];
  for (int i = 0; i < 256; ++i) levels[i] = (i * 13 + 5) % 32;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int low = levels[64 * c + l], high = levels[64 * c + 32 + l];
      block.qs[32 * c + l] = static_cast<uint8_t>((low & 15) | (high & 15) << 4);
      block.qh[l] |= static_cast<uint8_t>((low >> 4) << (2 * c) | (high >> 4) << (2 * c + 1));
    }
  }
  const std::vector<float> y = Dequantized(DType::kQ5_K, &block, 256);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(y[i], 0.5f * kScales[i / 32] * static_cast<float>(levels[i]) - kMins[i / 32]) << i;
  }
}

TEST(ReferenceDequantizeTest, Q6_KKnownValues) {
  BlockQ6_K block{};
  block.d = 0x3400;  // 0.25
  for (int s = 0; s < 16; ++s) block.scales[s] = static_cast<int8_t>(s * 17 - 128);
  int levels[256];  // 0..63, the value is level - 32
  for (int i = 0; i < 256; ++i) levels[i] = (i * 29 + 11) % 64;
  // Element 128h + 32k + l (k = 0..3) keeps its low 4 bits in ql[64h + l + 32(k&1)] (low nibble
  // for k < 2) and its high 2 bits in qh[32h + l] at bit 2k.
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const int level = levels[128 * h + 32 * k + l];
        block.ql[64 * h + l + 32 * (k & 1)] |=
            static_cast<uint8_t>((level & 15) << (k >= 2 ? 4 : 0));
        block.qh[32 * h + l] |= static_cast<uint8_t>((level >> 4) << (2 * k));
      }
    }
  }
  const std::vector<float> y = Dequantized(DType::kQ6_K, &block, 256);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(y[i], 0.25f * block.scales[i / 16] * static_cast<float>(levels[i] - 32)) << i;
  }
}

TEST(ReferenceMatMulTest, F32KnownProduct) {
  const float weight[15] = {1, 2, 3, 4, 5, 0, -1, 0, 1, 0, 2, 2, 2, 2, 2};  // [3, 5]
  const float x[10] = {1, 1, 1, 1, 1, 1, 0, -1, 0, 2};                      // [2, 5]
  const TensorView view{weight, DType::kF32, 2, {3, 5, 0, 0}};
  float y[6];  // [2, 3]
  reference::MatMul(view, x, 2, y);
  EXPECT_EQ(std::vector<float>(y, y + 6), std::vector<float>({15, 0, 10, 8, 0, 4}));
}

TEST(ReferenceMatMulTest, Q8_0IsDequantizedRowsTimesX) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  constexpr int kRows = 5, kCols = 64, kTokens = 3;
  std::vector<BlockQ8_0> blocks(kRows * kCols / 32);
  for (BlockQ8_0& block : blocks) {
    block.d = F32ToF16(uniform(rng));
    for (int8_t& q : block.qs) q = static_cast<int8_t>(rng() % 255 - 127);
  }
  std::vector<float> x(kTokens * kCols);
  for (float& v : x) v = uniform(rng);
  const TensorView view{blocks.data(), DType::kQ8_0, 2, {kRows, kCols, 0, 0}};
  std::vector<float> y(kTokens * kRows);
  reference::MatMul(view, x.data(), kTokens, y.data());
  for (int r = 0; r < kRows; ++r) {
    const std::vector<float> row = Dequantized(DType::kQ8_0, &blocks[r * kCols / 32], kCols);
    for (int t = 0; t < kTokens; ++t) {
      double sum = 0;
      for (int c = 0; c < kCols; ++c) sum += static_cast<double>(row[c]) * x[t * kCols + c];
      EXPECT_FLOAT_EQ(y[t * kRows + r], static_cast<float>(sum));
    }
  }
}

// Random bytes, with the f16 scale fields replaced by finite values (random bits could be NaN
// or inf, whose propagation is not what these tests are about).
std::vector<uint8_t> RandomRow(DType type, int64_t elements, std::mt19937& rng) {
  const DTypeInfo& info = Info(type);
  std::vector<uint8_t> bytes(static_cast<size_t>(RowBytes(type, elements)));
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  std::vector<int> half_offsets;  // f16 fields within a block
  switch (type) {
    case DType::kF16:
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ8_0:
      half_offsets = {0};
      break;
    case DType::kQ4_1:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
      half_offsets = {0, 2};
      break;
    case DType::kQ6_K:
      half_offsets = {208};
      break;
    case DType::kIQ4_NL:
    case DType::kIQ4_XS:
      half_offsets = {0};
      break;
    case DType::kQ2_K:
      half_offsets = {80, 82};
      break;
    case DType::kQ3_K:
      half_offsets = {108};
      break;
    case DType::kBF16:
      for (size_t i = 0; i < bytes.size(); i += 2) {
        const uint16_t bits = F32ToBf16(uniform(rng) * 1e3f);
        std::memcpy(&bytes[i], &bits, 2);
      }
      break;
    default:
      break;
  }
  for (size_t block = 0; block < bytes.size(); block += info.block_bytes) {
    for (int offset : half_offsets) {
      // Exponents from subnormal to large, so every conversion path is taken.
      const int exponent = static_cast<int>(rng() % 30) - 24;
      const uint16_t bits = F32ToF16(std::ldexp(uniform(rng), exponent));
      std::memcpy(&bytes[block + offset], &bits, 2);
    }
  }
  return bytes;
}

TEST(DequantizeRowTest, BitExactWithReferenceOnEveryTarget) {
  std::mt19937 rng(1);
  const DType types[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                         DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                         DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kMXFP4,
                         DType::kQ2_K, DType::kQ3_K, DType::kIQ4_NL, DType::kIQ4_XS};
  for (const DType type : types) {
    const int block = Info(type).block_elements;
    for (const int64_t blocks : {1, 7, 33}) {
      const int64_t elements = block == 1 ? blocks * 31 + 1 : blocks * block;
      const std::vector<uint8_t> row = RandomRow(type, elements, rng);
      const std::vector<float> expected = Dequantized(type, row.data(), elements);
      for (const int64_t target : SupportedTargets()) {
        ScopedTarget scope(target);
        std::vector<float> actual(static_cast<size_t>(elements));
        DequantizeRow(type, row.data(), actual.data(), elements);
        EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0)
            << Name(type) << " elements " << elements << " on " << TargetName(target);
      }
    }
  }
}

TEST(DequantizeRowTest, KTypesFromRandomBytesAreFinite) {
  std::mt19937 rng(2);
  for (const DType type : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ2_K, DType::kQ3_K,
                           DType::kIQ4_XS}) {
    const std::vector<uint8_t> row = RandomRow(type, 4 * 256, rng);
    for (const float v : Dequantized(type, row.data(), 4 * 256)) ASSERT_TRUE(std::isfinite(v));
  }
}

}  // namespace
}  // namespace snug::kernels
