// Hugging Face / MLX model directories as the GGUF file llama.cpp's converter would write
// (specs/models.md §1.2–1.3): config.json's hyper-parameters under the architecture's GGUF keys,
// tokenizer.json as tokenizer.* keys, and every tensor under its GGUF name, viewing the mapped
// safetensors — float tensors and MLX-quantized ones (codes + `.scales`/`.biases`) alike, never
// copied or requantized; only small vectors the models read as f32 (norms, biases) are converted.
// The spec parsers and loaders then run unchanged: no second forward pass.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "formats/model_dir.h"
#include "models/registry.h"

namespace snug {

// Metadata of an imported Llama checkpoint, whose q/k rows stay in HF order (not permuted as
// llama.cpp's converter does): its spec rotates NEOX pairs instead (llama.cc).
inline constexpr std::string_view kHfRopePairsKey = "snug.rope.hf_pairs";

// What an architecture's HfImportFunction sees: the text model's config.json values and the
// GGUF metadata being written.
class HfImporter {
 public:
  // `has_tensor` tells whether the checkpoint holds a tensor, named after the text model's
  // prefix ("layers.0.mlp.experts.gate_up_proj_blocks").
  HfImporter(const nlohmann::json& config, gguf::Writer& metadata,
             std::function<bool(std::string_view)> has_tensor)
      : config_(config), metadata_(metadata), has_tensor_(std::move(has_tensor)) {}

  gguf::Writer& metadata() { return metadata_; }
  bool HasTensor(std::string_view name) const { return has_tensor_(name); }
  const nlohmann::json& config() const { return config_; }

  // config.json values; errors name the key ("model: config.json: 'hidden_size' is missing").
  Result<int64_t> Int(std::string_view key) const;
  Result<int64_t> IntOr(std::string_view key, int64_t fallback) const;
  Result<double> FloatOr(std::string_view key, double fallback) const;
  Result<bool> BoolOr(std::string_view key, bool fallback) const;
  // A nested object (rope_scaling, rope_parameters, ...), or null when absent or null.
  const nlohmann::json* Object(std::string_view key) const;

  // Writes config[key] (a count) as the u32 GGUF key `gguf_key`.
  Status CopyCount(std::string_view key, const std::string& gguf_key);
  // The keys every decoder has: embedding_length, block_count, context_length,
  // feed_forward_length, attention.head_count, attention.layer_norm_rms_epsilon.
  Status CopyBasics(std::string_view architecture);

  // attention.head_count_kv, key_length and value_length from num_key_value_heads (default:
  // the query heads) and head_dim (default: `default_head_dim`, 0 for hidden_size / heads), for
  // architectures whose layers all share them; returns the head dim.
  Result<int64_t> CopyHeads(std::string_view architecture, int64_t default_head_dim);

  // RoPE of a layer type ("full_attention", "sliding_attention"): newer transformers write
  // rope_parameters (per layer type or flat), older ones rope_theta + rope_scaling.
  struct Rope {
    double theta = 0;
    std::string type = "default";  // rope_type: default, linear, llama3, yarn, proportional
    const nlohmann::json* params = nullptr;  // factor, ... (null when none)
    double Param(std::string_view key, double fallback) const;
  };
  // rope.scaling.type "linear" and its factor when `rope` is linear; false otherwise.
  bool CopyLinearScaling(std::string_view architecture, const Rope& rope);
  Rope RopeOf(std::string_view layer_type, double default_theta) const;

  // A tensor GGUF derives from config.json (rope_freqs), stored as f32.
  void AddF32(std::string name, std::vector<int64_t> shape, std::vector<float> values);
  struct Extra {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
  };
  std::vector<Extra>& extras() { return extras_; }

 private:
  const nlohmann::json& config_;
  gguf::Writer& metadata_;
  std::function<bool(std::string_view)> has_tensor_;
  std::vector<Extra> extras_;
};

// The directory as a GGUF file (tensors view the directory's mapped weights, which the File
// keeps alive). `name` becomes general.name (what the user called the model).
Result<gguf::File> ImportModelDirectory(ModelDirectory dir, const std::string& name);

// What `snug serve NAME` and every other command open: a GGUF file, a model directory, or
// ORG/NAME[@REVISION] from the Hugging Face cache (NotFound saying how to download it when absent).
Result<gguf::File> OpenModelSource(const std::string& name);

// "{layer}" in a name pattern of the registry's tables replaced by `layer`.
std::string ExpandLayer(std::string_view pattern, int layer);
// All of `view` as f32, rows outermost-first (any type, MLX included).
std::vector<float> ReadF32(const TensorView& view);

// The model's id for /v1/models: ORG/NAME[@REVISION] as given, a directory's name, a file's
// stem ("models/gemma3-1b.gguf" -> "gemma3-1b").
std::string ModelId(const std::string& name);

}  // namespace snug
