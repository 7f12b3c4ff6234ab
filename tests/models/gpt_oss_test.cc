// gpt-oss: the MoE block against a token-by-token reference written from specs/models.md §4.2,
// the YaRN table against §4.3 with llama.cpp's rounded ramp ends, and the forward pass on the
// tiny preset (sinks, biases, 4 experts top-2 in MXFP4, even layers sliding over 16 tokens):
// chunked prefill equals one shot equals token by token past the window, batched sequences equal
// each alone. Agreement with llama.cpp is tests/reference/conformance.mjs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "base/thread_pool.h"
#include "forward_helpers.h"
#include "kv/kv_cache.h"
#include "models/model.h"
#include "models/moe.h"
#include "synth/generator.h"
#include "synth/layout.h"

namespace snug {
namespace {

using test::ExpectBatchedEqualsAlone;
using test::ExpectChunkingAgrees;
using test::LargestMagnitude;
using test::Loaded;
using test::MaxRelativeDifference;
using test::RandomTokens;
using test::WriteAndLoad;

std::vector<float> Normal(size_t count, float stddev, std::mt19937& rng) {
  std::normal_distribution<float> draw(0.0f, stddev);
  std::vector<float> values(count);
  for (float& value : values) value = draw(rng);
  return values;
}

TensorView View(const std::vector<float>& data, std::initializer_list<int64_t> shape) {
  TensorView view{data.data(), DType::kF32, static_cast<int>(shape.size()), {}};
  std::copy(shape.begin(), shape.end(), view.shape.begin());
  return view;
}

// Σ_c w[r, c] · x[c] in double, w: [rows, cols] f32.
std::vector<double> Product(const float* w, const double* x, int rows, int cols) {
  std::vector<double> y(rows);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) y[r] += static_cast<double>(w[r * cols + c]) * x[c];
  }
  return y;
}

TEST(MoeBlockTest, GroupedByExpertEqualsEachTokenAlone) {
  constexpr int kDim = 64, kFfn = 32, kExperts = 8, kUsed = 3, kTokens = 37;
  std::mt19937 rng(42);
  const std::vector<float> router = Normal(kExperts * kDim, 0.5f, rng);
  const std::vector<float> router_bias = Normal(kExperts, 0.3f, rng);
  // Large gate/up weights so the ±7 clamps are exercised.
  const std::vector<float> gate = Normal(kExperts * kFfn * kDim, 1.2f, rng);
  const std::vector<float> up = Normal(kExperts * kFfn * kDim, 1.2f, rng);
  const std::vector<float> down = Normal(kExperts * kDim * kFfn, 0.2f, rng);
  const std::vector<float> gate_bias = Normal(kExperts * kFfn, 0.1f, rng);
  const std::vector<float> up_bias = Normal(kExperts * kFfn, 0.1f, rng);
  const std::vector<float> down_bias = Normal(kExperts * kDim, 0.1f, rng);
  const std::vector<float> x = Normal(kTokens * kDim, 1.0f, rng);

  MoeWeights weights;
  weights.router = View(router, {kExperts, kDim});
  weights.router_bias = router_bias.data();
  weights.gate = View(gate, {kExperts, kFfn, kDim});
  weights.up = View(up, {kExperts, kFfn, kDim});
  weights.down = View(down, {kExperts, kDim, kFfn});
  weights.gate_bias = gate_bias.data();
  weights.up_bias = up_bias.data();
  weights.down_bias = down_bias.data();
  ModelSpec spec;
  spec.model_dim = kDim;
  LayerSpec layer;
  layer.num_experts = kExperts;
  layer.num_experts_used = kUsed;
  layer.expert_ffn_dim = kFfn;
  spec.layers = {layer};

  ThreadPool pool(2);
  Projector projector(pool, kTokens);
  MoeBlock block(projector, spec, kTokens);
  block.Reserve(weights);
  std::vector<float> y(kTokens * kDim);
  block.Forward(weights, layer, MoeRouting::kTopKSoftmax, MoeActivation::kSwigluOai, x.data(),
                kTokens, y.data());

  // specs/models.md §4.2, one token at a time, in double.
  int clamped = 0;
  std::vector<float> expected(kTokens * kDim);
  for (int t = 0; t < kTokens; ++t) {
    std::vector<double> in(x.begin() + t * kDim, x.begin() + (t + 1) * kDim);
    std::vector<double> logits = Product(router.data(), in.data(), kExperts, kDim);
    for (int e = 0; e < kExperts; ++e) logits[e] += router_bias[e];
    std::vector<int> order(kExperts);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
    double sum = 0;
    for (int j = 0; j < kUsed; ++j) sum += std::exp(logits[order[j]] - logits[order[0]]);
    for (int j = 0; j < kUsed; ++j) {
      const int e = order[j];
      const double weight = std::exp(logits[e] - logits[order[0]]) / sum;
      std::vector<double> g = Product(gate.data() + e * kFfn * kDim, in.data(), kFfn, kDim);
      std::vector<double> u = Product(up.data() + e * kFfn * kDim, in.data(), kFfn, kDim);
      std::vector<double> act(kFfn);
      for (int i = 0; i < kFfn; ++i) {
        g[i] += gate_bias[e * kFfn + i];
        u[i] += up_bias[e * kFfn + i];
        clamped += g[i] > 7.0 || std::abs(u[i]) > 7.0;
        const double gc = std::min(g[i], 7.0), uc = std::clamp(u[i], -7.0, 7.0);
        act[i] = gc / (1.0 + std::exp(-1.702 * gc)) * (uc + 1.0);
      }
      const std::vector<double> out =
          Product(down.data() + e * kDim * kFfn, act.data(), kDim, kFfn);
      for (int c = 0; c < kDim; ++c) {
        expected[t * kDim + c] += static_cast<float>(weight * (out[c] + down_bias[e * kDim + c]));
      }
    }
  }
  EXPECT_GT(clamped, 0) << "the test should cross the clamps";
  EXPECT_LT(MaxRelativeDifference(expected, y), 1e-5);
}

// A metadata-only gpt-oss file of `preset`'s shape: the spec reads metadata alone.
Result<ModelSpec> SpecOf(const std::string& preset) {
  auto config = synth::FindPreset(preset);
  CHECK(config.ok());
  gguf::Writer writer;
  writer.SetString("general.architecture", "gpt-oss");
  synth::WriteArchitectureMetadata(*config, writer);
  writer.SetU32("gpt-oss.vocab_size", 1000);
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  auto file = gguf::File::Parse(bytes);
  CHECK(file.ok()) << file.status().ToString();
  return ReadModelSpec(*file);
}

TEST(GptOssSpecTest, LayersAndYarnOfTheRealShape) {
  auto spec = SpecOf("gptoss-20b");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_EQ(spec->layers.size(), 24u);
  for (int i = 0; i < 24; ++i) {
    const LayerSpec& layer = spec->layers[i];
    EXPECT_EQ(layer.window_tokens, i % 2 == 0 ? 128 : 0) << "layer " << i;
    EXPECT_EQ(layer.num_experts, 32);
    EXPECT_EQ(layer.num_experts_used, 4);
    EXPECT_EQ(layer.expert_ffn_dim, 2880);
    EXPECT_FLOAT_EQ(layer.attention_scale, 0.125f);
  }
  // §4.3 with D = 64: low ≈ 8.093, high ≈ 17.399, which llama.cpp rounds to 8 and 18, so pair
  // i mixes the extrapolated and interpolated frequency with ramp (i − 8)/10.
  ASSERT_EQ(spec->ropes.size(), 1u);
  const RopeSpec& rope = spec->ropes[0];
  EXPECT_FALSE(rope.interleaved);
  ASSERT_EQ(rope.frequencies.size(), 32u);
  EXPECT_NEAR(rope.magnitude, 0.1 * std::log(32.0) + 1.0, 1e-6);
  for (int i = 0; i < 32; ++i) {
    const double p = std::pow(150000.0, 2.0 * i / 64);
    const double ramp = std::clamp((i - 8) / 10.0, 0.0, 1.0);
    const double expected = ramp / (32 * p) + (1 - ramp) / p;
    EXPECT_NEAR(rope.frequencies[i], expected, expected * 1e-6) << "pair " << i;
  }
}

TEST(GptOssSpecTest, RefusesMoreExpertsPerTokenThanExperts) {
  auto config = synth::FindPreset("gptoss-tiny");
  ASSERT_TRUE(config.ok());
  gguf::Writer writer;
  writer.SetString("general.architecture", "gpt-oss");
  synth::WriteArchitectureMetadata(*config, writer);
  writer.SetU32("gpt-oss.expert_used_count", 9);
  writer.SetU32("gpt-oss.vocab_size", 1000);
  const std::vector<uint8_t> bytes = writer.WriteToMemory();
  auto file = gguf::File::Parse(bytes);
  ASSERT_TRUE(file.ok());
  auto spec = ReadModelSpec(*file);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("experts per token"), std::string::npos)
      << spec.status().message();
}

constexpr int kBatchTokens = 64;

// main type, expert type.
class GptOssTest : public ::testing::TestWithParam<std::pair<DType, DType>> {
 protected:
  synth::TypeOptions Types() const {
    return {.main = GetParam().first, .experts = GetParam().second};
  }
};

TEST_P(GptOssTest, ChunkedPrefillEqualsOneShotAndStepByStep) {
  ThreadPool pool(2);
  Loaded loaded = WriteAndLoad("gptoss-tiny", Types(), pool, kBatchTokens, /*seed=*/77);
  Model& model = *loaded.model;
  const ModelSpec& spec = model.spec();
  ASSERT_EQ(spec.architecture, "gpt-oss");
  ASSERT_EQ(spec.layers.size(), 4u);
  EXPECT_EQ(spec.layers[0].window_tokens, 16);
  EXPECT_EQ(spec.layers[1].window_tokens, 0);
  auto kv = KvCache::Create(spec.KvLayers(),
                            {.slots = 1, .context_tokens = 128, .batch_tokens = kBatchTokens});
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  // 60 tokens: almost four windows of the sliding layers, so their rings wrap in decode and a
  // one-shot prefill needs the banded mask.
  const std::vector<int32_t> tokens = RandomTokens(60, spec.vocab_size, 3);
  // Not a degenerate (all-zero) pass.
  EXPECT_GT(LargestMagnitude(ExpectChunkingAgrees(model, **kv, tokens, kBatchTokens)), 1.0f);
}

// Both prompts in one batch, tokens interleaved: the experts see both sequences' tokens at once
// and must route and weigh each as if it were alone.
TEST_P(GptOssTest, BatchedSequencesEqualEachAlone) {
  ThreadPool pool(2);
  Loaded loaded = WriteAndLoad("gptoss-tiny", Types(), pool, kBatchTokens, /*seed=*/77);
  ExpectBatchedEqualsAlone(*loaded.model, 33, 24, kBatchTokens);
}

INSTANTIATE_TEST_SUITE_P(Types, GptOssTest,
                         ::testing::Values(std::pair{DType::kF32, DType::kF32},
                                           std::pair{DType::kF32, DType::kMXFP4},
                                           std::pair{DType::kQ8_0, DType::kMXFP4},
                                           std::pair{DType::kQ4_0, DType::kQ4_0}),
                         [](const auto& info) {
                           return std::string(Name(info.param.first)) + "_experts_" +
                                  std::string(Name(info.param.second));
                         });

}  // namespace
}  // namespace snug
