// Gemma 4 unified media embedders (see gemma4_media.h): per patch LayerNorm → dense + bias →
// LayerNorm → + the x and y position rows → LayerNorm → RMS norm without scale → projection
// (§3.3); per audio frame RMS norm without scale → projection (§3.4).
#include "models/gemma4_media.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/check.h"
#include "kernels/kernels.h"

namespace snug {
namespace {

// Rows embedded per pass: enough for the matrix products to amortize reading the weights
// (6912 × 3840 for the 12B patch dense), small enough that the buffers stay a few MB.
constexpr int kChunkRows = 32;

std::string Shape(const TensorView& view) {
  std::string text = "[";
  for (int i = 0; i < view.num_dims; ++i) {
    text += (i ? ", " : "") + std::to_string(view.shape[i]);
  }
  return text + "]";
}

}  // namespace

Result<MediaSpec> ReadGemma4Media(const gguf::File& file) {
  MediaSpec media;
  if (const gguf::TensorInfo* dense = file.FindTensor("v.patch_dense.weight")) {
    const int64_t values = dense->view.cols();
    const int64_t px = std::llround(std::sqrt(static_cast<double>(values) / 3.0));
    if (dense->view.num_dims != 2 || px < 1 || 3 * px * px != values) {
      return InvalidArgument("model: tensor 'v.patch_dense.weight' has shape " +
                             Shape(dense->view) +
                             "; its columns must be 3·side² (RGB values of a square patch)");
    }
    const gguf::TensorInfo* table = file.FindTensor("v.position_embd.weight");
    if (table == nullptr || table->view.num_dims != 3 || table->view.shape[1] != 2) {
      return InvalidArgument(
          "model: gemma4 vision needs tensor 'v.position_embd.weight' of shape [positions, 2, "
          "dim]");
    }
    media.image_patch_px = static_cast<int>(px);
    media.image_embed_dim = static_cast<int>(dense->view.rows());
    media.image_positions = static_cast<int>(table->view.shape[0]);
  }
  if (const gguf::TensorInfo* audio = file.FindTensor("mm.a.input_projection.weight")) {
    if (audio->view.num_dims != 2 || audio->view.cols() < 1) {
      return InvalidArgument("model: tensor 'mm.a.input_projection.weight' has shape " +
                             Shape(audio->view) + "; expected [model_dim, frame_samples]");
    }
    media.audio_frame_samples = static_cast<int>(audio->view.cols());
  }
  return media;
}

void Gemma4MediaEmbedder::Bind(WeightBinder& weights, const MediaSpec& media, int model_dim) {
  media_ = media;
  model_dim_ = model_dim;
  if (media.images()) {
    const int64_t values = 3LL * media.image_patch_px * media.image_patch_px;
    mm_dim_ = media.image_embed_dim;
    patch_norm_weight_ = weights.Vector("v.patch_ln1.weight", values);
    patch_norm_bias_ = weights.Vector("v.patch_ln1.bias", values);
    patch_dense_ = weights.Matrix("v.patch_dense.weight", mm_dim_, values);
    patch_dense_bias_ = weights.Vector("v.patch_dense.bias", mm_dim_);
    dense_norm_weight_ = weights.Vector("v.patch_ln2.weight", mm_dim_);
    dense_norm_bias_ = weights.Vector("v.patch_ln2.bias", mm_dim_);
    positions_ = weights.Matrices("v.position_embd.weight", media.image_positions, 2, mm_dim_);
    position_norm_weight_ = weights.Vector("v.pos_norm.weight", mm_dim_);
    position_norm_bias_ = weights.Vector("v.pos_norm.bias", mm_dim_);
    image_projection_ = weights.Matrix("mm.input_projection.weight", model_dim, mm_dim_);
  }
  if (media.audio()) {
    audio_projection_ =
        weights.Matrix("mm.a.input_projection.weight", model_dim, media.audio_frame_samples);
  }
}

void Gemma4MediaEmbedder::Reserve(Projector& projector, int batch_tokens) {
  chunk_rows_ = std::min(kChunkRows, batch_tokens);
  for (const TensorView* w : {&patch_dense_, &image_projection_, &audio_projection_}) {
    if (w->data != nullptr) projector.Reserve(*w);
  }
  const int64_t values = std::max<int64_t>(3LL * media_.image_patch_px * media_.image_patch_px,
                                           media_.audio_frame_samples);
  patches_.assign(static_cast<size_t>(chunk_rows_) * values, 0.0f);
  features_.assign(static_cast<size_t>(chunk_rows_ + 1) * mm_dim_, 0.0f);
}

size_t Gemma4MediaEmbedder::BytesFor(const MediaSpec& media, int batch_tokens) {
  const size_t mm_dim = media.image_embed_dim;
  if (!media.images() && !media.audio()) return 0;
  const size_t rows = std::min(kChunkRows, batch_tokens);
  const size_t values = std::max<size_t>(3ULL * media.image_patch_px * media.image_patch_px,
                                         media.audio_frame_samples);
  return (rows * values + (rows + 1) * mm_dim) * sizeof(float);
}

void Gemma4MediaEmbedder::Embed(const BatchMedia& entry, Projector& projector, float* out) {
  if (entry.image != nullptr) {
    CHECK(media_.images()) << "an image for a model without a vision embedder";
    EmbedPatches(*entry.image, entry.first_item_token, entry.num_tokens, projector, out);
  } else {
    CHECK(entry.audio != nullptr && media_.audio()) << "audio for a model without an embedder";
    EmbedFrames(*entry.audio, entry.first_item_token, entry.num_tokens, projector, out);
  }
}

void Gemma4MediaEmbedder::EmbedPatches(const media::PatchGrid& grid, int first, int count,
                                       Projector& projector, float* out) {
  const int64_t values = grid.patch_values();
  CHECK(grid.patch_px == media_.image_patch_px && first >= 0 &&
        first + count <= grid.soft_tokens() &&
        static_cast<int64_t>(grid.values.size()) == grid.soft_tokens() * values)
      << "patch grid does not fit the vision embedder";
  CHECK(grid.rows <= media_.image_positions && grid.cols <= media_.image_positions)
      << "grid " << grid.rows << "×" << grid.cols << " beyond the position table";
  float* position = features_.data() + static_cast<size_t>(chunk_rows_) * mm_dim_;
  for (int begin = 0; begin < count; begin += chunk_rows_) {
    const int rows = std::min(chunk_rows_, count - begin);
    for (int r = 0; r < rows; ++r) {
      const float* patch = grid.values.data() + (first + begin + r) * values;
      kernels::LayerNorm(patch, patch_norm_weight_, patch_norm_bias_, kLayerNormEps, values,
                         patches_.data() + r * values);
    }
    projector.Apply(patch_dense_, patches_.data(), rows, features_.data());
    Projector::AddBias(patch_dense_bias_, rows, mm_dim_, features_.data());
    for (int r = 0; r < rows; ++r) {
      float* feature = features_.data() + static_cast<int64_t>(r) * mm_dim_;
      kernels::LayerNorm(feature, dense_norm_weight_, dense_norm_bias_, kLayerNormEps, mm_dim_,
                         feature);
      // Patch (row, col) sits at (x, y) = (col, row): table row 2x holds x's, 2y + 1 y's.
      const int index = first + begin + r;
      const int x = index % grid.cols, y = index / grid.cols;
      kernels::DequantizeRow(positions_, 2 * x, position);
      kernels::Add(feature, position, feature, mm_dim_);
      kernels::DequantizeRow(positions_, 2 * y + 1, position);
      kernels::Add(feature, position, feature, mm_dim_);
      kernels::LayerNorm(feature, position_norm_weight_, position_norm_bias_, kLayerNormEps,
                         mm_dim_, feature);
      kernels::RmsNorm(feature, nullptr, kRmsNormEps, mm_dim_, feature);
    }
    projector.Apply(image_projection_, features_.data(), rows,
                    out + static_cast<int64_t>(begin) * model_dim_);
  }
}

void Gemma4MediaEmbedder::EmbedFrames(const media::AudioFrames& clip, int first, int count,
                                      Projector& projector, float* out) {
  const int64_t samples = clip.frame_samples;
  CHECK(samples == media_.audio_frame_samples && first >= 0 && first + count <= clip.frames &&
        static_cast<int64_t>(clip.samples.size()) == clip.frames * samples)
      << "audio frames do not fit the audio embedder";
  for (int begin = 0; begin < count; begin += chunk_rows_) {
    const int rows = std::min(chunk_rows_, count - begin);
    for (int r = 0; r < rows; ++r) {
      kernels::RmsNorm(clip.samples.data() + (first + begin + r) * samples, nullptr, kRmsNormEps,
                       samples, patches_.data() + r * samples);
    }
    projector.Apply(audio_projection_, patches_.data(), rows,
                    out + static_cast<int64_t>(begin) * model_dim_);
  }
}

}  // namespace snug
