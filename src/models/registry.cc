// The registry table (registry.h): GGUF general.architecture -> its entry, and the lookups
// built on it (ReadModelSpec, LoadModel).
#include "models/registry.h"

#include <string_view>

#include "models/architectures.h"

namespace snug {
namespace {

// The ends every decoder binds (BindEnds).
#define SNUG_END_TENSORS \
  {"token_embd.weight"}, {"output_norm.weight"}, {"output.weight", /*required=*/false}

// The attention block's projections, its pre-norm and the dense gated FFN (BindAttention, BindFfn).
#define SNUG_ATTENTION_TENSORS                                                    \
  {"blk.{layer}.attn_norm.weight"}, {"blk.{layer}.attn_q.weight"},                \
      {"blk.{layer}.attn_k.weight"}, {"blk.{layer}.attn_output.weight"}
#define SNUG_FFN_TENSORS                                                            \
  {"blk.{layer}.ffn_gate.weight"}, {"blk.{layer}.ffn_up.weight"},                   \
      {"blk.{layer}.ffn_down.weight"}

// The Gemma layer's norms around both blocks and its FFN (gemma.cc).
#define SNUG_GEMMA_TENSORS                                                                    \
  {"blk.{layer}.attn_q_norm.weight"}, {"blk.{layer}.attn_k_norm.weight"},                      \
      {"blk.{layer}.post_attention_norm.weight"}, {"blk.{layer}.ffn_norm.weight"},             \
      SNUG_FFN_TENSORS, {"blk.{layer}.post_ffw_norm.weight"}

constexpr TensorName kGemma3Tensors[] = {
    SNUG_END_TENSORS, SNUG_ATTENTION_TENSORS, {"blk.{layer}.attn_v.weight"}, SNUG_GEMMA_TENSORS};
constexpr TensorName kGemma4Tensors[] = {
    SNUG_END_TENSORS,
    {"rope_freqs.weight", false},  // proportional RoPE of the full layers
    SNUG_ATTENTION_TENSORS,
    {"blk.{layer}.attn_v.weight", false},  // absent on k_eq_v layers: V = K
    SNUG_GEMMA_TENSORS,
    {"blk.{layer}.layer_output_scale.weight", false},
    // The 12B unified image and audio embedders (gemma4_media.h), where the file has them.
    {"v.patch_ln1.weight", false},
    {"v.patch_ln1.bias", false},
    {"v.patch_dense.weight", false},
    {"v.patch_dense.bias", false},
    {"v.patch_ln2.weight", false},
    {"v.patch_ln2.bias", false},
    {"v.position_embd.weight", false},
    {"v.pos_norm.weight", false},
    {"v.pos_norm.bias", false},
    {"mm.input_projection.weight", false},
    {"mm.a.input_projection.weight", false},
};
constexpr TensorName kLlamaTensors[] = {
    SNUG_END_TENSORS,
    {"rope_freqs.weight", false},  // Llama 3.1+ frequency factors
    SNUG_ATTENTION_TENSORS,
    {"blk.{layer}.attn_v.weight"},
    {"blk.{layer}.attn_q.bias", false},  // Qwen2
    {"blk.{layer}.attn_k.bias", false},
    {"blk.{layer}.attn_v.bias", false},
    {"blk.{layer}.attn_q_norm.weight", false},  // Qwen3
    {"blk.{layer}.attn_k_norm.weight", false},
    {"blk.{layer}.ffn_norm.weight"},
    SNUG_FFN_TENSORS,
};
constexpr TensorName kGptOssTensors[] = {
    SNUG_END_TENSORS,
    SNUG_ATTENTION_TENSORS,
    {"blk.{layer}.attn_v.weight"},
    {"blk.{layer}.attn_q.bias"},
    {"blk.{layer}.attn_k.bias"},
    {"blk.{layer}.attn_v.bias"},
    {"blk.{layer}.attn_output.bias"},
    {"blk.{layer}.attn_sinks.weight"},
    {"blk.{layer}.post_attention_norm.weight"},
    {"blk.{layer}.ffn_gate_inp.weight"},
    {"blk.{layer}.ffn_gate_inp.bias", false},
    {"blk.{layer}.ffn_gate_exps.weight"},
    {"blk.{layer}.ffn_up_exps.weight"},
    {"blk.{layer}.ffn_down_exps.weight"},
    {"blk.{layer}.ffn_gate_exps.bias", false},
    {"blk.{layer}.ffn_up_exps.bias", false},
    {"blk.{layer}.ffn_down_exps.bias", false},
};

// Hugging Face / MLX names (specs/models.md §2.6, §4.4, §5.2; mlx-lm's sanitize() for gpt-oss
// experts split into gate/up/down), beside the GGUF names above.
using enum HfTransform;
#define SNUG_HF_ENDS(norm)                                                        \
  {"token_embd.weight", "embed_tokens.weight"}, {"output_norm.weight", "norm.weight", norm}, \
      {"output.weight", "^lm_head.weight"}
#define SNUG_HF_ATTENTION(q, k)                                                             \
  {"blk.{layer}.attn_q.weight", "layers.{layer}.self_attn.q_proj.weight", q},                \
      {"blk.{layer}.attn_k.weight", "layers.{layer}.self_attn.k_proj.weight", k},            \
      {"blk.{layer}.attn_v.weight", "layers.{layer}.self_attn.v_proj.weight"},               \
      {"blk.{layer}.attn_output.weight", "layers.{layer}.self_attn.o_proj.weight"}
#define SNUG_HF_MLP                                                        \
  {"blk.{layer}.ffn_gate.weight", "layers.{layer}.mlp.gate_proj.weight"},  \
      {"blk.{layer}.ffn_up.weight", "layers.{layer}.mlp.up_proj.weight"},  \
      {"blk.{layer}.ffn_down.weight", "layers.{layer}.mlp.down_proj.weight"}
#define SNUG_HF_GEMMA(norm)                                                                  \
  SNUG_HF_ENDS(norm), SNUG_HF_ATTENTION(kNone, kNone), SNUG_HF_MLP,                           \
      {"blk.{layer}.attn_norm.weight", "layers.{layer}.input_layernorm.weight", norm},         \
      {"blk.{layer}.attn_q_norm.weight", "layers.{layer}.self_attn.q_norm.weight", norm},      \
      {"blk.{layer}.attn_k_norm.weight", "layers.{layer}.self_attn.k_norm.weight", norm},      \
      {"blk.{layer}.post_attention_norm.weight", "layers.{layer}.post_attention_layernorm.weight", \
       norm},                                                                                  \
      {"blk.{layer}.ffn_norm.weight", "layers.{layer}.pre_feedforward_layernorm.weight", norm}, \
      {"blk.{layer}.post_ffw_norm.weight", "layers.{layer}.post_feedforward_layernorm.weight", norm}

constexpr HfTensorName kGemma3HfTensors[] = {SNUG_HF_GEMMA(kNormPlusOne)};
constexpr HfTensorName kGemma4HfTensors[] = {
    SNUG_HF_GEMMA(kToF32),
    {"blk.{layer}.layer_output_scale.weight", "layers.{layer}.layer_scalar", kToF32},
    // 12B unified (specs/models.md §3.3-3.4): beside the language model, under "model." (at
    // the root in mlx-vlm's saves).
    {"v.patch_ln1.weight", "^model.vision_embedder.patch_ln1.weight", kToF32},
    {"v.patch_ln1.bias", "^model.vision_embedder.patch_ln1.bias", kToF32},
    {"v.patch_dense.weight", "^model.vision_embedder.patch_dense.weight"},
    {"v.patch_dense.bias", "^model.vision_embedder.patch_dense.bias", kToF32},
    {"v.patch_ln2.weight", "^model.vision_embedder.patch_ln2.weight", kToF32},
    {"v.patch_ln2.bias", "^model.vision_embedder.patch_ln2.bias", kToF32},
    {"v.position_embd.weight", "^model.vision_embedder.pos_embedding"},
    {"v.pos_norm.weight", "^model.vision_embedder.pos_norm.weight", kToF32},
    {"v.pos_norm.bias", "^model.vision_embedder.pos_norm.bias", kToF32},
    {"mm.input_projection.weight", "^model.embed_vision.embedding_projection.weight"},
    {"mm.a.input_projection.weight", "^model.embed_audio.embedding_projection.weight"},
};
constexpr HfTensorName kLlamaHfTensors[] = {
    SNUG_HF_ENDS(kToF32), SNUG_HF_ATTENTION(kRopePairsQ, kRopePairsK), SNUG_HF_MLP,
    {"blk.{layer}.attn_norm.weight", "layers.{layer}.input_layernorm.weight", kToF32},
    {"blk.{layer}.ffn_norm.weight", "layers.{layer}.post_attention_layernorm.weight", kToF32},
};
constexpr HfTensorName kQwenHfTensors[] = {
    SNUG_HF_ENDS(kToF32), SNUG_HF_ATTENTION(kNone, kNone), SNUG_HF_MLP,
    {"blk.{layer}.attn_norm.weight", "layers.{layer}.input_layernorm.weight", kToF32},
    {"blk.{layer}.ffn_norm.weight", "layers.{layer}.post_attention_layernorm.weight", kToF32},
    {"blk.{layer}.attn_q.bias", "layers.{layer}.self_attn.q_proj.bias", kToF32},
    {"blk.{layer}.attn_k.bias", "layers.{layer}.self_attn.k_proj.bias", kToF32},
    {"blk.{layer}.attn_v.bias", "layers.{layer}.self_attn.v_proj.bias", kToF32},
    {"blk.{layer}.attn_q_norm.weight", "layers.{layer}.self_attn.q_norm.weight", kToF32},
    {"blk.{layer}.attn_k_norm.weight", "layers.{layer}.self_attn.k_norm.weight", kToF32},
};
constexpr HfTensorName kGptOssHfTensors[] = {
    SNUG_HF_ENDS(kToF32),
    SNUG_HF_ATTENTION(kNone, kNone),
    {"blk.{layer}.attn_norm.weight", "layers.{layer}.input_layernorm.weight", kToF32},
    {"blk.{layer}.attn_q.bias", "layers.{layer}.self_attn.q_proj.bias", kToF32},
    {"blk.{layer}.attn_k.bias", "layers.{layer}.self_attn.k_proj.bias", kToF32},
    {"blk.{layer}.attn_v.bias", "layers.{layer}.self_attn.v_proj.bias", kToF32},
    {"blk.{layer}.attn_output.bias", "layers.{layer}.self_attn.o_proj.bias", kToF32},
    {"blk.{layer}.attn_sinks.weight", "layers.{layer}.self_attn.sinks", kToF32},
    {"blk.{layer}.post_attention_norm.weight", "layers.{layer}.post_attention_layernorm.weight",
     kToF32},
    {"blk.{layer}.ffn_gate_inp.weight", "layers.{layer}.mlp.router.weight"},
    {"blk.{layer}.ffn_gate_inp.bias", "layers.{layer}.mlp.router.bias", kToF32},
    {"blk.{layer}.ffn_gate_exps.weight", "layers.{layer}.mlp.experts.gate_proj.weight"},
    {"blk.{layer}.ffn_up_exps.weight", "layers.{layer}.mlp.experts.up_proj.weight"},
    {"blk.{layer}.ffn_down_exps.weight", "layers.{layer}.mlp.experts.down_proj.weight"},
    {"blk.{layer}.ffn_gate_exps.bias", "layers.{layer}.mlp.experts.gate_proj.bias", kToF32},
    {"blk.{layer}.ffn_up_exps.bias", "layers.{layer}.mlp.experts.up_proj.bias", kToF32},
    {"blk.{layer}.ffn_down_exps.bias", "layers.{layer}.mlp.experts.down_proj.bias", kToF32},
};

constexpr std::string_view kGemma3HfTypes[] = {"gemma3", "gemma3_text"};
constexpr std::string_view kGemma4HfTypes[] = {"gemma4", "gemma4_text", "gemma4_unified",
                                               "gemma4_unified_text"};
constexpr std::string_view kGptOssHfTypes[] = {"gpt_oss"};
constexpr std::string_view kLlamaHfTypes[] = {"llama"};
constexpr std::string_view kQwen2HfTypes[] = {"qwen2"};
constexpr std::string_view kQwen3HfTypes[] = {"qwen3"};

#undef SNUG_HF_ENDS
#undef SNUG_HF_ATTENTION
#undef SNUG_HF_MLP
#undef SNUG_HF_GEMMA
#undef SNUG_END_TENSORS
#undef SNUG_ATTENTION_TENSORS
#undef SNUG_FFN_TENSORS
#undef SNUG_GEMMA_TENSORS

using tokenizer::ChatFormat;

// Adding an architecture: one model file, one entry here, tests.
constexpr Architecture kArchitectures[] = {
    {.name = "gemma3",
     .description = "Gemma 3 text decoder: 5 sliding layers per full one, q/k norms",
     .spec = ParseGemma3Spec,
     .load = LoadGemma3,
     .gguf_tensors = kGemma3Tensors,
     .chat_format = ChatFormat::kGemma3,
     .features = {.sliding_window = true},
     .hf_model_types = kGemma3HfTypes,
     .hf_import = ImportGemma3Config,
     .hf_tensors = kGemma3HfTensors},
    {.name = "gemma4",
     .description = "Gemma 4 text decoder: per-layer head sizes, K = V, proportional RoPE; "
                    "12B unified's image and audio embedders",
     .spec = ParseGemma4Spec,
     .load = LoadGemma4,
     .gguf_tensors = kGemma4Tensors,
     .chat_format = ChatFormat::kGemma4,
     .features = {.sliding_window = true,
                  .media = true,
                  .not_runnable = "per-layer embeddings and KV sharing (E2B/E4B), experts "
                                  "(26B-A4B): plan only"},
     .hf_model_types = kGemma4HfTypes,
     .hf_import = ImportGemma4Config,
     .hf_tensors = kGemma4HfTensors},
    {.name = "gpt-oss",
     .description = "gpt-oss: experts (MXFP4), attention sinks, YaRN RoPE",
     .spec = ParseGptOssSpec,
     .load = LoadGptOss,
     .gguf_tensors = kGptOssTensors,
     .chat_format = ChatFormat::kHarmony,
     .features = {.sliding_window = true,
                  .mixture_of_experts = true,
                  .attention_sinks = true,
                  .reasoning = true},
     .hf_model_types = kGptOssHfTypes,
     .hf_import = ImportGptOssConfig,
     .hf_tensors = kGptOssHfTensors},
    {.name = "llama",
     .description = "Llama 2/3: grouped-query attention, SiLU MLP",
     .spec = ParseLlamaSpec,
     .load = LoadLlama,
     .gguf_tensors = kLlamaTensors,
     .chat_format = ChatFormat::kLlama3,
     .hf_model_types = kLlamaHfTypes,
     .hf_import = ImportLlamaConfig,
     .hf_tensors = kLlamaHfTensors},
    {.name = "qwen2",
     .description = "Qwen2 / Qwen2.5: Llama with q/k/v biases, NEOX RoPE",
     .spec = ParseLlamaSpec,
     .load = LoadLlama,
     .gguf_tensors = kLlamaTensors,
     .chat_format = ChatFormat::kChatMl,
     .hf_model_types = kQwen2HfTypes,
     .hf_import = ImportLlamaConfig,
     .hf_tensors = kQwenHfTensors},
    {.name = "qwen3",
     .description = "Qwen3 (dense): Llama with per-head q/k norms, NEOX RoPE",
     .spec = ParseLlamaSpec,
     .load = LoadLlama,
     .gguf_tensors = kLlamaTensors,
     .chat_format = ChatFormat::kChatMl,
     .hf_model_types = kQwen3HfTypes,
     .hf_import = ImportLlamaConfig,
     .hf_tensors = kQwenHfTensors},
};

Status UnknownArchitecture(std::string_view architecture) {
  std::string known;
  for (const std::string& name : SupportedArchitectures()) {
    known += (known.empty() ? "" : ", ") + name;
  }
  return Unimplemented("model: architecture '" + std::string(architecture) +
                       "' is not supported (supported: " + known + ")");
}

// Rows of the output projection: the embedding's rows as BindEnds reads them, else what the
// metadata declares.
Result<int> ReadVocabSize(const gguf::File& file, std::string_view architecture) {
  if (const gguf::TensorInfo* tensor = file.FindTensor("token_embd.weight")) {
    if (tensor->view.num_dims < 2 || tensor->view.rows() <= 0 || tensor->view.rows() > (1 << 24)) {
      return InvalidArgument("model: tensor 'token_embd.weight' has no valid vocabulary rows");
    }
    return static_cast<int>(tensor->view.rows());
  }
  const std::string key = std::string(architecture) + ".vocab_size";
  if (file.Find(key) != nullptr) {
    ASSIGN_OR_RETURN(const int64_t rows, file.GetInt(key));
    if (rows <= 0 || rows > (1 << 24)) {
      return OutOfRange("model: key '" + key + "' = " + std::to_string(rows) + " is out of range");
    }
    return static_cast<int>(rows);
  }
  if (file.Find("tokenizer.ggml.tokens") != nullptr) {
    ASSIGN_OR_RETURN(const gguf::Array* tokens, file.GetArray("tokenizer.ggml.tokens"));
    if (tokens->count > 0 && tokens->count <= (1u << 24)) return static_cast<int>(tokens->count);
  }
  return NotFound("model: the vocabulary size is unknown (no token_embd.weight, no '" + key +
                  "', no tokenizer.ggml.tokens)");
}

}  // namespace

std::vector<KvLayerSpec> ModelSpec::KvLayers() const {
  std::vector<KvLayerSpec> kv;
  kv.reserve(layers.size());
  for (const LayerSpec& layer : layers) {
    kv.push_back({layer.num_kv_heads, layer.head_dim, layer.window_tokens, layer.kv_source_layer});
  }
  return kv;
}

Result<ModelSpec> ReadModelSpec(const gguf::File& file) {
  const std::string_view architecture = file.architecture();
  const Architecture* entry = FindArchitecture(architecture);
  if (entry == nullptr) return UnknownArchitecture(architecture);
  ASSIGN_OR_RETURN(ModelSpec spec, entry->spec(file));
  ASSIGN_OR_RETURN(spec.vocab_size, ReadVocabSize(file, architecture));
  if (spec.name.empty() && file.Find("general.name") != nullptr) {
    ASSIGN_OR_RETURN(const std::string_view name, file.GetString("general.name"));
    spec.name = std::string(name);
  }
  return spec;
}

Status CheckRunnableTypes(const gguf::File& file) {
  const gguf::TensorInfo* first = nullptr;
  int count = 0;
  for (const gguf::TensorInfo& tensor : file.tensors()) {
    if (Info(tensor.view.dtype).runs) continue;
    if (first == nullptr) first = &tensor;
    ++count;
  }
  if (first == nullptr) return Status::Ok();
  return Unimplemented("model: tensor '" + std::string(first->name) + "' has type " +
                       std::string(Name(first->view.dtype)) + " (" + std::to_string(count) +
                       " tensors have types snug cannot run yet; `snug inspect` lists them): "
                       "pick a Q4_K_M, Q4_0, Q3_K, IQ4_XS or Q8_0 file of the same model");
}

Result<std::unique_ptr<Model>> LoadModel(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool) {
  const std::string_view architecture = file->architecture();
  const Architecture* entry = FindArchitecture(architecture);
  if (entry == nullptr) return UnknownArchitecture(architecture);
  if (entry->load == nullptr) {
    return Unimplemented("model: architecture '" + std::string(architecture) +
                         "' is not implemented yet (its memory plan is: snug plan)");
  }
  RETURN_IF_ERROR(CheckRunnableTypes(*file));
  return entry->load(std::move(file), options, pool);
}

std::span<const Architecture> Architectures() { return kArchitectures; }

const Architecture* FindArchitecture(std::string_view name) {
  for (const Architecture& entry : kArchitectures) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const Architecture* FindHfArchitecture(std::string_view model_type) {
  for (const Architecture& entry : kArchitectures) {
    for (std::string_view type : entry.hf_model_types) {
      if (type == model_type) return &entry;
    }
  }
  return nullptr;
}

std::vector<std::string> SupportedArchitectures() {
  std::vector<std::string> names;
  for (const Architecture& entry : kArchitectures) {
    if (entry.load != nullptr) names.emplace_back(entry.name);
  }
  return names;
}

}  // namespace snug
