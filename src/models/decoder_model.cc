// DecoderModel: the load sequence and forward prologue shared by the decoder architectures.
#include "models/decoder_model.h"

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
  RETURN_IF_ERROR(BindLayers(weights));
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

int64_t DecoderModel::BeginForward(const Batch& batch) {
  const int64_t n = static_cast<int64_t>(batch.tokens.size());
  CHECK(n > 0 && n <= options_.batch_tokens) << "batch of " << n << " tokens";
  for (RopeTable& table : rope_tables_) table.Compute(batch.positions);
  return n;
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
