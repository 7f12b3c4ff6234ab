// MatMul on every weight type and every compiled SIMD target, against reference::MatMul (f32
// weights from reference::DequantizeRow, double dot products) with an error bound derived from
// the activation quantization, and against an emulation of the quantized arithmetic with a
// bound from f32 rounding alone. Also: prefill == token-by-token decode and 1 thread == 3
// threads, bit for bit. Every target runs, and unforced dispatch too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/matmul_internal.h"
#include "kernels/targets.h"
#include "tensor/blocks.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

constexpr double kUnitRoundoff = 0x1p-24;  // f32

// Values per block of activation quantization for a weight type (matmul_internal.h).
int ActivationBlock(DType type) {
  switch (type) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return 0;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kIQ4_XS: return kQK_K;
    default: return kQK;
  }
}

uint16_t RandomScale(std::mt19937& rng, float low, float high) {
  std::uniform_real_distribution<float> magnitude(low, high);
  const float value = magnitude(rng) * (rng() % 2 ? 1.0f : -1.0f);
  return F32ToF16(value);
}

void PutHalf(uint8_t* p, uint16_t half) { std::memcpy(p, &half, 2); }

// Random bytes are valid blocks once the f16 scales are finite; MXFP4 exponents stay in a
// range whose products cannot overflow, with some e = 0, 1 (ggml's explicit denormals).
std::vector<uint8_t> RandomWeights(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const DTypeInfo& info = Info(type);
  const int64_t num_blocks = rows * cols / info.block_elements;
  std::vector<uint8_t> bytes(static_cast<size_t>(RowBytes(type, cols) * rows));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  if (info.block_elements == 1) {
    for (int64_t i = 0; i < rows * cols; ++i) {
      const float value = uniform(rng);
      if (type == DType::kF32) std::memcpy(&bytes[i * 4], &value, 4);
      if (type == DType::kF16) PutHalf(&bytes[i * 2], F32ToF16(value));
      if (type == DType::kBF16) PutHalf(&bytes[i * 2], F32ToBf16(value));
    }
    return bytes;
  }
  for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(rng());
  for (int64_t b = 0; b < num_blocks; ++b) {
    uint8_t* block = &bytes[b * info.block_bytes];
    switch (type) {
      case DType::kQ4_0:
      case DType::kQ5_0:
      case DType::kQ8_0: PutHalf(block, RandomScale(rng, 1e-3f, 0.1f)); break;
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ4_K:
      case DType::kQ5_K:
        PutHalf(block, RandomScale(rng, 1e-3f, 0.1f));
        PutHalf(block + 2, RandomScale(rng, 1e-3f, 0.1f));
        break;
      case DType::kQ6_K:
        PutHalf(block + offsetof(BlockQ6_K, d), RandomScale(rng, 1e-3f, 0.1f));
        break;
      case DType::kIQ4_NL:
      case DType::kIQ4_XS: PutHalf(block, RandomScale(rng, 1e-4f, 1e-3f)); break;
      case DType::kQ2_K:
        PutHalf(block + offsetof(BlockQ2_K, d), RandomScale(rng, 1e-3f, 0.1f));
        PutHalf(block + offsetof(BlockQ2_K, dmin), RandomScale(rng, 1e-3f, 0.1f));
        break;
      case DType::kQ3_K:
        PutHalf(block + offsetof(BlockQ3_K, d), RandomScale(rng, 1e-3f, 0.1f));
        break;
      case DType::kMXFP4: block[0] = rng() % 16 == 0 ? rng() % 2 : 118 + rng() % 20; break;
      default: ADD_FAILURE() << "no generator for " << Name(type);
    }
  }
  return bytes;
}

// Magnitude the kernel folds out of each value of a block and adds back in f32 through the
// activation sums (Q4_0's −8·d, Q4_1's m, the K types' mins in the generic kernels): partial
// sums can exceed Σ|w·x| by it. The x86 byte kernels take their offsets (Q4_0's 8, MXFP4's 12,
// Q8_0's 128) out of exact int32 block sums, which adds no rounding, so MXFP4 and Q8_0 have none.
double FoldedOffset(DType type, const uint8_t* block) {
  uint16_t first, second;
  std::memcpy(&first, block, 2);
  std::memcpy(&second, block + 2, 2);
  switch (type) {
    case DType::kQ4_0: return 8.0 * std::fabs(F16ToF32(first));
    case DType::kQ5_0: return 16.0 * std::fabs(F16ToF32(first));
    case DType::kQ4_1:
    case DType::kQ5_1: return std::fabs(F16ToF32(second));
    case DType::kQ4_K:
    case DType::kQ5_K: return 63.0 * std::fabs(F16ToF32(second));
    case DType::kQ2_K: {  // dmin, accumulated apart and subtracted at the end
      uint16_t dmin;
      std::memcpy(&dmin, block + offsetof(BlockQ2_K, dmin), 2);
      return 15.0 * std::fabs(F16ToF32(dmin));
    }
    default: return 0.0;
  }
}

std::vector<float> RandomActivations(int64_t num_tokens, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(num_tokens * cols));
  for (float& value : x) value = normal(rng);
  // An outlier (as real activations have) and an all-zero stretch (scale 0).
  x[x.size() / 2] = 40.0f;
  for (int64_t i = 0; i < std::min<int64_t>(cols, 40); ++i) x[i] = 0.0f;
  return x;
}

// What the kernels compute from: x rounded to its block's 8-bit grid (matmul.cc).
std::vector<float> QuantizedActivations(const std::vector<float>& x, int block) {
  std::vector<float> rounded(x.size());
  for (size_t start = 0; start < x.size(); start += block) {
    float amax = 0.0f;
    for (int i = 0; i < block; ++i) amax = std::max(amax, std::fabs(x[start + i]));
    const float scale = amax / 127.0f;
    const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < block; ++i) {
      rounded[start + i] = scale * std::nearbyint(x[start + i] * inverse);
    }
  }
  return rounded;
}

struct Shape {
  int64_t rows, cols;
};

class MatMulTest : public testing::TestWithParam<DType> {};

void CheckShape(DType type, Shape shape, std::mt19937& rng) {
  const int64_t rows = shape.rows, cols = shape.cols;
  const int block = ActivationBlock(type);
  constexpr int64_t kMaxTokens = 17;
  const std::vector<uint8_t> bytes = RandomWeights(type, rows, cols, rng);
  const TensorView weight{bytes.data(), type, 2, {rows, cols, 0, 0}};
  const std::vector<float> x = RandomActivations(kMaxTokens, cols, rng);
  std::vector<float> w(static_cast<size_t>(rows * cols));  // [rows, cols] dequantized
  for (int64_t r = 0; r < rows; ++r) {
    reference::DequantizeRow(type, weight.row(r), &w[r * cols], cols);
  }
  const std::vector<float> rounded = block ? QuantizedActivations(x, block) : x;
  std::vector<float> expected(static_cast<size_t>(kMaxTokens * rows));
  reference::MatMul(weight, x.data(), kMaxTokens, expected.data());

  // Per (token, row): the emulated result and both error bounds, shared by every target.
  std::vector<double> emulated(expected.size()), quantization(expected.size()),
      rounding(expected.size());
  std::vector<float> block_max(block ? x.size() / block : 0);  // max|x| per activation block
  for (size_t b = 0; b < block_max.size(); ++b) {
    for (int i = 0; i < block; ++i) {
      block_max[b] = std::max(block_max[b], std::fabs(x[b * block + i]));
    }
  }
  const int elements = Info(type).block_elements;
  for (int64_t t = 0; t < kMaxTokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double magnitude = 0.0, folded = 0.0, sum = 0.0, quantized = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        const double wv = w[r * cols + c], xv = x[t * cols + c], xq = rounded[t * cols + c];
        magnitude += std::fabs(wv * xv);
        sum += wv * xq;
        if (block) {
          // |w·(x − x̂)| ≤ |w|·scale/2 (round to nearest, scale = max|x|/127); the 1.001
          // covers the f32 rounding of the scale and of x·127/max|x|.
          quantized += std::fabs(wv) * block_max[(t * cols + c) / block] / 254.0 * 1.001;
          const uint8_t* weight_block = weight.row(r) + c / elements * Info(type).block_bytes;
          folded += (std::fabs(wv) + FoldedOffset(type, weight_block)) * std::fabs(xq);
        }
      }
      // f32 rounding: at most one rounding per accumulated term (the γ_n bound), with n = cols
      // for float weights, and blocks plus a few scale products for quantized ones.
      const double terms = block ? static_cast<double>(cols / 32 + 8) : cols + 8.0;
      const size_t i = static_cast<size_t>(t * rows + r);
      emulated[i] = sum;
      quantization[i] = quantized;
      rounding[i] = terms * kUnitRoundoff * (block ? folded : magnitude) + 1e-30;
    }
  }

  ThreadPool one(1), three(3);
  std::vector<std::byte> scratch(MatMulScratchBytes(type, cols, kMaxTokens) + 1);
  // Misaligned on purpose: MatMul aligns within the span.
  const std::span<std::byte> span(scratch.data() + 1, scratch.size() - 1);
  // Every target SupportedTargets() lists, then unforced dispatch: a kernel file may compile a
  // target that list leaves out (matmul_legacy.cc adds AVX3_DL, the VNNI one).
  const std::vector<int64_t> targets = SupportedTargets();
  std::vector<std::optional<int64_t>> passes(targets.begin(), targets.end());
  passes.push_back(std::nullopt);
  for (const std::optional<int64_t>& target : passes) {
    std::optional<ScopedTarget> scope;
    if (target) scope.emplace(*target);
    SCOPED_TRACE(target ? TargetName(*target) : "unforced dispatch");
    std::vector<float> prefill(static_cast<size_t>(kMaxTokens * rows));
    for (int64_t num_tokens : {1, 3, 7, 17}) {
      SCOPED_TRACE(num_tokens);
      std::vector<float> y(static_cast<size_t>(num_tokens * rows), NAN);
      MatMul(weight, x.data(), num_tokens, y.data(), span, one);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], expected[i], quantization[i] + rounding[i])
            << Name(type) << " token " << i / rows << " row " << i % rows;
        if (block) {
          ASSERT_NEAR(y[i], emulated[i], rounding[i])
              << "emulation, " << Name(type) << " token " << i / rows << " row " << i % rows;
        }
      }
      if (num_tokens == kMaxTokens) prefill = y;
    }
    // Prefill and decode agree exactly (same per-token order of operations), as do thread counts.
    for (int64_t t = 0; t < kMaxTokens; ++t) {
      std::vector<float> y(static_cast<size_t>(rows));
      MatMul(weight, &x[t * cols], 1, y.data(), span, one);
      for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(y[r], prefill[t * rows + r]) << "row " << r;
    }
    std::vector<float> threaded(static_cast<size_t>(kMaxTokens * rows));
    MatMul(weight, x.data(), kMaxTokens, threaded.data(), span, three);
    ASSERT_EQ(threaded, prefill);
  }
}

TEST_P(MatMulTest, MatchesReferenceOnEveryTarget) {
  const DType type = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(type) + 1);
  const int block = ActivationBlock(type);
  std::vector<Shape> shapes;
  if (block == 0) {
    shapes = {{1, 1}, {5, 7}, {37, 33}, {3, 100}, {19, 1031}};
  } else if (block == kQK) {
    shapes = {{1, 32}, {37, 96}, {5, 32 * 45}, {70, 32 * 64}};
  } else {
    shapes = {{1, 256}, {37, 512}, {5, 256 * 5}};
  }
  for (const Shape& shape : shapes) {
    SCOPED_TRACE(testing::Message() << "[" << shape.rows << ", " << shape.cols << "]");
    CheckShape(type, shape, rng);
  }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, MatMulTest,
                         testing::Values(DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0,
                                         DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                         DType::kQ4_K, DType::kQ5_K, DType::kQ6_K,
                                         DType::kMXFP4, DType::kQ2_K, DType::kQ3_K,
                                         DType::kIQ4_NL, DType::kIQ4_XS),
                         [](const testing::TestParamInfo<DType>& info) {
                           return std::string(Name(info.param));
                         });

// The x86 kernels' activation order (matmul_internal.h) permutes each span of 256 values,
// keeps 16-value halves whole and puts the pairs (k, k + 4) side by side.
TEST(Q8IndexTest, PermutesEachSpanByHalvesOfBlockPairs) {
  std::vector<int> hits(2 * internal::kSpanValues, 0);
  for (int64_t c = 0; c < 2 * internal::kSpanValues; ++c) {
    const int64_t i = internal::Q8Index(c);
    ASSERT_EQ(i / internal::kSpanValues, c / internal::kSpanValues) << c;
    ++hits[static_cast<size_t>(i)];
    if (c % 16 != 0) {
      EXPECT_EQ(i, internal::Q8Index(c - 1) + 1) << c;
    }
  }
  for (int hit : hits) ASSERT_EQ(hit, 1);
  // Block 1's values 0..15 at 64, block 5's 0..15 at 80, block 1's 16..31 at 96, ...
  EXPECT_EQ(internal::Q8Index(32), 64);
  EXPECT_EQ(internal::Q8Index(5 * 32), 80);
  EXPECT_EQ(internal::Q8Index(32 + 16), 96);
  EXPECT_EQ(internal::Q8Index(5 * 32 + 16), 112);
  EXPECT_EQ(internal::Q8Index(256 + 4 * 32), 256 + 16);
}

TEST(MatMulDeathTest, RefusesActivationTypesAsWeights) {
  const std::vector<uint8_t> bytes(sizeof(BlockQ8_K));
  const TensorView weight{bytes.data(), DType::kQ8_K, 2, {1, kQK_K, 0, 0}};
  ThreadPool pool(1);
  std::vector<float> x(kQK_K, 1.0f), y(1);
  EXPECT_DEATH(MatMul(weight, x.data(), 1, y.data(), {}, pool), "not a weight type");
  EXPECT_DEATH(MatMulScratchBytes(DType::kQ8_1, kQK, 1), "not a weight type");
}

}  // namespace
}  // namespace snug::kernels
