// Preset shapes and per-layer rules (sliding pattern, head dims, KV heads, k_eq_v).
#include "synth/presets.h"

#include <gtest/gtest.h>

namespace snug::synth {
namespace {

TEST(PresetsTest, EveryArchitectureHasATinyAndARealPreset) {
  for (const char* name : {"gemma3-tiny", "gemma4-tiny", "gptoss-tiny", "llama-tiny", "gemma3-1b",
                           "gemma4-12b", "gptoss-20b", "llama-3.2-1b"}) {
    const Result<ModelConfig> config = FindPreset(name);
    ASSERT_TRUE(config.ok()) << name;
    EXPECT_EQ(config->preset, name);
    EXPECT_GT(config->num_layers, 0);
    EXPECT_EQ(config->model_dim % 32, 0) << name;  // every weight type's block fits a row
  }
  EXPECT_FALSE(FindPreset("gemma5").ok());
  EXPECT_NE(FindPreset("gemma5").status().message().find("gemma3-tiny"), std::string::npos);
}

TEST(PresetsTest, RealShapesMatchTheSpec) {
  const ModelConfig gemma3 = *FindPreset("gemma3-1b");
  EXPECT_EQ(gemma3.model_dim, 1152);
  EXPECT_EQ(gemma3.num_layers, 26);
  EXPECT_EQ(gemma3.ffn_dim, 6912);
  const ModelConfig llama = *FindPreset("llama-3.2-1b");
  EXPECT_EQ(llama.model_dim, 2048);
  EXPECT_EQ(llama.num_heads, 32);
  EXPECT_EQ(llama.num_kv_heads, 8);
  EXPECT_EQ(llama.ffn_dim, 8192);
  EXPECT_FLOAT_EQ(llama.rope_theta, 500000.0f);
  const ModelConfig gpt_oss = *FindPreset("gptoss-20b");
  EXPECT_EQ(gpt_oss.num_experts, 32);
  EXPECT_EQ(gpt_oss.num_experts_used, 4);
  EXPECT_FALSE(gpt_oss.tied_embeddings);
  const ModelConfig gemma4 = *FindPreset("gemma4-12b");
  EXPECT_EQ(gemma4.global_head_dim, 512);
  EXPECT_EQ(gemma4.num_global_kv_heads, 1);
}

TEST(PresetsTest, Gemma3SlidesFiveOfSixLayers) {
  const ModelConfig config = *FindPreset("gemma3-1b");
  int full = 0;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    const bool sliding = IsSlidingLayer(config, layer);
    EXPECT_EQ(sliding, (layer + 1) % 6 != 0) << layer;
    full += sliding ? 0 : 1;
  }
  EXPECT_EQ(full, 4);  // layers 5, 11, 17, 23
}

TEST(PresetsTest, Gemma4FullLayersHaveTheirOwnHeadsAndNoValueProjection) {
  const ModelConfig config = *FindPreset("gemma4-tiny");
  ASSERT_EQ(config.num_layers, 6);
  for (int layer = 0; layer < 5; ++layer) {
    EXPECT_TRUE(IsSlidingLayer(config, layer));
    EXPECT_EQ(LayerHeadDim(config, layer), 32);
    EXPECT_EQ(LayerKvHeads(config, layer), 2);
    EXPECT_TRUE(LayerHasValueProjection(config, layer));
  }
  EXPECT_FALSE(IsSlidingLayer(config, 5));
  EXPECT_EQ(LayerHeadDim(config, 5), 64);
  EXPECT_EQ(LayerKvHeads(config, 5), 1);
  EXPECT_FALSE(LayerHasValueProjection(config, 5));

  // The last layer is full even off the 6-period (HF's rule when layer_types is absent).
  ModelConfig eight = config;
  eight.num_layers = 8;
  EXPECT_FALSE(IsSlidingLayer(eight, 5));
  EXPECT_TRUE(IsSlidingLayer(eight, 6));
  EXPECT_FALSE(IsSlidingLayer(eight, 7));
}

TEST(PresetsTest, GptOssSlidesOnEvenLayersLlamaNever) {
  const ModelConfig gpt_oss = *FindPreset("gptoss-tiny");
  EXPECT_TRUE(IsSlidingLayer(gpt_oss, 0));
  EXPECT_FALSE(IsSlidingLayer(gpt_oss, 1));
  EXPECT_TRUE(IsSlidingLayer(gpt_oss, 2));
  const ModelConfig llama = *FindPreset("llama-tiny");
  for (int layer = 0; layer < llama.num_layers; ++layer) EXPECT_FALSE(IsSlidingLayer(llama, layer));
}

TEST(PresetsTest, VocabulariesFitTheirArchitectures) {
  EXPECT_TRUE(VocabFits(Architecture::kGemma4, VocabSource::kGemma3));
  EXPECT_TRUE(VocabFits(Architecture::kLlama, VocabSource::kGptOss));
  EXPECT_FALSE(VocabFits(Architecture::kGptOss, VocabSource::kGemma3));
  EXPECT_FALSE(VocabFits(Architecture::kGemma3, VocabSource::kGptOss));
  for (Architecture a : {Architecture::kGemma3, Architecture::kGemma4, Architecture::kGptOss,
                         Architecture::kLlama}) {
    EXPECT_TRUE(VocabFits(a, VocabSource::kBuiltin));
  }
}

}  // namespace
}  // namespace snug::synth
