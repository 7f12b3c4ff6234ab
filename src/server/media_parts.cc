// Content parts → decoded media (media_parts.h).

#include "server/media_parts.h"

#include <optional>
#include <type_traits>

#include "media/preprocess.h"
#include "server/base64.h"

namespace snug::server {
namespace {

ApiResult<std::vector<uint8_t>> Base64Payload(std::string_view text, const std::string& param) {
  size_t offset = 0;
  std::optional<std::vector<uint8_t>> bytes = DecodeBase64(text, &offset);
  if (!bytes) {
    return BadParam(param, "the base64 data is invalid at character " + std::to_string(offset) +
                               " of " + std::to_string(text.size()));
  }
  if (bytes->empty()) return BadParam(param, "the media data is empty");
  return std::move(*bytes);
}

// data:[<media type>][;base64],<data> (RFC 2397); only base64 payloads carry binary media.
ApiResult<std::vector<uint8_t>> DataUrlPayload(std::string_view url, const std::string& param) {
  const size_t comma = url.find(',');
  if (comma == std::string_view::npos) return BadParam(param, "a data: URL needs a ',' before its data");
  const std::string_view header = url.substr(5, comma - 5);
  if (header.size() < 7 || header.substr(header.size() - 7) != ";base64") {
    return BadParam(param, "a data: URL for an image must be base64 (data:image/png;base64,...)");
  }
  const std::string_view type = header.substr(0, header.size() - 7);
  if (!type.empty() && type.substr(0, 6) != "image/") {
    return BadParam(param, "the data: URL's media type '" + Reflected(type) + "' is not an image");
  }
  return Base64Payload(url.substr(comma + 1), param);
}

ApiError MediaError(const std::string& param, const Status& status) {
  return BadParam(param, status.message());
}

}  // namespace

bool MediaDecoder::IsMediaPart(std::string_view type) {
  return type == "image_url" || type == "input_audio";
}

ApiResult<MediaInput> MediaDecoder::Decode(const nlohmann::json& part, const std::string& param,
                                           const MediaSupport& support,
                                           BodyReservation& held) const {
  const std::string type = part.value("type", "");
  std::optional<ApiResult<MediaInput>> decoded;
  if (type == "image_url") {
    if (!support.images()) {
      return BadParam(param, "this model takes no images (it has no image input path)");
    }
    decoded = DecodeImagePart(part, param, support);
  } else if (type == "input_audio") {
    if (!support.audio()) {
      return BadParam(param, "this model takes no audio (it has no audio input path)");
    }
    decoded = DecodeAudioPart(part, param, support);
  } else {
    return BadParam(param + ".type", Reflected(type) + " is not a media part type");
  }
  if (!decoded->ok()) return std::move(*decoded);
  const size_t values = std::visit([](const auto& item) {
    if constexpr (std::is_same_v<std::decay_t<decltype(item)>, media::PatchGrid>) {
      return item.values.size();
    } else {
      return item.samples.size();
    }
  }, decoded->value());
  const size_t total = held.bytes() + values * sizeof(float);
  if (total > held_.capacity_bytes()) {
    return BadParam(param, "the request's decoded media take " + std::to_string(total) +
                               " bytes; this server holds at most " +
                               std::to_string(held_.capacity_bytes()) +
                               " for all requests at once (--media-budget)");
  }
  if (!held.GrowTo(total)) {
    return ApiError{.http_status = 429,
                    .type = "rate_limit_error",
                    .code = "rate_limit_exceeded",
                    .message = "server: the requests in progress hold all the memory set aside "
                               "for decoded images and audio; retry shortly",
                    .retry_after_seconds = 1};
  }
  return std::move(*decoded);
}

ApiResult<MediaInput> MediaDecoder::DecodeImagePart(const nlohmann::json& part,
                                                    const std::string& param,
                                                    const MediaSupport& support) const {
  const auto image_url = part.find("image_url");
  // OpenAI's form is {"image_url": {"url", "detail"}}; a bare string URL is accepted too.
  const nlohmann::json* object = nullptr;
  std::string url;
  if (image_url != part.end() && image_url->is_string()) {
    url = image_url->get<std::string>();
  } else if (image_url != part.end() && image_url->is_object()) {
    object = &*image_url;
    const auto it = object->find("url");
    if (it == object->end() || !it->is_string()) {
      return BadParam(param + ".image_url.url", "an image part needs a string 'url'");
    }
    url = it->get<std::string>();
  } else {
    return BadParam(param + ".image_url", "an image part needs an 'image_url' object with a 'url'");
  }
  int tokens = options_.auto_detail_tokens;
  if (object != nullptr) {
    if (const auto detail = object->find("detail"); detail != object->end() && !detail->is_null()) {
      const std::string value = detail->is_string() ? detail->get<std::string>() : "";
      if (value == "low") {
        tokens = options_.low_detail_tokens;
      } else if (value == "high") {
        tokens = options_.high_detail_tokens;
      } else if (value != "auto") {
        return BadParam(param + ".image_url.detail", "'detail' must be 'low', 'auto' or 'high'");
      }
    }
  }
  std::vector<uint8_t> bytes;
  if (url.rfind("data:", 0) == 0) {
    auto payload = DataUrlPayload(url, param + ".image_url.url");
    if (!payload.ok()) return payload.error();
    bytes = std::move(*payload);
  } else if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    if (options_.url_hosts.empty()) {
      return BadParam(param + ".image_url.url",
                      "image URLs are not fetched by this server; send the image as a data: URL "
                      "(data:image/png;base64,...), or start snug serve with "
                      "--allow-media-urls HOST to fetch from HOST");
    }
    Result<std::vector<uint8_t>> fetched = FetchMediaUrl(url, options_);
    if (!fetched.ok()) return MediaError(param + ".image_url.url", fetched.status());
    bytes = std::move(*fetched);
  } else {
    return BadParam(param + ".image_url.url", "the image URL must be a data: URL or http(s)");
  }
  // The budget is an upper bound; the image's aspect decides the count (≤ tokens), so a budget
  // above the engine's largest image is refused only when this image would exceed it.
  std::lock_guard lock(mutex_);
  Result<media::PatchGrid> grid =
      media::LoadImage(bytes, tokens, options_.image_limits, support.image_patch_px);
  if (!grid.ok()) return MediaError(param, grid.status());
  if (grid->soft_tokens() > support.max_image_tokens) {
    return BadParam(param, "the image takes " + std::to_string(grid->soft_tokens()) +
                               " soft tokens; this server takes at most " +
                               std::to_string(support.max_image_tokens) +
                               " per image (--max-image-tokens); send detail 'low' or 'auto'");
  }
  return MediaInput(std::move(*grid));
}

ApiResult<MediaInput> MediaDecoder::DecodeAudioPart(const nlohmann::json& part,
                                                    const std::string& param,
                                                    const MediaSupport& support) const {
  const auto audio = part.find("input_audio");
  if (audio == part.end() || !audio->is_object()) {
    return BadParam(param + ".input_audio", "an audio part needs an 'input_audio' object");
  }
  const auto data = audio->find("data");
  if (data == audio->end() || !data->is_string()) {
    return BadParam(param + ".input_audio.data", "an audio part needs base64 'data'");
  }
  // The container is recognised from the bytes; `format` only has to name one snug reads.
  if (const auto format = audio->find("format"); format != audio->end() && !format->is_null()) {
    const std::string value = format->is_string() ? format->get<std::string>() : "";
    if (value != "wav" && value != "mp3" && value != "flac" && value != "aiff") {
      return BadParam(param + ".input_audio.format", "audio format '" + Reflected(value) +
                                                         "' is not supported; use wav, mp3, "
                                                         "flac or aiff");
    }
  }
  auto bytes = Base64Payload(data->get<std::string>(), param + ".input_audio.data");
  if (!bytes.ok()) return bytes.error();
  std::lock_guard lock(mutex_);
  Result<media::AudioFrames> frames =
      media::LoadAudio(*bytes, options_.audio_limits, support.audio_frame_samples);
  if (!frames.ok()) return MediaError(param, frames.status());
  return MediaInput(std::move(*frames));
}

}  // namespace snug::server
