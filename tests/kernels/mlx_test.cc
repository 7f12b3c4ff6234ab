// The MLX types (specs/models.md §1.3): dequantization against an independent scalar reading
// of the spec written here (uint32 words, ldexp for the float formats), the quantizer's round
// trip, and MatMul on every compiled target against reference::MatMul (bound from the
// activation quantization) and an emulation of the quantized arithmetic (bound from f32
// rounding), with prefill == token-by-token decode and 1 thread == 3 threads, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "kernels/targets.h"
#include "tensor/fp16.h"

namespace snug::kernels {
namespace {

constexpr double kUnitRoundoff = 0x1p-24;

// ---- The spec, read independently -------------------------------------------------------

// IEEE binary16 by its definition.
float HalfValue(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 31, mantissa = bits & 1023;
  const float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -24)
                                        : std::ldexp(1.0f + mantissa / 1024.0f, exponent - 15);
  return sign ? -magnitude : magnitude;
}

// bfloat16: the top 16 bits of an f32.
float BrainValue(uint16_t bits) {
  const uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, 4);
  return value;
}

float ParamValue(const std::vector<uint8_t>& array, DType dtype, int64_t index) {
  if (dtype == DType::kF32) {
    float value;
    std::memcpy(&value, &array[4 * index], 4);
    return value;
  }
  const uint16_t bits = static_cast<uint16_t>(array[2 * index] | array[2 * index + 1] << 8);
  return dtype == DType::kF16 ? HalfValue(bits) : BrainValue(bits);
}

// Element i of a row of uint32 words: bits [i·b, (i+1)·b) of the row's little-endian stream.
int SpecCode(const std::vector<uint32_t>& words, int64_t first_word, int64_t i, int bits) {
  const int64_t bit = i * bits;
  uint64_t pair = words[first_word + bit / 32];
  if (bit % 32 + bits > 32) pair |= static_cast<uint64_t>(words[first_word + bit / 32 + 1]) << 32;
  return static_cast<int>((pair >> (bit % 32)) & ((1u << bits) - 1));
}

// OCP E2M1: sign, 2 exponent bits, 1 mantissa bit.
float E2M1(int code) {
  constexpr float kMagnitude[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  return code & 8 ? -kMagnitude[code & 7] : kMagnitude[code & 7];
}

// ---- Random valid tensors ---------------------------------------------------------------

struct MlxTensor {
  DType type, scale_dtype;
  int64_t rows, cols, group_size;
  std::vector<uint8_t> codes, scales, biases;

  TensorView View() const {
    TensorView view{codes.data(), type, 2, {rows, cols, 0, 0}};
    view.groups = {scales.data(), biases.empty() ? nullptr : biases.data(), scale_dtype,
                   group_size};
    return view;
  }
  std::vector<uint32_t> Words() const {
    std::vector<uint32_t> words(codes.size() / 4);
    std::memcpy(words.data(), codes.data(), codes.size());
    return words;
  }
};

void PutParam(std::vector<uint8_t>& array, DType dtype, int64_t index, float value) {
  if (dtype == DType::kF32) {
    std::memcpy(&array[4 * index], &value, 4);
    return;
  }
  const uint16_t bits = dtype == DType::kF16 ? F32ToF16(value) : F32ToBf16(value);
  std::memcpy(&array[2 * index], &bits, 2);
}

MlxTensor RandomTensor(DType type, int64_t group_size, DType scale_dtype, int64_t rows,
                       int64_t cols, std::mt19937& rng) {
  MlxTensor tensor{type, scale_dtype, rows, cols, group_size, {}, {}, {}};
  tensor.codes.resize(static_cast<size_t>(rows * RowBytes(type, cols)));
  for (uint8_t& byte : tensor.codes) byte = static_cast<uint8_t>(rng());
  const int64_t count = rows * (cols / group_size);
  if (type == DType::kMlxMXFP4) {
    tensor.scales.resize(static_cast<size_t>(count));
    // Exponents around 2^0 with a few of ggml's explicit denormals (e = 0, 1).
    for (uint8_t& e : tensor.scales) e = rng() % 16 == 0 ? rng() % 2 : 118 + rng() % 20;
    return tensor;
  }
  const int width = scale_dtype == DType::kF32 ? 4 : 2;
  tensor.scales.resize(static_cast<size_t>(count * width));
  tensor.biases.resize(static_cast<size_t>(count * width));
  std::uniform_real_distribution<float> magnitude(1e-3f, 0.1f), offset(-1.0f, 1.0f);
  const float levels = static_cast<float>((1 << MlxBits(type)) - 1);
  for (int64_t g = 0; g < count; ++g) {
    PutParam(tensor.scales, scale_dtype, g, magnitude(rng) * (rng() % 2 ? 1.0f : -1.0f));
    PutParam(tensor.biases, scale_dtype, g, offset(rng) * 0.1f * levels / 16.0f);
  }
  return tensor;
}

std::vector<float> SpecRow(const MlxTensor& tensor, int64_t row) {
  const std::vector<uint32_t> words = tensor.Words();
  const int bits = MlxBits(tensor.type);
  const int64_t words_per_row = tensor.cols * bits / 32;
  const int64_t groups_per_row = tensor.cols / tensor.group_size;
  std::vector<float> values(static_cast<size_t>(tensor.cols));
  for (int64_t i = 0; i < tensor.cols; ++i) {
    const int code = SpecCode(words, row * words_per_row, i, bits);
    const int64_t g = row * groups_per_row + i / tensor.group_size;
    if (tensor.type == DType::kMlxMXFP4) {
      values[i] = E2M1(code) * std::ldexp(1.0f, tensor.scales[g] - 127);
    } else {
      values[i] = ParamValue(tensor.scales, tensor.scale_dtype, g) * static_cast<float>(code) +
                  ParamValue(tensor.biases, tensor.scale_dtype, g);
    }
  }
  return values;
}

struct Case {
  DType type;
  int64_t group_size;
  DType scale_dtype;
};

std::string CaseName(const Case& c) {
  return std::string(Name(c.type)) + "_g" + std::to_string(c.group_size) + "_" +
         std::string(Name(c.scale_dtype));
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (DType type : {DType::kMlxQ2, DType::kMlxQ3, DType::kMlxQ4, DType::kMlxQ5, DType::kMlxQ6,
                     DType::kMlxQ8}) {
    cases.push_back({type, 32, DType::kBF16});
    cases.push_back({type, 64, DType::kF16});
    cases.push_back({type, 128, DType::kF32});
    cases.push_back({type, 64, DType::kBF16});
  }
  cases.push_back({DType::kMlxMXFP4, 32, DType::kBF16});
  return cases;
}

class MlxTest : public testing::TestWithParam<Case> {};

TEST_P(MlxTest, DequantizeMatchesTheSpec) {
  const Case c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.type) + static_cast<uint32_t>(c.group_size));
  const MlxTensor tensor = RandomTensor(c.type, c.group_size, c.scale_dtype, 5, 4 * 128, rng);
  const TensorView view = tensor.View();
  std::vector<float> reference_row(static_cast<size_t>(tensor.cols)), row(reference_row.size());
  for (int64_t r = 0; r < tensor.rows; ++r) {
    const std::vector<float> expected = SpecRow(tensor, r);
    reference::DequantizeRow(view, r, reference_row.data());
    DequantizeRow(view, r, row.data());
    for (int64_t i = 0; i < tensor.cols; ++i) {
      ASSERT_EQ(reference_row[i], expected[i]) << "row " << r << " element " << i;
      ASSERT_EQ(row[i], expected[i]) << "row " << r << " element " << i;
    }
  }
}

TEST_P(MlxTest, QuantizerRoundTrips) {
  const Case c = GetParam();
  const int64_t rows = 3, cols = 512;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (float& value : x) value = normal(rng);
  for (int64_t i = 0; i < c.group_size; ++i) x[i] = 0.0f;  // an all-zero group
  x[100] = 1.0f;                                            // and an outlier
  MlxTensor tensor{c.type, c.scale_dtype, rows, cols, c.group_size, {}, {}, {}};
  tensor.codes.resize(static_cast<size_t>(rows * RowBytes(c.type, cols)));
  const int64_t scale_bytes = MlxScaleBytes(c.type, c.scale_dtype, rows, cols, c.group_size);
  tensor.scales.resize(static_cast<size_t>(scale_bytes));
  if (c.type != DType::kMlxMXFP4) tensor.biases.resize(static_cast<size_t>(scale_bytes));
  QuantizeMlx(c.type, c.group_size, c.scale_dtype, x.data(), rows, cols, tensor.codes.data(),
              tensor.scales.data(), tensor.biases.empty() ? nullptr : tensor.biases.data());
  const int levels = (1 << MlxBits(c.type)) - 1;
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float> values = SpecRow(tensor, r);
    for (int64_t g = 0; g < cols / c.group_size; ++g) {
      float lo = 0.0f, hi = 0.0f, amax = 0.0f;
      for (int64_t j = 0; j < c.group_size; ++j) {
        const float v = x[r * cols + g * c.group_size + j];
        lo = j == 0 ? v : std::min(lo, v);
        hi = j == 0 ? v : std::max(hi, v);
        amax = std::max(amax, std::fabs(v));
      }
      // Affine: MLX puts the extreme of larger magnitude exactly on the grid (scale = edge /
      // round(edge / step)), so the far end may clip: within one step of (hi − lo) / levels,
      // plus the rounding of scale and bias to their type (2^-8 relative for bf16) carried
      // across the levels. mxfp4: the widest gap of the grid (4·2^(e−128) ≤ amax / 2) and
      // clipping above its top.
      const double bound = c.type == DType::kMlxMXFP4
                               ? amax / 2.0
                               : (hi - lo) / levels + amax * 0x1p-7 * 2 + 1e-9;
      for (int64_t j = 0; j < c.group_size; ++j) {
        const int64_t i = g * c.group_size + j;
        ASSERT_NEAR(values[i], x[r * cols + i], bound) << "row " << r << " element " << i;
      }
    }
  }
}

std::vector<float> RandomActivations(int64_t num_tokens, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(num_tokens * cols));
  for (float& value : x) value = normal(rng);
  x[x.size() / 2] = 40.0f;
  for (int64_t i = 0; i < std::min<int64_t>(cols, 40); ++i) x[i] = 0.0f;
  return x;
}

// x rounded to its 32-value block's 8-bit grid, as the kernels see it (matmul.cc).
std::vector<float> Rounded(const std::vector<float>& x) {
  std::vector<float> rounded(x.size());
  for (size_t start = 0; start < x.size(); start += 32) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[start + i]));
    const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (int i = 0; i < 32; ++i) {
      rounded[start + i] = amax / 127.0f * std::nearbyint(x[start + i] * inverse);
    }
  }
  return rounded;
}

void CheckMatMul(const Case& c, int64_t rows, int64_t cols, std::mt19937& rng) {
  constexpr int64_t kMaxTokens = 17;
  const MlxTensor tensor = RandomTensor(c.type, c.group_size, c.scale_dtype, rows, cols, rng);
  const TensorView weight = tensor.View();
  const std::vector<float> x = RandomActivations(kMaxTokens, cols, rng);
  const std::vector<float> rounded = Rounded(x);
  std::vector<float> expected(static_cast<size_t>(kMaxTokens * rows));
  reference::MatMul(weight, x.data(), kMaxTokens, expected.data());
  std::vector<double> emulated(expected.size()), quantization(expected.size()),
      rounding(expected.size());
  const int64_t groups_per_row = cols / c.group_size;
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float> w = SpecRow(tensor, r);
    for (int64_t t = 0; t < kMaxTokens; ++t) {
      double sum = 0.0, quantized = 0.0, folded = 0.0;
      for (int64_t i = 0; i < cols; ++i) {
        const double xv = x[t * cols + i], xq = rounded[t * cols + i];
        float amax = 0.0f;
        for (int64_t k = i / 32 * 32; k < i / 32 * 32 + 32; ++k) {
          amax = std::max(amax, std::fabs(x[t * cols + k]));
        }
        sum += w[i] * xq;
        quantized += std::fabs(w[i]) * amax / 254.0 * 1.001 + std::fabs(w[i] * (xv - xq)) * 0;
        // The scale and bias terms are accumulated apart: each may exceed |w| by |bias|.
        const double bias = c.type == DType::kMlxMXFP4
                                ? 0.0
                                : std::fabs(ParamValue(tensor.biases, c.scale_dtype,
                                                       r * groups_per_row + i / c.group_size));
        folded += (std::fabs(w[i]) + 2 * bias) * std::fabs(xq);
      }
      const size_t k = static_cast<size_t>(t * rows + r);
      emulated[k] = sum;
      quantization[k] = quantized;
      rounding[k] = static_cast<double>(cols / 32 + 8) * kUnitRoundoff * folded + 1e-30;
    }
  }
  ThreadPool one(1), three(3);
  std::vector<std::byte> scratch(MatMulScratchBytes(c.type, cols, kMaxTokens) + 1);
  const std::span<std::byte> span(scratch.data() + 1, scratch.size() - 1);
  const std::vector<int64_t> targets = SupportedTargets();
  std::vector<std::optional<int64_t>> passes(targets.begin(), targets.end());
  passes.push_back(std::nullopt);
  for (const std::optional<int64_t>& target : passes) {
    std::optional<ScopedTarget> scope;
    if (target) scope.emplace(*target);
    SCOPED_TRACE(target ? TargetName(*target) : "unforced dispatch");
    std::vector<float> prefill;
    for (int64_t num_tokens : {1, 3, 7, 17}) {
      SCOPED_TRACE(num_tokens);
      std::vector<float> y(static_cast<size_t>(num_tokens * rows), NAN);
      MatMul(weight, x.data(), num_tokens, y.data(), span, one);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], expected[i], quantization[i] + rounding[i])
            << "token " << i / rows << " row " << i % rows;
        ASSERT_NEAR(y[i], emulated[i], rounding[i])
            << "emulation, token " << i / rows << " row " << i % rows;
      }
      if (num_tokens == kMaxTokens) prefill = y;
    }
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

TEST_P(MlxTest, MatMulMatchesReferenceOnEveryTarget) {
  const Case c = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(c.type) * 31 + static_cast<uint32_t>(c.group_size));
  const int64_t g = c.group_size;
  // One group; partial spans of 8 blocks; many spans with a partial last one.
  for (const auto& [rows, cols] :
       std::vector<std::pair<int64_t, int64_t>>{{1, g}, {37, 3 * g}, {5, 11 * g}, {20, 2048 + g}}) {
    SCOPED_TRACE(testing::Message() << "[" << rows << ", " << cols << "]");
    CheckMatMul(c, rows, cols, rng);
  }
}

INSTANTIATE_TEST_SUITE_P(AllMlxTypes, MlxTest, testing::ValuesIn(AllCases()),
                         [](const testing::TestParamInfo<Case>& info) {
                           return CaseName(info.param);
                         });

TEST(MlxDeathTest, MatMulRefusesAWeightWithoutScales) {
  const std::vector<uint8_t> codes(64);
  const TensorView weight{codes.data(), DType::kMlxQ4, 2, {1, 128, 0, 0}};
  ThreadPool pool(1);
  std::vector<float> x(128, 1.0f), y(1);
  std::vector<std::byte> scratch(MatMulScratchBytes(DType::kMlxQ4, 128, 1));
  EXPECT_DEATH(MatMul(weight, x.data(), 1, y.data(), scratch, pool), "without its scales");
}

}  // namespace
}  // namespace snug::kernels
