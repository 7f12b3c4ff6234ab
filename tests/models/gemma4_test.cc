// Gemma 4 forward pass on the tiny preset (sliding layers of head dim 32 with 2 KV heads, a full
// layer of head dim 64 with 1 KV head and K = V, proportional RoPE, softcap 30): chunked prefill
// equals one shot equals token by token past the sliding window, batched sequences equal each
// alone, and files the dense pass cannot run are refused by name. Agreement with llama.cpp is
// tests/reference/conformance.mjs.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "base/thread_pool.h"
#include "forward_helpers.h"
#include "kv/kv_cache.h"
#include "models/model.h"
#include "synth/generator.h"
#include "synth/layout.h"

namespace snug {
namespace {

using test::ExpectBatchedEqualsAlone;
using test::ExpectChunkingAgrees;
using test::LargestMagnitude;
using test::Loaded;
using test::RandomTokens;
using test::WriteAndLoad;

constexpr int kBatchTokens = 96;

class Gemma4Test : public ::testing::TestWithParam<DType> {};

TEST_P(Gemma4Test, ChunkedPrefillEqualsOneShotAndStepByStep) {
  ThreadPool pool(2);
  Loaded loaded = WriteAndLoad("gemma4-tiny", GetParam(), pool, kBatchTokens);
  Model& model = *loaded.model;
  const ModelSpec& spec = model.spec();
  ASSERT_EQ(spec.layers.size(), 6u);
  EXPECT_EQ(spec.layers[0].head_dim, 32);
  EXPECT_EQ(spec.layers[5].head_dim, 64);
  EXPECT_EQ(spec.layers[5].num_kv_heads, 1);
  EXPECT_EQ(spec.layers[5].window_tokens, 0);
  auto kv = KvCache::Create(spec.KvLayers(),
                            {.slots = 1, .context_tokens = 128, .batch_tokens = kBatchTokens});
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  // 90 tokens: almost three of the sliding layers' windows (32), so their rings wrap in decode,
  // and a one-shot prefill needs the banded mask.
  const std::vector<int32_t> tokens = RandomTokens(90, spec.vocab_size, 11);
  const float largest = LargestMagnitude(ExpectChunkingAgrees(model, **kv, tokens, kBatchTokens));
  // The final softcap bounds every logit by 30, and these random models use a good part of it.
  EXPECT_LE(largest, 30.0f);
  EXPECT_GT(largest, 3.0f);
}

TEST_P(Gemma4Test, BatchedSequencesEqualEachAlone) {
  ThreadPool pool(2);
  Loaded loaded = WriteAndLoad("gemma4-tiny", GetParam(), pool, kBatchTokens);
  ExpectBatchedEqualsAlone(*loaded.model, 50, 37, kBatchTokens);
}

INSTANTIATE_TEST_SUITE_P(Types, Gemma4Test,
                         ::testing::Values(DType::kF32, DType::kBF16, DType::kQ8_0, DType::kQ4_0),
                         [](const auto& info) { return std::string(Name(info.param)); });

// A metadata-only gemma4 file: ReadModelSpec sizes it, LoadModel must say what it lacks before
// looking for tensors.
std::shared_ptr<const gguf::File> MetadataOnly(const std::string& key, uint32_t value,
                                               std::vector<uint8_t>& bytes) {
  auto config = synth::FindPreset("gemma4-tiny");
  CHECK(config.ok());
  config->num_layers = 12;
  gguf::Writer writer;
  writer.SetString("general.architecture", "gemma4");
  synth::WriteArchitectureMetadata(*config, writer);
  writer.SetU32(key, value);
  writer.SetU32("gemma4.vocab_size", 1000);
  bytes = writer.WriteToMemory();
  auto file = gguf::File::Parse(bytes);
  CHECK(file.ok()) << file.status().ToString();
  return std::make_shared<gguf::File>(std::move(*file));
}

TEST(Gemma4LoadTest, RefusesWhatTheDensePassDoesNotRun) {
  ThreadPool pool(1);
  const std::pair<const char*, const char*> cases[] = {
      {"gemma4.attention.shared_kv_layers", "KV-shared layers"},
      {"gemma4.embedding_length_per_layer_input", "per-layer embeddings"},
      {"gemma4.expert_count", "mixture of experts"},
  };
  for (const auto& [key, message] : cases) {
    SCOPED_TRACE(key);
    std::vector<uint8_t> bytes;
    auto file = MetadataOnly(key, 4, bytes);
    ASSERT_TRUE(ReadModelSpec(*file).ok());
    auto model = LoadModel(file, {}, pool);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), StatusCode::kUnimplemented);
    EXPECT_NE(model.status().message().find(message), std::string::npos)
        << model.status().message();
  }
}

}  // namespace
}  // namespace snug
