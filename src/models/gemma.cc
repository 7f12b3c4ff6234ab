// The Gemma decoder layer (mlx-lm gemma3_text.py TransformerBlock; llama.cpp
// src/models/gemma3.cpp, gemma4-iswa.cpp): "sandwich" norms around both blocks,
//   h = x + post_attention_norm(attention(attn_norm(x)))
//   y = h + post_ffn_norm(ffn_gelu(ffn_norm(h)))     (× layer scale, Gemma 4)
// GGUF stores every norm weight with Gemma's "+1" folded in, so norms are x̂ ⊙ w here.
#include "models/gemma.h"

#include <string>
#include <utility>
#include <vector>

#include "kernels/kernels.h"
#include "models/decoder_model.h"
#include "models/gemma4_media.h"
#include "models/weights.h"

namespace snug {
namespace {

struct Layer {
  AttentionWeights attention;
  const float* post_attention_norm;  // [model_dim]
  const float* ffn_norm;             // [model_dim]
  FfnWeights ffn;
  const float* post_ffn_norm;  // [model_dim]
  const float* output_scale;   // [1] layer_output_scale, or null
};

class Gemma : public DecoderModel {
 public:
  Gemma(std::shared_ptr<const gguf::File> file, ModelSpec spec, const ModelOptions& options,
        ThreadPool& pool, const GemmaForm& form)
      : DecoderModel(std::move(file), std::move(spec), options, pool), form_(form) {
    embed_scale_ = form.embed_scale;
    final_softcap_ = form.final_softcap;
  }

 private:
  void ForwardLayer(const ForwardPass& pass, int i) override {
    const Layer& w = layers_[i];
    const LayerSpec& s = spec_.layers[i];
    DecoderBuffers& b = buffers_;
    AttentionBlock(pass, i, s, w.attention, rope_tables_[s.rope], b.hidden.data(),
                   b.projected.data());
    Norm(pass, b.projected, w.post_attention_norm, b.projected);
    AddResidual(pass, b.projected.data());
    Norm(pass, b.hidden, w.ffn_norm, b.normed);
    FfnBlock(pass, i, w.ffn, Activation::kGeluTanh, b.normed.data(), b.projected.data());
    Norm(pass, b.projected, w.post_ffn_norm, b.projected);
    AddResidual(pass, b.projected.data());
    if (w.output_scale != nullptr) {
      const int64_t size = pass.num_tokens() * spec_.model_dim;
      kernels::Scale(b.hidden.data(), *w.output_scale, b.hidden.data(), size);
    }
  }

  Status BindLayer(WeightBinder& weights, int i, const std::string& p) override {
    const int dim = spec_.model_dim;
    Layer layer;
    layer.attention = BindAttention(weights, p, spec_.layers[i], dim, form_.attention);
    layer.post_attention_norm = weights.Vector(p + "post_attention_norm.weight", dim);
    layer.ffn_norm = weights.Vector(p + "ffn_norm.weight", dim);
    layer.ffn = BindFfn(weights, p, spec_.layers[i].ffn_dim, dim);
    layer.post_ffn_norm = weights.Vector(p + "post_ffw_norm.weight", dim);
    layer.output_scale =
        form_.layer_scale ? weights.OptionalVector(p + "layer_output_scale.weight", 1) : nullptr;
    layers_.push_back(layer);
    return Status::Ok();
  }

  void ReserveLayers() override {
    ReserveDense(projector_, layers_);
    media_.Reserve(projector_, options_.batch_tokens);
  }

  Status BindExtras(WeightBinder& weights) override {
    if (form_.media) media_.Bind(weights, spec_.media, spec_.model_dim);
    return Status::Ok();
  }

  void EmbedMedia(const ForwardPass& pass, const BatchMedia& entry, float* out) override {
    CHECK(form_.media) << "model: " << spec_.architecture << " embeds no images or audio";
    media_.Embed(entry, projector_, out);
  }

  size_t activation_bytes() const override {
    return DecoderModel::activation_bytes() + media_.bytes();
  }

  GemmaForm form_;
  std::vector<Layer> layers_;
  Gemma4MediaEmbedder media_;  // bound only with form_.media
};

}  // namespace

Result<std::unique_ptr<Model>> LoadGemma(std::shared_ptr<const gguf::File> file, ModelSpec spec,
                                         const GemmaForm& form, const ModelOptions& options,
                                         ThreadPool& pool) {
  auto model = std::make_unique<Gemma>(std::move(file), std::move(spec), options, pool, form);
  RETURN_IF_ERROR(model->Bind());
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace snug
