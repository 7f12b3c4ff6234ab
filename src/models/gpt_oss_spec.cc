// gpt-oss's spec from GGUF metadata (specs/models.md §4.1, §4.3; llama.cpp GptOssModel
// set_gguf_parameters): even layers slide over `attention.sliding_window` keys, odd layers are
// full; every layer is a mixture of experts; YaRN RoPE. Spec only: the forward pass is not
// written yet, so LoadModel refuses gpt-oss (the memory plan still sizes it).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "models/architectures.h"
#include "models/metadata.h"

namespace snug {
namespace {

// YaRN as the reference computes it, without rounding the ramp ends (truncate: false):
// f_i = ramp_i/(s·p_i) + (1 − ramp_i)/p_i with p_i = base^(2i/D), magnitude 0.1·ln(s) + 1.
RopeSpec YarnRope(int rotary_dims, float base, float factor, int original_context, float beta_fast,
                  float beta_slow) {
  RopeSpec rope;
  rope.rotary_dims = rotary_dims;
  rope.frequencies.resize(rotary_dims / 2);
  const double d = rotary_dims;
  const auto correction = [&](double beta) {
    return (d / 2) * std::log(original_context / (beta * 2 * std::numbers::pi)) / std::log(base);
  };
  const double low = correction(beta_fast), high = correction(beta_slow);
  for (int i = 0; i < rotary_dims / 2; ++i) {
    const double inverse_period = std::pow(static_cast<double>(base), -2.0 * i / d);
    const double ramp = high > low ? std::clamp((i - low) / (high - low), 0.0, 1.0) : 0.0;
    rope.frequencies[i] =
        static_cast<float>(inverse_period / factor * ramp + inverse_period * (1 - ramp));
  }
  rope.magnitude = factor > 1.0f ? 0.1f * std::log(factor) + 1.0f : 1.0f;
  return rope;
}

}  // namespace

Result<ModelSpec> ParseGptOssSpec(const gguf::File& file) {
  const Metadata meta(file, "gpt-oss");
  ModelSpec spec;
  spec.architecture = "gpt-oss";
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 131072, 1e-5f));
  spec.model_dim = basics.model_dim;
  spec.context_tokens = basics.context_tokens;
  spec.norm_eps = basics.norm_eps;
  const int num_layers = basics.num_layers, num_heads = basics.num_heads;
  const std::vector<int>& kv_heads = basics.kv_heads;
  ASSIGN_OR_RETURN(const int head_dim,
                   meta.CountOr("attention.key_length", spec.model_dim / num_heads));
  ASSIGN_OR_RETURN(const int value_dim, meta.CountOr("attention.value_length", head_dim));
  if (value_dim != head_dim) {
    return Unimplemented("model: gpt-oss value heads of another size than key heads");
  }
  ASSIGN_OR_RETURN(const int window, meta.Count("attention.sliding_window"));
  ASSIGN_OR_RETURN(const int num_experts, meta.Count("expert_count"));
  ASSIGN_OR_RETURN(const int experts_used, meta.Count("expert_used_count"));
  ASSIGN_OR_RETURN(const int dense_width, meta.CountOr("feed_forward_length", 0));
  ASSIGN_OR_RETURN(const int expert_ffn_dim,
                   meta.CountOr("expert_feed_forward_length", dense_width));
  if (expert_ffn_dim <= 0 || experts_used > num_experts) {
    return InvalidArgument("model: gpt-oss needs expert_feed_forward_length and at most " +
                           std::to_string(num_experts) + " experts per token");
  }

  ASSIGN_OR_RETURN(const float theta, meta.FloatOr("rope.freq_base", 150000.0f));
  ASSIGN_OR_RETURN(const int rotary_dims, meta.CountOr("rope.dimension_count", head_dim));
  ASSIGN_OR_RETURN(const std::string scaling, meta.StringOr("rope.scaling.type", "yarn"));
  ASSIGN_OR_RETURN(const float factor, meta.FloatOr("rope.scaling.factor", 32.0f));
  ASSIGN_OR_RETURN(const int original_context,
                   meta.CountOr("rope.scaling.original_context_length", 4096));
  ASSIGN_OR_RETURN(const float beta_fast, meta.FloatOr("rope.scaling.yarn_beta_fast", 32.0f));
  ASSIGN_OR_RETURN(const float beta_slow, meta.FloatOr("rope.scaling.yarn_beta_slow", 1.0f));
  if (scaling != "yarn" && scaling != "none") {
    return Unimplemented("model: gpt-oss rope scaling '" + scaling + "' is not supported");
  }
  if (rotary_dims > head_dim || rotary_dims % 2 != 0) {
    return InvalidArgument("model: rope.dimension_count " + std::to_string(rotary_dims) +
                           " does not fit head dim " + std::to_string(head_dim));
  }
  spec.ropes.push_back(
      scaling == "yarn"
          ? YarnRope(rotary_dims, theta, factor, original_context, beta_fast, beta_slow)
          : YarnRope(rotary_dims, theta, 1.0f, original_context, beta_fast, beta_slow));

  for (int i = 0; i < num_layers; ++i) {
    LayerSpec layer;
    layer.num_heads = num_heads;
    layer.num_kv_heads = kv_heads[i];
    layer.head_dim = head_dim;
    layer.window_tokens = i % 2 == 0 ? window : 0;  // llama.cpp: even layers slide
    layer.kv_source_layer = i;
    layer.attention_scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    layer.ffn_dim = 0;  // no dense MLP: every layer routes to experts
    layer.num_experts = num_experts;
    layer.num_experts_used = experts_used;
    layer.expert_ffn_dim = expert_ffn_dim;
    spec.layers.push_back(layer);
  }
  return spec;
}

}  // namespace snug
