#include "cli/media_files.h"

#include <fstream>
#include <iterator>
#include <vector>

#include "media/preprocess.h"

namespace snug::cli {
namespace {

// A file larger than this is no picture or voice note snug should decode.
constexpr std::streamoff kMaxFileBytes = 256 << 20;

Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return NotFound("cannot open '" + path + "'");
  const std::streamoff size = file.tellg();
  if (size > kMaxFileBytes) {
    return InvalidArgument("'" + path + "' is " + std::to_string(size) +
                           " bytes; the limit is " + std::to_string(kMaxFileBytes));
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  file.seekg(0);
  if (!file.read(reinterpret_cast<char*>(bytes.data()), size)) {
    return DataLoss("cannot read '" + path + "'");
  }
  return bytes;
}

}  // namespace

Result<MediaFile> LoadMediaFile(const std::string& path, MediaKind kind,
                                const MediaSupport& support, int image_tokens) {
  const bool image = kind == MediaKind::kImage;
  if (image ? !support.images() : !support.audio()) {
    return InvalidArgument(std::string("this model takes no ") + (image ? "images" : "audio") +
                           " (it has no " + (image ? "image" : "audio") + " input path): '" +
                           path + "'");
  }
  ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadFile(path));
  auto named = [&](const Status& status) {
    return Status(status.code(), "'" + path + "': " + status.message());
  };
  MediaFile file;
  if (image) {
    Result<media::PatchGrid> grid =
        media::LoadImage(bytes, image_tokens, media::ImageLimits{}, support.image_patch_px);
    if (!grid.ok()) return named(grid.status());
    if (grid->soft_tokens() > support.max_image_tokens) {
      return InvalidArgument("'" + path + "' takes " + std::to_string(grid->soft_tokens()) +
                             " soft tokens; the engine takes at most " +
                             std::to_string(support.max_image_tokens) +
                             " per image (raise --batch-tokens, or lower --image-tokens)");
    }
    file.part = {.type = tokenizer::ChatPartType::kImage, .soft_tokens = grid->soft_tokens()};
    file.input = std::move(*grid);
  } else {
    Result<media::AudioFrames> frames =
        media::LoadAudio(bytes, media::AudioLimits{}, support.audio_frame_samples);
    if (!frames.ok()) return named(frames.status());
    file.part = {.type = tokenizer::ChatPartType::kAudio, .soft_tokens = frames->soft_tokens()};
    file.input = std::move(*frames);
  }
  return file;
}

}  // namespace snug::cli
