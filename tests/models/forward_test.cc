// Forward-pass invariants on tiny synthetic models of every supported architecture: chunked
// prefill equals one-shot prefill equals token-by-token decode, and sequences batched together
// equal each run alone.
#include <gtest/gtest.h>

#include "base/thread_pool.h"
#include "forward_helpers.h"
#include "kv/kv_cache.h"
#include "models/model.h"

namespace snug {
namespace {

using test::ExpectBatchedEqualsAlone;
using test::ExpectChunkingAgrees;
using test::Loaded;
using test::RandomTokens;
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
  ExpectChunkingAgrees(model, **kv, tokens, 64);
}

TEST_P(ForwardTest, BatchedSequencesEqualEachAlone) {
  const auto& [preset, type] = GetParam();
  ThreadPool pool(2);
  Loaded loaded = WriteAndLoad(preset, type, pool, 64);
  ExpectBatchedEqualsAlone(*loaded.model, 30, 21, 64);
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
