// gpt-oss (specs/models.md §4; llama.cpp src/models/openai-moe.cpp, openai/gpt-oss
// gpt_oss/torch/model.py): pre-norm blocks; attention with q/k/v/o biases, a learned sink logit
// per head, YaRN NEOX RoPE, even layers sliding over a window and odd layers full; every layer's
// MLP is a mixture of experts (top-k routing, clamped SwiGLU with the "+1", biases); untied
// output, no embedding scale, no softcap.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "models/architectures.h"
#include "models/blocks.h"
#include "models/decoder_model.h"
#include "models/metadata.h"
#include "models/moe.h"
#include "models/weights.h"

namespace snug {
namespace {

// YaRN (specs/models.md §4.3): f_i = ramp_i/(s·p_i) + (1 − ramp_i)/p_i with p_i = base^(2i/D),
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
  spec.ropes.push_back(YarnRope(rotary_dims, theta, scaling == "yarn" ? factor : 1.0f,
                                original_context, beta_fast, beta_slow, /*round_ends=*/true));

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

struct Layer {
  const float* attn_norm;  // [model_dim]
  AttentionWeights attention;
  const float *q_bias, *k_bias, *v_bias, *o_bias;  // [q_dim], [kv_dim], [kv_dim], [model_dim]
  const float* sinks;                              // [num_heads]
  const float* post_attention_norm;                // [model_dim]
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

  void Forward(const Batch& batch, KvCache& kv, float* logits) override {
    const int64_t n = BeginForward(batch);
    const int dim = spec_.model_dim;
    const float eps = spec_.norm_eps;
    DecoderBuffers& b = buffers_;
    const RopeTable& rope = rope_tables_[0];  // the one rope of every layer

    EmbedTokens(ends_.embedding, batch.tokens, 1.0f, b.hidden.data());  // no embedding scale
    for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
      const Layer& w = layers_[i];
      const LayerSpec& s = spec_.layers[i];
      const int q_dim = s.num_heads * s.head_dim, kv_dim = s.num_kv_heads * s.head_dim;
      // Attention: biased projections, YaRN RoPE, sinks in the softmax, biased output.
      RmsNormRows(b.hidden.data(), w.attn_norm, eps, n, dim, b.normed.data());
      projector_.Apply(w.attention.q, b.normed.data(), n, b.q.data());
      projector_.Apply(w.attention.k, b.normed.data(), n, b.k.data());
      projector_.Apply(w.attention.v, b.normed.data(), n, b.v.data());
      Projector::AddBias(w.q_bias, n, q_dim, b.q.data());
      Projector::AddBias(w.k_bias, n, kv_dim, b.k.data());
      Projector::AddBias(w.v_bias, n, kv_dim, b.v.data());
      rope.Apply(b.q.data(), n, s.num_heads, s.head_dim);
      rope.Apply(b.k.data(), n, s.num_kv_heads, s.head_dim);
      StoreKv(batch, i, b.k.data(), b.v.data(), kv);
      Attend(batch, s, i, b.q.data(), w.sinks, kv, projector_.pool(), b.attention.data());
      projector_.Apply(w.attention.output, b.attention.data(), n, b.projected.data());
      Projector::AddBias(w.o_bias, n, dim, b.projected.data());
      kernels::Add(b.hidden.data(), b.projected.data(), b.hidden.data(), n * dim);
      // Mixture of experts on the post-attention norm, added to the residual.
      RmsNormRows(b.hidden.data(), w.post_attention_norm, eps, n, dim, b.normed.data());
      moe_.Forward(w.moe, s, MoeRouting::kTopKSoftmax, MoeActivation::kSwigluOai, b.normed.data(),
                   n, b.projected.data());
      kernels::Add(b.hidden.data(), b.projected.data(), b.hidden.data(), n * dim);
    }
    ComputeLogits(batch, dim, ends_.norm, eps, ends_.output, projector_, b, logits);
  }

 private:
  Status BindLayers(WeightBinder& weights) override {
    const int dim = spec_.model_dim;
    for (int i = 0; i < static_cast<int>(spec_.layers.size()); ++i) {
      const LayerSpec& s = spec_.layers[i];
      const std::string p = "blk." + std::to_string(i) + ".";
      const int q_dim = s.num_heads * s.head_dim, kv_dim = s.num_kv_heads * s.head_dim;
      Layer layer;
      layer.attn_norm = weights.Vector(p + "attn_norm.weight", dim);
      layer.attention = BindAttention(weights, p, s, dim);
      layer.q_bias = weights.Vector(p + "attn_q.bias", q_dim);
      layer.k_bias = weights.Vector(p + "attn_k.bias", kv_dim);
      layer.v_bias = weights.Vector(p + "attn_v.bias", kv_dim);
      layer.o_bias = weights.Vector(p + "attn_output.bias", dim);
      layer.sinks = weights.Vector(p + "attn_sinks.weight", s.num_heads);
      layer.post_attention_norm = weights.Vector(p + "post_attention_norm.weight", dim);
      ASSIGN_OR_RETURN(layer.moe, BindMoe(weights, p, s, dim));
      layers_.push_back(layer);
    }
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

}  // namespace snug
