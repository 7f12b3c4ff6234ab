// The scaffolding every decoder model shares: the mapped file, the projector, the end weights,
// one RopeTable per RopeSpec, the activation buffers, and the load sequence (LoadDecoder). Each
// architecture's file keeps its own spec parsing, weight names and forward pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "models/blocks.h"
#include "models/metadata.h"
#include "models/model.h"
#include "models/weights.h"

namespace snug {

class DecoderModel : public Model {
 public:
  // Public so that a model inherits it with `using DecoderModel::DecoderModel`.
  DecoderModel(std::shared_ptr<const gguf::File> file, ModelSpec spec, const ModelOptions& options,
               ThreadPool& pool);

  // Binds the ends, then the layers (BindLayer), checks every declared weight, allocates the
  // activations and grows the projector's scratch for the output and the layers (ReserveLayers).
  Status Bind();

  // Projector scratch, buffers and RoPE tables; a model with more activations adds its own.
  size_t activation_bytes() const override;

  // Every decoder's pass: embed (× embed_scale_), each layer's ForwardLayer, then the final
  // norm and the logits (softcapped when final_softcap_ > 0).
  void Forward(const Batch& batch, KvCache& kv, float* logits) final;

 protected:
  // Layer `layer` of the pass: reads and leaves the residual stream in buffers_.hidden.
  virtual void ForwardLayer(const ForwardPass& pass, int layer) = 0;
  // Binds layer `layer`'s weights, named "blk.{layer}." + ... = `prefix` + ... (errors surface
  // at weights.Finish()).
  virtual Status BindLayer(WeightBinder& weights, int layer, const std::string& prefix) = 0;
  // Reserves the projector for each layer's weights (called once, after the output's).
  virtual void ReserveLayers() = 0;
  // Binds weights beside the layers (a media embedder); called after the layers'.
  virtual Status BindExtras(WeightBinder& weights) { return Status::Ok(); }
  // Writes the embeddings of a batch's image or audio rows ([entry.num_tokens, model_dim] at
  // `out`, unscaled). Only models whose spec_.media names the kind are given such entries.
  virtual void EmbedMedia(const ForwardPass& pass, const BatchMedia& entry, float* out);

  // RMSNorm of the pass's rows of model_dim: y = rms_norm(x) ⊙ weight.
  void Norm(const ForwardPass& pass, const std::vector<float>& x, const float* weight,
            std::vector<float>& y) const;

  float embed_scale_ = 1.0f;    // embeddings × this (Gemma: √model_dim)
  float final_softcap_ = 0.0f;  // logits = c · tanh(logits / c) when > 0 (Gemma 4)

  std::shared_ptr<const gguf::File> file_;
  ModelOptions options_;
  Projector projector_;
  EndWeights ends_;
  std::vector<RopeTable> rope_tables_;  // [spec_.ropes.size()]
  DecoderBuffers buffers_;
};

// Grows the projector for the attention and the dense FFN of every layer (a Layer type with
// `attention` and `ffn` members).
template <typename Layer>
void ReserveDense(Projector& projector, const std::vector<Layer>& layers) {
  for (const Layer& layer : layers) {
    projector.Reserve(layer.attention);
    projector.Reserve(layer.ffn);
  }
}

// A spec of `architecture` holding the basics' model width, context and epsilon; the layers and
// ropes are the architecture's to fill.
ModelSpec StartSpec(std::string architecture, const DecoderBasics& basics);

// Parses the file's spec with `parse`, constructs the decoder T from it (T's constructor takes
// DecoderModel's arguments) and binds its weights.
template <typename T>
Result<std::unique_ptr<Model>> LoadDecoder(Result<ModelSpec> (*parse)(const gguf::File&),
                                           std::shared_ptr<const gguf::File> file,
                                           const ModelOptions& options, ThreadPool& pool) {
  ASSIGN_OR_RETURN(ModelSpec spec, parse(*file));
  auto model = std::make_unique<T>(std::move(file), std::move(spec), options, pool);
  RETURN_IF_ERROR(model->Bind());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace snug
