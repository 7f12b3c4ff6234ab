// Each tiny preset written and read back: every planned tensor with its shape and type, the
// architecture's keys, the tokenizer; determinism by seed; types per tensor class.
#include "synth/generator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "kernels/kernels.h"

namespace snug::synth {
namespace {

TypeOptions Types(DType main, std::optional<DType> embedding = std::nullopt) {
  TypeOptions types;
  types.main = main;
  types.embedding = embedding;
  return types;
}

ModelPlan TinyPlan(const std::string& preset, TypeOptions types = {}) {
  const ModelConfig config = *FindPreset(preset);
  return PlanModel(config, BuiltinVocabulary(config.architecture), types);
}

std::vector<uint8_t> WriteToMemory(const ModelPlan& plan, uint64_t seed, int threads = 2) {
  ThreadPool pool(threads);
  gguf::Writer writer;
  AddModel(plan, seed, pool, writer);
  return writer.WriteToMemory();
}

int64_t Int(const gguf::File& file, const std::string& key) {
  const Result<int64_t> value = file.GetInt(key);
  EXPECT_TRUE(value.ok()) << key << ": " << value.status().message();
  return value.ok() ? *value : -1;
}

// Values of an F32 tensor.
std::vector<float> Floats(const gguf::TensorInfo& tensor) {
  const auto* data = static_cast<const float*>(tensor.view.data);
  return std::vector<float>(data, data + tensor.view.elements());
}

class TinyPresetTest : public testing::TestWithParam<const char*> {};

TEST_P(TinyPresetTest, WritesEveryTensorAndKey) {
  const ModelPlan plan = TinyPlan(GetParam(), Types(DType::kQ8_0));
  const std::vector<uint8_t> bytes = WriteToMemory(plan, 7);
  const Result<gguf::File> file = gguf::File::Parse(bytes);
  ASSERT_TRUE(file.ok()) << file.status().message();
  const ModelConfig& config = plan.config;
  const std::string arch(ArchitectureName(config.architecture));
  EXPECT_EQ(file->architecture(), arch);
  EXPECT_EQ(Int(*file, arch + ".block_count"), config.num_layers);
  EXPECT_EQ(Int(*file, arch + ".embedding_length"), config.model_dim);
  EXPECT_EQ(Int(*file, arch + ".attention.head_count"), config.num_heads);
  EXPECT_EQ(Int(*file, arch + ".context_length"), config.context_tokens);
  EXPECT_EQ(Int(*file, "general.file_type"), 7);  // MOSTLY_Q8_0
  EXPECT_TRUE(file->GetFloat(arch + ".attention.layer_norm_rms_epsilon").ok());
  EXPECT_TRUE(file->GetFloat(arch + ".rope.freq_base").ok());

  ASSERT_EQ(file->tensors().size(), plan.tensors.size());
  for (const TensorPlan& planned : plan.tensors) {
    const gguf::TensorInfo* tensor = file->FindTensor(planned.spec.name);
    ASSERT_NE(tensor, nullptr) << planned.spec.name;
    EXPECT_EQ(tensor->view.dtype, planned.type) << planned.spec.name;
    ASSERT_EQ(tensor->view.num_dims, static_cast<int>(planned.spec.shape.size()));
    for (size_t d = 0; d < planned.spec.shape.size(); ++d) {
      EXPECT_EQ(tensor->view.shape[d], planned.spec.shape[d]) << planned.spec.name;
    }
    // Types per class: vectors F32, experts MXFP4, matrices as asked.
    switch (planned.spec.tensor_class) {
      case TensorClass::kVector:
      case TensorClass::kRouter:
        EXPECT_EQ(planned.type, DType::kF32);
        break;
      case TensorClass::kExperts:
        EXPECT_EQ(planned.type, DType::kMXFP4);
        break;
      default:
        EXPECT_EQ(planned.type, DType::kQ8_0) << planned.spec.name;
    }
  }

  // The embedding has one row per token.
  const gguf::TensorInfo* embedding = file->FindTensor("token_embd.weight");
  ASSERT_NE(embedding, nullptr);
  const Result<const gguf::Array*> tokens = file->GetArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(static_cast<int64_t>((*tokens)->count), embedding->view.shape[0]);
  EXPECT_EQ(static_cast<int64_t>((*tokens)->count), plan.vocab.size());
  ASSERT_TRUE(file->GetArray("tokenizer.ggml.token_type").ok());
  EXPECT_EQ(*file->GetString("tokenizer.ggml.model"), plan.vocab.model);
  EXPECT_EQ(Int(*file, "tokenizer.ggml.bos_token_id"), plan.vocab.bos_id);
  EXPECT_EQ(Int(*file, "tokenizer.ggml.eos_token_id"), plan.vocab.eos_id);
  EXPECT_TRUE(file->GetString("tokenizer.chat_template").ok());

  // Norm weights are 1 ± small noise.
  const std::vector<float> norm = Floats(*file->FindTensor("output_norm.weight"));
  double mean = 0;
  for (float v : norm) mean += v;
  mean /= static_cast<double>(norm.size());
  EXPECT_NEAR(mean, 1.0, 0.02);
}

INSTANTIATE_TEST_SUITE_P(Presets, TinyPresetTest,
                         testing::Values("gemma3-tiny", "gemma4-tiny", "gptoss-tiny", "llama-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = std::isalnum(c) ? c : '_';
                           return name;
                         });

TEST(GeneratorTest, SameSeedSameBytesDifferentSeedDifferentBytes) {
  const ModelPlan plan = TinyPlan("gemma3-tiny", Types(DType::kQ4_0));
  const std::vector<uint8_t> a = WriteToMemory(plan, 1, /*threads=*/1);
  const std::vector<uint8_t> b = WriteToMemory(plan, 1, /*threads=*/2);  // threads don't matter
  const std::vector<uint8_t> c = WriteToMemory(plan, 2, /*threads=*/2);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), c.size());
  EXPECT_NE(a, c);
}

TEST(GeneratorTest, WriteModelWritesTheFile) {
  const ModelPlan plan = TinyPlan("llama-tiny", Types(DType::kF16));
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("synth_test_" + std::to_string(getpid()) + ".gguf"))
                               .string();
  int64_t last_done = 0, total = 0;
  ASSERT_TRUE(WriteModel(plan, 3, path, 2, [&](const Progress& p) {
                last_done = p.tensors_done;
                total = p.tensors_total;
              }).ok());
  EXPECT_EQ(last_done, total);
  EXPECT_EQ(total, static_cast<int64_t>(plan.tensors.size()));
  const Result<gguf::File> file = gguf::File::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->FindTensor("blk.0.attn_q.weight")->view.dtype, DType::kF16);
  // The file holds exactly the bytes the in-memory writer produces.
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, WriteToMemory(plan, 3));
  std::filesystem::remove(path);
}

TEST(GeneratorTest, ProjectionsHaveFanInScale) {
  const ModelPlan plan = TinyPlan("llama-tiny", Types(DType::kF32));
  const std::vector<uint8_t> bytes = WriteToMemory(plan, 5);
  const Result<gguf::File> file_result = gguf::File::Parse(bytes);
  ASSERT_TRUE(file_result.ok());
  const gguf::File& file = *file_result;
  const std::vector<float> up = Floats(*file.FindTensor("blk.1.ffn_up.weight"));  // [256, 128]
  double sum = 0, squares = 0;
  for (float v : up) {
    sum += v;
    squares += double(v) * v;
  }
  const double n = static_cast<double>(up.size());
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(squares / n), 1.0 / std::sqrt(128.0), 0.005);
}

TEST(GeneratorTest, RopeFrequencyTensors) {
  // Gemma 4 full layers: head 64, a quarter rotated -> 8 pairs at 1, 24 at 1e30.
  const ModelPlan gemma4 = TinyPlan("gemma4-tiny");
  const std::vector<uint8_t> bytes = WriteToMemory(gemma4, 1);
  const Result<gguf::File> file_result = gguf::File::Parse(bytes);
  ASSERT_TRUE(file_result.ok());
  const gguf::File& file = *file_result;
  const std::vector<float> freqs = Floats(*file.FindTensor("rope_freqs.weight"));
  ASSERT_EQ(freqs.size(), 32u);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(freqs[i], i < 8 ? 1.0f : 1e30f) << i;
  EXPECT_EQ(file.FindTensor("blk.5.attn_v.weight"), nullptr);  // k_eq_v on the full layer
  EXPECT_NE(file.FindTensor("blk.4.attn_v.weight"), nullptr);
  EXPECT_EQ(file.FindTensor("blk.5.attn_q.weight")->view.shape[0], 4 * 64);
  EXPECT_EQ(file.FindTensor("blk.5.attn_k.weight")->view.shape[0], 1 * 64);
  EXPECT_EQ(file.FindTensor("blk.4.attn_k.weight")->view.shape[0], 2 * 32);
  EXPECT_EQ(Int(file, "gemma4.attention.key_length"), 64);
  EXPECT_EQ(Int(file, "gemma4.attention.key_length_swa"), 32);
  EXPECT_EQ(Int(file, "gemma4.embedding_length_per_layer_input"), 0);
  const gguf::Array* pattern = *file.GetArray("gemma4.attention.sliding_window_pattern");
  ASSERT_EQ(pattern->count, 6u);
  EXPECT_EQ(pattern->element_type, gguf::ValueType::kBool);
  EXPECT_EQ(pattern->IntAt(0), 1);
  EXPECT_EQ(pattern->IntAt(5), 0);
  const gguf::Array* kv_heads = *file.GetArray("gemma4.attention.head_count_kv");
  EXPECT_EQ(kv_heads->IntAt(0), 2);
  EXPECT_EQ(kv_heads->IntAt(5), 1);

  // Llama 3: high frequencies kept (divisor 1), low ones divided by the factor 32.
  const ModelPlan llama = TinyPlan("llama-tiny");
  const std::vector<uint8_t> llama_bytes = WriteToMemory(llama, 1);
  const Result<gguf::File> llama_file_result = gguf::File::Parse(llama_bytes);
  ASSERT_TRUE(llama_file_result.ok());
  const gguf::File& llama_file = *llama_file_result;
  const std::vector<float> divisors = Floats(*llama_file.FindTensor("rope_freqs.weight"));
  ASSERT_EQ(divisors.size(), 16u);
  EXPECT_FLOAT_EQ(divisors.front(), 1.0f);
  EXPECT_FLOAT_EQ(divisors.back(), 32.0f);
  for (size_t i = 1; i < divisors.size(); ++i) EXPECT_GE(divisors[i], divisors[i - 1]);
}

TEST(GeneratorTest, GptOssHasSinksBiasesAndYarn) {
  const ModelPlan plan = TinyPlan("gptoss-tiny");
  const std::vector<uint8_t> bytes = WriteToMemory(plan, 1);
  const Result<gguf::File> file_result = gguf::File::Parse(bytes);
  ASSERT_TRUE(file_result.ok());
  const gguf::File& file = *file_result;
  EXPECT_EQ(file.FindTensor("blk.0.attn_sinks.weight")->view.shape[0], 4);
  EXPECT_NE(file.FindTensor("blk.3.attn_output.bias"), nullptr);
  EXPECT_NE(file.FindTensor("output.weight"), nullptr);  // untied
  const gguf::TensorInfo* gate = file.FindTensor("blk.0.ffn_gate_exps.weight");
  ASSERT_EQ(gate->view.num_dims, 3);
  EXPECT_EQ(gate->view.shape[0], 4);   // experts
  EXPECT_EQ(gate->view.shape[1], 64);  // expert ffn
  EXPECT_EQ(gate->view.shape[2], 96);  // model dim
  EXPECT_EQ(gate->view.dtype, DType::kMXFP4);
  EXPECT_EQ(*file.GetString("gpt-oss.rope.scaling.type"), "yarn");
  EXPECT_EQ(Int(file, "gpt-oss.expert_count"), 4);
  EXPECT_EQ(Int(file, "gpt-oss.expert_used_count"), 2);
  EXPECT_EQ(Int(file, "gpt-oss.attention.sliding_window"), 16);
}

TEST(GeneratorTest, TypesPerTensorClassAndFallbacks) {
  // --type mxfp4 is llama.cpp's MXFP4_MOE: experts MXFP4, other matrices Q8_0.
  const ModelPlan moe = TinyPlan("gptoss-tiny", Types(DType::kMXFP4));
  for (const TensorPlan& t : moe.tensors) {
    if (t.spec.tensor_class == TensorClass::kExperts) {
      EXPECT_EQ(t.type, DType::kMXFP4);
    }
    if (t.spec.tensor_class == TensorClass::kProjection) {
      EXPECT_EQ(t.type, DType::kQ8_0);
    }
  }
  // A separate embedding type.
  const ModelPlan embed = TinyPlan("gemma3-tiny", Types(DType::kQ4_0, DType::kQ8_0));
  EXPECT_EQ(embed.tensors.front().spec.name, "token_embd.weight");
  EXPECT_EQ(embed.tensors.front().type, DType::kQ8_0);
  EXPECT_EQ(embed.tensors[2].type, DType::kQ4_0);  // blk.0.attn_q
  // K types need rows of 256: the tiny widths (128) fall back as llama.cpp's quantizer does.
  if (kernels::CanQuantize(DType::kQ4_K)) {
    const ModelPlan k = TinyPlan("gemma3-tiny", Types(DType::kQ4_K));
    const DType expected = kernels::CanQuantize(DType::kQ5_0) ? DType::kQ5_0 : DType::kQ8_0;
    EXPECT_EQ(k.tensors[2].type, expected);
    ASSERT_FALSE(k.notes.empty());
    EXPECT_NE(k.notes[0].find("q4_k -> "), std::string::npos) << k.notes[0];
    // 15 × 256 = 3840: the real 12B widths take Q4_K as asked.
    TensorSpec wide = Matrix("w", TensorClass::kProjection, {512, 3840}, 0.1f);
    EXPECT_EQ(ChooseType(wide, Types(DType::kQ4_K)), DType::kQ4_K);
  }
}

// llama.cpp's Q4_K_M: Q6_K for the embedding and for attn_v / ffn_down of the first and last
// eighth of the layers and every third layer between (use_more_bits), Q4_K elsewhere.
TEST(GeneratorTest, KMixTakesQ6KWhereLlamaCppDoes) {
  if (!kernels::CanQuantize(DType::kQ4_K) || !kernels::CanQuantize(DType::kQ6_K)) GTEST_SKIP();
  TypeOptions mix = Types(DType::kQ4_K);
  mix.k_mix = true;
  const auto type_of = [&](const std::string& name, TensorClass tensor_class) {
    return ChooseType(Matrix(name, tensor_class, {512, 3840}, 0.1f), mix, nullptr, 16);
  };
  // 16 layers: the first 2, the last 2, and layers 4, 7, 10, 13 between.
  std::string q6k_layers;
  for (int layer = 0; layer < 16; ++layer) {
    const std::string prefix = "blk." + std::to_string(layer) + ".";
    const DType down = type_of(prefix + "ffn_down.weight", TensorClass::kProjection);
    EXPECT_EQ(type_of(prefix + "attn_v.weight", TensorClass::kProjection), down) << layer;
    EXPECT_EQ(type_of(prefix + "attn_q.weight", TensorClass::kProjection), DType::kQ4_K);
    EXPECT_EQ(type_of(prefix + "ffn_up.weight", TensorClass::kProjection), DType::kQ4_K);
    if (down == DType::kQ6_K) q6k_layers += std::to_string(layer) + " ";
  }
  EXPECT_EQ(q6k_layers, "0 1 4 7 10 13 14 15 ");
  EXPECT_EQ(type_of("token_embd.weight", TensorClass::kEmbedding), DType::kQ6_K);
  EXPECT_EQ(type_of("output.weight", TensorClass::kOutput), DType::kQ6_K);
  mix.k_mix = false;
  EXPECT_EQ(type_of("blk.0.ffn_down.weight", TensorClass::kProjection), DType::kQ4_K);
}

TEST(GeneratorTest, LayerOverrideKeepsTheLayerRules) {
  const ModelConfig config = *WithLayers(*FindPreset("gemma4-tiny"), 12);
  const ModelPlan plan = PlanModel(config, BuiltinVocabulary(config.architecture), {});
  int value_projections = 0;
  for (const TensorPlan& t : plan.tensors) {
    value_projections += t.spec.name.find("attn_v.weight") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(value_projections, 10);  // layers 5 and 11 are full, k_eq_v
  EXPECT_FALSE(WithLayers(config, -1).ok());
}

}  // namespace
}  // namespace snug::synth
