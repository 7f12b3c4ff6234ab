// Gemma 4 text decoder (docs/models/gemma.md; llama.cpp src/models/gemma4.cpp): the spec from
// GGUF metadata (per-layer sliding/full pattern, head sizes and KV heads, proportional RoPE on
// full layers); the forward pass is the Gemma decoder's (gemma.h), for the dense 12B-unified
// shape, with its image and audio embedders (gemma4_media.h) where the file has them. Per-layer
// embeddings, KV-shared layers (E2B/E4B) and the MoE block (26B-A4B) are parsed for the memory plan
// only.
#include <cmath>
#include <string>
#include <vector>

#include "models/architectures.h"
#include "models/decoder_model.h"
#include "models/gemma.h"
#include "models/gemma4_media.h"
#include "models/hf_import.h"
#include "models/metadata.h"
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
  const int full_head_dim = basics.head_dim;
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
  ASSIGN_OR_RETURN(spec.media, ReadGemma4Media(file));
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

// q/k norms with weights, V norm without one; full layers of a k_eq_v model have no attn_v
// (llama.cpp: Vcur = Kcur when absent); scale 1 (the norms replace 1/√head_dim).
constexpr AttentionParts kAttention{
    .value = Part::kOptional, .qk_norm = Part::kRequired, .value_norm = true};

}  // namespace

Result<ModelSpec> ParseGemma4Spec(const gguf::File& file) { return ParseSpec(file); }

Result<std::unique_ptr<Model>> LoadGemma4(std::shared_ptr<const gguf::File> file,
                                          const ModelOptions& options, ThreadPool& pool) {
  ASSIGN_OR_RETURN(ModelSpec spec, ParseSpec(*file));
  // Before any tensor is looked for: what the dense pass cannot run is named first.
  RETURN_IF_ERROR(CheckRunnable(*file, spec));
  GemmaForm form{.attention = kAttention, .layer_scale = true, .media = true};
  // sqrt(H) rounded to bf16, the checkpoints' dtype (docs/models/gemma.md: 3840 -> 62.0).
  // llama.cpp scales by sqrtf(H) unrounded, 1e-4 (tiny) to 5e-4 (12B) apart: the conformance
  // numbers do not move either way.
  form.embed_scale = Bf16ToF32(F32ToBf16(std::sqrt(static_cast<float>(spec.model_dim))));
  ASSIGN_OR_RETURN(form.final_softcap,
                   Metadata(*file, "gemma4").FloatOr("final_logit_softcapping", 0.0f));
  return LoadGemma(std::move(file), std::move(spec), form, options, pool);
}

// config.json (specs/models.md §2.1): per-layer types, head sizes and KV heads, proportional
// RoPE as llama.cpp's rope_freqs divisors (§2.3), and the shapes only the plan reads yet.
Status ImportGemma4Config(HfImporter& import, std::string_view architecture) {
  const std::string p = std::string(architecture) + ".";
  RETURN_IF_ERROR(import.CopyBasics(architecture));
  ASSIGN_OR_RETURN(const int64_t num_layers, import.Int("num_hidden_layers"));
  ASSIGN_OR_RETURN(const int64_t head_dim, import.Int("head_dim"));
  ASSIGN_OR_RETURN(const int64_t global_head_dim, import.IntOr("global_head_dim", head_dim));
  ASSIGN_OR_RETURN(const int64_t kv_heads, import.Int("num_key_value_heads"));
  ASSIGN_OR_RETURN(const int64_t global_kv_heads,
                   import.IntOr("num_global_key_value_heads", kv_heads));
  ASSIGN_OR_RETURN(const bool k_eq_v, import.BoolOr("attention_k_eq_v", false));
  ASSIGN_OR_RETURN(const int64_t window, import.Int("sliding_window"));
  ASSIGN_OR_RETURN(const int64_t shared_layers, import.IntOr("num_kv_shared_layers", 0));
  ASSIGN_OR_RETURN(const int64_t per_layer_dim, import.IntOr("hidden_size_per_layer_input", 0));
  ASSIGN_OR_RETURN(const int64_t ffn_dim, import.Int("intermediate_size"));
  ASSIGN_OR_RETURN(const bool double_wide, import.BoolOr("use_double_wide_mlp", false));
  ASSIGN_OR_RETURN(const double softcap, import.FloatOr("final_logit_softcapping", 0.0));
  if (num_layers > (1 << 16)) return OutOfRange("model: config.json: too many layers");

  // layer_types, else HF's default rule: every 6th layer full, the last one forced full.
  std::vector<bool> sliding(num_layers);
  const nlohmann::json& config = import.config();
  const auto types = config.find("layer_types");
  if (types != config.end() && types->is_array()) {
    if (types->size() != static_cast<size_t>(num_layers)) {
      return InvalidArgument("model: config.json: 'layer_types' has " +
                             std::to_string(types->size()) + " entries for " +
                             std::to_string(num_layers) + " layers");
    }
    for (int64_t i = 0; i < num_layers; ++i) {
      sliding[i] = (*types)[i].is_string() && (*types)[i] == "sliding_attention";
    }
  } else {
    for (int64_t i = 0; i < num_layers; ++i) sliding[i] = (i + 1) % kDefaultFullPeriod != 0;
    if (num_layers > 0) sliding[num_layers - 1] = false;
  }
  std::vector<int32_t> layer_kv_heads, layer_ffn;
  for (int64_t i = 0; i < num_layers; ++i) {
    layer_kv_heads.push_back(static_cast<int32_t>(sliding[i] || !k_eq_v ? kv_heads
                                                                        : global_kv_heads));
    const bool wide = double_wide && i >= num_layers - shared_layers;
    layer_ffn.push_back(static_cast<int32_t>(wide ? 2 * ffn_dim : ffn_dim));
  }
  gguf::Writer& meta = import.metadata();
  meta.SetBoolArray(p + "attention.sliding_window_pattern", sliding);
  meta.SetI32Array(p + "attention.head_count_kv", layer_kv_heads);
  meta.SetI32Array(p + "feed_forward_length", layer_ffn);
  meta.SetU32(p + "attention.key_length", static_cast<uint32_t>(global_head_dim));
  meta.SetU32(p + "attention.value_length", static_cast<uint32_t>(global_head_dim));
  meta.SetU32(p + "attention.key_length_swa", static_cast<uint32_t>(head_dim));
  meta.SetU32(p + "attention.value_length_swa", static_cast<uint32_t>(head_dim));
  meta.SetU32(p + "attention.sliding_window", static_cast<uint32_t>(window));
  meta.SetU32(p + "attention.shared_kv_layers", static_cast<uint32_t>(shared_layers));
  meta.SetU32(p + "embedding_length_per_layer_input", static_cast<uint32_t>(per_layer_dim));
  meta.SetF32(p + "final_logit_softcapping", static_cast<float>(softcap));
  ASSIGN_OR_RETURN(const bool moe, import.BoolOr("enable_moe_block", false));
  if (moe) {
    RETURN_IF_ERROR(import.CopyCount("num_experts", p + "expert_count"));
    RETURN_IF_ERROR(import.CopyCount("top_k_experts", p + "expert_used_count"));
    RETURN_IF_ERROR(import.CopyCount("moe_intermediate_size", p + "expert_feed_forward_length"));
  }
  const HfImporter::Rope sliding_rope = import.RopeOf("sliding_attention", kSlidingTheta);
  const HfImporter::Rope full_rope = import.RopeOf("full_attention", 1e6);
  meta.SetF32(p + "rope.freq_base_swa", static_cast<float>(sliding_rope.theta));
  meta.SetF32(p + "rope.freq_base", static_cast<float>(full_rope.theta));
  meta.SetU32(p + "rope.dimension_count", static_cast<uint32_t>(global_head_dim));
  meta.SetU32(p + "rope.dimension_count_swa", static_cast<uint32_t>(head_dim));
  // Proportional RoPE: the first partial_rotary_factor · d/2 pairs rotate with θ^(−2i/d) over
  // the full head dim d, the rest not at all (divisor 1e30), as llama.cpp's converter writes.
  const double partial = full_rope.Param("partial_rotary_factor", 1.0);
  if (full_rope.type == "proportional" || partial < 1.0) {
    const int64_t pairs = global_head_dim / 2;
    const int64_t rotated = static_cast<int64_t>(partial * static_cast<double>(pairs));
    std::vector<float> divisors(pairs);
    for (int64_t i = 0; i < pairs; ++i) divisors[i] = i < rotated ? 1.0f : 1e30f;
    import.AddF32("rope_freqs.weight", {pairs}, std::move(divisors));
  }
  return Status::Ok();
}

}  // namespace snug
