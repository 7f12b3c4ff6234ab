// Llama 3 as llama.cpp's converter writes it (conversion/llama.py LlamaModel): GQA, SwiGLU,
// tied embeddings (no output.weight), and Llama 3's RoPE scaling realized as a rope_freqs
// tensor of frequency divisors (generate_extra_tensors), not as metadata.
#include <cmath>
#include <numbers>

#include "synth/layout.h"

namespace snug::synth {
namespace {

// Meta's apply_scaling: long wavelengths are divided by `factor`, short ones kept, a smooth
// blend in between; llama.cpp wants the divisors.
std::vector<float> Llama3RopeDivisors(const ModelConfig& config) {
  std::vector<float> divisors;
  const double low_wavelength = config.llama3_original_context / config.llama3_low_freq_factor;
  const double high_wavelength = config.llama3_original_context / config.llama3_high_freq_factor;
  for (int i = 0; i < config.head_dim; i += 2) {
    const double frequency =
        1.0 / std::pow(config.rope_theta, static_cast<double>(i) / config.head_dim);
    const double wavelength = 2 * std::numbers::pi / frequency;
    if (wavelength < high_wavelength) {
      divisors.push_back(1.0f);
    } else if (wavelength > low_wavelength) {
      divisors.push_back(config.llama3_factor);
    } else {
      const double smooth =
          (config.llama3_original_context / wavelength - config.llama3_low_freq_factor) /
          (config.llama3_high_freq_factor - config.llama3_low_freq_factor);
      divisors.push_back(static_cast<float>(1.0 / ((1 - smooth) / config.llama3_factor + smooth)));
    }
  }
  return divisors;
}

}  // namespace

std::vector<TensorSpec> LlamaTensors(const ModelConfig& config, int64_t vocab_size) {
  const int64_t dim = config.model_dim;
  const int64_t q_rows = static_cast<int64_t>(config.num_heads) * config.head_dim;
  const int64_t kv_rows = static_cast<int64_t>(config.num_kv_heads) * config.head_dim;
  std::vector<TensorSpec> tensors;
  tensors.push_back(Matrix("token_embd.weight", TensorClass::kEmbedding, {vocab_size, dim},
                           kLogitStd * FanIn(dim)));
  if (config.llama3_factor > 0) {
    TensorSpec freqs = Vector("rope_freqs.weight", {config.head_dim / 2}, 0, 0);
    freqs.values = Llama3RopeDivisors(config);
    tensors.push_back(std::move(freqs));
  }
  for (int layer = 0; layer < config.num_layers; ++layer) {
    const auto name = [&](std::string_view suffix) { return BlockName(layer, suffix); };
    tensors.push_back(Vector(name("attn_norm.weight"), {dim}, 1, kNormNoise));
    tensors.push_back(
        Matrix(name("attn_q.weight"), TensorClass::kProjection, {q_rows, dim}, FanIn(dim)));
    tensors.push_back(
        Matrix(name("attn_k.weight"), TensorClass::kProjection, {kv_rows, dim}, FanIn(dim)));
    tensors.push_back(
        Matrix(name("attn_v.weight"), TensorClass::kProjection, {kv_rows, dim}, FanIn(dim)));
    tensors.push_back(
        Matrix(name("attn_output.weight"), TensorClass::kProjection, {dim, q_rows}, FanIn(q_rows)));
    tensors.push_back(Vector(name("ffn_norm.weight"), {dim}, 1, kNormNoise));
    tensors.push_back(Matrix(name("ffn_gate.weight"), TensorClass::kProjection,
                             {config.ffn_dim, dim}, FanIn(dim)));
    tensors.push_back(
        Matrix(name("ffn_up.weight"), TensorClass::kProjection, {config.ffn_dim, dim}, FanIn(dim)));
    tensors.push_back(Matrix(name("ffn_down.weight"), TensorClass::kProjection,
                             {dim, config.ffn_dim}, FanIn(config.ffn_dim)));
  }
  tensors.push_back(Vector("output_norm.weight", {dim}, 1, kNormNoise));
  return tensors;
}

void WriteLlamaMetadata(const ModelConfig& config, gguf::Writer& writer) {
  const auto key = [](std::string_view suffix) { return "llama." + std::string(suffix); };
  writer.SetU32(key("context_length"), static_cast<uint32_t>(config.context_tokens));
  writer.SetU32(key("embedding_length"), static_cast<uint32_t>(config.model_dim));
  writer.SetU32(key("block_count"), static_cast<uint32_t>(config.num_layers));
  writer.SetU32(key("feed_forward_length"), static_cast<uint32_t>(config.ffn_dim));
  writer.SetU32(key("rope.dimension_count"), static_cast<uint32_t>(config.head_dim));
  writer.SetU32(key("attention.head_count"), static_cast<uint32_t>(config.num_heads));
  writer.SetU32(key("attention.head_count_kv"), static_cast<uint32_t>(config.num_kv_heads));
  writer.SetF32(key("rope.freq_base"), config.rope_theta);
  writer.SetF32(key("attention.layer_norm_rms_epsilon"), config.rms_eps);
  writer.SetU32(key("attention.key_length"), static_cast<uint32_t>(config.head_dim));
  writer.SetU32(key("attention.value_length"), static_cast<uint32_t>(config.head_dim));
}

}  // namespace snug::synth
