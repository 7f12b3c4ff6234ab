// DecoderModel: the load sequence and forward prologue shared by the decoder architectures.
#include "models/decoder_model.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/check.h"

namespace snug {

DecoderModel::DecoderModel(std::shared_ptr<const gguf::File> file, ModelSpec spec,
                           const ModelOptions& options, ThreadPool& pool)
    : file_(std::move(file)), options_(options), projector_(pool, options.batch_tokens) {
  spec_ = std::move(spec);
}

Status DecoderModel::Bind() {
  WeightBinder weights(*file_);
  ends_ = BindEnds(*file_, weights, spec_);
  for (int i = 0; i < static_cast<int>(spec_.layers.size()); ++i) {
    RETURN_IF_ERROR(BindLayer(weights, i, "blk." + std::to_string(i) + "."));
  }
  RETURN_IF_ERROR(BindExtras(weights));
  RETURN_IF_ERROR(weights.Finish());
  buffers_.Allocate(spec_, options_.batch_tokens);
  // The tables hold references into spec_.ropes, which stays unchanged from here on.
  for (const RopeSpec& rope : spec_.ropes) rope_tables_.emplace_back(rope, options_.batch_tokens);
  projector_.Reserve(ends_.output);
  ReserveLayers();
  return Status::Ok();
}

size_t DecoderModel::activation_bytes() const {
  size_t bytes = projector_.bytes() + buffers_.bytes();
  for (const RopeTable& table : rope_tables_) bytes += table.bytes();
  return bytes;
}

void DecoderModel::Forward(const Batch& batch, KvCache& kv, float* logits) {
  const int64_t n = static_cast<int64_t>(batch.tokens.size());
  CHECK(n > 0 && n <= options_.batch_tokens) << "batch of " << n << " tokens";
  for (RopeTable& table : rope_tables_) table.Compute(batch.positions);
  const ForwardPass pass{.batch = batch,
                         .kv = kv,
                         .projector = projector_,
                         .buffers = buffers_,
                         .model_dim = spec_.model_dim,
                         .norm_eps = spec_.norm_eps,
                         .observer = observer_ ? &observer_ : nullptr};
  EmbedTokens(ends_.embedding, batch.tokens, embed_scale_, buffers_.hidden.data());
  // Soft tokens replace their placeholders' rows, without the embedding scale (§3.5).
  for (const BatchMedia& entry : batch.media) {
    CHECK(entry.first_token >= 0 && entry.num_tokens > 0 &&
          entry.first_token + entry.num_tokens <= n)
        << "media rows outside the batch";
    float* rows =
        buffers_.hidden.data() + static_cast<int64_t>(entry.first_token) * spec_.model_dim;
    if (entry.embeddings != nullptr) {
      std::copy(entry.embeddings,
                entry.embeddings + static_cast<int64_t>(entry.num_tokens) * spec_.model_dim, rows);
    } else {
      EmbedMedia(pass, entry, rows);
    }
  }
  pass.Observe("inp_embd", -1, buffers_.hidden.data(), spec_.model_dim);
  for (int i = 0; i < static_cast<int>(spec_.layers.size()); ++i) {
    ForwardLayer(pass, i);
    pass.Observe("l_out", i, buffers_.hidden.data(), spec_.model_dim);
  }
  LogitsBlock(pass, ends_, final_softcap_, logits);
}

void DecoderModel::EmbedMedia(const ForwardPass& pass, const BatchMedia& entry, float* out) {
  CHECK(false) << "model: " << spec_.architecture << " embeds no images or audio";
}

void DecoderModel::Norm(const ForwardPass& pass, const std::vector<float>& x, const float* weight,
                        std::vector<float>& y) const {
  RmsNormRows(x.data(), weight, pass.norm_eps, pass.num_tokens(), pass.model_dim, y.data());
}

ModelSpec StartSpec(std::string architecture, const DecoderBasics& basics) {
  ModelSpec spec;
  spec.architecture = std::move(architecture);
  spec.model_dim = basics.model_dim;
  spec.context_tokens = basics.context_tokens;
  spec.norm_eps = basics.norm_eps;
  return spec;
}

}  // namespace snug
