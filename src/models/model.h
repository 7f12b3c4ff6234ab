// The model interface: a spec parsed from file metadata, the per-layer KV layout it needs, and
// a forward pass over a batch of tokens that may belong to several sequences. One file per
// architecture implements it (models/gemma3.cc, models/llama.cc, ...), registered in
// models/registry.cc. Models read weights in place from the mapped file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "kv/kv_cache.h"
#include "media/media.h"
#include "tensor/tensor_view.h"

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

// The media a model embeds itself (Gemma 4 12B unified, specs/models.md §3), read from its
// weights' shapes; zeros for a text-only model.
struct MediaSpec {
  int image_patch_px = 0;       // side of a square model patch (48); 0: no images
  int image_positions = 0;      // rows of the 2-D position table: patch x, y < this (1120)
  int image_embed_dim = 0;      // width of the vision embedder before its projection (3840)
  int audio_frame_samples = 0;  // samples per soft token (640); 0: no audio
  bool images() const { return image_patch_px > 0; }
  bool audio() const { return audio_frame_samples > 0; }
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
  MediaSpec media;

  std::vector<KvLayerSpec> KvLayers() const;
};

// Soft tokens of one image or audio clip in a batch: batch rows [first_token, first_token +
// num_tokens) take the embeddings of the item's soft tokens [first_item_token, ...) instead of
// their token ids' (placed without the embedding scale, §3.5). Exactly one of image, audio and
// embeddings is set; embeddings ([num_tokens, model_dim], already projected) feed the same rows
// without an embedder (tests: the text path). An image is one block of bidirectional attention
// (§2.3): it is never split across batches (first_item_token 0, num_tokens all its patches), and
// its rows attend to each other whatever their order; `bidirectional` says so for embeddings.
struct BatchMedia {
  int first_token = 0;
  int num_tokens = 0;
  int first_item_token = 0;
  const media::PatchGrid* image = nullptr;
  const media::AudioFrames* audio = nullptr;
  const float* embeddings = nullptr;
  bool bidirectional = false;  // set for images
};

// Tokens to run through the model. Token i sits at positions[i] of the sequence whose KV lives
// in slot slots[i]; tokens of one slot appear in position order and follow what the slot
// already holds. Logits are produced for the tokens listed in logit_indices (ascending). media:
// ascending by first_token, disjoint; the token ids at those rows are placeholders (ignored).
struct Batch {
  std::span<const int32_t> tokens;
  std::span<const int32_t> positions;
  std::span<const int32_t> slots;
  std::span<const int32_t> logit_indices;
  std::span<const BatchMedia> media;
};

struct ModelOptions {
  int batch_tokens = 512;  // the largest batch Forward will be given
  int threads = 0;         // 0: one per core
};

// Sees an intermediate tensor of a Forward: its name (llama.cpp's eval-callback names:
// "inp_embd" and "result_norm" with layer -1; "attn_out", "ffn_out", "l_out" per layer, in
// layer order) and an f32 view [num_tokens (result_norm: logit rows), width], valid only during
// the call. It traces a conformance failure to the first layer that diverges from llama.cpp's
// own intermediate tensors; a model without one pays one null test per tensor.
using LayerObserver =
    std::function<void(std::string_view name, int layer, const TensorView& tensor)>;

class Model {
 public:
  virtual ~Model() = default;

  const ModelSpec& spec() const { return spec_; }
  // Bytes of activation buffers allocated at load for ModelOptions::batch_tokens.
  virtual size_t activation_bytes() const = 0;

  // Appends the batch's keys/values to `kv` and writes logits for the tokens in
  // batch.logit_indices: logits is [logit_indices.size(), vocab_size].
  virtual void Forward(const Batch& batch, KvCache& kv, float* logits) = 0;

  // Installs a per-layer observer (an empty function removes it). Not during a Forward.
  void set_observer(LayerObserver observer) { observer_ = std::move(observer); }

 protected:
  ModelSpec spec_;
  LayerObserver observer_;
};

// Loads the architecture named by the file's general.architecture: parses the spec, checks the
// declared weights (names, shapes, types) and allocates activations. `file` must outlive the
// model. Errors name the key or tensor at fault.
Result<std::unique_ptr<Model>> LoadModel(std::shared_ptr<const gguf::File> file,
                                         const ModelOptions& options, ThreadPool& pool);

// Unimplemented when a tensor has a type snug only lists (DTypeInfo::runs is false): one line
// naming the first such tensor, its type and how many tensors are affected. LoadModel and
// `snug convert` check it before any weight is touched.
Status CheckRunnableTypes(const gguf::File& file);

// Parses the spec of the file's architecture from its metadata alone (no weight is bound or
// read; vocab_size comes from the token_embd tensor's shape, else `{arch}.vocab_size`, else the
// tokenizer's token count). The memory plan sizes a model from this before anything loads.
Result<ModelSpec> ReadModelSpec(const gguf::File& file);

// Architectures snug can run ("gemma3", "llama", ...).
std::vector<std::string> SupportedArchitectures();

}  // namespace snug
