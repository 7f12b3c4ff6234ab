// Building blocks shared by the model files: embedding lookup, RMSNorm over rows, RoPE tables,
// attention against the KV cache, gated feed-forward. Model files compose these top to bottom;
// architecture-specific steps stay in the architecture's own file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.h"
#include "kv/kv_cache.h"
#include "models/model.h"
#include "models/weights.h"
#include "tensor/tensor_view.h"

namespace snug {

// out[i] = table[tokens[i]] · scale; out: [num_tokens, model_dim].
void EmbedTokens(const TensorView& table, std::span<const int32_t> tokens, float scale,
                 float* out);

// y[r] = rms_norm(x[r]) ⊙ weight for `rows` rows of `dim`; weight may be null (no scale).
void RmsNormRows(const float* x, const float* weight, float eps, int64_t rows, int64_t dim,
                 float* y);

// cos/sin of every (token, pair) of a batch for one RopeSpec, computed once per Forward.
class RopeTable {
 public:
  RopeTable(const RopeSpec& spec, int batch_tokens);
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
// sequence's cached keys (causal, windowed when the layer is), read in the cache's KV type.
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

  std::vector<float> hidden;     // [batch, model_dim] the residual stream
  std::vector<float> normed;     // [batch, model_dim]
  std::vector<float> projected;  // [batch, model_dim]
  std::vector<float> last;       // [batch, model_dim] final-normed rows that need logits
  std::vector<float> q;          // [batch, heads·head_dim]
  std::vector<float> attention;  // [batch, heads·head_dim]
  std::vector<float> k, v;       // [batch, kv_heads·head_dim]
  std::vector<float> gate, up;   // [batch, ffn_dim]
};

// Final norm and output projection for the tokens in batch.logit_indices only:
// logits: [logit_indices.size(), output.rows()].
void ComputeLogits(const Batch& batch, int model_dim, const float* norm, float eps,
                   const TensorView& output, Projector& projector, DecoderBuffers& buffers,
                   float* logits);

// The ends of a decoder: the token embedding (its row count sets spec.vocab_size), the final
// norm, and the output projection (the embedding itself when the file has no output.weight).
struct EndWeights {
  TensorView embedding;  // [vocab_size, model_dim]
  const float* norm = nullptr;
  TensorView output;     // [vocab_size, model_dim]
};
EndWeights BindEnds(const gguf::File& file, WeightBinder& weights, ModelSpec& spec);

// The projections of one attention block and one gated FFN, by their GGUF names.
struct AttentionWeights {
  TensorView q;       // [num_heads·head_dim, model_dim]
  TensorView k, v;    // [num_kv_heads·head_dim, model_dim]
  TensorView output;  // [model_dim, num_heads·head_dim]
};
struct FfnWeights {
  TensorView gate, up;  // [ffn_dim, model_dim]
  TensorView down;      // [model_dim, ffn_dim]
};
AttentionWeights BindAttention(WeightBinder& weights, const std::string& prefix,
                               const LayerSpec& layer, int model_dim);
FfnWeights BindFfn(WeightBinder& weights, const std::string& prefix, int ffn_dim, int model_dim);

}  // namespace snug
