#pragma once
// Small media files written by the codec libraries themselves, for the media tests and as the
// fuzz targets' seeds: encoders for PNG, JPEG, WebP, GIF and a WAV writer.

#include <cstdint>
#include <string>
#include <vector>

#include "media/image.h"

namespace snug::media::samples {

using Bytes = std::vector<uint8_t>;

// An image whose pixels depend on (x, y, channel) in a way no two neighbours share.
Image Gradient(int width, int height);
// Slow sinusoids within [40, 215]: no sharp edges, so a resize never overshoots 0..255 and
// JPEG's chroma subsampling loses little.
Image Smooth(int width, int height);

struct PngOptions {
  int color_type = 2;   // PNG_COLOR_TYPE_*: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
  int bit_depth = 8;    // 8 or 16 (palette: 8)
  bool interlaced = false;
};
// RGB pixels from `image`; alpha (types 4, 6) from `alpha` (width*height values) or 255;
// gray takes the red channel; palette: the first 256 distinct colors (the test keeps within).
Bytes EncodePng(const Image& image, const PngOptions& options = {},
                const std::vector<uint8_t>& alpha = {});
// A PNG whose IHDR declares width × height (valid CRC) and holds one tiny IDAT.
Bytes PngHeaderOnly(uint32_t width, uint32_t height);

Bytes EncodeJpeg(const Image& image, int quality = 95, bool grayscale = false);
// CMYK JPEG written as Photoshop does (Adobe marker, inverted values) from the RGB pixels.
Bytes EncodeCmykJpeg(const Image& image);

Bytes EncodeWebpLossless(const Image& image, const std::vector<uint8_t>& alpha = {});

struct GifFrame {
  int left = 0, top = 0, width = 0, height = 0;
  std::vector<uint8_t> indices;  // width * height
  int transparent = -1;
  bool interlaced = false;
};
// A GIF with a 4-color global palette {black, red, green, blue} and the given frames.
Bytes EncodeGif(int screen_width, int screen_height, const std::vector<GifFrame>& frames);

// A RIFF/WAVE file. format 1 (PCM, 8/16/24/32 bits) or 3 (IEEE float, 32 bits); `samples` are
// interleaved, in [-1, 1], converted to the sample type.
Bytes EncodeWav(const std::vector<double>& samples, int channels, int sample_rate, int format,
                int bits);

// Audio through libsndfile, `format` a full SF_FORMAT_* (e.g. SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
// SF_FORMAT_OGG | SF_FORMAT_VORBIS, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III); empty when this
// libsndfile cannot write it.
Bytes EncodeWithSndfile(const std::vector<float>& mono, int sample_rate, int format);

}  // namespace snug::media::samples
