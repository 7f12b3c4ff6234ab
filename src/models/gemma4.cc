// Gemma 4 text decoder (specs/models.md §2; llama.cpp src/models/gemma4.cpp): the spec from
// GGUF metadata (per-layer sliding/full pattern, head sizes and KV heads, proportional RoPE on
// full layers) and the dense forward pass of the 12B-unified shape. Per-layer embeddings,
// KV-shared layers (E2B/E4B) and the MoE block (26B-A4B) are parsed for the memory plan only.
#include <cmath>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "models/architectures.h"
#include "models/blocks.h"
#include "models/decoder_model.h"
#include "models/metadata.h"
#include "models/weights.h"
#include "tensor/fp16.h"

namespace snug {
namespace {

constexpr float kSlidingTheta = 10000.0f;  // freq_base_swa when the converter omits it
constexpr int kDefaultFullPeriod = 6;      // HF default layer_types: every 6th layer is full

// Which layers slide: the per-layer bool array llama.cpp's converter writes, a scalar period,
// or HF's default rule (every 6th layer full, the last layer forced full).
Result<std::vector<bool>> SlidingLayers(const gguf::File& file, const Metadata& meta,
                                        int num_layers) {
  const gguf::Value* value = file.Find(meta.Key("attention.sliding_window_pattern"));
  if (value != nullptr && value->type == gguf::ValueType::kArray) {
    return meta.BoolPerLayer("attention.sliding_window_pattern", num_layers);
  }
  int period = kDefaultFullPeriod;
  if (value != nullptr) {
    ASSIGN_OR_RETURN(period, meta.Count("attention.sliding_window_pattern"));
  }
  std::vector<bool> sliding(num_layers);
  for (int i = 0; i < num_layers; ++i) sliding[i] = (i + 1) % period != 0;
  if (value == nullptr && num_layers > 0) sliding[num_layers - 1] = false;
  return sliding;
}

// A count that may be zero (shared_kv_layers, expert_count), `fallback` when absent.
Result<int> CountOrZero(const gguf::File& file, const Metadata& meta, std::string_view suffix,
                        int fallback, int max) {
  if (!meta.Has(suffix)) return fallback;
  ASSIGN_OR_RETURN(const int64_t value, file.GetInt(meta.Key(suffix)));
  if (value < 0 || value > max) {
    return OutOfRange("model: key '" + meta.Key(suffix) + "' = " + std::to_string(value) +
                      " is out of range (0.." + std::to_string(max) + ")");
  }
  return static_cast<int>(value);
}

// Full layers' proportional RoPE arrives as per-pair divisors (1 rotates, 1e30 does not).
Result<const float*> RopeFactors(const gguf::File& file, int rotary_dims) {
  const gguf::TensorInfo* tensor = file.FindTensor("rope_freqs.weight");
  if (tensor == nullptr) return static_cast<const float*>(nullptr);
  if (tensor->view.dtype != DType::kF32 || tensor->view.num_dims != 1 ||
      tensor->view.shape[0] != rotary_dims / 2) {
    return InvalidArgument("model: tensor 'rope_freqs.weight' must be f32 [" +
                           std::to_string(rotary_dims / 2) + "]");
  }
  return static_cast<const float*>(tensor->view.data);
}

Result<ModelSpec> ParseSpec(const gguf::File& file) {
  const Metadata meta(file, "gemma4");
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 131072, 1e-6f));
  ModelSpec spec = StartSpec("gemma4", basics);
  const int num_layers = basics.num_layers, num_heads = basics.num_heads;
  const std::vector<int>& kv_heads = basics.kv_heads;
  ASSIGN_OR_RETURN(const std::vector<int> ffn_dims,
                   meta.PerLayer("feed_forward_length", num_layers));
  ASSIGN_OR_RETURN(const int full_head_dim,
                   meta.CountOr("attention.key_length", spec.model_dim / num_heads));
  ASSIGN_OR_RETURN(const int sliding_head_dim,
                   meta.CountOr("attention.key_length_swa", full_head_dim));
  ASSIGN_OR_RETURN(const int full_value_dim, meta.CountOr("attention.value_length", full_head_dim));
  ASSIGN_OR_RETURN(const int sliding_value_dim,
                   meta.CountOr("attention.value_length_swa", sliding_head_dim));
  if (full_value_dim != full_head_dim || sliding_value_dim != sliding_head_dim) {
    return Unimplemented("model: gemma4 value heads of another size than key heads");
  }
  ASSIGN_OR_RETURN(const int window, meta.Count("attention.sliding_window"));
  ASSIGN_OR_RETURN(const std::vector<bool> sliding, SlidingLayers(file, meta, num_layers));
  ASSIGN_OR_RETURN(const int shared_layers,
                   CountOrZero(file, meta, "attention.shared_kv_layers", 0, num_layers - 1));
  ASSIGN_OR_RETURN(const int num_experts, CountOrZero(file, meta, "expert_count", 0, 4096));
  ASSIGN_OR_RETURN(const int experts_used, CountOrZero(file, meta, "expert_used_count", 0, 4096));
  ASSIGN_OR_RETURN(const int expert_ffn_dim,
                   CountOrZero(file, meta, "expert_feed_forward_length", 0, 1 << 24));

  // Rope 0 for sliding layers (default RoPE), rope 1 for full layers (proportional).
  ASSIGN_OR_RETURN(const float sliding_theta, meta.FloatOr("rope.freq_base_swa", kSlidingTheta));
  ASSIGN_OR_RETURN(const float full_theta, meta.FloatOr("rope.freq_base", 1e6f));
  ASSIGN_OR_RETURN(const int sliding_rotary,
                   meta.CountOr("rope.dimension_count_swa", sliding_head_dim));
  ASSIGN_OR_RETURN(const int full_rotary, meta.CountOr("rope.dimension_count", full_head_dim));
  if (sliding_rotary > sliding_head_dim || sliding_rotary % 2 != 0 || full_rotary > full_head_dim ||
      full_rotary % 2 != 0) {
    return InvalidArgument("model: gemma4 rope dimension counts " + std::to_string(sliding_rotary) +
                           "/" + std::to_string(full_rotary) + " do not fit head dims " +
                           std::to_string(sliding_head_dim) + "/" + std::to_string(full_head_dim));
  }
  ASSIGN_OR_RETURN(const float* factors, RopeFactors(file, full_rotary));
  spec.ropes.push_back(MakeRope(sliding_rotary, sliding_theta, 1.0f, false, nullptr));
  spec.ropes.push_back(MakeRope(full_rotary, full_theta, 1.0f, false, factors));

  // KV sharing: layers from first_shared on reuse the KV of the last earlier layer of their
  // own kind (sliding or full) and store none.
  const int first_shared = num_layers - shared_layers;
  for (int i = 0; i < num_layers; ++i) {
    const int head_dim = sliding[i] ? sliding_head_dim : full_head_dim;
    LayerSpec layer;
    layer.num_heads = num_heads;
    layer.num_kv_heads = kv_heads[i];
    layer.head_dim = head_dim;
    layer.window_tokens = sliding[i] ? window : 0;
    layer.kv_source_layer = i;
    if (i >= first_shared) {
      layer.kv_source_layer = -1;
      for (int j = first_shared - 1; j >= 0; --j) {
        if (sliding[j] == sliding[i]) {
          layer.kv_source_layer = j;
          break;
        }
      }
      if (layer.kv_source_layer < 0 ||
          spec.layers[layer.kv_source_layer].num_kv_heads != kv_heads[i]) {
        return InvalidArgument("model: gemma4 layer " + std::to_string(i) +
                               " shares KV but no earlier layer of its kind matches it");
      }
    }
    layer.rope = sliding[i] ? 0 : 1;
    layer.attention_scale = 1.0f;  // q/k norms replace 1/sqrt(head_dim) (llama.cpp: 1.0)
    layer.ffn_dim = ffn_dims[i];
    layer.num_experts = num_experts;
    layer.num_experts_used = experts_used;
    layer.expert_ffn_dim = expert_ffn_dim;
    spec.layers.push_back(layer);
  }
  return spec;
}

// What the dense forward pass cannot run yet, named so the user learns it at load.
Status CheckRunnable(const gguf::File& file, const ModelSpec& spec) {
  const Metadata meta(file, "gemma4");
  ASSIGN_OR_RETURN(const int per_layer_dim,
                   CountOrZero(file, meta, "embedding_length_per_layer_input", 0, 1 << 16));
  if (per_layer_dim > 0) {
    return Unimplemented("model: gemma4 per-layer embeddings (E2B/E4B) are not implemented");
  }
  for (int i = 0; i < static_cast<int>(spec.layers.size()); ++i) {
    if (spec.layers[i].kv_source_layer != i) {
      return Unimplemented("model: gemma4 KV-shared layers (E2B/E4B) are not implemented");
    }
    if (spec.layers[i].num_experts > 0) {
      return Unimplemented("model: gemma4 mixture of experts (26B-A4B) is not implemented");
    }
  }
  return Status::Ok();
}

struct Layer {
  const float* attn_norm;      // [model_dim]
  AttentionWeights attention;  // v is empty on k_eq_v layers: V comes from the raw K
  const float* q_norm;         // [head_dim]
  const float* k_norm;         // [head_dim]
  const float* post_attention_norm;
  const float* ffn_norm;
  FfnWeights ffn;
  const float* post_ffn_norm;
  const float* output_scale;  // [1] layer_scalar, or null
};

class Gemma4 : public DecoderModel {
 public:
  using DecoderModel::DecoderModel;

  void Forward(const Batch& batch, KvCache& kv, float* logits) override {
    const int64_t n = BeginForward(batch);
    const int dim = spec_.model_dim;
    const float eps = spec_.norm_eps;
    DecoderBuffers& b = buffers_;

    // sqrt(H) rounded to bf16, the checkpoints' dtype (§2.2; gotcha 3: 3840 -> 62.0).
    // llama.cpp scales by sqrtf(H) unrounded, 1e-4 (tiny) to 5e-4 (12B) apart: the conformance
    // numbers do not move either way.
    const float embed_scale = Bf16ToF32(F32ToBf16(std::sqrt(static_cast<float>(dim))));
    EmbedTokens(ends_.embedding, batch.tokens, embed_scale, b.hidden.data());
    for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
      const Layer& w = layers_[i];
      const LayerSpec& s = spec_.layers[i];
      const int64_t q_rows = n * s.num_heads, kv_rows = n * s.num_kv_heads;
      // Attention block (§2.3): q/k norms with weights, v norm without; scale 1.
      RmsNormRows(b.hidden.data(), w.attn_norm, eps, n, dim, b.normed.data());
      projector_.Apply(w.attention.q, b.normed.data(), n, b.q.data());
      projector_.Apply(w.attention.k, b.normed.data(), n, b.k.data());
      if (w.attention.v.data != nullptr) {
        projector_.Apply(w.attention.v, b.normed.data(), n, b.v.data());
        RmsNormRows(b.v.data(), nullptr, eps, kv_rows, s.head_dim, b.v.data());
      } else {
        RmsNormRows(b.k.data(), nullptr, eps, kv_rows, s.head_dim, b.v.data());  // raw K
      }
      RmsNormRows(b.q.data(), w.q_norm, eps, q_rows, s.head_dim, b.q.data());
      RmsNormRows(b.k.data(), w.k_norm, eps, kv_rows, s.head_dim, b.k.data());
      rope_tables_[s.rope].Apply(b.q.data(), n, s.num_heads, s.head_dim);
      rope_tables_[s.rope].Apply(b.k.data(), n, s.num_kv_heads, s.head_dim);
      StoreKv(batch, i, b.k.data(), b.v.data(), kv);
      Attend(batch, s, i, b.q.data(), nullptr, kv, projector_.pool(), b.attention.data());
      projector_.Apply(w.attention.output, b.attention.data(), n, b.projected.data());
      RmsNormRows(b.projected.data(), w.post_attention_norm, eps, n, dim, b.projected.data());
      kernels::Add(b.hidden.data(), b.projected.data(), b.hidden.data(), n * dim);
      // Feed-forward block: pre-norm, GELU-tanh gated MLP, post-norm, residual.
      RmsNormRows(b.hidden.data(), w.ffn_norm, eps, n, dim, b.normed.data());
      GatedFfn(projector_, w.ffn, Activation::kGeluTanh, b.normed.data(), n, b.gate.data(),
               b.up.data(), b.projected.data());
      RmsNormRows(b.projected.data(), w.post_ffn_norm, eps, n, dim, b.projected.data());
      kernels::Add(b.hidden.data(), b.projected.data(), b.hidden.data(), n * dim);
      if (w.output_scale != nullptr) {
        kernels::Scale(b.hidden.data(), *w.output_scale, b.hidden.data(), n * dim);
      }
    }
    ComputeLogits(batch, dim, ends_.norm, eps, ends_.output, projector_, b, logits);
    if (softcap_ > 0.0f) Softcap(logits, batch.logit_indices.size() * spec_.vocab_size);
  }

 private:
  Status BindLayers(WeightBinder& weights) override {
    // Before any tensor is looked for: what the dense pass cannot run is named first.
    RETURN_IF_ERROR(CheckRunnable(*file_, spec_));
    const Metadata meta(*file_, "gemma4");
    ASSIGN_OR_RETURN(softcap_, meta.FloatOr("final_logit_softcapping", 0.0f));
    const int dim = spec_.model_dim;
    for (int i = 0; i < static_cast<int>(spec_.layers.size()); ++i) {
      const LayerSpec& s = spec_.layers[i];
      const std::string p = "blk." + std::to_string(i) + ".";
      const int q_dim = s.num_heads * s.head_dim, kv_dim = s.num_kv_heads * s.head_dim;
      Layer layer;
      layer.attn_norm = weights.Vector(p + "attn_norm.weight", dim);
      // attention_k_eq_v: full layers have no attn_v (llama.cpp: Vcur = Kcur when absent).
      layer.attention = {weights.Matrix(p + "attn_q.weight", q_dim, dim),
                         weights.Matrix(p + "attn_k.weight", kv_dim, dim),
                         weights.OptionalMatrix(p + "attn_v.weight", kv_dim, dim),
                         weights.Matrix(p + "attn_output.weight", dim, q_dim)};
      layer.q_norm = weights.Vector(p + "attn_q_norm.weight", s.head_dim);
      layer.k_norm = weights.Vector(p + "attn_k_norm.weight", s.head_dim);
      layer.post_attention_norm = weights.Vector(p + "post_attention_norm.weight", dim);
      layer.ffn_norm = weights.Vector(p + "ffn_norm.weight", dim);
      layer.ffn = BindFfn(weights, p, s.ffn_dim, dim);
      layer.post_ffn_norm = weights.Vector(p + "post_ffw_norm.weight", dim);
      layer.output_scale = weights.OptionalVector(p + "layer_output_scale.weight", 1);
      layers_.push_back(layer);
    }
    return Status::Ok();
  }

  void ReserveLayers() override { ReserveDense(projector_, layers_); }

  // logits = c · tanh(logits / c) (gotcha 15), split over the pool: 262144 tanh per token.
  void Softcap(float* logits, int64_t count) {
    const float cap = softcap_, inverse = 1.0f / softcap_;
    projector_.pool().ParallelFor(count, 4096, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) logits[i] = cap * std::tanh(logits[i] * inverse);
    });
  }

  float softcap_ = 0.0f;  // final_logit_softcapping (30), 0: none
  std::vector<Layer> layers_;
};

}  // namespace

Result<ModelSpec> ParseGemma4Spec(const gguf::File& file) { return ParseSpec(file); }

Result<std::unique_ptr<Model>> LoadGemma4(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool) {
  return LoadDecoder<Gemma4>(ParseSpec, std::move(file), options, pool);
}

}  // namespace snug
