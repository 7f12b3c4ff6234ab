// Format sniffing, the size check shared by the decoders, and the dispatch to them.

#include "media/image.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "media/image_codecs.h"

namespace snug::media {

std::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "jpeg";
    case ImageFormat::kPng: return "png";
    case ImageFormat::kWebp: return "webp";
    case ImageFormat::kGif: return "gif";
    case ImageFormat::kUnknown: break;
  }
  return "unknown";
}

ImageFormat SniffImageFormat(std::span<const uint8_t> bytes) {
  auto starts = [&](size_t offset, std::string_view magic) {
    return bytes.size() >= offset + magic.size() &&
           std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
  };
  if (starts(0, "\xFF\xD8\xFF")) return ImageFormat::kJpeg;
  if (starts(0, "\x89PNG\r\n\x1A\n")) return ImageFormat::kPng;
  if (starts(0, "RIFF") && starts(8, "WEBP")) return ImageFormat::kWebp;
  if (starts(0, "GIF87a") || starts(0, "GIF89a")) return ImageFormat::kGif;
  return ImageFormat::kUnknown;
}

Status CheckImageSize(std::string_view format, int64_t width, int64_t height,
                      const ImageLimits& limits) {
  const std::string size = std::to_string(width) + "×" + std::to_string(height);
  if (width <= 0 || height <= 0) {
    return InvalidArgument(std::string(format) + ": the image is " + size + " pixels (empty)");
  }
  if (width > limits.max_width || height > limits.max_height ||
      width * height > limits.max_pixels) {
    return InvalidArgument(std::string(format) + ": the image is " + size +
                           " pixels; the limit is " + std::to_string(limits.max_width) + "×" +
                           std::to_string(limits.max_height) + " and " +
                           std::to_string(limits.max_pixels) + " pixels in all");
  }
  return Status::Ok();
}

Result<Image> DecodeImage(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  switch (SniffImageFormat(bytes)) {
    case ImageFormat::kJpeg: return internal::DecodeJpeg(bytes, limits);
    case ImageFormat::kPng: return internal::DecodePng(bytes, limits);
    case ImageFormat::kWebp: return internal::DecodeWebp(bytes, limits);
    case ImageFormat::kGif: return internal::DecodeGif(bytes, limits);
    case ImageFormat::kUnknown: break;
  }
  if (bytes.empty()) return InvalidArgument("image: the data is empty");
  return InvalidArgument("image: not a JPEG, PNG, WebP or GIF file (unrecognised first bytes)");
}

namespace internal {

Image AllocateImage(int width, int height) {
  Image image;
  image.width = width;
  image.height = height;
  image.rgb.assign(static_cast<size_t>(width) * height * 3, 0);
  return image;
}

void CompositeOnWhite(std::span<const uint8_t> rgba, Image& image) {
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  CHECK(rgba.size() >= pixels * 4);
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t alpha = rgba[i * 4 + 3];
    for (int c = 0; c < 3; ++c) image.rgb[i * 3 + c] = OverWhite(rgba[i * 4 + c], alpha);
  }
}

}  // namespace internal
}  // namespace snug::media
