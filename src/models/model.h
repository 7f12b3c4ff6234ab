// The model interface: a spec parsed from file metadata, the per-layer KV layout it needs, and
// a forward pass over a batch of tokens that may belong to several sequences. One file per
// architecture implements it (models/gemma3.cc, models/llama.cc, ...), registered in
// models/registry.cc. Models read weights in place from the mapped file.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "kv/kv_cache.h"

namespace snug {

// Rotary position embedding of one layer type. Every scaling form (linear, llama3 factors,
// YaRN, Gemma 4's proportional) reduces to a table of per-pair frequencies and a magnitude.
struct RopeSpec {
  bool interleaved = false;        // pairs (2i, 2i+1) (llama) instead of (i, i + dims/2) (NEOX)
  int rotary_dims = 0;             // leading dims that rotate; the rest pass through
  std::vector<float> frequencies;  // [rotary_dims / 2] radians per position step
  float magnitude = 1.0f;          // multiplies cos and sin (YaRN's mscale)
};

struct LayerSpec {
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int window_tokens = 0;     // 0: full causal attention; else keys j with j > i - window_tokens
  int kv_source_layer = -1;  // the layer whose K/V this layer reads (itself unless shared)
  int rope = 0;              // index into ModelSpec::ropes
  float attention_scale = 1.0f;
  int ffn_dim = 0;           // the dense MLP's width (0: the layer has none)
  int num_experts = 0;       // a mixture of experts beside or instead of the dense MLP (0: none)
  int num_experts_used = 0;  // experts each token is routed to
  int expert_ffn_dim = 0;    // one expert's width
};

struct ModelSpec {
  std::string architecture;  // GGUF general.architecture
  std::string name;          // general.name, for logs and /v1/models
  int model_dim = 0;
  int vocab_size = 0;        // rows of the output projection
  int context_tokens = 0;    // trained context length
  float norm_eps = 1e-6f;
  std::vector<LayerSpec> layers;
  std::vector<RopeSpec> ropes;

  std::vector<KvLayerSpec> KvLayers() const;
};

// Tokens to run through the model. Token i sits at positions[i] of the sequence whose KV lives
// in slot slots[i]; tokens of one slot appear in position order and follow what the slot
// already holds. Logits are produced for the tokens listed in logit_indices (ascending).
struct Batch {
  std::span<const int32_t> tokens;
  std::span<const int32_t> positions;
  std::span<const int32_t> slots;
  std::span<const int32_t> logit_indices;
};

struct ModelOptions {
  int batch_tokens = 512;  // the largest batch Forward will be given
  int threads = 0;         // 0: one per core
};

class Model {
 public:
  virtual ~Model() = default;

  const ModelSpec& spec() const { return spec_; }
  // Bytes of activation buffers allocated at load for ModelOptions::batch_tokens.
  virtual size_t activation_bytes() const = 0;

  // Appends the batch's keys/values to `kv` and writes logits for the tokens in
  // batch.logit_indices: logits is [logit_indices.size(), vocab_size].
  virtual void Forward(const Batch& batch, KvCache& kv, float* logits) = 0;

 protected:
  ModelSpec spec_;
};

// Loads the architecture named by the file's general.architecture: parses the spec, checks the
// declared weights (names, shapes, types) and allocates activations. `file` must outlive the
// model. Errors name the key or tensor at fault.
Result<std::unique_ptr<Model>> LoadModel(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool);

// Parses the spec of the file's architecture from its metadata alone (no weight is bound or
// read; vocab_size comes from the token_embd tensor's shape, else `{arch}.vocab_size`, else the
// tokenizer's token count). The memory plan sizes a model from this before anything loads.
Result<ModelSpec> ReadModelSpec(const gguf::File& file);

// Architectures snug can run ("gemma3", "llama", ...).
std::vector<std::string> SupportedArchitectures();

}  // namespace snug
