// A preset's config.json, as transformers / mlx-lm write it for each architecture (the inverse
// of what models/hf_import.h reads), for make-model's Hugging Face and MLX directories.
#include <nlohmann/json.hpp>

#include "synth/presets.h"

namespace snug::synth {

std::string HfConfigJson(const ModelConfig& config, int64_t vocab_size) {
  using Json = nlohmann::ordered_json;
  Json json;
  const auto common = [&](const char* model_type, const char* class_name) {
    json["architectures"] = Json::array({class_name});
    json["model_type"] = model_type;
    json["hidden_size"] = config.model_dim;
    json["num_hidden_layers"] = config.num_layers;
    json["num_attention_heads"] = config.num_heads;
    json["num_key_value_heads"] = config.num_kv_heads;
    json["head_dim"] = config.head_dim;
    json["intermediate_size"] = config.ffn_dim;
    json["max_position_embeddings"] = config.context_tokens;
    json["rms_norm_eps"] = config.rms_eps;
    json["vocab_size"] = vocab_size;
    json["tie_word_embeddings"] = config.tied_embeddings;
    json["torch_dtype"] = "bfloat16";
  };
  Json layer_types = Json::array();
  for (int layer = 0; layer < config.num_layers; ++layer) {
    layer_types.push_back(IsSlidingLayer(config, layer) ? "sliding_attention" : "full_attention");
  }
  switch (config.architecture) {
    case Architecture::kGemma3:
      common("gemma3_text", "Gemma3ForCausalLM");
      json["sliding_window"] = config.window_tokens;
      json["layer_types"] = layer_types;
      json["rope_theta"] = config.rope_theta;
      json["rope_local_base_freq"] = config.rope_theta_swa;
      json["query_pre_attn_scalar"] = config.head_dim;
      json["hidden_activation"] = "gelu_pytorch_tanh";
      break;
    case Architecture::kGemma4:
      common("gemma4_text", "Gemma4ForCausalLM");
      json["global_head_dim"] = config.global_head_dim;
      json["num_global_key_value_heads"] = config.num_global_kv_heads;
      json["attention_k_eq_v"] = config.k_eq_v;
      json["sliding_window"] = config.window_tokens;
      json["layer_types"] = layer_types;
      json["num_kv_shared_layers"] = 0;
      json["hidden_size_per_layer_input"] = 0;
      json["use_double_wide_mlp"] = false;
      json["enable_moe_block"] = false;
      json["final_logit_softcapping"] = config.final_logit_softcap;
      json["hidden_activation"] = "gelu_pytorch_tanh";
      json["rope_parameters"] = {
          {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", config.rope_theta_swa}}},
          {"full_attention",
           {{"rope_type", "proportional"},
            {"partial_rotary_factor", config.partial_rotary_global},
            {"rope_theta", config.rope_theta}}}};
      break;
    case Architecture::kGptOss:
      common("gpt_oss", "GptOssForCausalLM");
      json["num_local_experts"] = config.num_experts;
      json["num_experts_per_tok"] = config.num_experts_used;
      json["intermediate_size"] = config.expert_ffn_dim;
      json["sliding_window"] = config.window_tokens;
      json["layer_types"] = layer_types;
      json["attention_bias"] = true;
      json["swiglu_limit"] = 7.0;
      json["rope_theta"] = config.rope_theta;
      json["rope_scaling"] = {{"rope_type", "yarn"},
                              {"factor", config.rope_scaling_factor},
                              {"beta_fast", config.yarn_beta_fast},
                              {"beta_slow", config.yarn_beta_slow},
                              {"original_max_position_embeddings", config.rope_original_context},
                              {"truncate", false}};
      break;
    case Architecture::kLlama:
      common("llama", "LlamaForCausalLM");
      json["rope_theta"] = config.rope_theta;
      json["hidden_act"] = "silu";
      if (config.llama3_factor > 0) {
        json["rope_scaling"] = {
            {"rope_type", "llama3"},
            {"factor", config.llama3_factor},
            {"low_freq_factor", config.llama3_low_freq_factor},
            {"high_freq_factor", config.llama3_high_freq_factor},
            {"original_max_position_embeddings", config.llama3_original_context}};
      }
      break;
  }
  if (config.image_patch_px > 0 || config.audio_frame_samples > 0) {
    // The 12B unified checkpoint's form (specs/models.md §3.1): the text model's config under
    // text_config, the embedders' beside it. Patches are 16 px pooled 3 × 3 (48 px).
    json["model_type"] = "gemma4_unified_text";
    json.erase("architectures");
    Json unified;
    unified["architectures"] = Json::array({"Gemma4UnifiedForConditionalGeneration"});
    unified["model_type"] = "gemma4_unified";
    unified["text_config"] = std::move(json);
    unified["vision_config"] = {
        {"patch_size", config.image_patch_px / 3},    {"pooling_kernel_size", 3},
        {"mm_embed_dim", config.image_embed_dim},     {"mm_posemb_size", config.image_positions},
        {"output_proj_dims", config.image_embed_dim}, {"rms_norm_eps", config.rms_eps}};
    unified["audio_config"] = {{"audio_embed_dim", config.audio_frame_samples},
                               {"audio_samples_per_token", config.audio_frame_samples},
                               {"rms_norm_eps", config.rms_eps}};
    unified["vision_soft_tokens_per_image"] = 280;
    unified["tie_word_embeddings"] = config.tied_embeddings;
    return unified.dump(2);
  }
  return json.dump(2);
}

}  // namespace snug::synth
