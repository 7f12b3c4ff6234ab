// Forward-pass invariants on tiny synthetic models of every supported architecture: chunked
// prefill equals one-shot prefill equals token-by-token decode, and sequences batched together
// equal each run alone.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "base/thread_pool.h"
#include "forward_helpers.h"
#include "kv/kv_cache.h"
#include "models/model.h"

namespace snug {
namespace {

using test::Loaded;
using test::MaxRelativeDifference;
using test::RandomTokens;
using test::RunInChunks;
using test::WriteAndLoad;

class ForwardTest : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

// F32 weights: the products are exact f32 sums in a different order per chunking, so logits
// agree to ~1e-5 of their range. Quantized weights quantize activations per row on the fly, the
// same way whatever the chunking, so they agree as tightly.
TEST_P(ForwardTest, ChunkedPrefillEqualsOneShotAndStepByStep) {
  const auto& [preset, type] = GetParam();
  ThreadPool pool(2);
  Loaded loaded = WriteAndLoad(preset, type, pool, 64);
  Model& model = *loaded.model;
  auto kv = KvCache::Create(model.spec().KvLayers(),
                            {.slots = 2, .context_tokens = 128, .batch_tokens = 64});
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  // 50 tokens: longer than gemma3-tiny's window of 16, so the sliding rings wrap.
  const std::vector<int32_t> tokens = RandomTokens(50, model.spec().vocab_size, 5);
  const std::vector<float> one_shot = RunInChunks(model, **kv, tokens, 64);
  const std::vector<float> sevens = RunInChunks(model, **kv, tokens, 7);
  const std::vector<float> single = RunInChunks(model, **kv, tokens, 1);
  for (float value : one_shot) ASSERT_TRUE(std::isfinite(value));
  EXPECT_LT(MaxRelativeDifference(one_shot, sevens), 1e-4);
  EXPECT_LT(MaxRelativeDifference(one_shot, single), 1e-4);
}

TEST_P(ForwardTest, BatchedSequencesEqualEachAlone) {
  const auto& [preset, type] = GetParam();
  ThreadPool pool(2);
  Loaded loaded = WriteAndLoad(preset, type, pool, 64);
  Model& model = *loaded.model;
  const int vocab = model.spec().vocab_size;
  auto kv = KvCache::Create(model.spec().KvLayers(),
                            {.slots = 2, .context_tokens = 128, .batch_tokens = 64});
  ASSERT_TRUE(kv.ok());
  const std::vector<int32_t> a = RandomTokens(30, vocab, 1), b = RandomTokens(21, vocab, 2);
  const std::vector<float> alone_a = RunInChunks(model, **kv, a, 64);
  const std::vector<float> alone_b = RunInChunks(model, **kv, b, 64);

  // Interleave: prefill both in one batch (a in slot 0, b in slot 1), logits of every token.
  std::vector<int32_t> tokens, positions, slots, rows;
  for (size_t i = 0; i < a.size(); ++i) tokens.push_back(a[i]), positions.push_back(i), slots.push_back(0);
  for (size_t i = 0; i < b.size(); ++i) tokens.push_back(b[i]), positions.push_back(i), slots.push_back(1);
  rows.resize(tokens.size());
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<float> together(tokens.size() * vocab);
  (*kv)->Clear(0);
  (*kv)->Clear(1);
  model.Forward({tokens, positions, slots, rows}, **kv, together.data());
  const std::vector<float> together_a(together.begin(), together.begin() + a.size() * vocab);
  const std::vector<float> together_b(together.begin() + a.size() * vocab, together.end());
  EXPECT_LT(MaxRelativeDifference(alone_a, together_a), 1e-4);
  EXPECT_LT(MaxRelativeDifference(alone_b, together_b), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(
    TinyModels, ForwardTest,
    ::testing::Combine(::testing::Values("gemma3-tiny", "llama-tiny"),
                       ::testing::Values(DType::kF32, DType::kQ8_0, DType::kQ4_0)),
    [](const auto& info) {
      std::string name = std::get<0>(info.param) + "_" + std::string(Name(std::get<1>(info.param)));
      for (char& c : name) if (c == '-') c = '_';
      return name;
    });

TEST(LoadModelTest, RefusesUnknownArchitectureAndBrokenWeights) {
  ThreadPool pool(1);
  gguf::Writer writer;
  writer.SetString("general.architecture", "mamba");
  const std::string path = ::testing::TempDir() + "/mamba.gguf";
  ASSERT_TRUE(writer.Write(path).ok());
  auto file = gguf::File::Open(path);
  ASSERT_TRUE(file.ok());
  auto model = LoadModel(std::make_shared<gguf::File>(std::move(*file)), {}, pool);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("'mamba' is not supported"), std::string::npos);

  // A gemma3 file whose metadata lacks the layer count names the key.
  gguf::Writer broken;
  broken.SetString("general.architecture", "gemma3");
  broken.SetU32("gemma3.embedding_length", 64);
  const std::string broken_path = ::testing::TempDir() + "/broken.gguf";
  ASSERT_TRUE(broken.Write(broken_path).ok());
  auto broken_file = gguf::File::Open(broken_path);
  ASSERT_TRUE(broken_file.ok());
  model = LoadModel(std::make_shared<gguf::File>(std::move(*broken_file)), {}, pool);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("gemma3.block_count"), std::string::npos)
      << model.status().message();
}

}  // namespace
}  // namespace snug
