#pragma once
// The per-format decoders behind DecodeImage (image.h), one file each; internal to media/.

#include <cstdint>
#include <span>

#include "media/image.h"

namespace snug::media::internal {

Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, const ImageLimits& limits);
Result<Image> DecodePng(std::span<const uint8_t> bytes, const ImageLimits& limits);
Result<Image> DecodeWebp(std::span<const uint8_t> bytes, const ImageLimits& limits);
Result<Image> DecodeGif(std::span<const uint8_t> bytes, const ImageLimits& limits);

// An Image of the given (already checked) size, pixels zeroed.
Image AllocateImage(int width, int height);

// `rgba` holds width*height RGBA8 pixels; writes them composited on white into `image`.
void CompositeOnWhite(std::span<const uint8_t> rgba, Image& image);

// One 8-bit channel value c with alpha a over white: c·a/255 + 255·(1 − a/255), rounded.
inline uint8_t OverWhite(uint8_t c, uint8_t a) {
  return static_cast<uint8_t>((c * a + 255 * (255 - a) + 127) / 255);
}

}  // namespace snug::media::internal
