// Audio decoding through libsndfile's virtual I/O over the bytes in memory. The header's frame
// count, rate and channel count are checked before any sample is read; samples are then read
// in blocks and downmixed at once, so memory holds only the mono result.

#include "media/audio.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <sndfile.h>

namespace snug::media {
namespace {

constexpr int kMinRate = 1000;
constexpr int kMaxRate = 384000;
constexpr sf_count_t kBlockFrames = 4096;

struct Reader {
  std::span<const uint8_t> bytes;
  sf_count_t offset = 0;
};

sf_count_t Length(void* user) { return static_cast<Reader*>(user)->bytes.size(); }

sf_count_t Seek(sf_count_t offset, int whence, void* user) {
  auto* reader = static_cast<Reader*>(user);
  const sf_count_t size = static_cast<sf_count_t>(reader->bytes.size());
  sf_count_t target = offset;
  if (whence == SEEK_CUR) target = reader->offset + offset;
  if (whence == SEEK_END) target = size + offset;
  if (target < 0 || target > size) return -1;
  reader->offset = target;
  return target;
}

sf_count_t Read(void* out, sf_count_t count, void* user) {
  auto* reader = static_cast<Reader*>(user);
  const sf_count_t size = static_cast<sf_count_t>(reader->bytes.size());
  const sf_count_t n = std::clamp<sf_count_t>(size - reader->offset, 0, std::max<sf_count_t>(count, 0));
  std::memcpy(out, reader->bytes.data() + reader->offset, n);
  reader->offset += n;
  return n;
}

sf_count_t Write(const void*, sf_count_t, void*) { return 0; }

bool StartsWith(std::span<const uint8_t> bytes, size_t offset, std::string_view magic) {
  return bytes.size() >= offset + magic.size() &&
         std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

// libsndfile reads dozens of containers; only these are handed to it (each is also its major
// format after opening). Ogg is refused: Debian 12's libsndfile 1.2.0 leaks ~5.7 KB on each
// malformed Ogg Vorbis file (found by fuzz/audio_fuzz), which a server cannot afford.
int AllowedMajorFormat(std::span<const uint8_t> bytes) {
  if (StartsWith(bytes, 0, "RIFF") && StartsWith(bytes, 8, "WAVE")) return SF_FORMAT_WAV;
  if (StartsWith(bytes, 0, "fLaC")) return SF_FORMAT_FLAC;
  if (StartsWith(bytes, 0, "FORM") && (StartsWith(bytes, 8, "AIFF") || StartsWith(bytes, 8, "AIFC"))) {
    return SF_FORMAT_AIFF;
  }
  // MP3: an ID3v2 tag, or an MPEG audio frame sync (11 set bits).
  if (StartsWith(bytes, 0, "ID3") ||
      (bytes.size() >= 2 && bytes[0] == 0xFF && (bytes[1] & 0xE0) == 0xE0)) {
    return SF_FORMAT_MPEG;
  }
  return 0;
}

sf_count_t Tell(void* user) { return static_cast<Reader*>(user)->offset; }

struct CloseFile {
  void operator()(SNDFILE* file) const { sf_close(file); }
};

std::string Seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f s", seconds);
  return text;
}

}  // namespace

Result<Audio> DecodeAudio(std::span<const uint8_t> bytes, const AudioLimits& limits) {
  if (bytes.empty()) return InvalidArgument("audio: the data is empty");
  const int major_format = AllowedMajorFormat(bytes);
  if (major_format == 0) {
    return InvalidArgument(StartsWith(bytes, 0, "OggS")
                               ? "audio: Ogg files are not accepted; send WAV, FLAC or MP3"
                               : "audio: not a WAV, FLAC, AIFF or MP3 file (unrecognised first "
                                 "bytes)");
  }
  Reader reader{bytes};
  SF_VIRTUAL_IO io{Length, Seek, Read, Write, Tell};
  SF_INFO info{};
  std::unique_ptr<SNDFILE, CloseFile> file(sf_open_virtual(&io, SFM_READ, &info, &reader));
  if (file == nullptr) {
    return InvalidArgument(std::string("audio: not a readable audio file (libsndfile: ") +
                           sf_strerror(nullptr) + ")");
  }
  // WAVE_FORMAT_EXTENSIBLE (what sox writes for 24-bit or multichannel) is libsndfile's WAVEX.
  const int opened_format = info.format & SF_FORMAT_TYPEMASK;
  if (opened_format != major_format &&
      !(major_format == SF_FORMAT_WAV && opened_format == SF_FORMAT_WAVEX)) {
    return InvalidArgument("audio: the file's contents do not match its first bytes");
  }
  if (info.samplerate < kMinRate || info.samplerate > kMaxRate) {
    return InvalidArgument("audio: the sample rate " + std::to_string(info.samplerate) +
                           " Hz is outside " + std::to_string(kMinRate) + "–" +
                           std::to_string(kMaxRate) + " Hz");
  }
  if (info.channels < 1 || info.channels > limits.max_channels) {
    return InvalidArgument("audio: " + std::to_string(info.channels) +
                           " channels; the limit is " + std::to_string(limits.max_channels));
  }
  const sf_count_t max_frames = static_cast<sf_count_t>(limits.max_seconds * info.samplerate);
  auto too_long = [&](double seconds) {
    return InvalidArgument("audio: the clip lasts " + Seconds(seconds) + "; the limit is " +
                           Seconds(limits.max_seconds));
  };
  // An unknown length (streams) shows as 0 or SF_COUNT_MAX; then only the read loop bounds it.
  if (info.frames > max_frames && info.frames != SF_COUNT_MAX) {
    return too_long(static_cast<double>(info.frames) / info.samplerate);
  }

  Audio audio;
  audio.sample_rate = info.samplerate;
  if (info.frames > 0 && info.frames != SF_COUNT_MAX) audio.samples.reserve(info.frames);
  std::vector<float> block(static_cast<size_t>(kBlockFrames) * info.channels);
  for (;;) {
    const sf_count_t got = sf_readf_float(file.get(), block.data(), kBlockFrames);
    if (got <= 0) break;
    if (static_cast<sf_count_t>(audio.samples.size()) + got > max_frames) {
      return too_long(static_cast<double>(audio.samples.size() + got) / info.samplerate);
    }
    for (sf_count_t frame = 0; frame < got; ++frame) {
      float sum = 0;
      for (int channel = 0; channel < info.channels; ++channel) {
        sum += block[frame * info.channels + channel];
      }
      // Float files can hold NaN or infinities, which no model input may.
      if (!std::isfinite(sum)) {
        return InvalidArgument("audio: sample " + std::to_string(audio.samples.size()) +
                               " is not a finite number");
      }
      audio.samples.push_back(std::clamp(sum / info.channels, -1.0f, 1.0f));
    }
  }
  if (sf_error(file.get()) != SF_ERR_NO_ERROR) {
    return InvalidArgument(std::string("audio: the data is corrupt (libsndfile: ") +
                           sf_strerror(file.get()) + ")");
  }
  if (audio.samples.empty()) return InvalidArgument("audio: the clip has no samples");
  return audio;
}

}  // namespace snug::media
