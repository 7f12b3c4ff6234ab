// Image decoding: each format from files the codec libraries write in the test, every color
// layout the decoders convert, and hostile input (huge headers, truncation, corruption).

#include <gtest/gtest.h>

#include <random>

#include "media/image.h"
#include "sample_media.h"

namespace snug::media {
namespace {

using samples::Bytes;

Image Decoded(const Bytes& bytes, const ImageLimits& limits = {}) {
  Result<Image> image = DecodeImage(bytes, limits);
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return image.ok() ? std::move(image).value() : Image{};
}

std::string Error(const Bytes& bytes, const ImageLimits& limits = {}) {
  Result<Image> image = DecodeImage(bytes, limits);
  EXPECT_FALSE(image.ok());
  return image.ok() ? "" : image.status().message();
}

uint8_t White(uint8_t c, uint8_t a) { return static_cast<uint8_t>(std::lround(c * a / 255.0 + 255 - a)); }

TEST(ImageTest, SniffsByMagicBytes) {
  const Image image = samples::Gradient(4, 3);
  EXPECT_EQ(SniffImageFormat(samples::EncodePng(image)), ImageFormat::kPng);
  EXPECT_EQ(SniffImageFormat(samples::EncodeJpeg(image)), ImageFormat::kJpeg);
  EXPECT_EQ(SniffImageFormat(samples::EncodeWebpLossless(image)), ImageFormat::kWebp);
  EXPECT_EQ(SniffImageFormat(samples::EncodeGif(2, 2, {{0, 0, 2, 2, {0, 1, 2, 3}}})),
            ImageFormat::kGif);
  EXPECT_EQ(SniffImageFormat(Bytes{'B', 'M', 0, 0}), ImageFormat::kUnknown);
}

TEST(ImageTest, PngRgbIsExact) {
  const Image image = samples::Gradient(37, 23);
  const Image out = Decoded(samples::EncodePng(image));
  EXPECT_EQ(out.width, 37);
  EXPECT_EQ(out.height, 23);
  EXPECT_EQ(out.rgb, image.rgb);
  const Image interlaced = Decoded(samples::EncodePng(image, {.interlaced = true}));
  EXPECT_EQ(interlaced.rgb, image.rgb);
}

TEST(ImageTest, PngLayoutsBecomeRgb8) {
  const Image image = samples::Gradient(16, 9);
  // Gray: R = G = B = the gray value (the encoder takes the red channel).
  const Image gray = Decoded(samples::EncodePng(image, {.color_type = 0}));
  for (size_t i = 0; i < gray.rgb.size(); ++i) ASSERT_EQ(gray.rgb[i], image.rgb[i / 3 * 3]);
  // 16-bit: the high byte.
  EXPECT_EQ(Decoded(samples::EncodePng(image, {.bit_depth = 16})).rgb, image.rgb);
  // Alpha over white, from RGBA, gray+alpha and a palette's tRNS.
  std::vector<uint8_t> alpha(16 * 9);
  for (size_t i = 0; i < alpha.size(); ++i) alpha[i] = static_cast<uint8_t>(i * 37 % 256);
  alpha[0] = 0;
  const Image rgba = Decoded(samples::EncodePng(image, {.color_type = 6}, alpha));
  for (size_t i = 0; i < alpha.size(); ++i) {
    for (int c = 0; c < 3; ++c) ASSERT_EQ(rgba.rgb[i * 3 + c], White(image.rgb[i * 3 + c], alpha[i]));
  }
  EXPECT_EQ(rgba.rgb[0], 255);  // fully transparent: white
  const Image gray_alpha = Decoded(samples::EncodePng(image, {.color_type = 4}, alpha));
  EXPECT_EQ(gray_alpha.rgb[5 * 3 + 1], White(image.rgb[5 * 3], alpha[5]));
  Image few = samples::Gradient(16, 9);
  for (size_t i = 0; i < few.rgb.size(); ++i) few.rgb[i] = few.rgb[i] / 64 * 64;
  const Image palette = Decoded(samples::EncodePng(few, {.color_type = 3}));
  EXPECT_EQ(palette.rgb, few.rgb);
}

TEST(ImageTest, JpegColorSpaces) {
  const Image image = samples::Smooth(40, 24);
  const Image rgb = Decoded(samples::EncodeJpeg(image, 100));
  ASSERT_EQ(rgb.rgb.size(), image.rgb.size());
  double total = 0;
  for (size_t i = 0; i < rgb.rgb.size(); ++i) total += std::abs(rgb.rgb[i] - image.rgb[i]);
  EXPECT_LT(total / rgb.rgb.size(), 2.0);  // lossy, but close at quality 100
  const Image gray = Decoded(samples::EncodeJpeg(image, 100, /*grayscale=*/true));
  for (size_t i = 0; i < gray.rgb.size(); i += 3) {
    ASSERT_EQ(gray.rgb[i], gray.rgb[i + 1]);
    ASSERT_EQ(gray.rgb[i], gray.rgb[i + 2]);
  }
  const Image cmyk = Decoded(samples::EncodeCmykJpeg(image));
  total = 0;
  for (size_t i = 0; i < cmyk.rgb.size(); ++i) total += std::abs(cmyk.rgb[i] - image.rgb[i]);
  EXPECT_LT(total / cmyk.rgb.size(), 4.0);
}

TEST(ImageTest, WebpLosslessIsExact) {
  const Image image = samples::Gradient(21, 13);
  EXPECT_EQ(Decoded(samples::EncodeWebpLossless(image)).rgb, image.rgb);
  std::vector<uint8_t> alpha(21 * 13, 128);
  alpha[3] = 0;
  const Image out = Decoded(samples::EncodeWebpLossless(image, alpha));
  EXPECT_EQ(out.rgb[3 * 3], 255);
  EXPECT_EQ(out.rgb[4 * 3 + 2], White(image.rgb[4 * 3 + 2], 128));
}

TEST(ImageTest, GifFirstFrameOnWhiteCanvas) {
  // A 4×3 screen; the first frame is 2×2 at (1, 1) with index 3 transparent; a second frame
  // (all red) must not be drawn.
  samples::GifFrame first{1, 1, 2, 2, {1, 2, 3, 0}, /*transparent=*/3};
  samples::GifFrame second{0, 0, 4, 3, std::vector<uint8_t>(12, 1)};
  const Image out = Decoded(samples::EncodeGif(4, 3, {first, second}));
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.height, 3);
  auto pixel = [&](int x, int y) {
    const uint8_t* p = &out.rgb[(y * 4 + x) * 3];
    return std::vector<int>{p[0], p[1], p[2]};
  };
  EXPECT_EQ(pixel(0, 0), (std::vector<int>{255, 255, 255}));  // outside the frame
  EXPECT_EQ(pixel(1, 1), (std::vector<int>{255, 0, 0}));
  EXPECT_EQ(pixel(2, 1), (std::vector<int>{0, 255, 0}));
  EXPECT_EQ(pixel(1, 2), (std::vector<int>{255, 255, 255}));  // transparent
  EXPECT_EQ(pixel(2, 2), (std::vector<int>{0, 0, 0}));
  // Interlaced rows land where they belong.
  samples::GifFrame tall{0, 0, 1, 11, {}, -1, /*interlaced=*/true};
  for (int row = 0; row < 11; ++row) tall.indices.push_back(static_cast<uint8_t>(row % 4));
  const Image column = Decoded(samples::EncodeGif(1, 11, {tall}));
  for (int row = 0; row < 11; ++row) {
    const int index = row % 4;
    EXPECT_EQ(column.rgb[row * 3 + 0], index == 1 ? 255 : 0) << row;
    EXPECT_EQ(column.rgb[row * 3 + 2], index == 3 ? 255 : 0) << row;
  }
}

TEST(ImageTest, HugeDeclaredSizesAreRefusedBeforeDecoding) {
  const std::string tall = Error(samples::PngHeaderOnly(1, 100000));
  EXPECT_NE(tall.find("png: the image is 1×100000 pixels"), std::string::npos) << tall;
  EXPECT_NE(tall.find("16384×16384"), std::string::npos) << tall;
  // A JPEG whose SOF declares 60000×60000 (the marker's height and width fields patched).
  Bytes jpeg = samples::EncodeJpeg(samples::Gradient(8, 8));
  size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) ++sof;
  ASSERT_LT(sof + 9, jpeg.size());
  jpeg[sof + 5] = 60000 >> 8, jpeg[sof + 6] = 60000 & 0xFF;  // height
  jpeg[sof + 7] = 60000 >> 8, jpeg[sof + 8] = 60000 & 0xFF;  // width
  const std::string wide = Error(jpeg);
  EXPECT_NE(wide.find("jpeg: the image is 60000×60000 pixels"), std::string::npos) << wide;
  // A GIF screen of 65535×65535 and a frame larger than the limits.
  Bytes gif = samples::EncodeGif(2, 2, {{0, 0, 2, 2, {0, 1, 2, 3}}});
  gif[6] = gif[7] = gif[8] = gif[9] = 0xFF;
  EXPECT_NE(Error(gif).find("gif: the image is 65535×65535"), std::string::npos);
  // WebP's own maximum is 16383 per side, so an operator's tighter limit shows the check.
  const ImageLimits small{.max_width = 10, .max_height = 10, .max_pixels = 100};
  EXPECT_NE(Error(samples::EncodeWebpLossless(samples::Gradient(11, 3)), small)
                .find("webp: the image is 11×3 pixels; the limit is 10×10 and 100 pixels"),
            std::string::npos);
  EXPECT_NE(Error(samples::EncodePng(samples::Gradient(10, 11)), small).find("10×11"),
            std::string::npos);
  EXPECT_NE(Error(samples::EncodePng(samples::Gradient(8, 8)),
                  {.max_width = 10, .max_height = 10, .max_pixels = 60})
                .find("60 pixels in all"),
            std::string::npos);
}

TEST(ImageTest, EmptyWrongAndZeroSized) {
  EXPECT_NE(Error({}).find("empty"), std::string::npos);
  EXPECT_NE(Error({'h', 'e', 'l', 'l', 'o'}).find("not a JPEG, PNG, WebP or GIF"), std::string::npos);
  EXPECT_FALSE(DecodeImage(samples::PngHeaderOnly(0, 5)).ok());
  Bytes gif = samples::EncodeGif(2, 2, {{0, 0, 2, 2, {0, 1, 2, 3}}});
  gif[6] = gif[7] = 0;
  EXPECT_NE(Error(gif).find("0×2"), std::string::npos);
}

TEST(ImageTest, TruncatedFilesAreErrors) {
  const Image image = samples::Gradient(64, 48);
  for (const Bytes& file : {samples::EncodePng(image), samples::EncodeJpeg(image),
                            samples::EncodeWebpLossless(image),
                            samples::EncodeGif(4, 4, {{0, 0, 4, 4, Bytes(16, 2)}})}) {
    // (A PNG cut after its last image data, in IEND, still decodes, as in Pillow.)
    for (size_t keep : {size_t{1}, size_t{8}, size_t{20}, file.size() / 2, file.size() - 20}) {
      const Bytes cut(file.begin(), file.begin() + std::min(keep, file.size() - 1));
      EXPECT_FALSE(DecodeImage(cut).ok()) << ImageFormatName(SniffImageFormat(file)) << " kept "
                                          << keep << " of " << file.size();
    }
  }
}

// Random byte flips: each decode ends in an image within the limits or an error, never a crash
// (the fuzz targets do this at length under the sanitizers).
TEST(ImageTest, CorruptFilesNeverCrash) {
  const Image image = samples::Gradient(32, 32);
  std::mt19937 random(7);
  const ImageLimits limits{.max_width = 4096, .max_height = 4096, .max_pixels = 1 << 22};
  for (const Bytes& file : {samples::EncodePng(image, {.interlaced = true}),
                            samples::EncodeJpeg(image), samples::EncodeWebpLossless(image),
                            samples::EncodeGif(8, 8, {{0, 0, 8, 8, Bytes(64, 1)}})}) {
    for (int trial = 0; trial < 300; ++trial) {
      Bytes corrupt = file;
      for (int flips = 1 + trial % 4; flips > 0; --flips) {
        corrupt[random() % corrupt.size()] = static_cast<uint8_t>(random());
      }
      Result<Image> out = DecodeImage(corrupt, limits);
      if (out.ok()) {
        ASSERT_EQ(out->rgb.size(), static_cast<size_t>(out->width) * out->height * 3);
      }
    }
  }
}

}  // namespace
}  // namespace snug::media
