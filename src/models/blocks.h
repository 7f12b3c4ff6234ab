// Building blocks shared by the model files: embedding lookup, RMSNorm over rows, RoPE tables,
// attention against the KV cache, gated feed-forward. Model files compose these top to bottom;
// architecture-specific steps stay in the architecture's own file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/thread_pool.h"
#include "kv/kv_cache.h"
#include "models/model.h"
#include "models/weights.h"
#include "tensor/tensor_view.h"

namespace snug {

// out[i] = table[tokens[i]] · scale; out: [num_tokens, model_dim].
void EmbedTokens(const TensorView& table, std::span<const int32_t> tokens, float scale, float* out);

// y[r] = rms_norm(x[r]) ⊙ weight for `rows` rows of `dim`; weight may be null (no scale).
void RmsNormRows(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                 float* y);

// cos/sin of every (token, pair) of a batch for one RopeSpec, computed once per Forward.
class RopeTable {
 public:
  RopeTable(const RopeSpec& spec, int batch_tokens);
  // The bytes a table for `spec` and `batch_tokens` holds (the memory plan calls it).
  static size_t BytesFor(const RopeSpec& spec, int batch_tokens);
  void Compute(std::span<const int32_t> positions);
  // Rotates x: [num_tokens, num_heads, head_dim] in place.
  void Apply(float* x, int64_t num_tokens, int num_heads, int head_dim) const;
  size_t bytes() const { return (cos_.size() + sin_.size()) * sizeof(float); }

 private:
  const RopeSpec& spec_;
  int pairs_;
  std::vector<float> cos_;  // [batch_tokens, pairs]
  std::vector<float> sin_;
};

struct AttentionWeights;
struct FfnWeights;
struct DecoderBuffers;

// Matrix products with the scratch they need, sized once for the largest weight and batch.
class Projector {
 public:
  Projector(ThreadPool& pool, int batch_tokens) : pool_(pool), batch_tokens_(batch_tokens) {}
  // Grows the scratch to fit `weight` (call for every weight at load, never while running).
  void Reserve(const TensorView& weight);
  void Reserve(const AttentionWeights& weights);
  void Reserve(const FfnWeights& weights);
  // y: [num_tokens, weight.rows()] = x: [num_tokens, weight.cols()] · weightᵀ
  void Apply(const TensorView& weight, const float* x, int64_t num_tokens, float* y);
  // Adds a bias to each of num_tokens rows of y.
  static void AddBias(const float* bias, int64_t num_tokens, int64_t size, float* y);
  size_t bytes() const { return scratch_.size(); }
  ThreadPool& pool() { return pool_; }

 private:
  ThreadPool& pool_;
  int batch_tokens_;
  std::vector<std::byte> scratch_;
};

// Writes the batch's keys and values ([num_tokens, num_kv_heads·head_dim]) into the cache rows
// of `layer` (the layer must own its KV), converted to the cache's KV type.
void StoreKv(const Batch& batch, int layer, const float* keys, const float* values, KvCache& kv);

// out: [num_tokens, num_heads·head_dim] = attention of each query head of each token over its
// sequence's cached keys (causal, windowed when the layer is), read in the cache's KV type. A
// token of a bidirectional media block (batch.media, an image: §2.3) also sees every position of
// its block, before or after it: (causal ∧ window) ∨ same block.
// q: [num_tokens, num_heads, head_dim]. sinks: [num_heads] extra softmax logits, or null.
void Attend(const Batch& batch, const LayerSpec& layer, int layer_index, const float* q,
            const float* sinks, const KvCache& kv, ThreadPool& pool, float* out);

enum class Activation { kGeluTanh, kSilu };

// y = down(act(gate · x) ⊙ (up · x)); gate_buffer and up_buffer: [num_tokens, ffn_dim].
void GatedFfn(Projector& projector, const FfnWeights& ffn, Activation activation, const float* x,
              int64_t num_tokens, float* gate_buffer, float* up_buffer, float* y);

}  // namespace snug

namespace snug {

// The plain RoPE frequency table: f_i = theta^(-2i/rotary_dims) / linear_scale / factors[i]
// (factors: llama3-style per-pair divisors from a rope_freqs tensor, or null).
RopeSpec MakeRope(int rotary_dims, float theta, float linear_scale, bool interleaved,
                  const float* factors);

}  // namespace snug

namespace snug {

// Activation buffers of a decoder, sized once for the largest batch and the widest layer.
struct DecoderBuffers {
  void Allocate(const ModelSpec& spec, int batch_tokens);
  size_t bytes() const;
  // The bytes Allocate(spec, batch_tokens) allocates (the memory plan calls it).
  static size_t BytesFor(const ModelSpec& spec, int batch_tokens);

  std::vector<float> hidden;     // [batch, model_dim] the residual stream
  std::vector<float> normed;     // [batch, model_dim]
  std::vector<float> projected;  // [batch, model_dim]
  std::vector<float> last;       // [batch, model_dim] final-normed rows that need logits
  std::vector<float> q;          // [batch, heads·head_dim]
  std::vector<float> attention;  // [batch, heads·head_dim]
  std::vector<float> k, v;       // [batch, kv_heads·head_dim]
  std::vector<float> gate, up;   // [batch, ffn_dim]
};

// The ends of a decoder: the token embedding (its row count sets spec.vocab_size), the final
// norm, and the output projection (the embedding itself when the file has no output.weight).
struct EndWeights {
  TensorView embedding;  // [vocab_size, model_dim]
  const float* norm = nullptr;
  TensorView output;  // [vocab_size, model_dim]
};
EndWeights BindEnds(const gguf::File& file, WeightBinder& weights, ModelSpec& spec);

// Whether an architecture's layers carry a part of a block: never, where the file has it, always.
enum class Part { kNone, kOptional, kRequired };

// The parts of an architecture's attention block beyond q, k, v and the output projection.
// Each model file declares one (constexpr) beside its spec parser.
struct AttentionParts {
  Part value = Part::kRequired;    // kOptional: a layer without attn_v uses V = K (Gemma 4)
  Part qkv_bias = Part::kNone;     // attn_{q,k,v}.bias (Qwen2, gpt-oss)
  Part output_bias = Part::kNone;  // attn_output.bias (gpt-oss)
  Part qk_norm = Part::kNone;      // attn_{q,k}_norm.weight, per-head RMSNorm (Gemma 3/4, Qwen3)
  bool value_norm = false;         // per-head RMSNorm of V without a weight (Gemma 4)
  Part sinks = Part::kNone;        // attn_sinks.weight, one softmax logit per head (gpt-oss)
};

// The weights of one attention block, by their GGUF names; a part a layer lacks is null/empty.
struct AttentionWeights {
  const float* norm = nullptr;         // [model_dim] attn_norm, the pre-norm every architecture has
  TensorView q;                        // [num_heads·head_dim, model_dim]
  TensorView k, v;                     // [num_kv_heads·head_dim, model_dim]; v empty: V = K
  TensorView output;                   // [model_dim, num_heads·head_dim]
  const float* q_bias = nullptr;       // [num_heads·head_dim]
  const float* k_bias = nullptr;       // [num_kv_heads·head_dim]
  const float* v_bias = nullptr;       // [num_kv_heads·head_dim]
  const float* output_bias = nullptr;  // [model_dim]
  const float* q_norm = nullptr;       // [head_dim]
  const float* k_norm = nullptr;       // [head_dim]
  bool value_norm = false;
  const float* sinks = nullptr;  // [num_heads]
};
struct FfnWeights {
  TensorView gate, up;  // [ffn_dim, model_dim]
  TensorView down;      // [model_dim, ffn_dim]
};
// Binds {prefix}attn_norm and {prefix}attn_* for `layer` with the parts the architecture
// declares.
AttentionWeights BindAttention(WeightBinder& weights, const std::string& prefix,
                               const LayerSpec& layer, int model_dim, const AttentionParts& parts);
FfnWeights BindFfn(WeightBinder& weights, const std::string& prefix, int ffn_dim, int model_dim);

// What every block of one Forward call shares.
struct ForwardPass {
  const Batch& batch;
  KvCache& kv;
  Projector& projector;
  DecoderBuffers& buffers;
  int model_dim;
  float norm_eps;
  const LayerObserver* observer;  // null: none
  int64_t num_tokens() const { return static_cast<int64_t>(batch.tokens.size()); }
  // Hands rows [num_tokens, width] of `data` to the observer, if there is one.
  void Observe(std::string_view name, int layer, const float* data, int64_t width) const {
    if (observer != nullptr) ObserveRows(name, layer, data, width);
  }

 private:
  void ObserveRows(std::string_view name, int layer, const float* data, int64_t width) const;
};

// The attention block of layer `layer_index`: the pre-norm (attn_norm, into buffers.normed),
// q/k/v projections (+ biases), V = K where the layer has no V, per-head q/k (and v) norms,
// RoPE, KV store, attention over the cache (with sinks), output projection (+ bias). Any
// post-norm and the residual are the caller's. x: [num_tokens, model_dim] the residual stream;
// y: [num_tokens, model_dim].
void AttentionBlock(const ForwardPass& pass, int layer_index, const LayerSpec& layer,
                    const AttentionWeights& weights, const RopeTable& rope, const float* x,
                    float* y);

// The dense feed-forward block: GatedFfn on the pass's gate/up buffers. x, y: [num_tokens,
// model_dim].
void FfnBlock(const ForwardPass& pass, int layer_index, const FfnWeights& ffn,
              Activation activation, const float* x, float* y);

// hidden += y over the pass's rows: the residual connection after a block.
void AddResidual(const ForwardPass& pass, const float* y);

// Final norm and output projection for the tokens in batch.logit_indices only, then
// logits = softcap · tanh(logits / softcap) where softcap > 0 (Gemma 4's final softcapping).
// logits: [logit_indices.size(), vocab_size].
void LogitsBlock(const ForwardPass& pass, const EndWeights& ends, float softcap, float* logits);

}  // namespace snug
