// Gemma 4's spec from GGUF metadata (specs/models.md §2.1, §2.3; llama.cpp Gemma4Model
// set_gguf_parameters): per-layer sliding/full pattern, head size and KV heads; KV sharing of
// the last layers; proportional RoPE on full layers. Spec only: the forward pass is not written
// yet, so LoadModel refuses gemma4 (the memory plan still sizes it).
#include <cmath>
#include <string>
#include <vector>

#include "models/architectures.h"
#include "models/blocks.h"
#include "models/metadata.h"

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

}  // namespace

Result<ModelSpec> ParseGemma4Spec(const gguf::File& file) {
  const Metadata meta(file, "gemma4");
  ModelSpec spec;
  spec.architecture = "gemma4";
  ASSIGN_OR_RETURN(const DecoderBasics basics, ReadDecoderBasics(meta, 131072, 1e-6f));
  spec.model_dim = basics.model_dim;
  spec.context_tokens = basics.context_tokens;
  spec.norm_eps = basics.norm_eps;
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

}  // namespace snug
