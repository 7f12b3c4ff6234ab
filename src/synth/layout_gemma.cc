// Gemma 3 and Gemma 4 (dense) as llama.cpp's converter writes them: conversion/gemma.py
// Gemma3Model / Gemma4Model set_gguf_parameters and generate_extra_tensors; tensor names from
// specs/models.md §2.6. Gemma 3's norms carry the folded +1 (so ≈ 1 here); Gemma 4's are used
// as they are (also ≈ 1).
#include <algorithm>
#include <cmath>

#include "synth/layout.h"

namespace snug::synth {
namespace {

bool IsGemma4(const ModelConfig& config) { return config.architecture == Architecture::kGemma4; }

// The 12B unified embedders (models/gemma4_media.h names them): LayerNorms near identity with
// small biases, projections N(0, 1/fan_in), and position rows small beside the normed patch.
void AddMediaTensors(const ModelConfig& config, std::vector<TensorSpec>& tensors) {
  const int64_t dim = config.model_dim;
  if (config.image_patch_px > 0) {
    const int64_t values = 3LL * config.image_patch_px * config.image_patch_px;
    const int64_t mm = config.image_embed_dim;
    tensors.push_back(Vector("v.patch_ln1.weight", {values}, 1, kNormNoise));
    tensors.push_back(Vector("v.patch_ln1.bias", {values}, 0, kNormNoise));
    tensors.push_back(
        Matrix("v.patch_dense.weight", TensorClass::kProjection, {mm, values}, FanIn(values)));
    tensors.push_back(Vector("v.patch_dense.bias", {mm}, 0, kNormNoise));
    tensors.push_back(Vector("v.patch_ln2.weight", {mm}, 1, kNormNoise));
    tensors.push_back(Vector("v.patch_ln2.bias", {mm}, 0, kNormNoise));
    tensors.push_back(Vector("v.position_embd.weight", {config.image_positions, 2, mm}, 0, 0.5f));
    tensors.push_back(Vector("v.pos_norm.weight", {mm}, 1, kNormNoise));
    tensors.push_back(Vector("v.pos_norm.bias", {mm}, 0, kNormNoise));
    // Soft tokens enter unscaled; an output of about embedding size (√dim · rms 1 → rows of
    // std 1 after the projection's N(0, 1/mm)) keeps them comparable with the scaled text rows.
    tensors.push_back(
        Matrix("mm.input_projection.weight", TensorClass::kProjection, {dim, mm}, FanIn(mm)));
  }
  if (config.audio_frame_samples > 0) {
    tensors.push_back(Matrix("mm.a.input_projection.weight", TensorClass::kProjection,
                             {dim, config.audio_frame_samples}, FanIn(config.audio_frame_samples)));
  }
}

}  // namespace

std::vector<TensorSpec> GemmaTensors(const ModelConfig& config, int64_t vocab_size) {
  const int64_t dim = config.model_dim;
  const float embed_std = kLogitStd / std::sqrt(static_cast<float>(dim));
  // Tied embeddings make the token's own row score √dim·s²/rms(h) against noise of std s, so
  // unless the blocks' outputs dominate the residual stream (as they do in trained models) the
  // model just repeats its input token. Post-norm gains g, summed over 2 per layer, give the
  // blocks a residual share of about √dim·s/2.
  const float post_norm_gain =
      std::max(1.0f, 1.5f * std::sqrt(static_cast<float>(dim)) * kLogitStd /
                         std::sqrt(2.0f * static_cast<float>(config.num_layers)));
  std::vector<TensorSpec> tensors;
  tensors.push_back(
      Matrix("token_embd.weight", TensorClass::kEmbedding, {vocab_size, dim}, embed_std));
  if (IsGemma4(config)) {
    // Proportional RoPE on full layers (specs/models.md §2.3): frequency divisors, 1 for the
    // rotated pairs and 1e30 (no rotation) for the rest.
    TensorSpec freqs = Vector("rope_freqs.weight", {config.global_head_dim / 2}, 0, 0);
    const int rotated = static_cast<int>(config.global_head_dim * config.partial_rotary_global / 2);
    for (int i = 0; i < config.global_head_dim / 2; ++i) {
      freqs.values.push_back(i < rotated ? 1.0f : 1e30f);
    }
    tensors.push_back(std::move(freqs));
  }
  for (int layer = 0; layer < config.num_layers; ++layer) {
    const int64_t head_dim = LayerHeadDim(config, layer);
    const int64_t q_rows = config.num_heads * head_dim;
    const int64_t kv_rows = LayerKvHeads(config, layer) * head_dim;
    // Gemma 4 scores are q·k unscaled (attention scale 1.0): q/k norm weights of d^(-1/4) keep
    // the logits at unit variance instead of √d, so attention is not a hard argmax.
    const float qk_norm = IsGemma4(config) ? std::pow(static_cast<float>(head_dim), -0.25f) : 1.0f;
    const auto name = [&](std::string_view suffix) { return BlockName(layer, suffix); };
    tensors.push_back(Vector(name("attn_norm.weight"), {dim}, 1, kNormNoise));
    tensors.push_back(
        Matrix(name("attn_q.weight"), TensorClass::kProjection, {q_rows, dim}, FanIn(dim)));
    tensors.push_back(
        Matrix(name("attn_k.weight"), TensorClass::kProjection, {kv_rows, dim}, FanIn(dim)));
    if (LayerHasValueProjection(config, layer)) {
      tensors.push_back(
          Matrix(name("attn_v.weight"), TensorClass::kProjection, {kv_rows, dim}, FanIn(dim)));
    }
    tensors.push_back(
        Matrix(name("attn_output.weight"), TensorClass::kProjection, {dim, q_rows}, FanIn(q_rows)));
    tensors.push_back(
        Vector(name("attn_q_norm.weight"), {head_dim}, qk_norm, qk_norm * kNormNoise));
    tensors.push_back(
        Vector(name("attn_k_norm.weight"), {head_dim}, qk_norm, qk_norm * kNormNoise));
    tensors.push_back(Vector(name("post_attention_norm.weight"), {dim}, post_norm_gain,
                             post_norm_gain * kNormNoise));
    tensors.push_back(Vector(name("ffn_norm.weight"), {dim}, 1, kNormNoise));
    tensors.push_back(Matrix(name("ffn_gate.weight"), TensorClass::kProjection,
                             {config.ffn_dim, dim}, FanIn(dim)));
    tensors.push_back(
        Matrix(name("ffn_up.weight"), TensorClass::kProjection, {config.ffn_dim, dim}, FanIn(dim)));
    tensors.push_back(Matrix(name("ffn_down.weight"), TensorClass::kProjection,
                             {dim, config.ffn_dim}, FanIn(config.ffn_dim)));
    tensors.push_back(
        Vector(name("post_ffw_norm.weight"), {dim}, post_norm_gain, post_norm_gain * kNormNoise));
    if (IsGemma4(config)) {
      tensors.push_back(Vector(name("layer_output_scale.weight"), {1}, 1, kNormNoise));
    }
  }
  tensors.push_back(Vector("output_norm.weight", {dim}, 1, kNormNoise));
  AddMediaTensors(config, tensors);
  return tensors;
}

void WriteGemmaMetadata(const ModelConfig& config, gguf::Writer& writer) {
  const std::string arch(ArchitectureName(config.architecture));
  const auto key = [&](std::string_view suffix) { return arch + "." + std::string(suffix); };
  writer.SetU32(key("context_length"), static_cast<uint32_t>(config.context_tokens));
  writer.SetU32(key("embedding_length"), static_cast<uint32_t>(config.model_dim));
  writer.SetU32(key("block_count"), static_cast<uint32_t>(config.num_layers));
  writer.SetU32(key("feed_forward_length"), static_cast<uint32_t>(config.ffn_dim));
  writer.SetU32(key("attention.head_count"), static_cast<uint32_t>(config.num_heads));
  writer.SetF32(key("attention.layer_norm_rms_epsilon"), config.rms_eps);
  writer.SetF32(key("rope.freq_base"), config.rope_theta);
  if (config.window_tokens > 0) {
    writer.SetU32(key("attention.sliding_window"), static_cast<uint32_t>(config.window_tokens));
  }
  if (!IsGemma4(config)) {
    writer.SetU32(key("attention.head_count_kv"), static_cast<uint32_t>(config.num_kv_heads));
    writer.SetU32(key("attention.key_length"), static_cast<uint32_t>(config.head_dim));
    writer.SetU32(key("attention.value_length"), static_cast<uint32_t>(config.head_dim));
    return;
  }
  writer.SetF32(key("final_logit_softcapping"), config.final_logit_softcap);
  writer.SetU32(key("attention.shared_kv_layers"), 0);
  writer.SetU32(key("embedding_length_per_layer_input"), 0);
  std::vector<bool> sliding;
  std::vector<int32_t> kv_heads;
  for (int layer = 0; layer < config.num_layers; ++layer) {
    sliding.push_back(IsSlidingLayer(config, layer));
    kv_heads.push_back(LayerKvHeads(config, layer));
  }
  writer.SetBoolArray(key("attention.sliding_window_pattern"), sliding);
  writer.SetI32Array(key("attention.head_count_kv"), kv_heads);
  writer.SetU32(key("attention.key_length"), static_cast<uint32_t>(config.global_head_dim));
  writer.SetU32(key("attention.value_length"), static_cast<uint32_t>(config.global_head_dim));
  writer.SetU32(key("attention.key_length_swa"), static_cast<uint32_t>(config.head_dim));
  writer.SetU32(key("attention.value_length_swa"), static_cast<uint32_t>(config.head_dim));
  // Full layers rotate through rope_freqs over the whole head; sliding layers rotate it all.
  writer.SetU32(key("rope.dimension_count"), static_cast<uint32_t>(config.global_head_dim));
  writer.SetU32(key("rope.dimension_count_swa"), static_cast<uint32_t>(config.head_dim));
  writer.SetF32(key("rope.freq_base_swa"), config.rope_theta_swa);
}

}  // namespace snug::synth
