// The element-wise kernels against their scalar twins on every SIMD target, at lengths that
// leave every possible partial vector (1, 7, 31, 33, 257, 1000).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/targets.h"

namespace snug::kernels {
namespace {

constexpr int64_t kLengths[] = {1, 7, 31, 33, 257, 1000};

std::vector<float> Random(int64_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> values(static_cast<size_t>(n));
  for (float& v : values) v = uniform(rng);
  return values;
}

// |actual - expected| ≤ absolute + relative·|expected|, reporting the worst element.
void ExpectNear(const std::vector<float>& actual, const std::vector<float>& expected,
                float absolute, float relative, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double error = std::fabs(static_cast<double>(actual[i]) - expected[i]);
    worst = std::max(worst, error);
    ASSERT_LE(error, absolute + relative * std::fabs(expected[i]))
        << what << " at " << i << ": " << actual[i] << " vs " << expected[i];
  }
  if (actual.size() >= 1000) std::printf("%-32s max |error| %.3g\n", what.c_str(), worst);
}

std::string Label(const char* kernel, int64_t target, int64_t n) {
  return std::string(kernel) + " " + TargetName(target) + " n=" + std::to_string(n);
}

TEST(OpsTest, RmsNorm) {
  for (const int64_t n : kLengths) {
    const std::vector<float> x = Random(n, 3.0f, 1), weight = Random(n, 2.0f, 2);
    std::vector<float> expected(n), expected_unscaled(n);
    reference::RmsNorm(x.data(), weight.data(), 1e-6f, n, expected.data());
    reference::RmsNorm(x.data(), nullptr, 1e-6f, n, expected_unscaled.data());
    for (const int64_t target : SupportedTargets()) {
      ScopedTarget scope(target);
      std::vector<float> y(n);
      RmsNorm(x.data(), weight.data(), 1e-6f, n, y.data());
      ExpectNear(y, expected, 1e-6f, 1e-5f, Label("RmsNorm", target, n));
      std::vector<float> in_place = x;
      RmsNorm(in_place.data(), nullptr, 1e-6f, n, in_place.data());
      ExpectNear(in_place, expected_unscaled, 1e-6f, 1e-5f, Label("RmsNorm/1", target, n));
    }
  }
}

TEST(OpsTest, LayerNorm) {
  for (const int64_t n : kLengths) {
    // An offset far from zero beside a small spread: the one-pass variance would cancel.
    std::vector<float> x = Random(n, 0.5f, 3);
    for (float& v : x) v += 40.0f;
    const std::vector<float> weight = Random(n, 2.0f, 4), bias = Random(n, 1.0f, 5);
    std::vector<float> expected(n);
    reference::LayerNorm(x.data(), weight.data(), bias.data(), 1e-5f, n, expected.data());
    for (const int64_t target : SupportedTargets()) {
      ScopedTarget scope(target);
      std::vector<float> y = x;
      LayerNorm(y.data(), weight.data(), bias.data(), 1e-5f, n, y.data());  // in place
      ExpectNear(y, expected, 2e-5f, 1e-4f, Label("LayerNorm", target, n));
    }
  }
}

TEST(OpsTest, Softmax) {
  for (const int64_t n : kLengths) {
    // Scores near 1000 check that the max is subtracted (exp(1000) overflows f32).
    std::vector<float> x = Random(n, 4.0f, 3);
    for (float& v : x) v += 1000.0f;
    if (n > 1) x[n / 2] = -INFINITY;  // a masked position
    std::vector<float> expected = x;
    reference::Softmax(expected.data(), n);
    for (const int64_t target : SupportedTargets()) {
      ScopedTarget scope(target);
      std::vector<float> y = x;
      Softmax(y.data(), n);
      ExpectNear(y, expected, 1e-9f, 1e-5f, Label("Softmax", target, n));
      if (n > 1) {
        EXPECT_EQ(y[n / 2], 0.0f);
      }
    }
  }
}

TEST(OpsTest, GeluTanhAndSilu) {
  for (const int64_t n : kLengths) {
    std::vector<float> x = Random(n, 8.0f, 4);
    x[0] = n > 1 ? -100.0f : 0.5f;
    if (n > 2) x[1] = 100.0f;
    std::vector<float> gelu(n), silu(n);
    reference::GeluTanh(x.data(), gelu.data(), n);
    reference::Silu(x.data(), silu.data(), n);
    for (const int64_t target : SupportedTargets()) {
      ScopedTarget scope(target);
      std::vector<float> y(n);
      GeluTanh(x.data(), y.data(), n);
      // 1 + tanh(·) cancels for negative x: the error is absolute, a few ulp of 1 times |x|.
      ExpectNear(y, gelu, 2e-6f, 1e-5f, Label("GeluTanh", target, n));
      Silu(x.data(), y.data(), n);
      ExpectNear(y, silu, 1e-6f, 1e-5f, Label("Silu", target, n));
    }
  }
}

TEST(OpsTest, AddMulScaleAreExact) {
  for (const int64_t n : kLengths) {
    const std::vector<float> a = Random(n, 5.0f, 5), b = Random(n, 5.0f, 6);
    std::vector<float> sum(n), product(n), scaled(n);
    reference::Add(a.data(), b.data(), sum.data(), n);
    reference::Mul(a.data(), b.data(), product.data(), n);
    reference::Scale(a.data(), 0.37f, scaled.data(), n);
    for (const int64_t target : SupportedTargets()) {
      ScopedTarget scope(target);
      std::vector<float> y(n);
      Add(a.data(), b.data(), y.data(), n);
      EXPECT_EQ(y, sum) << Label("Add", target, n);
      Mul(a.data(), b.data(), y.data(), n);
      EXPECT_EQ(y, product) << Label("Mul", target, n);
      std::vector<float> in_place = a;
      Scale(in_place.data(), 0.37f, in_place.data(), n);
      EXPECT_EQ(in_place, scaled) << Label("Scale", target, n);
    }
  }
}

struct RopeShape {
  int num_heads, head_dim, rotary_dims;
};

TEST(OpsTest, RopeMatchesReferenceAndLeavesUnrotatedDims) {
  // Full rotation, partial rotation (gpt-oss-like 64/64, Gemma 4 global 512 with 128 rotated),
  // and half-widths that are not a multiple of any vector length.
  const RopeShape shapes[] = {{3, 64, 64}, {2, 512, 128}, {4, 14, 14}, {1, 10, 6}, {5, 2, 2}};
  for (const RopeShape& shape : shapes) {
    const int64_t n = static_cast<int64_t>(shape.num_heads) * shape.head_dim;
    const std::vector<float> x = Random(n, 4.0f, 7);
    std::vector<float> cos(shape.rotary_dims / 2), sin(shape.rotary_dims / 2);
    for (int i = 0; i < shape.rotary_dims / 2; ++i) {
      const double angle = 17.0 * std::pow(10000.0, -2.0 * i / shape.rotary_dims);
      cos[i] = static_cast<float>(std::cos(angle));
      sin[i] = static_cast<float>(std::sin(angle));
    }
    std::vector<float> neox = x, interleaved = x;
    reference::RopeNeox(neox.data(), shape.num_heads, shape.head_dim, shape.rotary_dims, cos.data(),
                        sin.data());
    reference::RopeInterleaved(interleaved.data(), shape.num_heads, shape.head_dim,
                               shape.rotary_dims, cos.data(), sin.data());
    // The reference itself: pair (i, i + D/2) rotated by angle i (models.md, common primitives).
    // Within rounding only: the compiler may fuse a multiply and an add where FMA exists.
    const int half = shape.rotary_dims / 2;
    for (int h = 0; h < shape.num_heads; ++h) {
      const float* in = &x[h * shape.head_dim];
      const float* out = &neox[h * shape.head_dim];
      for (int i = 0; i < half; ++i) {
        EXPECT_NEAR(out[i], in[i] * cos[i] - in[i + half] * sin[i], 1e-5f);
        EXPECT_NEAR(out[i + half], in[i + half] * cos[i] + in[i] * sin[i], 1e-5f);
      }
      for (int i = shape.rotary_dims; i < shape.head_dim; ++i) EXPECT_EQ(out[i], in[i]);
    }
    for (const int64_t target : SupportedTargets()) {
      ScopedTarget scope(target);
      std::vector<float> y = x;
      RopeNeox(y.data(), shape.num_heads, shape.head_dim, shape.rotary_dims, cos.data(),
               sin.data());
      const std::string shape_name = " heads " + std::to_string(shape.num_heads) + "×" +
                                     std::to_string(shape.head_dim) + "/" +
                                     std::to_string(shape.rotary_dims) + " " + TargetName(target);
      ExpectNear(y, neox, 1e-6f, 1e-6f, "RopeNeox" + shape_name);
      y = x;
      RopeInterleaved(y.data(), shape.num_heads, shape.head_dim, shape.rotary_dims, cos.data(),
                      sin.data());
      ExpectNear(y, interleaved, 1e-6f, 1e-6f, "RopeInterleaved" + shape_name);
    }
  }
}

}  // namespace
}  // namespace snug::kernels
