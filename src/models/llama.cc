// The Llama decoder family (docs/models/llama.md; llama.cpp src/models/llama.cpp, qwen2.cpp,
// qwen3.cpp): pre-norm blocks, grouped-query attention, SiLU-gated MLP. Variants, told apart by
// their tensors and architecture name: Qwen2 adds q/k/v biases, Qwen3 adds per-head q/k RMSNorm;
// Llama rotates adjacent pairs (GGUF permutes Q/K for it) while Qwen uses NEOX pairs. Llama 3's
// frequency scaling arrives as a rope_freqs tensor of per-pair divisors.
#include <cmath>
#include <numbers>
#include <vector>

#include "models/architectures.h"
#include "models/blocks.h"
#include "models/decoder_model.h"
#include "models/hf_import.h"
#include "models/metadata.h"
#include "models/weights.h"

namespace snug {
namespace {

// Meta's apply_scaling (Llama 3.1+ rope_scaling "llama3") as llama.cpp's per-pair divisors:
// long wavelengths divided by `factor`, short ones kept, a smooth blend in between.
std::vector<float> Llama3RopeDivisors(const HfImporter::Rope& rope, int64_t rotary_dims) {
  const double factor = rope.Param("factor", 8.0), low = rope.Param("low_freq_factor", 1.0);
  const double high = rope.Param("high_freq_factor", 4.0);
  const double original = rope.Param("original_max_position_embeddings", 8192.0);
  std::vector<float> divisors;
  for (int64_t i = 0; i < rotary_dims; i += 2) {
    const double wavelength =
        2 * std::numbers::pi * std::pow(rope.theta, static_cast<double>(i) / rotary_dims);
    if (wavelength < original / high) {
      divisors.push_back(1.0f);
    } else if (wavelength > original / low) {
      divisors.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (original / wavelength - low) / (high - low);
      divisors.push_back(static_cast<float>(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return divisors;
}

// Qwen2's q/k/v biases and Qwen3's per-head q/k norms are bound where the file has them.
constexpr AttentionParts kAttention{.qkv_bias = Part::kOptional, .qk_norm = Part::kOptional};

struct Layer {
  AttentionWeights attention;
  const float* ffn_norm;  // [model_dim]
  FfnWeights ffn;
};

Result<ModelSpec> ParseSpec(const gguf::File& file, const std::string& architecture) {
  const Metadata meta(file, architecture);
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 4096, 1e-5f));
  ModelSpec spec = StartSpec(architecture, basics);
  const int head_dim = basics.head_dim;
  ASSIGN_OR_RETURN(const std::vector<int> ffn_dims,
                   meta.PerLayer("feed_forward_length", basics.num_layers));
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
  // An imported HF checkpoint keeps its q/k rows unpermuted: NEOX pairs then (registry.h).
  const bool interleaved = architecture == "llama" && file.Find(kHfRopePairsKey) == nullptr;
  const float linear_scale = scaling == "linear" && factor > 0.0f ? factor : 1.0f;
  spec.ropes.push_back(MakeRope(rotary_dims, theta, linear_scale, interleaved, factors));
  for (int i = 0; i < basics.num_layers; ++i) {
    LayerSpec layer;
    layer.num_heads = basics.num_heads;
    layer.num_kv_heads = basics.kv_heads[i];
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

 private:
  // h = x + attention(attn_norm(x)); y = h + ffn_silu(ffn_norm(h)).
  void ForwardLayer(const ForwardPass& pass, int i) override {
    const Layer& w = layers_[i];
    DecoderBuffers& b = buffers_;
    AttentionBlock(pass, i, spec_.layers[i], w.attention, rope_tables_[0], b.hidden.data(),
                   b.projected.data());
    AddResidual(pass, b.projected.data());
    Norm(pass, b.hidden, w.ffn_norm, b.normed);
    FfnBlock(pass, i, w.ffn, Activation::kSilu, b.normed.data(), b.projected.data());
    AddResidual(pass, b.projected.data());
  }

  Status BindLayer(WeightBinder& weights, int i, const std::string& p) override {
    const int dim = spec_.model_dim;
    Layer layer;
    layer.attention = BindAttention(weights, p, spec_.layers[i], dim, kAttention);
    layer.ffn_norm = weights.Vector(p + "ffn_norm.weight", dim);
    layer.ffn = BindFfn(weights, p, spec_.layers[i].ffn_dim, dim);
    layers_.push_back(layer);
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

// config.json of Llama / Qwen2 / Qwen3. Llama's q/k stay in HF row order (no permutation, no
// copy): the spec then rotates NEOX pairs, which is the same model.
Status ImportLlamaConfig(HfImporter& import, std::string_view architecture) {
  const std::string p = std::string(architecture) + ".";
  RETURN_IF_ERROR(import.CopyBasics(architecture));
  ASSIGN_OR_RETURN(const int64_t head_dim, import.CopyHeads(architecture, 0));
  gguf::Writer& meta = import.metadata();
  meta.SetU32(p + "rope.dimension_count", static_cast<uint32_t>(head_dim));
  const HfImporter::Rope rope = import.RopeOf("full_attention", 10000.0);
  meta.SetF32(p + "rope.freq_base", static_cast<float>(rope.theta));
  if (rope.type == "llama3") {
    import.AddF32("rope_freqs.weight", {head_dim / 2}, Llama3RopeDivisors(rope, head_dim));
  } else if (!import.CopyLinearScaling(architecture, rope) && rope.type != "default") {
    return Unimplemented("model: " + std::string(architecture) + " rope_type '" + rope.type +
                         "' is not supported");
  }
  if (architecture == "llama") meta.SetBool(std::string(kHfRopePairsKey), true);
  return Status::Ok();
}

}  // namespace snug
