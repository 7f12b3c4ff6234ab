// Gemma 3 text decoder (specs/models.md §5; llama.cpp src/models/gemma3.cpp).
// GGUF stores every norm weight with Gemma's "+1" folded in, so norms are x̂ ⊙ w here.
// Five sliding-window layers (RoPE θ=10000) per full layer (θ from the file, linear scaling).
#include <cmath>
#include <vector>

#include "kernels/kernels.h"
#include "models/architectures.h"
#include "models/blocks.h"
#include "models/decoder_model.h"
#include "models/metadata.h"
#include "models/weights.h"

namespace snug {
namespace {

constexpr int kSlidingPattern = 6;  // layer i is full iff (i + 1) % 6 == 0 (llama.cpp: fixed)
constexpr float kSlidingTheta = 10000.0f;

struct Layer {
  const float* attn_norm;
  AttentionWeights attention;
  const float* q_norm;          // [head_dim]
  const float* k_norm;          // [head_dim]
  const float* post_attention_norm;
  const float* ffn_norm;
  FfnWeights ffn;
  const float* post_ffn_norm;
};

Result<ModelSpec> ParseSpec(const gguf::File& file) {
  const Metadata meta(file, "gemma3");
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 32768, 1e-6f));
  ModelSpec spec = StartSpec("gemma3", basics);
  const int num_layers = basics.num_layers, num_heads = basics.num_heads;
  const std::vector<int>& kv_heads = basics.kv_heads;
  ASSIGN_OR_RETURN(const std::vector<int> ffn_dims,
                   meta.PerLayer("feed_forward_length", num_layers));
  ASSIGN_OR_RETURN(const int head_dim,
                   meta.CountOr("attention.key_length", spec.model_dim / num_heads));
  ASSIGN_OR_RETURN(const int window, meta.Count("attention.sliding_window"));
  ASSIGN_OR_RETURN(const float theta, meta.FloatOr("rope.freq_base", 1e6f));
  ASSIGN_OR_RETURN(const std::string scaling, meta.StringOr("rope.scaling.type", "none"));
  ASSIGN_OR_RETURN(const float factor, meta.FloatOr("rope.scaling.factor", 1.0f));
  ASSIGN_OR_RETURN(const int rotary_dims, meta.CountOr("rope.dimension_count", head_dim));
  if (scaling != "none" && scaling != "linear") {
    return Unimplemented("model: gemma3 rope scaling '" + scaling + "' is not supported");
  }
  if (rotary_dims > head_dim || rotary_dims % 2 != 0) {
    return InvalidArgument("model: rope.dimension_count " + std::to_string(rotary_dims) +
                           " does not fit head dim " + std::to_string(head_dim));
  }
  const float linear_scale = scaling == "linear" && factor > 0.0f ? factor : 1.0f;
  spec.ropes.push_back(MakeRope(rotary_dims, kSlidingTheta, 1.0f, false, nullptr));  // sliding
  spec.ropes.push_back(MakeRope(rotary_dims, theta, linear_scale, false, nullptr));  // full
  // gemma_pytorch: the 27B model (62 layers) scales by query_pre_attn_scalar = model_dim/heads.
  const float scale = num_layers == 62
                          ? 1.0f / std::sqrt(static_cast<float>(spec.model_dim / num_heads))
                          : 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (int i = 0; i < num_layers; ++i) {
    const bool sliding = (i + 1) % kSlidingPattern != 0;
    LayerSpec layer;
    layer.num_heads = num_heads;
    layer.num_kv_heads = kv_heads[i];
    layer.head_dim = head_dim;
    layer.window_tokens = sliding ? window : 0;
    layer.kv_source_layer = i;
    layer.rope = sliding ? 0 : 1;
    layer.attention_scale = scale;
    layer.ffn_dim = ffn_dims[i];
    spec.layers.push_back(layer);
  }
  return spec;
}

class Gemma3 : public DecoderModel {
 public:
  using DecoderModel::DecoderModel;

  void Forward(const Batch& batch, KvCache& kv, float* logits) override {
    const int64_t n = BeginForward(batch);
    const int dim = spec_.model_dim;
    const float eps = spec_.norm_eps;
    DecoderBuffers& b = buffers_;

    // llama.cpp scales by sqrtf(model_dim) in f32 (HF rounds it through bf16 first).
    EmbedTokens(ends_.embedding, batch.tokens, std::sqrt(static_cast<float>(dim)), b.hidden.data());
    for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
      const Layer& w = layers_[i];
      const LayerSpec& s = spec_.layers[i];
      // Attention block: pre-norm, q/k norms per head, RoPE, attention, post-norm, residual.
      RmsNormRows(b.hidden.data(), w.attn_norm, eps, n, dim, b.normed.data());
      projector_.Apply(w.attention.q, b.normed.data(), n, b.q.data());
      projector_.Apply(w.attention.k, b.normed.data(), n, b.k.data());
      projector_.Apply(w.attention.v, b.normed.data(), n, b.v.data());
      RmsNormRows(b.q.data(), w.q_norm, eps, n * s.num_heads, s.head_dim, b.q.data());
      RmsNormRows(b.k.data(), w.k_norm, eps, n * s.num_kv_heads, s.head_dim, b.k.data());
      rope_tables_[s.rope].Apply(b.q.data(), n, s.num_heads, s.head_dim);
      rope_tables_[s.rope].Apply(b.k.data(), n, s.num_kv_heads, s.head_dim);
      StoreKv(batch, i, b.k.data(), b.v.data(), kv);
      Attend(batch, s, i, b.q.data(), nullptr, kv, projector_.pool(), b.attention.data());
      projector_.Apply(w.attention.output, b.attention.data(), n, b.projected.data());
      RmsNormRows(b.projected.data(), w.post_attention_norm, eps, n, dim, b.projected.data());
      kernels::Add(b.hidden.data(), b.projected.data(), b.hidden.data(), n * dim);
      // Feed-forward block: pre-norm, GELU-gated MLP, post-norm, residual.
      RmsNormRows(b.hidden.data(), w.ffn_norm, eps, n, dim, b.normed.data());
      GatedFfn(projector_, w.ffn, Activation::kGeluTanh, b.normed.data(), n,
               b.gate.data(), b.up.data(), b.projected.data());
      RmsNormRows(b.projected.data(), w.post_ffn_norm, eps, n, dim, b.projected.data());
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
      Layer layer;
      layer.attn_norm = weights.Vector(p + "attn_norm.weight", dim);
      layer.attention = BindAttention(weights, p, s, dim);
      layer.q_norm = weights.Vector(p + "attn_q_norm.weight", s.head_dim);
      layer.k_norm = weights.Vector(p + "attn_k_norm.weight", s.head_dim);
      layer.post_attention_norm = weights.Vector(p + "post_attention_norm.weight", dim);
      layer.ffn_norm = weights.Vector(p + "ffn_norm.weight", dim);
      layer.ffn = BindFfn(weights, p, s.ffn_dim, dim);
      layer.post_ffn_norm = weights.Vector(p + "post_ffw_norm.weight", dim);
      layers_.push_back(layer);
    }
    return Status::Ok();
  }

  void ReserveLayers() override { ReserveDense(projector_, layers_); }

  std::vector<Layer> layers_;
};

}  // namespace

Result<ModelSpec> ParseGemma3Spec(const gguf::File& file) { return ParseSpec(file); }

Result<std::unique_ptr<Model>> LoadGemma3(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool) {
  return LoadDecoder<Gemma3>(ParseSpec, std::move(file), options, pool);
}

}  // namespace snug
