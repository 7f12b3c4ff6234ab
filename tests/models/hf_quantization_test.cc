// MLX checkpoints as the import maps them (models/hf_import.h, specs/models.md §1.3): a
// hand-written directory of random packed codes, scales and biases — the global quantization,
// per-module overrides (3-, 6- and 8-bit, group 32/64, mxfp4; MLX's defaults for what they omit),
// f16 and bf16 scales, unquantized F16/BF16 tensors — dequantized by snug and by an independent
// scalar reading of §1.3 written here, value for value; the hostile cases; and names from the
// Hugging Face cache.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "formats/safetensors.h"
#include "kernels/kernels.h"
#include "models/hf_import.h"
#include "tensor/fp16.h"

namespace snug {
namespace {

namespace fs = std::filesystem;
using safetensors::ElementType;

constexpr int kHidden = 64, kFfn = 128, kVocab = 96, kHeadDim = 32;

// §1.3 read literally: element i of a row is bits [i·b, (i+1)·b) of the row's little-endian bit
// stream; affine w = scale[i / g]·q + bias[i / g]; mxfp4 w = FP4[q]·2^(e − 127).
struct Quantized {
  std::string module;
  int bits = 4;
  int group = 32;
  bool mxfp4 = false;
  ElementType scale_type = ElementType::kBF16;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> codes, scales, biases;

  float Scale(const std::vector<uint8_t>& array, int64_t index) const {
    if (scale_type == ElementType::kF32) {
      float value;
      std::memcpy(&value, array.data() + 4 * index, 4);
      return value;
    }
    const uint16_t half = array[2 * index] | array[2 * index + 1] << 8;
    if (scale_type == ElementType::kF16) return F16ToF32(half);
    const uint32_t bits32 = static_cast<uint32_t>(half) << 16;
    float value;
    std::memcpy(&value, &bits32, 4);
    return value;
  }

  float Expected(int64_t row, int64_t i) const {
    const int64_t row_bytes = cols * bits / 8;
    int code = 0;
    for (int k = 0; k < bits; ++k) {
      const int64_t bit = i * bits + k;
      code |= ((codes[row * row_bytes + bit / 8] >> (bit % 8)) & 1) << k;
    }
    const int64_t group_index = row * (cols / group) + i / group;
    if (mxfp4) {
      static constexpr float kFp4[16] = {0,   .5,  1,  1.5,  2,  3,  4,  6,
                                         -0., -.5, -1, -1.5, -2, -3, -4, -6};
      return kFp4[code] * std::ldexp(1.0f, static_cast<int>(scales[group_index]) - 127);
    }
    return Scale(scales, group_index) * static_cast<float>(code) + Scale(biases, group_index);
  }
};

std::vector<uint8_t> RandomBytes(size_t count, std::mt19937& rng) {
  std::vector<uint8_t> bytes(count);
  for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(rng());
  return bytes;
}

// Random group values of `type` in [-0.05, 0.05].
std::vector<uint8_t> RandomScales(ElementType type, int64_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-0.05f, 0.05f);
  std::vector<uint8_t> bytes(count * safetensors::ElementBytes(type));
  for (int64_t i = 0; i < count; ++i) {
    const float v = value(rng);
    if (type == ElementType::kF32) {
      std::memcpy(bytes.data() + 4 * i, &v, 4);
    } else {
      const uint16_t half = type == ElementType::kF16 ? F32ToF16(v) : F32ToBf16(v);
      std::memcpy(bytes.data() + 2 * i, &half, 2);
    }
  }
  return bytes;
}

Quantized MakeQuantized(std::string module, int64_t rows, int64_t cols, int bits, int group,
                        bool mxfp4, ElementType scale_type, std::mt19937& rng) {
  Quantized q{std::move(module), bits, group, mxfp4, scale_type, rows, cols};
  q.codes = RandomBytes(rows * cols * bits / 8, rng);
  const int64_t groups = rows * (cols / group);
  if (mxfp4) {
    std::uniform_int_distribution<int> exponent(110, 135);
    for (int64_t i = 0; i < groups; ++i) q.scales.push_back(static_cast<uint8_t>(exponent(rng)));
  } else {
    q.scales = RandomScales(scale_type, groups, rng);
    q.biases = RandomScales(scale_type, groups, rng);
  }
  return q;
}

void AddQuantized(safetensors::Writer& writer, const Quantized& q) {
  const auto copy = [](const std::vector<uint8_t>& from) {
    return [&from](std::span<uint8_t> out) { std::memcpy(out.data(), from.data(), out.size()); };
  };
  writer.AddTensor(q.module + ".weight", ElementType::kU32, {q.rows, q.cols * q.bits / 32},
                   copy(q.codes));
  const ElementType group_type = q.mxfp4 ? ElementType::kU8 : q.scale_type;
  writer.AddTensor(q.module + ".scales", group_type, {q.rows, q.cols / q.group}, copy(q.scales));
  if (!q.mxfp4) {
    writer.AddTensor(q.module + ".biases", group_type, {q.rows, q.cols / q.group}, copy(q.biases));
  }
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A one-layer Llama whose matrices use every kind of quantization the directory can hold.
class MlxDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/mlx_" + test->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::mt19937 rng(5);
    const std::string l = "model.layers.0.";
    quantized_ = {
        MakeQuantized(l + "self_attn.q_proj", 2 * kHeadDim, kHidden, 4, 32, false,
                      ElementType::kBF16, rng),
        MakeQuantized(l + "self_attn.k_proj", kHeadDim, kHidden, 4, 32, false, ElementType::kBF16,
                      rng),
        MakeQuantized(l + "self_attn.v_proj", kHeadDim, kHidden, 8, 64, false, ElementType::kF16,
                      rng),
        MakeQuantized(l + "self_attn.o_proj", kHidden, 2 * kHeadDim, 6, 64, false,
                      ElementType::kBF16, rng),
        MakeQuantized(l + "mlp.gate_proj", kFfn, kHidden, 4, 32, true, ElementType::kU8, rng),
        MakeQuantized(l + "mlp.up_proj", kFfn, kHidden, 4, 32, false, ElementType::kF32, rng),
        MakeQuantized(l + "mlp.down_proj", kHidden, kFfn, 3, 64, false, ElementType::kBF16, rng),
    };
    config_ = nlohmann::json{{"model_type", "llama"},
                             {"hidden_size", kHidden},
                             {"num_hidden_layers", 1},
                             {"num_attention_heads", 2},
                             {"num_key_value_heads", 1},
                             {"head_dim", kHeadDim},
                             {"intermediate_size", kFfn},
                             {"rms_norm_eps", 1e-5},
                             {"vocab_size", kVocab},
                             {"rope_theta", 10000.0},
                             {"quantization",
                              {{"group_size", 32},
                               {"bits", 4},
                               {l + "self_attn.v_proj", {{"group_size", 64}, {"bits", 8}}},
                               // What an override omits takes MLX's defaults, not the global
                               // values: group 64 here, group 32 and 4 bits for mxfp4.
                               {l + "self_attn.o_proj", {{"bits", 6}}},
                               {l + "mlp.gate_proj", {{"mode", "mxfp4"}}},
                               {l + "mlp.down_proj", {{"group_size", 64}, {"bits", 3}}}}}};
    norm_ = RandomScales(ElementType::kBF16, kHidden, rng);
    embedding_ = RandomScales(ElementType::kF16, kVocab * kHidden, rng);
  }

  void Write(const std::vector<Quantized>& quantized, const nlohmann::json& config) {
    WriteText(dir_ + "/config.json", config.dump());
    safetensors::Writer writer;
    const auto copy = [](const std::vector<uint8_t>& from) {
      return [&from](std::span<uint8_t> out) { std::memcpy(out.data(), from.data(), out.size()); };
    };
    writer.AddTensor("model.embed_tokens.weight", ElementType::kF16, {kVocab, kHidden},
                     copy(embedding_));
    writer.AddTensor("model.norm.weight", ElementType::kBF16, {kHidden}, copy(norm_));
    writer.AddTensor("model.layers.0.input_layernorm.weight", ElementType::kBF16, {kHidden},
                     copy(norm_));
    writer.AddTensor("model.layers.0.post_attention_layernorm.weight", ElementType::kBF16,
                     {kHidden}, copy(norm_));
    for (const Quantized& q : quantized) AddQuantized(writer, q);
    const Status written = writer.Write(dir_ + "/model.safetensors");
    ASSERT_TRUE(written.ok()) << written.ToString();
  }

  std::string dir_;
  std::vector<Quantized> quantized_;
  nlohmann::json config_;
  std::vector<uint8_t> norm_, embedding_;
};

TEST_F(MlxDirectory, DequantizesAsSection13Says) {
  Write(quantized_, config_);
  Result<gguf::File> file = OpenModelSource(dir_);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const char* names[] = {"attn_q",   "attn_k", "attn_v",  "attn_output",
                         "ffn_gate", "ffn_up", "ffn_down"};
  const DType types[] = {DType::kMlxQ4,    DType::kMlxQ4, DType::kMlxQ8, DType::kMlxQ6,
                         DType::kMlxMXFP4, DType::kMlxQ4, DType::kMlxQ3};
  for (size_t t = 0; t < quantized_.size(); ++t) {
    const Quantized& q = quantized_[t];
    SCOPED_TRACE(q.module);
    const gguf::TensorInfo* tensor = file->FindTensor("blk.0." + std::string(names[t]) + ".weight");
    ASSERT_NE(tensor, nullptr);
    const TensorView& view = tensor->view;
    EXPECT_EQ(view.dtype, types[t]);
    ASSERT_EQ(view.rows(), q.rows);
    ASSERT_EQ(view.cols(), q.cols);
    EXPECT_EQ(view.groups.group_size, q.group);
    // The plan counts the scales and biases with the codes.
    EXPECT_EQ(tensor->bytes, q.codes.size() + q.scales.size() + q.biases.size());
    std::vector<float> row(q.cols);
    int checked = 0;
    for (int64_t r = 0; r < q.rows; ++r) {
      kernels::DequantizeRow(view, r, row.data());
      for (int64_t i = 0; i < q.cols; ++i, ++checked) {
        ASSERT_EQ(row[i], q.Expected(r, i)) << "row " << r << " element " << i;
      }
    }
    EXPECT_EQ(checked, q.rows * q.cols);
  }
  // Unquantized tensors: F16 mapped as it lies, BF16 norms converted to the f32 models read.
  EXPECT_EQ(file->FindTensor("token_embd.weight")->view.dtype, DType::kF16);
  const TensorView norm = file->FindTensor("output_norm.weight")->view;
  ASSERT_EQ(norm.dtype, DType::kF32);
  EXPECT_EQ(static_cast<const float*>(norm.data)[3], Bf16ToF32(norm_[6] | norm_[7] << 8));
  // And the model binds them all and runs.
  ThreadPool pool(1);
  auto model = LoadModel(std::make_shared<const gguf::File>(std::move(file).value()),
                         {.batch_tokens = 4}, pool);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->spec().vocab_size, kVocab);
}

TEST_F(MlxDirectory, RefusesHostileQuantization) {
  const auto expect_error = [&](const std::vector<Quantized>& quantized,
                                const nlohmann::json& config, std::string_view message) {
    Write(quantized, config);
    const Result<gguf::File> file = OpenModelSource(dir_);
    ASSERT_FALSE(file.ok());
    EXPECT_NE(file.status().message().find(message), std::string::npos) << file.status().message();
  };
  nlohmann::json config = config_;
  config.erase("quantization");
  expect_error(quantized_, config, "has no \"quantization\"");
  config = config_;
  config["quantization"]["bits"] = 7;
  expect_error(quantized_, config, "7-bit is not supported");
  config = config_;
  config["quantization"]["mode"] = "nvfp4";
  expect_error(quantized_, config, "mode 'nvfp4' is not supported");
  // Scales of the wrong shape: the override says group 64 for a tensor written with 32.
  config = config_;
  config["quantization"]["model.layers.0.self_attn.q_proj"] = {{"group_size", 64}};
  expect_error(quantized_, config, "must be BF16/F16/F32 of shape [64, 1]");
  std::vector<Quantized> no_biases = quantized_;
  no_biases[0].biases.clear();
  no_biases[0].mxfp4 = true;  // writes no .biases, but the config says affine
  no_biases[0].scale_type = ElementType::kU8;
  expect_error(no_biases, config_, "must be BF16/F16/F32");
  config = config_;
  config["model_type"] = "mamba";
  expect_error(quantized_, config, "model_type 'mamba' is not supported");
}

TEST_F(MlxDirectory, ResolvesNamesThroughTheHuggingFaceCache) {
  Write(quantized_, config_);
  const std::string cache = ::testing::TempDir() + "/hf_cache_import";
  fs::remove_all(cache);
  const std::string commit(40, 'a');
  const std::string repo = cache + "/models--org--tiny";
  fs::create_directories(repo + "/refs");
  fs::create_directories(repo + "/snapshots");
  WriteText(repo + "/refs/main", commit);
  fs::copy(dir_, repo + "/snapshots/" + commit, fs::copy_options::recursive);
  setenv("HF_HUB_CACHE", cache.c_str(), 1);
  const Result<gguf::File> file = OpenModelSource("org/tiny");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->GetString("general.name").value(), "org/tiny");
  EXPECT_NE(file->FindTensor("blk.0.ffn_down.weight"), nullptr);
  const Result<gguf::File> absent = OpenModelSource("org/absent");
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("snug pull org/absent"), std::string::npos)
      << absent.status().message();
  unsetenv("HF_HUB_CACHE");
  // /v1/models lists the name the user gave.
  EXPECT_EQ(ModelId("org/tiny@main"), "org/tiny@main");
  EXPECT_EQ(ModelId(dir_ + "/"), fs::path(dir_).filename().string());
  EXPECT_EQ(ModelId("models/gemma3-1b.gguf"), "gemma3-1b");
}

// OpenAI's gpt-oss layout interleaves gate and up rows in one fused tensor: refused by name
// rather than reported as missing tensors.
TEST(HfImport, RefusesFusedGptOssExperts) {
  const std::string dir = ::testing::TempDir() + "/gpt_oss_fused";
  fs::remove_all(dir);
  fs::create_directories(dir);
  WriteText(dir + "/config.json",
            R"({"model_type": "gpt_oss", "hidden_size": 64, "num_hidden_layers": 1})");
  safetensors::Writer writer;
  const auto zeros = [](std::span<uint8_t> out) { std::fill(out.begin(), out.end(), 0); };
  writer.AddTensor("model.embed_tokens.weight", ElementType::kBF16, {8, 64}, zeros);
  writer.AddTensor("model.layers.0.mlp.experts.gate_up_proj_blocks", ElementType::kU8,
                   {2, 16, 2, 16}, zeros);
  ASSERT_TRUE(writer.Write(dir + "/model.safetensors").ok());
  const Result<gguf::File> file = OpenModelSource(dir);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("fused, interleaved gate_up_proj"), std::string::npos)
      << file.status().message();
}

}  // namespace
}  // namespace snug
