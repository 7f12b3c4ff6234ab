// Images and audio clips from files for `snug run` (--image, --audio) and its chat (/image,
// /audio): read, decoded and preprocessed for the loaded model (media/), each one a chat part
// and the engine's input for it.
#pragma once

#include <string>

#include "base/status.h"
#include "engine/engine.h"
#include "tokenizer/chat_format.h"

namespace snug::cli {

enum class MediaKind { kImage, kAudio };

struct MediaFile {
  MediaInput input;          // for engine::Request::media
  tokenizer::ChatPart part;  // its place in the message (type and soft tokens)
};

// `image_tokens`: the soft-token budget of an image (70, 140, 280, 560 or 1120). Errors name
// the file: the model takes no such media, the file cannot be read or decoded, the image is
// larger than the engine takes.
Result<MediaFile> LoadMediaFile(const std::string& path, MediaKind kind,
                                const MediaSupport& support, int image_tokens);

}  // namespace snug::cli
