#include "tensor/fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace snug {
namespace {

TEST(Fp16Test, EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const uint16_t half = static_cast<uint16_t>(bits);
    const float value = F16ToF32(half);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(value))));
      continue;
    }
    ASSERT_EQ(F32ToF16(value), half) << "bits " << bits;
  }
}

TEST(Fp16Test, KnownValues) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3c00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xc000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(1e6f), 0x7c00);
  EXPECT_EQ(F32ToF16(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  EXPECT_EQ(F32ToF16(1.0f + 1.0f / 2048), 0x3c00);       // halfway: rounds to even
  EXPECT_EQ(F32ToF16(1.0f + 3.0f / 2048), 0x3c02);
  EXPECT_FLOAT_EQ(F16ToF32(0x3555), 0.333251953125f);
}

TEST(Bf16Test, RoundsToNearestEven) {
  EXPECT_EQ(F32ToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Bf16ToF32(0x3f80), 1.0f);
  EXPECT_EQ(F32ToBf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // halfway, even stays
  EXPECT_EQ(F32ToBf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // halfway, odd rounds up
  EXPECT_TRUE(std::isnan(Bf16ToF32(F32ToBf16(std::numeric_limits<float>::quiet_NaN()))));
}

}  // namespace
}  // namespace snug
