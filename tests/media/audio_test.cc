// Audio decoding (WAV written here; FLAC, Ogg Vorbis and MP3 written through libsndfile),
// downmixing, the duration bound, hostile input, and the resampler against a direct
// double-precision windowed sinc plus its frequency response.

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <sndfile.h>

#include "media/audio.h"
#include "media/preprocess.h"
#include "sample_media.h"

namespace snug::media {
namespace {

using samples::Bytes;

std::vector<double> Tone(double hz, int rate, int count, double amplitude = 0.5) {
  std::vector<double> out(count);
  for (int i = 0; i < count; ++i) out[i] = amplitude * std::sin(2 * std::numbers::pi * hz * i / rate);
  return out;
}

TEST(AudioTest, WavSampleTypes) {
  const std::vector<double> tone = Tone(440, 8000, 800);
  struct Case {
    int format, bits;
    double tolerance;
  };
  for (const Case& c : {Case{1, 8, 1.0 / 100}, Case{1, 16, 1e-4}, Case{1, 24, 1e-6},
                        Case{1, 32, 1e-6}, Case{3, 32, 1e-7}}) {
    Result<Audio> audio = DecodeAudio(samples::EncodeWav(tone, 1, 8000, c.format, c.bits));
    ASSERT_TRUE(audio.ok()) << c.bits << ": " << audio.status().ToString();
    EXPECT_EQ(audio->sample_rate, 8000);
    ASSERT_EQ(audio->samples.size(), tone.size());
    for (size_t i = 0; i < tone.size(); ++i) ASSERT_NEAR(audio->samples[i], tone[i], c.tolerance) << c.bits;
  }
}

TEST(AudioTest, StereoIsDownmixedByTheMean) {
  std::vector<double> stereo;
  for (int i = 0; i < 100; ++i) stereo.insert(stereo.end(), {0.5, -0.25});
  Result<Audio> audio = DecodeAudio(samples::EncodeWav(stereo, 2, 16000, 3, 32));
  ASSERT_TRUE(audio.ok());
  ASSERT_EQ(audio->samples.size(), 100u);
  EXPECT_FLOAT_EQ(audio->samples[7], 0.125f);
}

TEST(AudioTest, CompressedFormatsThroughLibsndfile) {
  std::vector<float> tone(16000);
  for (int i = 0; i < 16000; ++i) tone[i] = 0.5f * std::sin(2 * std::numbers::pi * 440 * i / 16000);
  for (int format : {SF_FORMAT_FLAC | SF_FORMAT_PCM_16, SF_FORMAT_AIFF | SF_FORMAT_PCM_24,
                     SF_FORMAT_WAVEX | SF_FORMAT_PCM_24,
                     SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III}) {
    const Bytes file = samples::EncodeWithSndfile(tone, 16000, format);
    ASSERT_FALSE(file.empty()) << std::hex << format << ": this libsndfile cannot write it";
    Result<Audio> audio = DecodeAudio(file);
    ASSERT_TRUE(audio.ok()) << std::hex << format << ": " << audio.status().ToString();
    // Lossy codecs add delay and padding; the length is about right and the energy kept.
    EXPECT_NEAR(static_cast<double>(audio->samples.size()), 16000, 2000) << std::hex << format;
    double energy = 0;
    for (float s : audio->samples) energy += s * s;
    EXPECT_NEAR(std::sqrt(energy / audio->samples.size()), 0.5 / std::sqrt(2), 0.05);
  }
}

TEST(AudioTest, OggAndUnknownContainersAreRefused) {
  const Bytes ogg = samples::EncodeWithSndfile(std::vector<float>(1600, 0.1f), 16000,
                                               SF_FORMAT_OGG | SF_FORMAT_VORBIS);
  ASSERT_FALSE(ogg.empty());
  EXPECT_NE(DecodeAudio(ogg).status().message().find("Ogg files are not accepted"),
            std::string::npos);
  // A Sun .au file: libsndfile would read it, snug does not hand it over.
  const Bytes au = samples::EncodeWithSndfile(std::vector<float>(1600, 0.1f), 16000,
                                              SF_FORMAT_AU | SF_FORMAT_PCM_16);
  ASSERT_FALSE(au.empty());
  EXPECT_NE(DecodeAudio(au).status().message().find("not a WAV, FLAC, AIFF or MP3"),
            std::string::npos);
}

TEST(AudioTest, DurationIsBounded) {
  // 31 s at 8 kHz, 8-bit: refused from the header, naming both durations.
  Result<Audio> audio = DecodeAudio(samples::EncodeWav(std::vector<double>(31 * 8000), 1, 8000, 1, 8));
  ASSERT_FALSE(audio.ok());
  EXPECT_NE(audio.status().message().find("lasts 31.0 s; the limit is 30.0 s"), std::string::npos)
      << audio.status().message();
  EXPECT_TRUE(DecodeAudio(samples::EncodeWav(std::vector<double>(8000), 1, 8000, 1, 8),
                          {.max_seconds = 1.0}).ok());
  EXPECT_FALSE(DecodeAudio(samples::EncodeWav(std::vector<double>(8001), 1, 8000, 1, 8),
                           {.max_seconds = 1.0}).ok());
}

TEST(AudioTest, HostileInput) {
  EXPECT_NE(DecodeAudio({}).status().message().find("empty"), std::string::npos);
  const Bytes wav = samples::EncodeWav(Tone(440, 8000, 800), 1, 8000, 1, 16);
  EXPECT_FALSE(DecodeAudio(Bytes(wav.begin(), wav.begin() + 20)).ok());  // header cut
  Bytes wrong = wav;
  wrong[0] = 'X';
  EXPECT_FALSE(DecodeAudio(wrong).ok());
  std::vector<double> nan_samples(100, 0.1);
  nan_samples[42] = std::nan("");
  EXPECT_NE(DecodeAudio(samples::EncodeWav(nan_samples, 1, 8000, 3, 32))
                .status().message().find("sample 42 is not a finite number"),
            std::string::npos);
  Bytes rate = wav;  // sample rate 0 and 4 GHz
  rate[24] = rate[25] = rate[26] = rate[27] = 0;
  EXPECT_FALSE(DecodeAudio(rate).ok());
  rate[24] = rate[25] = rate[26] = rate[27] = 0xFF;
  EXPECT_FALSE(DecodeAudio(rate).ok());
  std::mt19937 random(3);
  for (const Bytes& file :
       {wav, samples::EncodeWithSndfile(std::vector<float>(4000, 0.1f), 16000,
                                        SF_FORMAT_FLAC | SF_FORMAT_PCM_16)}) {
    for (int trial = 0; trial < 300; ++trial) {
      Bytes corrupt = file;
      for (int flips = 1 + trial % 4; flips > 0; --flips) {
        corrupt[random() % corrupt.size()] = static_cast<uint8_t>(random());
      }
      Result<Audio> audio = DecodeAudio(corrupt);
      if (audio.ok()) {
        for (float s : audio->samples) ASSERT_TRUE(s >= -1 && s <= 1);
      }
    }
  }
}

// The resampler's definition evaluated directly: Kaiser-windowed sinc, β 8.6, 32 zero
// crossings, cutoff 0.92·min(1, to/from), sin and Bessel computed per tap in double precision.
std::vector<double> ReferenceResample(const std::vector<float>& x, int from, int to) {
  const double c = std::min(1.0, static_cast<double>(to) / from) * 0.92;
  const double half = 32 / c;
  const size_t count = (x.size() * to + from - 1) / from;
  std::vector<double> out(count);
  for (size_t n = 0; n < count; ++n) {
    const double t = static_cast<double>(n) * from / to;
    double sum = 0;
    for (size_t k = 0; k < x.size(); ++k) {
      const double d = t - static_cast<double>(k);
      if (std::abs(d) >= half) continue;
      const double u = c * d;
      const double sinc = u == 0 ? 1 : std::sin(std::numbers::pi * u) / (std::numbers::pi * u);
      const double r = d / half;
      const double window = std::cyl_bessel_i(0.0, 8.6 * std::sqrt(1 - r * r)) / std::cyl_bessel_i(0.0, 8.6);
      sum += x[k] * c * sinc * window;
    }
    out[n] = sum;
  }
  return out;
}

TEST(ResampleTest, MatchesTheDirectWindowedSinc) {
  std::mt19937 random(11);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  std::vector<float> noise(600);
  for (float& s : noise) s = uniform(random);
  for (auto [from, to] : {std::pair{44100, 16000}, std::pair{48000, 16000},
                          std::pair{8000, 16000}, std::pair{22050, 16000}, std::pair{16001, 16000},
                          std::pair{96001, 16000}}) {  // the last: too many phases, per-tap path
    const std::vector<float> got = Resample(noise, from, to);
    const std::vector<double> want = ReferenceResample(noise, from, to);
    ASSERT_EQ(got.size(), want.size()) << from;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
    EXPECT_LT(worst, 2e-5) << from << " → " << to;
  }
  EXPECT_EQ(Resample(noise, 16000, 16000), noise);
}

// Amplitude of frequency `hz` in x (a single-bin DFT over the middle, away from the edges).
double Amplitude(const std::vector<float>& x, double hz, int rate) {
  const size_t begin = x.size() / 4, end = x.size() * 3 / 4;
  double re = 0, im = 0;
  for (size_t i = begin; i < end; ++i) {
    re += x[i] * std::cos(2 * std::numbers::pi * hz * i / rate);
    im += x[i] * std::sin(2 * std::numbers::pi * hz * i / rate);
  }
  return 2 * std::hypot(re, im) / (end - begin);
}

std::vector<float> ToneF(double hz, int rate, int count) {
  std::vector<double> tone = Tone(hz, rate, count);
  return {tone.begin(), tone.end()};
}

TEST(ResampleTest, PassesTheBandAndStopsAliases) {
  // 1 kHz keeps its amplitude (0.5) from 44.1 and 48 kHz and from 8 kHz upwards.
  for (int from : {44100, 48000, 8000}) {
    const std::vector<float> out = Resample(ToneF(1000, from, from), from, 16000);
    EXPECT_NEAR(Amplitude(out, 1000, 16000), 0.5, 1e-3) << from;
  }
  // 12 kHz at 48 kHz would fold to 4 kHz at 16 kHz: the filter removes it (< −80 dB).
  const std::vector<float> alias = Resample(ToneF(12000, 48000, 48000), 48000, 16000);
  EXPECT_LT(Amplitude(alias, 4000, 16000), 0.5e-4);
  // 9 kHz at 44.1 kHz (just above the new Nyquist) would fold to 7 kHz.
  const std::vector<float> near = Resample(ToneF(9000, 44100, 44100), 44100, 16000);
  EXPECT_LT(Amplitude(near, 7000, 16000), 0.5e-3);
  // Upsampling 8 → 16 kHz: 1 kHz's image at 7 kHz is suppressed.
  const std::vector<float> up = Resample(ToneF(1000, 8000, 8000), 8000, 16000);
  EXPECT_LT(Amplitude(up, 7000, 16000), 0.5e-4);
}

TEST(AudioTest, LoadAudioFramesAt16k) {
  const Bytes wav = samples::EncodeWav(Tone(440, 48000, 48000), 1, 48000, 1, 16);
  Result<AudioFrames> frames = LoadAudio(wav);
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_EQ(frames->frames, 25);  // 1 s = 16000 samples = 25 × 640
  EXPECT_NE(frames->hash, 0u);
  EXPECT_EQ(LoadAudio(wav)->hash, frames->hash);
}

}  // namespace
}  // namespace snug::media
