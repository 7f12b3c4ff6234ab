// The cost of media input (issue 11), as one JSON object: decoding and preprocessing each image
// file given (ms, at every soft-token budget) and each audio file (decode, resample, frames),
// plus resampling 30 s of 48 kHz noise. A request pays this in its HTTP worker, before the
// engine sees it.
//   media_bench [FILE ...]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/image.h"
#include "media/preprocess.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<uint8_t> Read(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace snug::media;
  std::string json = "{\"files\": [";
  for (int i = 1; i < argc; ++i) {
    const std::vector<uint8_t> bytes = Read(argv[i]);
    if (i > 1) json += ", ";
    char line[512];
    if (SniffImageFormat(bytes) != ImageFormat::kUnknown) {
      auto start = Clock::now();
      snug::Result<Image> image = DecodeImage(bytes);
      const double decode_ms = Ms(start);
      if (!image.ok()) {
        std::fprintf(stderr, "%s: %s\n", argv[i], image.status().message().c_str());
        return 1;
      }
      std::snprintf(line, sizeof line, "{\"file\": \"%s\", \"width\": %d, \"height\": %d, "
                    "\"decode_ms\": %.1f, \"preprocess_ms\": {", argv[i], image->width,
                    image->height, decode_ms);
      json += line;
      bool first = true;
      for (int budget : {70, 280, 1120}) {
        start = Clock::now();
        snug::Result<PatchGrid> grid = PreprocessImage(*image, budget);
        std::snprintf(line, sizeof line, "%s\"%d\": %.1f", first ? "" : ", ", budget, Ms(start));
        json += line;
        first = false;
      }
      json += "}}";
    } else {
      auto start = Clock::now();
      snug::Result<Audio> audio = DecodeAudio(bytes);
      const double decode_ms = Ms(start);
      if (!audio.ok()) {
        std::fprintf(stderr, "%s: %s\n", argv[i], audio.status().message().c_str());
        return 1;
      }
      start = Clock::now();
      snug::Result<AudioFrames> frames = PreprocessAudio(*audio);
      std::snprintf(line, sizeof line, "{\"file\": \"%s\", \"seconds\": %.2f, \"rate\": %d, "
                    "\"decode_ms\": %.1f, \"resample_frames_ms\": %.1f, \"frames\": %d}",
                    argv[i], static_cast<double>(audio->samples.size()) / audio->sample_rate,
                    audio->sample_rate, decode_ms, Ms(start), frames->frames);
      json += line;
    }
  }
  std::vector<float> noise(30 * 48000);
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  for (float& s : noise) s = uniform(random);
  for (int from : {48000, 44100}) {
    const auto start = Clock::now();
    const std::vector<float> out = Resample(noise, from, 16000);
    char line[128];
    std::snprintf(line, sizeof line, "%s\"resample_30s_%d_ms\": %.1f", from == 48000 ? "], " : ", ",
                  from, Ms(start));
    json += line;
  }
  std::printf("%s}\n", json.c_str());
  return 0;
}
