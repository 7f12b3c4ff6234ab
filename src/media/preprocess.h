#pragma once
// Preprocessing for Gemma 4 unified (models.md §3.2, §3.4): an Image becomes a PatchGrid
// (aspect-preserving antialiased bicubic resize, x/255, 48-px patches in raster order) and
// Audio becomes AudioFrames (16 kHz mono, zero-padded 640-sample frames). The Load* functions
// decode and preprocess bytes in one call and fill in the content hash.

#include <cstdint>
#include <span>

#include "base/status.h"
#include "media/audio.h"
#include "media/image.h"
#include "media/media.h"

namespace snug::media {

constexpr int kPatchPixels = 48;        // 16-px patches pooled 3×3
constexpr int kAudioSampleRate = 16000;
constexpr int kAudioFrameSamples = 640;  // 40 ms, one soft token

// The soft-token budgets Gemma 4 was trained with (§3.2 step 1).
bool IsSoftTokenBudget(int max_soft_tokens);

struct ImageSize {
  int width = 0;
  int height = 0;
};

// §3.2 step 2: the largest multiple-of-patch size of the image's aspect whose patch count fits
// max_soft_tokens, with the spec's rule for a side that rounds to zero.
Result<ImageSize> TargetImageSize(int width, int height, int max_soft_tokens,
                                  int patch_px = kPatchPixels);

// Antialiased bicubic resize as PIL's Image.resize(BICUBIC) and torchvision's
// resize(antialias=True) compute it: the cubic kernel with a = −0.5 (both use it for
// antialiased resizing; torch's −0.75 is only its non-antialiased path), support widened by the
// scale factor when downscaling, weights normalised per output pixel, a horizontal pass then a
// vertical one, each rounded to 8 bits.
Image ResizeBicubic(const Image& image, int width, int height);

// Resize to TargetImageSize (skipped when the image already has that size), x/255, cut into
// patches. hash is left 0 (LoadImage fills it from the source bytes).
Result<PatchGrid> PreprocessImage(const Image& image, int max_soft_tokens,
                                  int patch_px = kPatchPixels);

// Resample to 16 kHz and zero-pad to whole frames. hash is left 0.
Result<AudioFrames> PreprocessAudio(const Audio& audio, int frame_samples = kAudioFrameSamples);

// Decode + preprocess + hash (of the bytes and the parameters).
Result<PatchGrid> LoadImage(std::span<const uint8_t> bytes, int max_soft_tokens,
                            const ImageLimits& limits = {}, int patch_px = kPatchPixels);
Result<AudioFrames> LoadAudio(std::span<const uint8_t> bytes, const AudioLimits& limits = {},
                              int frame_samples = kAudioFrameSamples);

}  // namespace snug::media
