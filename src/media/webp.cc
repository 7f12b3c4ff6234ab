// WebP through libwebp: WebPGetFeatures reads the size from the header, then the pixels are
// decoded into a buffer this file allocated after the size check. Animated files are refused
// (their first frame may be a sub-rectangle of the canvas, composed over a background).

#include <string>

#include <webp/decode.h>

#include "media/image_codecs.h"

namespace snug::media::internal {

Result<Image> DecodeWebp(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  WebPBitstreamFeatures features;
  const VP8StatusCode status = WebPGetFeatures(bytes.data(), bytes.size(), &features);
  if (status == VP8_STATUS_NOT_ENOUGH_DATA) return InvalidArgument("webp: the file is truncated");
  if (status != VP8_STATUS_OK) {
    return InvalidArgument("webp: not a valid WebP header (libwebp status " +
                           std::to_string(static_cast<int>(status)) + ")");
  }
  RETURN_IF_ERROR(CheckImageSize("webp", features.width, features.height, limits));
  if (features.has_animation) {
    return InvalidArgument("webp: animated WebP is not supported; send one frame as an image");
  }
  Image image = AllocateImage(features.width, features.height);
  const int stride_rgb = features.width * 3;
  if (!features.has_alpha) {
    if (WebPDecodeRGBInto(bytes.data(), bytes.size(), image.rgb.data(), image.rgb.size(),
                          stride_rgb) == nullptr) {
      return InvalidArgument("webp: the image data is corrupt or truncated");
    }
    return image;
  }
  std::vector<uint8_t> rgba(static_cast<size_t>(features.width) * features.height * 4);
  if (WebPDecodeRGBAInto(bytes.data(), bytes.size(), rgba.data(), rgba.size(),
                         features.width * 4) == nullptr) {
    return InvalidArgument("webp: the image data is corrupt or truncated");
  }
  CompositeOnWhite(rgba, image);
  return image;
}

}  // namespace snug::media::internal
