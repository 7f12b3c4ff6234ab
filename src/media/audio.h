#pragma once
// Audio decoding through libsndfile (WAV PCM 8/16/24/32-bit and float, FLAC, AIFF, MP3; the
// container is recognised by its first bytes and only these reach libsndfile), downmixed to
// mono, and resampling to the model's rate. Duration is bounded from the header before decoding, and again while decoding
// (a header may lie). Framing for a model is preprocess.h's.

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"

namespace snug::media {

// Mono float samples in [-1, 1] at their own rate.
struct Audio {
  int sample_rate = 0;
  std::vector<float> samples;
};

struct AudioLimits {
  // Gemma 4's audio path was trained on clips up to 30 s (750 tokens of 40 ms).
  double max_seconds = 30;
  int max_channels = 32;
};

// Decodes and downmixes (the mean of the channels). Sample values beyond [-1, 1] (float files)
// are clamped. Errors name "audio: ..." and, for the limits, both numbers.
Result<Audio> DecodeAudio(std::span<const uint8_t> bytes, const AudioLimits& limits = {});

// Band-limited resampling by a Kaiser-windowed sinc (resample.cc documents the filter): the
// output has ceil(samples · to_rate / from_rate) samples, the first at the input's first instant.
std::vector<float> Resample(std::span<const float> samples, int from_rate, int to_rate);

}  // namespace snug::media
