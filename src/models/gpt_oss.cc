// gpt-oss (docs/models/gpt-oss.md; llama.cpp src/models/openai-moe.cpp, openai/gpt-oss
// gpt_oss/torch/model.py): pre-norm blocks; attention with q/k/v/o biases, a learned sink logit
// per head, YaRN NEOX RoPE, even layers sliding over a window and odd layers full; every layer's
// MLP is a mixture of experts (top-k routing, clamped SwiGLU with the "+1", biases); untied
// output, no embedding scale, no softcap.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "models/architectures.h"
#include "models/blocks.h"
#include "models/decoder_model.h"
#include "models/hf_import.h"
#include "models/metadata.h"
#include "models/moe.h"
#include "models/weights.h"

namespace snug {
namespace {

// YaRN (docs/models/gpt-oss.md): f_i = ramp_i/(s·p_i) + (1 − ramp_i)/p_i with p_i = base^(2i/D),
// ramp_i = clamp((i − low)/(high − low), 0, 1), magnitude 0.1·ln(s) + 1 on cos and sin.
// `round_ends`: llama.cpp (ggml_rope_yarn_corr_dims) floors `low` and ceils `high`, which every
// GGUF runtime therefore does; OpenAI's reference and HF (truncate: false) do not. The GGUF
// path follows llama.cpp, the reference these files are checked against (see ParseSpec).
RopeSpec YarnRope(int rotary_dims, float base, float factor, int original_context, float beta_fast,
                  float beta_slow, bool round_ends) {
  RopeSpec rope;
  rope.rotary_dims = rotary_dims;
  rope.frequencies.resize(rotary_dims / 2);
  const double d = rotary_dims;
  const auto correction = [&](double beta) {
    return (d / 2) * std::log(original_context / (beta * 2 * std::numbers::pi)) / std::log(base);
  };
  double low = correction(beta_fast), high = correction(beta_slow);
  if (round_ends) {
    low = std::max(0.0, std::floor(low));
    high = std::min(d - 1, std::ceil(high));
  }
  for (int i = 0; i < rotary_dims / 2; ++i) {
    const double inverse_period = std::pow(static_cast<double>(base), -2.0 * i / d);
    // ggml divides by max(0.001, high − low), so equal ends make a step, not a division by 0.
    const double ramp = std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
    rope.frequencies[i] =
        static_cast<float>(inverse_period / factor * ramp + inverse_period * (1 - ramp));
  }
  rope.magnitude = factor > 1.0f ? 0.1f * std::log(factor) + 1.0f : 1.0f;
  return rope;
}

Result<ModelSpec> ParseSpec(const gguf::File& file) {
  const Metadata meta(file, "gpt-oss");
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 131072, 1e-5f));
  ModelSpec spec = StartSpec("gpt-oss", basics);
  const int head_dim = basics.head_dim;
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
  spec.ropes.push_back(YarnRope(rotary_dims, theta, scaling == "yarn" ? factor : 1.0f,
                                original_context, beta_fast, beta_slow, /*round_ends=*/true));

  for (int i = 0; i < basics.num_layers; ++i) {
    LayerSpec layer;
    layer.num_heads = basics.num_heads;
    layer.num_kv_heads = basics.kv_heads[i];
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

// Biased q/k/v/o projections and a learned sink logit per head on every layer.
constexpr AttentionParts kAttention{
    .qkv_bias = Part::kRequired, .output_bias = Part::kRequired, .sinks = Part::kRequired};

struct Layer {
  AttentionWeights attention;
  const float* post_attention_norm;  // [model_dim]
  MoeWeights moe;
};

class GptOss : public DecoderModel {
 public:
  GptOss(std::shared_ptr<const gguf::File> file, ModelSpec spec, const ModelOptions& options,
         ThreadPool& pool)
      : DecoderModel(std::move(file), std::move(spec), options, pool),
        moe_(projector_, spec_, options.batch_tokens) {}

  size_t activation_bytes() const override {
    return DecoderModel::activation_bytes() + moe_.bytes();
  }

 private:
  // h = x + attention(attn_norm(x)); y = h + moe(post_attention_norm(h)). No embedding scale.
  void ForwardLayer(const ForwardPass& pass, int i) override {
    const Layer& w = layers_[i];
    const LayerSpec& s = spec_.layers[i];
    DecoderBuffers& b = buffers_;
    AttentionBlock(pass, i, s, w.attention, rope_tables_[0], b.hidden.data(), b.projected.data());
    AddResidual(pass, b.projected.data());
    Norm(pass, b.hidden, w.post_attention_norm, b.normed);
    moe_.Forward(w.moe, s, MoeRouting::kTopKSoftmax, MoeActivation::kSwigluOai, b.normed.data(),
                 pass.num_tokens(), b.projected.data());
    pass.Observe("ffn_out", i, b.projected.data(), spec_.model_dim);
    AddResidual(pass, b.projected.data());
  }

  Status BindLayer(WeightBinder& weights, int i, const std::string& p) override {
    const int dim = spec_.model_dim;
    Layer layer;
    layer.attention = BindAttention(weights, p, spec_.layers[i], dim, kAttention);
    layer.post_attention_norm = weights.Vector(p + "post_attention_norm.weight", dim);
    ASSIGN_OR_RETURN(layer.moe, BindMoe(weights, p, spec_.layers[i], dim));
    layers_.push_back(layer);
    return Status::Ok();
  }

  void ReserveLayers() override {
    for (const Layer& layer : layers_) {
      projector_.Reserve(layer.attention);
      moe_.Reserve(layer.moe);
    }
  }

  MoeBlock moe_;  // routes and runs the experts on projector_'s pool and scratch
  std::vector<Layer> layers_;
};

}  // namespace

Result<ModelSpec> ParseGptOssSpec(const gguf::File& file) { return ParseSpec(file); }

Result<std::unique_ptr<Model>> LoadGptOss(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool) {
  return LoadDecoder<GptOss>(ParseSpec, std::move(file), options, pool);
}

// config.json (specs/models.md §4.1): experts, window, YaRN. The layer pattern (even layers
// slide) is the architecture's, as in llama.cpp.
Status ImportGptOssConfig(HfImporter& import, std::string_view architecture) {
  const std::string p = std::string(architecture) + ".";
  // OpenAI's own layout fuses gate and up with their rows interleaved (§4.4): one expert's
  // gate rows are not one contiguous matrix, so they cannot be mapped without a copy.
  if (import.HasTensor("layers.0.mlp.experts.gate_up_proj_blocks") ||
      import.HasTensor("layers.0.mlp.experts.gate_up_proj")) {
    return Unimplemented(
        "model: gpt-oss checkpoints with fused, interleaved gate_up_proj experts (openai/gpt-oss "
        "itself) are not supported yet: use an MLX conversion (mlx-community/gpt-oss-*) or a "
        "GGUF file");
  }
  RETURN_IF_ERROR(import.CopyBasics(architecture));
  RETURN_IF_ERROR(import.CopyHeads(architecture, 64).status());
  gguf::Writer& meta = import.metadata();
  RETURN_IF_ERROR(import.CopyCount("sliding_window", p + "attention.sliding_window"));
  RETURN_IF_ERROR(import.CopyCount("num_local_experts", p + "expert_count"));
  RETURN_IF_ERROR(import.CopyCount(
      import.config().contains("num_experts_per_tok") ? "num_experts_per_tok" : "experts_per_token",
      p + "expert_used_count"));
  RETURN_IF_ERROR(import.CopyCount("intermediate_size", p + "expert_feed_forward_length"));
  const HfImporter::Rope rope = import.RopeOf("full_attention", 150000.0);
  meta.SetF32(p + "rope.freq_base", static_cast<float>(rope.theta));
  if (rope.type == "yarn") {
    meta.SetString(p + "rope.scaling.type", "yarn");
    meta.SetF32(p + "rope.scaling.factor", static_cast<float>(rope.Param("factor", 32.0)));
    meta.SetU32(p + "rope.scaling.original_context_length",
                static_cast<uint32_t>(rope.Param("original_max_position_embeddings", 4096)));
    meta.SetF32(p + "rope.scaling.yarn_beta_fast", static_cast<float>(rope.Param("beta_fast", 32)));
    meta.SetF32(p + "rope.scaling.yarn_beta_slow", static_cast<float>(rope.Param("beta_slow", 1)));
  } else {
    meta.SetString(p + "rope.scaling.type", "none");
  }
  return Status::Ok();
}

}  // namespace snug
