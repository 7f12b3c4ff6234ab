// libFuzzer target for the audio decoder (media/audio.h, libsndfile) and the framing after it:
// any input ends in an error or mono samples in [-1, 1] within the duration limit, resampled to
// 16 kHz frames. Seeds: WAV of each sample type, stereo, FLAC, AIFF and MP3.
#include <sndfile.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/preprocess.h"
#include "sample_media.h"
#include "seeds.h"

namespace {

namespace samples = snug::media::samples;

std::vector<std::string> Seeds() {
  std::vector<double> tone(400);
  for (size_t i = 0; i < tone.size(); ++i) tone[i] = 0.4 * std::sin(i * 0.3);
  const std::vector<float> mono(tone.begin(), tone.end());
  std::vector<samples::Bytes> files = {
      samples::EncodeWav(tone, 1, 8000, 1, 8),  samples::EncodeWav(tone, 1, 16000, 1, 16),
      samples::EncodeWav(tone, 2, 22050, 1, 24), samples::EncodeWav(tone, 1, 44100, 1, 32),
      samples::EncodeWav(tone, 4, 48000, 3, 32),
      samples::EncodeWithSndfile(mono, 16000, SF_FORMAT_FLAC | SF_FORMAT_PCM_16),
      samples::EncodeWithSndfile(mono, 11025, SF_FORMAT_AIFF | SF_FORMAT_PCM_16),
      samples::EncodeWithSndfile(mono, 16000, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III),
  };
  std::vector<std::string> seeds;
  for (const samples::Bytes& file : files) {
    if (!file.empty()) seeds.emplace_back(file.begin(), file.end());
  }
  return seeds;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snug::fuzz::WriteSeedsIfAsked(Seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 2 s keeps each run fast; the checks are the server's.
  const snug::media::AudioLimits limits{.max_seconds = 2, .max_channels = 8};
  snug::Result<snug::media::Audio> audio = snug::media::DecodeAudio({data, size}, limits);
  if (!audio.ok()) return 0;
  if (audio->samples.size() > static_cast<size_t>(2 * audio->sample_rate)) __builtin_trap();
  for (float s : audio->samples) {
    if (!(s >= -1 && s <= 1)) __builtin_trap();
  }
  snug::Result<snug::media::AudioFrames> frames = snug::media::PreprocessAudio(*audio);
  if (!frames.ok() || frames->samples.size() % 640 != 0) __builtin_trap();
  return 0;
}
