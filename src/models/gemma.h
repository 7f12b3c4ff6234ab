// The Gemma decoder shared by Gemma 3 (gemma3.cc) and Gemma 4 (gemma4.cc): their forward passes
// are one graph (docs/models/gemma.md), so it is written once here; what differs — the spec
// read from metadata, and parts a layer has or lacks — is the architecture file's to declare.
#pragma once

#include <memory>

#include "base/status.h"
#include "base/thread_pool.h"
#include "formats/gguf.h"
#include "models/blocks.h"
#include "models/model.h"

namespace snug {

// What tells one Gemma generation from another in the forward pass.
struct GemmaForm {
  float embed_scale = 1.0f;    // embeddings × √model_dim (Gemma 4: rounded through bf16)
  AttentionParts attention;    // q/k norms always; Gemma 4: V = K on some layers, V norm
  bool layer_scale = false;    // blk.N.layer_output_scale.weight where present (Gemma 4)
  float final_softcap = 0.0f;  // logits = c · tanh(logits / c) (Gemma 4: 30), 0: none
  bool media = false;          // the 12B unified embedders, where spec.media names them (Gemma 4)
};

// Binds the weights of a Gemma decoder of `spec` in `file` and allocates its activations.
Result<std::unique_ptr<Model>> LoadGemma(std::shared_ptr<const gguf::File> file, ModelSpec spec,
                                         const GemmaForm& form, const ModelOptions& options,
                                         ThreadPool& pool);

}  // namespace snug
