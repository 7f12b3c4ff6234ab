// gpt-oss as llama.cpp's converter writes it (conversion/gpt_oss.py, specs/models.md §4.4):
// biased attention with per-head sinks, a biased router, experts split into gate/up/down with
// biases, an untied output. Metadata per GptOssModel.set_gguf_parameters plus the YaRN keys of
// the base converter.
#include "synth/layout.h"

namespace snug::synth {

std::vector<TensorSpec> GptOssTensors(const ModelConfig& config, int64_t vocab_size) {
  const int64_t dim = config.model_dim;
  const int64_t q_rows = static_cast<int64_t>(config.num_heads) * config.head_dim;
  const int64_t kv_rows = static_cast<int64_t>(config.num_kv_heads) * config.head_dim;
  const int64_t experts = config.num_experts;
  const int64_t ffn = config.expert_ffn_dim;
  constexpr float kBiasStd = 0.02f;
  std::vector<TensorSpec> tensors;
  // Untied: the input embedding has no scale to undo, so unit rows; the output matrix sets the
  // logit spread.
  tensors.push_back(Matrix("token_embd.weight", TensorClass::kEmbedding, {vocab_size, dim}, 1.0f));
  for (int layer = 0; layer < config.num_layers; ++layer) {
    const auto name = [&](std::string_view suffix) { return BlockName(layer, suffix); };
    tensors.push_back(Vector(name("attn_norm.weight"), {dim}, 1, kNormNoise));
    tensors.push_back(
        Matrix(name("attn_q.weight"), TensorClass::kProjection, {q_rows, dim}, FanIn(dim)));
    tensors.push_back(Vector(name("attn_q.bias"), {q_rows}, 0, kBiasStd));
    tensors.push_back(
        Matrix(name("attn_k.weight"), TensorClass::kProjection, {kv_rows, dim}, FanIn(dim)));
    tensors.push_back(Vector(name("attn_k.bias"), {kv_rows}, 0, kBiasStd));
    tensors.push_back(
        Matrix(name("attn_v.weight"), TensorClass::kProjection, {kv_rows, dim}, FanIn(dim)));
    tensors.push_back(Vector(name("attn_v.bias"), {kv_rows}, 0, kBiasStd));
    tensors.push_back(
        Matrix(name("attn_output.weight"), TensorClass::kProjection, {dim, q_rows}, FanIn(q_rows)));
    tensors.push_back(Vector(name("attn_output.bias"), {dim}, 0, kBiasStd));
    // Sinks are extra softmax logits per head: around 0, so they take a visible but small share.
    tensors.push_back(Vector(name("attn_sinks.weight"), {config.num_heads}, 0, 0.5f));
    tensors.push_back(Vector(name("post_attention_norm.weight"), {dim}, 1, kNormNoise));
    tensors.push_back(
        Matrix(name("ffn_gate_inp.weight"), TensorClass::kRouter, {experts, dim}, FanIn(dim)));
    tensors.push_back(Vector(name("ffn_gate_inp.bias"), {experts}, 0, kBiasStd));
    tensors.push_back(Matrix(name("ffn_gate_exps.weight"), TensorClass::kExperts,
                             {experts, ffn, dim}, FanIn(dim)));
    tensors.push_back(Vector(name("ffn_gate_exps.bias"), {experts, ffn}, 0, kBiasStd));
    tensors.push_back(
        Matrix(name("ffn_up_exps.weight"), TensorClass::kExperts, {experts, ffn, dim}, FanIn(dim)));
    tensors.push_back(Vector(name("ffn_up_exps.bias"), {experts, ffn}, 0, kBiasStd));
    tensors.push_back(Matrix(name("ffn_down_exps.weight"), TensorClass::kExperts,
                             {experts, dim, ffn}, FanIn(ffn)));
    tensors.push_back(Vector(name("ffn_down_exps.bias"), {experts, dim}, 0, kBiasStd));
  }
  tensors.push_back(Vector("output_norm.weight", {dim}, 1, kNormNoise));
  tensors.push_back(
      Matrix("output.weight", TensorClass::kOutput, {vocab_size, dim}, kLogitStd * FanIn(dim)));
  return tensors;
}

void WriteGptOssMetadata(const ModelConfig& config, gguf::Writer& writer) {
  const auto key = [](std::string_view suffix) { return "gpt-oss." + std::string(suffix); };
  writer.SetU32(key("context_length"), static_cast<uint32_t>(config.context_tokens));
  writer.SetU32(key("embedding_length"), static_cast<uint32_t>(config.model_dim));
  writer.SetU32(key("block_count"), static_cast<uint32_t>(config.num_layers));
  writer.SetU32(key("feed_forward_length"), static_cast<uint32_t>(config.ffn_dim));
  writer.SetU32(key("attention.head_count"), static_cast<uint32_t>(config.num_heads));
  writer.SetU32(key("attention.head_count_kv"), static_cast<uint32_t>(config.num_kv_heads));
  writer.SetF32(key("rope.freq_base"), config.rope_theta);
  writer.SetF32(key("attention.layer_norm_rms_epsilon"), config.rms_eps);
  writer.SetU32(key("attention.key_length"), static_cast<uint32_t>(config.head_dim));
  writer.SetU32(key("attention.value_length"), static_cast<uint32_t>(config.head_dim));
  writer.SetString(key("rope.scaling.type"), "yarn");
  writer.SetF32(key("rope.scaling.factor"), config.rope_scaling_factor);
  writer.SetU32(key("rope.scaling.original_context_length"),
                static_cast<uint32_t>(config.rope_original_context));
  writer.SetF32(key("rope.scaling.yarn_beta_fast"), config.yarn_beta_fast);
  writer.SetF32(key("rope.scaling.yarn_beta_slow"), config.yarn_beta_slow);
  writer.SetU32(key("attention.sliding_window"), static_cast<uint32_t>(config.window_tokens));
  writer.SetU32(key("expert_feed_forward_length"), static_cast<uint32_t>(config.expert_ffn_dim));
  writer.SetU32(key("expert_count"), static_cast<uint32_t>(config.num_experts));
  writer.SetU32(key("expert_used_count"), static_cast<uint32_t>(config.num_experts_used));
}

}  // namespace snug::synth
