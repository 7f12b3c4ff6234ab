// The Llama decoder family (llama.cpp src/models/llama.cpp, qwen2.cpp, qwen3.cpp): pre-norm
// blocks, grouped-query attention, SiLU-gated MLP. Variants, told apart by their tensors and
// architecture name: Qwen2 adds q/k/v biases, Qwen3 adds per-head q/k RMSNorm; Llama rotates
// adjacent pairs (GGUF permutes Q/K for it) while Qwen uses NEOX pairs. Llama 3's frequency
// scaling arrives as a rope_freqs tensor of per-pair divisors.
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

struct Layer {
  const float* attn_norm;
  AttentionWeights attention;
  const float *q_bias, *k_bias, *v_bias;  // Qwen2 only, else null
  const float *q_norm, *k_norm;           // Qwen3 only, else null
  const float* ffn_norm;
  FfnWeights ffn;
};

Result<ModelSpec> ParseSpec(const gguf::File& file, const std::string& architecture) {
  const Metadata meta(file, architecture);
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 4096, 1e-5f));
  ModelSpec spec = StartSpec(architecture, basics);
  const int num_layers = basics.num_layers, num_heads = basics.num_heads;
  const std::vector<int>& kv_heads = basics.kv_heads;
  ASSIGN_OR_RETURN(const std::vector<int> ffn_dims,
                   meta.PerLayer("feed_forward_length", num_layers));
  ASSIGN_OR_RETURN(const int head_dim,
                   meta.CountOr("attention.key_length", spec.model_dim / num_heads));
  ASSIGN_OR_RETURN(const float theta, meta.FloatOr("rope.freq_base", 10000.0f));
  ASSIGN_OR_RETURN(const int rotary_dims, meta.CountOr("rope.dimension_count", head_dim));
  ASSIGN_OR_RETURN(const std::string scaling, meta.StringOr("rope.scaling.type", "none"));
  ASSIGN_OR_RETURN(const float factor, meta.FloatOr("rope.scaling.factor", 1.0f));
  if (scaling != "none" && scaling != "linear") {
    return Unimplemented("model: " + architecture + " rope scaling '" + scaling +
                         "' is not supported");
  }
  if (rotary_dims > head_dim || rotary_dims % 2 != 0) {
    return InvalidArgument("model: rope.dimension_count " + std::to_string(rotary_dims) +
                           " does not fit head dim " + std::to_string(head_dim));
  }
  // Per-pair divisors (Llama 3.1+): checked against the rotary width here, read at bind time.
  const float* factors = nullptr;
  if (const gguf::TensorInfo* tensor = file.FindTensor("rope_freqs.weight")) {
    if (tensor->view.dtype != DType::kF32 || tensor->view.num_dims != 1 ||
        tensor->view.shape[0] != rotary_dims / 2) {
      return InvalidArgument("model: tensor 'rope_freqs.weight' must be f32 [" +
                             std::to_string(rotary_dims / 2) + "]");
    }
    factors = static_cast<const float*>(tensor->view.data);
  }
  const bool interleaved = architecture == "llama";
  const float linear_scale = scaling == "linear" && factor > 0.0f ? factor : 1.0f;
  spec.ropes.push_back(MakeRope(rotary_dims, theta, linear_scale, interleaved, factors));
  for (int i = 0; i < num_layers; ++i) {
    LayerSpec layer;
    layer.num_heads = num_heads;
    layer.num_kv_heads = kv_heads[i];
    layer.head_dim = head_dim;
    layer.kv_source_layer = i;
    layer.attention_scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    layer.ffn_dim = ffn_dims[i];
    spec.layers.push_back(layer);
  }
  return spec;
}

class Llama : public DecoderModel {
 public:
  using DecoderModel::DecoderModel;

  void Forward(const Batch& batch, KvCache& kv, float* logits) override {
    const int64_t n = BeginForward(batch);
    const int dim = spec_.model_dim;
    const float eps = spec_.norm_eps;
    DecoderBuffers& b = buffers_;
    const RopeTable& rope = rope_tables_[0];  // the one rope of every layer

    EmbedTokens(ends_.embedding, batch.tokens, 1.0f, b.hidden.data());
    for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
      const Layer& w = layers_[i];
      const LayerSpec& s = spec_.layers[i];
      const int q_dim = s.num_heads * s.head_dim, kv_dim = s.num_kv_heads * s.head_dim;
      RmsNormRows(b.hidden.data(), w.attn_norm, eps, n, dim, b.normed.data());
      projector_.Apply(w.attention.q, b.normed.data(), n, b.q.data());
      projector_.Apply(w.attention.k, b.normed.data(), n, b.k.data());
      projector_.Apply(w.attention.v, b.normed.data(), n, b.v.data());
      if (w.q_bias != nullptr) Projector::AddBias(w.q_bias, n, q_dim, b.q.data());
      if (w.k_bias != nullptr) Projector::AddBias(w.k_bias, n, kv_dim, b.k.data());
      if (w.v_bias != nullptr) Projector::AddBias(w.v_bias, n, kv_dim, b.v.data());
      if (w.q_norm != nullptr) {
        RmsNormRows(b.q.data(), w.q_norm, eps, n * s.num_heads, s.head_dim, b.q.data());
      }
      if (w.k_norm != nullptr) {
        RmsNormRows(b.k.data(), w.k_norm, eps, n * s.num_kv_heads, s.head_dim, b.k.data());
      }
      rope.Apply(b.q.data(), n, s.num_heads, s.head_dim);
      rope.Apply(b.k.data(), n, s.num_kv_heads, s.head_dim);
      StoreKv(batch, i, b.k.data(), b.v.data(), kv);
      Attend(batch, s, i, b.q.data(), nullptr, kv, projector_.pool(), b.attention.data());
      projector_.Apply(w.attention.output, b.attention.data(), n, b.projected.data());
      kernels::Add(b.hidden.data(), b.projected.data(), b.hidden.data(), n * dim);
      RmsNormRows(b.hidden.data(), w.ffn_norm, eps, n, dim, b.normed.data());
      GatedFfn(projector_, w.ffn, Activation::kSilu, b.normed.data(), n,
               b.gate.data(), b.up.data(), b.projected.data());
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
      layer.q_bias = weights.OptionalVector(p + "attn_q.bias", q_dim);
      layer.k_bias = weights.OptionalVector(p + "attn_k.bias", kv_dim);
      layer.v_bias = weights.OptionalVector(p + "attn_v.bias", kv_dim);
      layer.q_norm = weights.OptionalVector(p + "attn_q_norm.weight", s.head_dim);
      layer.k_norm = weights.OptionalVector(p + "attn_k_norm.weight", s.head_dim);
      layer.ffn_norm = weights.Vector(p + "ffn_norm.weight", dim);
      layer.ffn = BindFfn(weights, p, s.ffn_dim, dim);
      layers_.push_back(layer);
    }
    return Status::Ok();
  }

  void ReserveLayers() override { ReserveDense(projector_, layers_); }

  std::vector<Layer> layers_;
};

}  // namespace

Result<ModelSpec> ParseLlamaSpec(const gguf::File& file) {
  return ParseSpec(file, std::string(file.architecture()));
}

Result<std::unique_ptr<Model>> LoadLlama(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool) {
  return LoadDecoder<Llama>(ParseLlamaSpec, std::move(file), options, pool);
}

}  // namespace snug
