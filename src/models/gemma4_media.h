// Gemma 4 12B "unified" media embedders (specs/models.md §3.3, §3.4; HF
// Gemma4UnifiedVisionEmbedder, mlx-vlm gemma4_unified): image patches and audio frames projected
// straight into the decoder's embedding space, no encoder tower. What a prompt's soft tokens are
// and where they go is the engine's (Batch::media); this file only embeds them.
//
// GGUF tensors (llama.cpp has no converter for the unified embedders yet, specs §11.3): the
// position table and the two projections take the names llama.cpp's mtmd gives the same roles
// (TN_POS_EMBD; TN_MM_INP_PROJ of gemma3/gemma4v; gemma4a's audio projection), the patch norms
// and dense keep HF's module names under the `v.` prefix. P = 3·patch_px², D = mm dim:
//   v.patch_ln1.{weight,bias} [P]          model.vision_embedder.patch_ln1.*
//   v.patch_dense.weight [D, P], .bias [D] model.vision_embedder.patch_dense.*
//   v.patch_ln2.{weight,bias} [D]          model.vision_embedder.patch_ln2.*
//   v.position_embd.weight [N, 2, D]       model.vision_embedder.pos_embedding
//   v.pos_norm.{weight,bias} [D]           model.vision_embedder.pos_norm.*
//   mm.input_projection.weight [H, D]      model.embed_vision.embedding_projection.weight
//   mm.a.input_projection.weight [H, F]    model.embed_audio.embedding_projection.weight
#pragma once

#include <vector>

#include "base/status.h"
#include "formats/gguf.h"
#include "models/blocks.h"
#include "models/model.h"
#include "models/weights.h"

namespace snug {

// The media the file's tensors let a Gemma 4 model embed (zeros where they are absent). Reads
// shapes only; a malformed set of embedder tensors is an error naming the tensor.
Result<MediaSpec> ReadGemma4Media(const gguf::File& file);

class Gemma4MediaEmbedder {
 public:
  static constexpr float kLayerNormEps = 1e-5f;  // torch nn.LayerNorm default (§3.3)
  static constexpr float kRmsNormEps = 1e-6f;    // embedding_pre_projection_norm

  // Declares the weights of `media` (images and/or audio) for a decoder of `model_dim`.
  void Bind(WeightBinder& weights, const MediaSpec& media, int model_dim);
  // Grows the projector for the embedders' matrices and allocates the row buffers.
  void Reserve(Projector& projector, int batch_tokens);
  size_t bytes() const { return (patches_.size() + features_.size()) * sizeof(float); }
  // The bytes Reserve allocates for `media` (the memory plan calls it).
  static size_t BytesFor(const MediaSpec& media, int batch_tokens);

  // Embeds the item's soft tokens [entry.first_item_token, + entry.num_tokens) into `out`:
  // [num_tokens, model_dim]. Unscaled (§3.5).
  void Embed(const BatchMedia& entry, Projector& projector, float* out);

 private:
  void EmbedPatches(const media::PatchGrid& grid, int first, int count, Projector& projector,
                    float* out);
  void EmbedFrames(const media::AudioFrames& clip, int first, int count, Projector& projector,
                   float* out);

  MediaSpec media_;
  int model_dim_ = 0;
  int mm_dim_ = 0;
  const float* patch_norm_weight_ = nullptr;  // [P]
  const float* patch_norm_bias_ = nullptr;
  TensorView patch_dense_;                    // [D, P]
  const float* patch_dense_bias_ = nullptr;   // [D]
  const float* dense_norm_weight_ = nullptr;  // [D]
  const float* dense_norm_bias_ = nullptr;
  TensorView positions_;                         // [N·2, D]: row 2x is x's, row 2y + 1 is y's
  const float* position_norm_weight_ = nullptr;  // [D]
  const float* position_norm_bias_ = nullptr;
  TensorView image_projection_;  // [H, D]
  TensorView audio_projection_;  // [H, F]
  int chunk_rows_ = 0;           // rows embedded per pass through the buffers
  std::vector<float> patches_;   // [chunk_rows, max(P, F)]
  std::vector<float> features_;  // [chunk_rows, D] (and one position row)
};

}  // namespace snug
