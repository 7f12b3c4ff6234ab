#pragma once
// Image decoding: JPEG, PNG, WebP and the first frame of a GIF, from bytes in memory to RGB8,
// through Debian's codec libraries (libjpeg-turbo, libpng, libwebp, giflib). The dimensions are
// read from the header and checked against ImageLimits before any pixel buffer is allocated.
// Preprocessing for a model (resize, patches) is preprocess.h's.

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace snug::media {

// An 8-bit RGB image, rows top to bottom, [height][width][R, G, B].
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

// Decoded sizes an operator accepts. An image is refused, before its pixels are allocated, when
// a side or the area is larger. The defaults take a 48-megapixel phone photo (8000×6000) and
// refuse a decompression bomb; its RGB8 buffer is at most 3 × max_pixels bytes.
struct ImageLimits {
  int max_width = 16384;
  int max_height = 16384;
  int64_t max_pixels = 50'000'000;
};

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kGif };

std::string_view ImageFormatName(ImageFormat format);

// Recognises a format by its magic bytes (never by a name or a MIME type a client sent).
ImageFormat SniffImageFormat(std::span<const uint8_t> bytes);

// Decodes to RGB8. Transparency is composited on white (as Hugging Face's convert_to_rgb does):
// a fully transparent pixel becomes white. Grayscale, palette and 16-bit PNGs become RGB8; CMYK
// JPEGs are converted (Adobe's inverted form when the Adobe marker says so). An animated GIF
// gives its first frame; an animated WebP is refused. Errors name the format ("png: ...").
Result<Image> DecodeImage(std::span<const uint8_t> bytes, const ImageLimits& limits = {});

// The check every decoder makes on the header's dimensions: zero sides, a side over its limit
// or an area over max_pixels are refused with a message naming the dimensions and the limit.
Status CheckImageSize(std::string_view format, int64_t width, int64_t height,
                      const ImageLimits& limits);

}  // namespace snug::media
