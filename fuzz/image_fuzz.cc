// libFuzzer target for the image decoders (media/image.h) and the preprocessing after them:
// any input ends in an error or an image within the limits, and a decoded image is cut into
// patches (the smallest budget, to keep each run fast). Seeds are files of every format and
// color layout written by the codec libraries (tests/media/sample_media.h).
#include <cstdint>
#include <string>
#include <vector>

#include "media/image.h"
#include "media/preprocess.h"
#include "sample_media.h"
#include "seeds.h"

namespace {

namespace samples = snug::media::samples;

std::vector<std::string> Seeds() {
  const snug::media::Image image = samples::Gradient(19, 11);
  std::vector<uint8_t> alpha(19 * 11);
  for (size_t i = 0; i < alpha.size(); ++i) alpha[i] = static_cast<uint8_t>(i * 29);
  snug::media::Image few = image;
  for (uint8_t& v : few.rgb) v = v / 128 * 128;
  const std::vector<samples::Bytes> files = {
      samples::EncodePng(image),
      samples::EncodePng(image, {.color_type = 6, .interlaced = true}, alpha),
      samples::EncodePng(image, {.color_type = 0, .bit_depth = 16}),
      samples::EncodePng(few, {.color_type = 3}, alpha),
      samples::EncodeJpeg(image),
      samples::EncodeJpeg(image, 50, /*grayscale=*/true),
      samples::EncodeCmykJpeg(image),
      samples::EncodeWebpLossless(image),
      samples::EncodeWebpLossless(image, alpha),
      samples::EncodeGif(6, 5, {{1, 1, 3, 2, {0, 1, 2, 3, 1, 0}, 3, true}}),
  };
  std::vector<std::string> seeds;
  for (const samples::Bytes& file : files) seeds.emplace_back(file.begin(), file.end());
  return seeds;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snug::fuzz::WriteSeedsIfAsked(Seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits keep a run fast; the code path is the same as the server's.
  const snug::media::ImageLimits limits{.max_width = 2048, .max_height = 2048,
                                        .max_pixels = 1 << 20};
  snug::Result<snug::media::Image> image = snug::media::DecodeImage({data, size}, limits);
  if (!image.ok()) return 0;
  if (image->width > limits.max_width || image->height > limits.max_height ||
      image->rgb.size() != static_cast<size_t>(image->width) * image->height * 3) {
    __builtin_trap();
  }
  snug::Result<snug::media::PatchGrid> grid = snug::media::PreprocessImage(*image, 70);
  if (!grid.ok() || grid->soft_tokens() > 70) __builtin_trap();
  return 0;
}
