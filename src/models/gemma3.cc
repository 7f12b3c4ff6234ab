// Gemma 3 text decoder (docs/models/gemma.md; llama.cpp src/models/gemma3.cpp): the spec from
// GGUF metadata — five sliding-window layers (RoPE θ=10000) per full layer (θ from the file,
// linear scaling). The forward pass is the Gemma decoder's (gemma.h).
#include <cmath>
#include <vector>

#include "models/architectures.h"
#include "models/decoder_model.h"
#include "models/gemma.h"
#include "models/hf_import.h"
#include "models/metadata.h"

namespace snug {
namespace {

constexpr int kSlidingPattern = 6;  // layer i is full iff (i + 1) % 6 == 0 (llama.cpp: fixed)
constexpr float kSlidingTheta = 10000.0f;

// Every layer has per-head q/k norms; nothing else beyond q, k, v and the output.
constexpr AttentionParts kAttention{.qk_norm = Part::kRequired};

Result<ModelSpec> ParseSpec(const gguf::File& file) {
  const Metadata meta(file, "gemma3");
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 32768, 1e-6f));
  ModelSpec spec = StartSpec("gemma3", basics);
  const int num_layers = basics.num_layers, num_heads = basics.num_heads;
  const int head_dim = basics.head_dim;
  ASSIGN_OR_RETURN(const std::vector<int> ffn_dims,
                   meta.PerLayer("feed_forward_length", num_layers));
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
    layer.num_kv_heads = basics.kv_heads[i];
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

}  // namespace

Result<ModelSpec> ParseGemma3Spec(const gguf::File& file) { return ParseSpec(file); }

Result<std::unique_ptr<Model>> LoadGemma3(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool) {
  ASSIGN_OR_RETURN(ModelSpec spec, ParseSpec(*file));
  // llama.cpp scales by sqrtf(model_dim) in f32 (HF rounds it through bf16 first).
  const GemmaForm form{.embed_scale = std::sqrt(static_cast<float>(spec.model_dim)),
                       .attention = kAttention};
  return LoadGemma(std::move(file), std::move(spec), form, options, pool);
}

// config.json (specs/models.md §5.1): the global layers' RoPE base and linear scaling; the
// sliding layers' base (10000) and period (6) are fixed here as in llama.cpp.
Status ImportGemma3Config(HfImporter& import, std::string_view architecture) {
  const std::string p = std::string(architecture) + ".";
  RETURN_IF_ERROR(import.CopyBasics(architecture));
  RETURN_IF_ERROR(import.CopyHeads(architecture, 0).status());
  ASSIGN_OR_RETURN(const int64_t window, import.IntOr("sliding_window", 4096));
  gguf::Writer& meta = import.metadata();
  meta.SetU32(p + "attention.sliding_window", static_cast<uint32_t>(window));
  const HfImporter::Rope rope = import.RopeOf("full_attention", 1e6);
  meta.SetF32(p + "rope.freq_base", static_cast<float>(rope.theta));
  if (!import.CopyLinearScaling(architecture, rope) && rope.type != "default") {
    return Unimplemented("model: gemma3 rope_type '" + rope.type + "' is not supported");
  }
  return Status::Ok();
}

}  // namespace snug
