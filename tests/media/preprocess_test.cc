// Preprocessing against an independent reference written here from models.md §3.2 and Pillow's
// resampling definition, in double precision with plain loops: target sizes, resized pixels
// (within a stated tolerance), patch order and positions (exact), audio framing, the hash.

#include <gtest/gtest.h>

#include <cmath>

#include "media/hash.h"
#include "media/preprocess.h"
#include "sample_media.h"

namespace snug::media {
namespace {

// §3.2 step 2, as the spec writes it, in 16-px patches: max_patches = 9·S.
ImageSize ReferenceTargetSize(int w, int h, int s) {
  const double max_patches = 9.0 * s;
  const double f = std::sqrt(max_patches * 256.0 / (static_cast<double>(h) * w));
  long th = static_cast<long>(std::floor(f * h / 48)) * 48;
  long tw = static_cast<long>(std::floor(f * w / 48)) * 48;
  if (th == 0) {
    th = 48;
    tw = std::min(static_cast<long>(std::floor(static_cast<double>(w) / h)) * 48,
                  static_cast<long>(max_patches / 9) * 48);
  } else if (tw == 0) {
    tw = 48;
    th = std::min(static_cast<long>(std::floor(static_cast<double>(h) / w)) * 48,
                  static_cast<long>(max_patches / 9) * 48);
  }
  return {static_cast<int>(tw), static_cast<int>(th)};
}

TEST(PreprocessTest, TargetSizesByHand) {
  struct Case {
    int w, h, s, tw, th;
  };
  // Worked by hand: 1000² at S=280: f = √(280·2304/10⁶) = 0.8032 → 16 patches a side.
  for (const Case& c : {Case{1000, 1000, 280, 768, 768}, Case{1000, 1000, 70, 384, 384},
                        Case{1024, 768, 280, 912, 672}, Case{10000, 1, 280, 13440, 48},
                        Case{1, 10000, 70, 48, 3360}, Case{1000, 10, 280, 8016, 48},
                        Case{144, 96, 6, 144, 96}}) {
    Result<ImageSize> size = TargetImageSize(c.w, c.h, c.s);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(size->width, c.tw) << c.w << "×" << c.h << " S=" << c.s;
    EXPECT_EQ(size->height, c.th) << c.w << "×" << c.h << " S=" << c.s;
  }
}

TEST(PreprocessTest, TargetSizesMatchTheSpecForManyAspects) {
  for (int s : {70, 140, 280, 560, 1120}) {
    ASSERT_TRUE(IsSoftTokenBudget(s));
    for (int w : {1, 2, 7, 47, 48, 49, 100, 333, 640, 1024, 1920, 4000, 16384}) {
      for (int h : {1, 3, 48, 97, 480, 768, 1080, 3000, 16384}) {
        const ImageSize want = ReferenceTargetSize(w, h, s);
        Result<ImageSize> got = TargetImageSize(w, h, s);
        ASSERT_TRUE(got.ok()) << w << "×" << h;
        EXPECT_EQ(got->width, want.width) << w << "×" << h << " S=" << s;
        EXPECT_EQ(got->height, want.height) << w << "×" << h << " S=" << s;
        const int tokens = (got->width / 48) * (got->height / 48);
        EXPECT_GE(tokens, 1);
        EXPECT_LE(tokens, s) << w << "×" << h;
      }
    }
  }
  EXPECT_FALSE(IsSoftTokenBudget(100));
  EXPECT_FALSE(TargetImageSize(0, 10, 280).ok());
}

// Pillow's antialiased bicubic (a = −0.5), evaluated directly in 2-D without rounding between
// the passes: out(y, x) = Σ_i Σ_j wy(y, i)·wx(x, j)·in(i, j).
std::vector<std::vector<double>> ReferenceWeights(int in, int out) {
  const double scale = static_cast<double>(in) / out;
  const double support_scale = scale > 1 ? scale : 1;
  std::vector<std::vector<double>> weights(out, std::vector<double>(in, 0.0));
  for (int o = 0; o < out; ++o) {
    const double center = (o + 0.5) * scale;
    double total = 0;
    for (int i = 0; i < in; ++i) {
      // Distance from the output center to input pixel i's center, in kernel units.
      const double x = std::abs((i + 0.5 - center) / support_scale);
      const double a = -0.5;
      double w = 0;
      if (x < 1) {
        w = (a + 2) * x * x * x - (a + 3) * x * x + 1;
      } else if (x < 2) {
        w = a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
      }
      weights[o][i] = w;
      total += w;
    }
    for (double& w : weights[o]) w /= total;
  }
  return weights;
}

std::vector<double> ReferenceResize(const Image& image, int width, int height) {
  const auto wx = ReferenceWeights(image.width, width);
  const auto wy = ReferenceWeights(image.height, height);
  std::vector<double> out(static_cast<size_t>(width) * height * 3, 0.0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (int i = 0; i < image.height; ++i) {
          if (wy[y][i] == 0) continue;
          for (int j = 0; j < image.width; ++j) {
            sum += wy[y][i] * wx[x][j] * image.rgb[(static_cast<size_t>(i) * image.width + j) * 3 + c];
          }
        }
        out[(static_cast<size_t>(y) * width + x) * 3 + c] = std::clamp(sum, 0.0, 255.0);
      }
    }
  }
  return out;
}

// Tolerance: snug (like Pillow) rounds to 8 bits after each pass. The horizontal rounding
// (≤ 0.5) passes through vertical weights whose absolute sum is at most ~1.3, then the final
// rounding adds 0.5: at most ~1.2 levels; the mean stays well under half a level. The image is
// smooth so no pass overshoots 0..255 (where the 8-bit intermediate clamps and the reference
// does not).
TEST(PreprocessTest, ResizeMatchesTheReference) {
  const Image image = samples::Smooth(97, 61);
  for (auto [w, h] : {std::pair{48, 48}, std::pair{30, 20}, std::pair{200, 150},
                      std::pair{97, 20}, std::pair{13, 61}, std::pair{144, 33}}) {
    const Image got = ResizeBicubic(image, w, h);
    const std::vector<double> want = ReferenceResize(image, w, h);
    ASSERT_EQ(got.rgb.size(), want.size());
    double worst = 0, total = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const double diff = std::abs(got.rgb[i] - want[i]);
      worst = std::max(worst, diff);
      total += diff;
    }
    EXPECT_LE(worst, 1.3) << w << "×" << h;
    EXPECT_LE(total / want.size(), 0.35) << w << "×" << h;
  }
}

TEST(PreprocessTest, DownscalingIsAntialiased) {
  // A one-pixel checkerboard shrunk 8×: the antialiased kernel averages it to mid-gray; a plain
  // 4-tap bicubic would sample it and alias to near black or white.
  Image board;
  board.width = board.height = 256;
  board.rgb.resize(256 * 256 * 3);
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 256; ++x) {
      for (int c = 0; c < 3; ++c) board.rgb[(y * 256 + x) * 3 + c] = (x + y) % 2 ? 255 : 0;
    }
  }
  const Image small = ResizeBicubic(board, 32, 32);
  for (uint8_t v : small.rgb) ASSERT_NEAR(v, 127.5, 2.0);
}

TEST(PreprocessTest, PatchOrderAndLayoutAreExact) {
  // 144×96 at S = 6 is already the target size (3 × 2 patches): no resize, so every value can
  // be checked against the source pixel it must come from.
  const Image image = samples::Gradient(144, 96);
  Result<PatchGrid> grid = PreprocessImage(image, 6);
  ASSERT_TRUE(grid.ok());
  EXPECT_EQ(grid->rows, 2);
  EXPECT_EQ(grid->cols, 3);
  EXPECT_EQ(grid->soft_tokens(), 6);
  EXPECT_EQ(grid->patch_values(), 6912);
  ASSERT_EQ(grid->values.size(), 6u * 6912);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) {
      const float* patch = &grid->values[(r * 3 + c) * 6912];  // raster order
      for (int y = 0; y < 48; ++y) {
        for (int x = 0; x < 48; ++x) {
          for (int ch = 0; ch < 3; ++ch) {
            const uint8_t source = image.rgb[((r * 48 + y) * 144 + c * 48 + x) * 3 + ch];
            ASSERT_EQ(patch[(y * 48 + x) * 3 + ch], source / 255.0f) << r << c << y << x << ch;
          }
        }
      }
    }
  }
}

TEST(PreprocessTest, SoftTokenCountsForExtremeAspects) {
  for (auto [w, h, s, tokens] : {std::tuple{1, 5000, 280, 280}, std::tuple{5000, 1, 70, 70},
                                 std::tuple{640, 480, 280, 266}, std::tuple{640, 480, 70, 63},
                                 std::tuple{3, 3, 1120, 1089}}) {
    Result<PatchGrid> grid = PreprocessImage(samples::Gradient(w, h), s);
    ASSERT_TRUE(grid.ok()) << grid.status().ToString();
    EXPECT_EQ(grid->soft_tokens(), tokens) << w << "×" << h << " S=" << s;
    EXPECT_EQ(grid->values.size(), static_cast<size_t>(tokens) * 6912);
    for (float v : grid->values) ASSERT_TRUE(v >= 0 && v <= 1);
  }
}

TEST(PreprocessTest, LoadImageHashesBytesAndBudget) {
  const samples::Bytes png = samples::EncodePng(samples::Gradient(100, 80));
  Result<PatchGrid> a = LoadImage(png, 70);
  Result<PatchGrid> b = LoadImage(png, 70);
  Result<PatchGrid> c = LoadImage(png, 280);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_NE(a->hash, 0u);
  EXPECT_EQ(a->hash, b->hash);
  EXPECT_NE(a->hash, c->hash);
  samples::Bytes other = samples::EncodePng(samples::Gradient(100, 81));
  EXPECT_NE(LoadImage(other, 70)->hash, a->hash);
}

TEST(PreprocessTest, SipHashReferenceVector) {
  // The SipHash-2-4 paper's vector: key 00..0f, message 00..0e.
  uint64_t k0 = 0, k1 = 0;
  for (int i = 0; i < 8; ++i) k0 |= static_cast<uint64_t>(i) << (8 * i);
  for (int i = 0; i < 8; ++i) k1 |= static_cast<uint64_t>(i + 8) << (8 * i);
  std::vector<uint8_t> message(15);
  for (int i = 0; i < 15; ++i) message[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(MediaHasher(k0, k1).Add(message).Finish(), 0xa129ca6149be45e5ull);
  // Streaming in pieces gives the same hash.
  EXPECT_EQ(MediaHasher(k0, k1)
                .Add(std::span(message).first(3))
                .Add(std::span(message).subspan(3))
                .Finish(),
            0xa129ca6149be45e5ull);
}

TEST(PreprocessTest, AudioFramesAreZeroPadded) {
  Audio audio{16000, std::vector<float>(1000, 0.25f)};
  Result<AudioFrames> frames = PreprocessAudio(audio);
  ASSERT_TRUE(frames.ok());
  EXPECT_EQ(frames->frames, 2);
  EXPECT_EQ(frames->frame_samples, 640);
  EXPECT_EQ(frames->soft_tokens(), 2);
  ASSERT_EQ(frames->samples.size(), 1280u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(frames->samples[i], 0.25f);
  for (int i = 1000; i < 1280; ++i) ASSERT_EQ(frames->samples[i], 0.0f);
  audio.samples.assign(640, 0.0f);
  EXPECT_EQ(PreprocessAudio(audio)->frames, 1);
  // 1 s at 44.1 kHz becomes exactly 16000 samples: 25 frames.
  EXPECT_EQ(PreprocessAudio(Audio{44100, std::vector<float>(44100, 0.0f)})->frames, 25);
}

}  // namespace
}  // namespace snug::media
