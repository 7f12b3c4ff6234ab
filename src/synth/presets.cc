// The preset table. Real-size shapes come from specs/models.md (§2.1 Gemma 4 12B, §4.1
// gpt-oss-20b, §5.1 Gemma 3 1B) and Meta's Llama 3.2 1B config; tiny ones shrink the widths and
// layer counts but keep every structural feature.
#include "synth/presets.h"

namespace snug::synth {
namespace {

ModelConfig Gemma3(std::string preset, int64_t model_dim, int num_layers, int num_heads,
                   int num_kv_heads, int head_dim, int64_t ffn_dim, int64_t window_tokens) {
  ModelConfig c;
  c.preset = std::move(preset);
  c.architecture = Architecture::kGemma3;
  c.model_dim = model_dim;
  c.num_layers = num_layers;
  c.num_heads = num_heads;
  c.num_kv_heads = num_kv_heads;
  c.head_dim = head_dim;
  c.ffn_dim = ffn_dim;
  c.context_tokens = 32768;
  c.rms_eps = 1e-6f;
  c.rope_theta = 1e6f;
  c.rope_theta_swa = 10000.0f;
  c.window_tokens = window_tokens;
  return c;
}

ModelConfig Gemma4(std::string preset, int64_t model_dim, int num_layers, int num_heads,
                   int num_kv_heads, int head_dim, int num_global_kv_heads, int global_head_dim,
                   int64_t ffn_dim, int64_t window_tokens) {
  ModelConfig c;
  c.preset = std::move(preset);
  c.architecture = Architecture::kGemma4;
  c.model_dim = model_dim;
  c.num_layers = num_layers;
  c.num_heads = num_heads;
  c.num_kv_heads = num_kv_heads;
  c.head_dim = head_dim;
  c.num_global_kv_heads = num_global_kv_heads;
  c.global_head_dim = global_head_dim;
  c.k_eq_v = true;
  c.partial_rotary_global = 0.25f;
  c.ffn_dim = ffn_dim;
  c.context_tokens = 262144;
  c.rms_eps = 1e-6f;
  c.rope_theta = 1e6f;
  c.rope_theta_swa = 10000.0f;
  c.window_tokens = window_tokens;
  c.final_logit_softcap = 30.0f;
  return c;
}

// The 12B unified input path (specs/models.md §3.1): 48-px patches, a 1120-row position table,
// 640-sample audio frames; the embedder width is the preset's.
ModelConfig Unified(ModelConfig c, int image_embed_dim) {
  c.image_patch_px = 48;
  c.image_embed_dim = image_embed_dim;
  c.image_positions = 1120;
  c.audio_frame_samples = 640;
  return c;
}

ModelConfig GptOss(std::string preset, int64_t model_dim, int num_layers, int num_heads,
                   int num_kv_heads, int head_dim, int num_experts, int num_experts_used,
                   int64_t expert_ffn_dim, int64_t window_tokens) {
  ModelConfig c;
  c.preset = std::move(preset);
  c.architecture = Architecture::kGptOss;
  c.model_dim = model_dim;
  c.num_layers = num_layers;
  c.num_heads = num_heads;
  c.num_kv_heads = num_kv_heads;
  c.head_dim = head_dim;
  c.ffn_dim = expert_ffn_dim;
  c.num_experts = num_experts;
  c.num_experts_used = num_experts_used;
  c.expert_ffn_dim = expert_ffn_dim;
  c.context_tokens = 131072;
  c.rms_eps = 1e-5f;
  c.rope_theta = 150000.0f;
  c.window_tokens = window_tokens;
  c.rope_scaling_factor = 32.0f;
  c.rope_original_context = 4096;
  c.yarn_beta_fast = 32.0f;
  c.yarn_beta_slow = 1.0f;
  c.tied_embeddings = false;
  return c;
}

ModelConfig Llama(std::string preset, int64_t model_dim, int num_layers, int num_heads,
                  int num_kv_heads, int head_dim, int64_t ffn_dim) {
  ModelConfig c;
  c.preset = std::move(preset);
  c.architecture = Architecture::kLlama;
  c.model_dim = model_dim;
  c.num_layers = num_layers;
  c.num_heads = num_heads;
  c.num_kv_heads = num_kv_heads;
  c.head_dim = head_dim;
  c.ffn_dim = ffn_dim;
  c.context_tokens = 131072;
  c.rms_eps = 1e-5f;
  c.rope_theta = 500000.0f;
  c.llama3_factor = 32.0f;
  c.llama3_low_freq_factor = 1.0f;
  c.llama3_high_freq_factor = 4.0f;
  c.llama3_original_context = 8192;
  return c;
}

std::vector<ModelConfig> MakePresets() {
  std::vector<ModelConfig> presets;
  // Tiny: 6 Gemma layers so that layer 5 is global (5 sliding : 1 full); windows of 16-32
  // tokens so short prompts cross them.
  presets.push_back(Gemma3("gemma3-tiny", 128, 6, 4, 2, 32, 256, 16));
  presets.back().note = "Gemma 3: 5 sliding (window 16) + 1 global layer, q/k norms, tied";
  presets.push_back(Gemma4("gemma4-tiny", 128, 6, 4, 2, 32, 1, 64, 256, 32));
  presets.back().note =
      "Gemma 4 dense (12B-like: no PLE, no MoE, no KV sharing): head dim 32/64, KV heads 2/1, "
      "k_eq_v, proportional RoPE, softcap 30";
  presets.push_back(Unified(Gemma4("gemma4-unified-tiny", 128, 6, 4, 2, 32, 1, 64, 256, 32), 64));
  presets.back().note =
      "Gemma 4 12B unified, tiny: gemma4-tiny plus the image (48-px patches, width 64) and audio "
      "(640-sample frames) embedders";
  presets.push_back(GptOss("gptoss-tiny", 96, 4, 4, 2, 32, 4, 2, 64, 16));
  presets.back().note = "gpt-oss: sinks, biases, 4 experts top-2 (MXFP4), even layers slide, YaRN";
  presets.push_back(Llama("llama-tiny", 128, 4, 4, 2, 32, 256));
  presets.back().note = "Llama 3: GQA 4/2, llama3 RoPE factors, tied";

  presets.push_back(Gemma3("gemma3-1b", 1152, 26, 4, 1, 256, 6912, 512));
  presets.back().default_vocab = VocabSource::kGemma3;
  presets.back().note = "Gemma 3 1B";
  presets.push_back(Gemma4("gemma4-12b", 3840, 48, 16, 8, 256, 1, 512, 15360, 1024));
  presets.back().default_vocab = VocabSource::kGemma3;
  presets.back().note = "Gemma 4 12B text decoder (dense)";
  presets.push_back(
      Unified(Gemma4("gemma4-12b-unified", 3840, 48, 16, 8, 256, 1, 512, 15360, 1024), 3840));
  presets.back().default_vocab = VocabSource::kGemma3;
  presets.back().note = "Gemma 4 12B unified: the decoder with its image and audio embedders";
  presets.push_back(GptOss("gptoss-20b", 2880, 24, 64, 8, 64, 32, 4, 2880, 128));
  presets.back().default_vocab = VocabSource::kGptOss;
  presets.back().note = "gpt-oss-20b";
  presets.push_back(Llama("llama-3.2-1b", 2048, 16, 32, 8, 64, 8192));
  presets.back().default_vocab = VocabSource::kGptOss;
  presets.back().note = "Llama 3.2 1B";
  return presets;
}

}  // namespace

std::string_view ArchitectureName(Architecture architecture) {
  switch (architecture) {
    case Architecture::kGemma3:
      return "gemma3";
    case Architecture::kGemma4:
      return "gemma4";
    case Architecture::kGptOss:
      return "gpt-oss";
    case Architecture::kLlama:
      return "llama";
  }
  return "?";
}

std::string_view VocabSourceName(VocabSource source) {
  switch (source) {
    case VocabSource::kBuiltin:
      return "builtin";
    case VocabSource::kGemma3:
      return "gemma3";
    case VocabSource::kGptOss:
      return "gptoss";
  }
  return "?";
}

const std::vector<ModelConfig>& Presets() {
  static const std::vector<ModelConfig>* const presets =
      new std::vector<ModelConfig>(MakePresets());
  return *presets;
}

Result<ModelConfig> FindPreset(std::string_view name) {
  std::string names;
  for (const ModelConfig& preset : Presets()) {
    if (preset.preset == name) return preset;
    names += names.empty() ? "" : ", ";
    names += preset.preset;
  }
  return NotFound("synth: no preset '" + std::string(name) + "' (presets: " + names + ")");
}

bool IsSlidingLayer(const ModelConfig& config, int layer) {
  switch (config.architecture) {
    case Architecture::kGemma3:
      return config.window_tokens > 0 && (layer + 1) % 6 != 0;
    case Architecture::kGemma4:
      return (layer + 1) % 6 != 0 && layer != config.num_layers - 1;
    case Architecture::kGptOss:
      return layer % 2 == 0;
    case Architecture::kLlama:
      return false;
  }
  return false;
}

int LayerHeadDim(const ModelConfig& config, int layer) {
  if (config.architecture == Architecture::kGemma4 && !IsSlidingLayer(config, layer)) {
    return config.global_head_dim;
  }
  return config.head_dim;
}

int LayerKvHeads(const ModelConfig& config, int layer) {
  if (config.architecture == Architecture::kGemma4 && !IsSlidingLayer(config, layer)) {
    return config.num_global_kv_heads;
  }
  return config.num_kv_heads;
}

bool LayerHasValueProjection(const ModelConfig& config, int layer) {
  return !(config.architecture == Architecture::kGemma4 && config.k_eq_v &&
           !IsSlidingLayer(config, layer));
}

bool VocabFits(Architecture architecture, VocabSource source) {
  switch (source) {
    case VocabSource::kBuiltin:
      return true;
    case VocabSource::kGemma3:
      return architecture == Architecture::kGemma3 || architecture == Architecture::kGemma4;
    case VocabSource::kGptOss:
      return architecture == Architecture::kGptOss || architecture == Architecture::kLlama;
  }
  return false;
}

}  // namespace snug::synth
