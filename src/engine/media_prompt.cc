// Media in a prompt (media_prompt.h): placeholder runs matched to the request's items in order,
// each checked against the model, and the prefix cache's keys for their positions.
#include "engine/media_prompt.h"

#include <string>

#include "engine/chat.h"

namespace snug {
namespace {

uint64_t Hash(const MediaInput& item) {
  return std::visit([](const auto& media) { return media.hash; }, item);
}

// splitmix64's finalizer: every bit of the input moves about half the output bits.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

MediaTokens MediaTokensOf(const ModelSpec& spec, const tokenizer::Tokenizer& tokenizer) {
  MediaTokens tokens;
  Result<tokenizer::ChatFormat> format = ChatFormatFor(spec);
  if (!format.ok()) return tokens;
  const tokenizer::MediaMarkup markup = tokenizer::MediaMarkupOf(*format);
  const auto find = [&](std::string_view text) -> int32_t {
    if (text.empty()) return -1;
    const tokenizer::TokenId id = tokenizer.Find(text);
    return id == tokenizer::kNoToken ? -1 : id;
  };
  if (spec.media.images()) {
    tokens.image = find(markup.image);
    tokens.image_end = find(markup.image_end);
  }
  if (spec.media.audio()) {
    tokens.audio = find(markup.audio);
    tokens.audio_end = find(markup.audio_end);
  }
  return tokens;
}

Result<std::vector<MediaSpan>> LocateMedia(std::span<const int32_t> prompt,
                                           std::span<const MediaInput> media,
                                           const MediaTokens& tokens, const MediaSpec& spec,
                                           const MediaSupport& support) {
  // The k-th image (audio clip) of the request, by its index in `media`.
  std::vector<int> images, clips;
  for (int i = 0; i < static_cast<int>(media.size()); ++i) {
    (std::holds_alternative<media::PatchGrid>(media[i]) ? images : clips).push_back(i);
  }
  if (!images.empty() && !support.images()) {
    return InvalidArgument("engine: the model takes no images");
  }
  if (!clips.empty() && !support.audio()) {
    return InvalidArgument("engine: the model takes no audio");
  }
  if ((!images.empty() && tokens.image < 0) || (!clips.empty() && tokens.audio < 0)) {
    return InvalidArgument("engine: the model's vocabulary has no media placeholder token");
  }
  std::vector<MediaSpan> spans;
  int next_image = 0, next_clip = 0;
  const int size = static_cast<int>(prompt.size());
  for (int i = 0; i < size;) {
    const bool image = tokens.image >= 0 && prompt[i] == tokens.image;
    const bool audio = tokens.audio >= 0 && prompt[i] == tokens.audio;
    if (!image && !audio) {
      ++i;
      continue;
    }
    int end = i;
    while (end < size && prompt[end] == prompt[i]) ++end;
    const std::vector<int>& items = image ? images : clips;
    int& next = image ? next_image : next_clip;
    const char* kind = image ? "image" : "audio clip";
    if (next >= static_cast<int>(items.size())) {
      return InvalidArgument("engine: the prompt holds more " + std::string(kind) +
                             " placeholders than the request has " + kind + "s (" +
                             std::to_string(items.size()) + ")");
    }
    const int item = items[next++];
    const int soft_tokens = std::visit([](const auto& m) { return m.soft_tokens(); }, media[item]);
    const std::string name = std::string(kind) + " " + std::to_string(next);
    if (soft_tokens != end - i) {
      return InvalidArgument("engine: " + name + " has " + std::to_string(soft_tokens) +
                             " soft tokens but its placeholder run in the prompt has " +
                             std::to_string(end - i));
    }
    if (image) {
      const media::PatchGrid& grid = std::get<media::PatchGrid>(media[item]);
      if (grid.soft_tokens() > support.max_image_tokens) {
        return InvalidArgument("engine: " + name + " has " + std::to_string(grid.soft_tokens()) +
                               " soft tokens; this server takes at most " +
                               std::to_string(support.max_image_tokens) +
                               " per image (--max-image-tokens)");
      }
      if (grid.patch_px != spec.image_patch_px || grid.rows < 1 || grid.cols < 1 ||
          grid.rows > spec.image_positions || grid.cols > spec.image_positions ||
          grid.values.size() != static_cast<size_t>(grid.soft_tokens()) * grid.patch_values()) {
        return InvalidArgument("engine: " + name + " is not a grid of " +
                               std::to_string(spec.image_patch_px) + "-px patches of at most " +
                               std::to_string(spec.image_positions) + " rows and columns");
      }
    } else {
      const media::AudioFrames& clip = std::get<media::AudioFrames>(media[item]);
      if (clip.frame_samples != spec.audio_frame_samples || clip.frames < 1 ||
          clip.samples.size() != static_cast<size_t>(clip.frames) * clip.frame_samples) {
        return InvalidArgument("engine: " + name + " is not frames of " +
                               std::to_string(spec.audio_frame_samples) + " samples");
      }
    }
    spans.push_back({.first_token = i, .num_tokens = end - i, .item = item, .image = image});
    i = end;
  }
  if (next_image < static_cast<int>(images.size()) || next_clip < static_cast<int>(clips.size())) {
    return InvalidArgument("engine: the request has " + std::to_string(images.size()) +
                           " images and " + std::to_string(clips.size()) +
                           " audio clips but the prompt places " + std::to_string(next_image) +
                           " and " + std::to_string(next_clip) +
                           " (render the messages' media parts with the chat format)");
  }
  return spans;
}

std::vector<int32_t> PrefixKeys(std::span<const int32_t> prompt, std::span<const MediaSpan> spans,
                                std::span<const MediaInput> media) {
  std::vector<int32_t> keys(prompt.begin(), prompt.end());
  for (const MediaSpan& span : spans) {
    const uint64_t hash = Hash(media[span.item]);
    for (int k = 0; k < span.num_tokens; ++k) {
      const uint64_t mixed = Mix(hash + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(k + 1));
      keys[span.first_token + k] = -1 - static_cast<int32_t>(mixed & 0x7fffffff);
    }
  }
  return keys;
}

}  // namespace snug
