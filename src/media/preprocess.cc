// Image and audio preprocessing (preprocess.h); the resize follows Pillow's
// libImaging/Resample.c (precompute_coeffs, ImagingResampleHorizontal/Vertical_8bpc).

#include "media/preprocess.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "media/hash.h"

namespace snug::media {
namespace {

double CubicKernel(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

// For each output index: the first input index, and the normalised weights of the inputs.
struct Coefficients {
  std::vector<int> first;
  std::vector<int> count;
  int taps = 0;                 // weights per output index (the row stride of `weights`)
  std::vector<double> weights;  // [out_size, taps]
};

Coefficients Precompute(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);  // widen the kernel when downscaling
  const double support = 2.0 * filter_scale;
  Coefficients c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.taps, 0.0);
  for (int out = 0; out < out_size; ++out) {
    const double center = (out + 0.5) * scale;
    const int first = std::max(static_cast<int>(center - support + 0.5), 0);
    const int last = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int count = std::min(last - first, c.taps);
    double* w = &c.weights[static_cast<size_t>(out) * c.taps];
    double total = 0;
    for (int i = 0; i < count; ++i) {
      w[i] = CubicKernel((i + first - center + 0.5) / filter_scale);
      total += w[i];
    }
    if (total != 0) {
      for (int i = 0; i < count; ++i) w[i] /= total;
    }
    c.first[out] = first;
    c.count[out] = count;
  }
  return c;
}

uint8_t RoundToByte(double value) {
  // Round half up, clamped (Pillow adds half and shifts, then clips).
  if (!(value > 0)) return 0;
  if (value >= 254.5) return 255;
  return static_cast<uint8_t>(value + 0.5);
}

// Horizontal pass: each output pixel of a row is a weighted sum of neighbouring input pixels of
// that row, the three channels at once. `in` is [height][width][3].
Image ResizeHorizontal(const Image& in, int out_width) {
  const Coefficients c = Precompute(in.width, out_width);
  Image out;
  out.width = out_width;
  out.height = in.height;
  out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y) {
    const uint8_t* row = &in.rgb[static_cast<size_t>(y) * in.width * 3];
    uint8_t* out_row = &out.rgb[static_cast<size_t>(y) * out.width * 3];
    for (int x = 0; x < out.width; ++x) {
      const double* w = &c.weights[static_cast<size_t>(x) * c.taps];
      const uint8_t* source = row + static_cast<size_t>(c.first[x]) * 3;
      double r = 0, g = 0, b = 0;
      for (int i = 0; i < c.count[x]; ++i) {
        r += w[i] * source[i * 3];
        g += w[i] * source[i * 3 + 1];
        b += w[i] * source[i * 3 + 2];
      }
      out_row[x * 3] = RoundToByte(r);
      out_row[x * 3 + 1] = RoundToByte(g);
      out_row[x * 3 + 2] = RoundToByte(b);
    }
  }
  return out;
}

// Vertical pass: each output row is a weighted sum of whole input rows (contiguous, so the
// inner loop runs along the row). `sums` is one row of accumulators.
Image ResizeVertical(const Image& in, int out_height) {
  const Coefficients c = Precompute(in.height, out_height);
  Image out;
  out.width = in.width;
  out.height = out_height;
  const size_t row_values = static_cast<size_t>(in.width) * 3;
  out.rgb.resize(row_values * out.height);
  std::vector<double> sums(row_values);
  for (int y = 0; y < out.height; ++y) {
    std::fill(sums.begin(), sums.end(), 0.0);
    const double* w = &c.weights[static_cast<size_t>(y) * c.taps];
    for (int i = 0; i < c.count[y]; ++i) {
      const uint8_t* row = &in.rgb[static_cast<size_t>(c.first[y] + i) * row_values];
      for (size_t v = 0; v < row_values; ++v) sums[v] += w[i] * row[v];
    }
    uint8_t* out_row = &out.rgb[static_cast<size_t>(y) * row_values];
    for (size_t v = 0; v < row_values; ++v) out_row[v] = RoundToByte(sums[v]);
  }
  return out;
}

}  // namespace

bool IsSoftTokenBudget(int max_soft_tokens) {
  return max_soft_tokens == 70 || max_soft_tokens == 140 || max_soft_tokens == 280 ||
         max_soft_tokens == 560 || max_soft_tokens == 1120;
}

Result<ImageSize> TargetImageSize(int width, int height, int max_soft_tokens, int patch_px) {
  if (width <= 0 || height <= 0) return InvalidArgument("image: empty image");
  if (max_soft_tokens <= 0) return InvalidArgument("image: the soft-token budget must be > 0");
  const double p = patch_px;
  const double f = std::sqrt(max_soft_tokens * p * p / (static_cast<double>(height) * width));
  int64_t th = static_cast<int64_t>(std::floor(f * height / p)) * patch_px;
  int64_t tw = static_cast<int64_t>(std::floor(f * width / p)) * patch_px;
  if (th == 0 && tw == 0) {
    return InvalidArgument("image: " + std::to_string(width) + "×" + std::to_string(height) +
                           " resizes to no patch");
  }
  const int64_t longest = static_cast<int64_t>(max_soft_tokens) * patch_px;
  if (th == 0) {
    th = patch_px;
    tw = std::min<int64_t>(static_cast<int64_t>(width / height) * patch_px, longest);
  } else if (tw == 0) {
    tw = patch_px;
    th = std::min<int64_t>(static_cast<int64_t>(height / width) * patch_px, longest);
  }
  return ImageSize{static_cast<int>(tw), static_cast<int>(th)};
}

Image ResizeBicubic(const Image& image, int width, int height) {
  CHECK(width > 0 && height > 0 && image.width > 0 && image.height > 0);
  // As Pillow: a pass runs only when its size changes (at scale 1 it is the identity anyway).
  if (width == image.width && height == image.height) return image;
  if (height == image.height) return ResizeHorizontal(image, width);
  if (width == image.width) return ResizeVertical(image, height);
  return ResizeVertical(ResizeHorizontal(image, width), height);
}

Result<PatchGrid> PreprocessImage(const Image& image, int max_soft_tokens, int patch_px) {
  ASSIGN_OR_RETURN(const ImageSize size,
                   TargetImageSize(image.width, image.height, max_soft_tokens, patch_px));
  const Image resized = ResizeBicubic(image, size.width, size.height);
  PatchGrid grid;
  grid.rows = size.height / patch_px;
  grid.cols = size.width / patch_px;
  grid.patch_px = patch_px;
  grid.values.resize(static_cast<size_t>(grid.rows) * grid.cols * grid.patch_values());
  float* out = grid.values.data();
  for (int r = 0; r < grid.rows; ++r) {
    for (int c = 0; c < grid.cols; ++c) {
      for (int y = 0; y < patch_px; ++y) {
        const uint8_t* row =
            &resized.rgb[(static_cast<size_t>(r * patch_px + y) * resized.width + c * patch_px) * 3];
        for (int i = 0; i < patch_px * 3; ++i) *out++ = row[i] / 255.0f;
      }
    }
  }
  return grid;
}

Result<AudioFrames> PreprocessAudio(const Audio& audio, int frame_samples) {
  if (audio.samples.empty()) return InvalidArgument("audio: the clip has no samples");
  CHECK(frame_samples > 0);
  std::vector<float> samples = Resample(audio.samples, audio.sample_rate, kAudioSampleRate);
  AudioFrames frames;
  frames.frame_samples = frame_samples;
  frames.frames = static_cast<int>((samples.size() + frame_samples - 1) / frame_samples);
  samples.resize(static_cast<size_t>(frames.frames) * frame_samples, 0.0f);
  for (float& sample : samples) sample = std::clamp(sample, -1.0f, 1.0f);  // filter overshoot
  frames.samples = std::move(samples);
  return frames;
}

Result<PatchGrid> LoadImage(std::span<const uint8_t> bytes, int max_soft_tokens,
                            const ImageLimits& limits, int patch_px) {
  ASSIGN_OR_RETURN(const Image image, DecodeImage(bytes, limits));
  ASSIGN_OR_RETURN(PatchGrid grid, PreprocessImage(image, max_soft_tokens, patch_px));
  grid.hash = MediaHasher().Add(bytes).Add(max_soft_tokens).Add(grid.patch_px).Finish();
  return grid;
}

Result<AudioFrames> LoadAudio(std::span<const uint8_t> bytes, const AudioLimits& limits,
                              int frame_samples) {
  ASSIGN_OR_RETURN(const Audio audio, DecodeAudio(bytes, limits));
  ASSIGN_OR_RETURN(AudioFrames frames, PreprocessAudio(audio, frame_samples));
  frames.hash = MediaHasher().Add(bytes).Add(kAudioSampleRate).Add(frames.frame_samples).Finish();
  return frames;
}

}  // namespace snug::media
