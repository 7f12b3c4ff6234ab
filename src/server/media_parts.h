// Image and audio content parts of a chat message (OpenAI's `image_url` and `input_audio`),
// decoded and preprocessed here, in the HTTP handler's thread (the engine thread never decodes):
// data: URLs and base64 validated, http(s) URLs fetched only from the operator's allow-list,
// the image's size checked from its header before its pixels are decoded.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/engine.h"
#include "media/audio.h"
#include "media/image.h"
#include "server/api_error.h"
#include "server/body_budget.h"

namespace snug::server {

struct MediaOptions {
  // --allow-media-urls: hosts (or host:port) whose http(s) image URLs are fetched; empty: every
  // URL is refused and only data: URLs are read.
  std::vector<std::string> url_hosts;
  int fetch_timeout_ms = 10000;          // the whole fetch, connection to last byte
  size_t max_fetch_bytes = 8u << 20;     // a larger answer is abandoned
  int low_detail_tokens = 70;            // detail "low"
  int auto_detail_tokens = 280;          // detail "auto" or absent
  int high_detail_tokens = 280;          // --image-tokens-high (280, 560 or 1120)
  media::ImageLimits image_limits;       // --max-image-pixels
  media::AudioLimits audio_limits;
  // What decoded media may hold at once across every request in flight (--media-budget): a
  // 280-token image is 280 × 6912 floats = 7.7 MB however small its file, so a 16 MiB body of
  // tiny images could otherwise expand a hundredfold. A request that does not fit now gets 429.
  size_t held_bytes = 256u << 20;
};

class MediaDecoder {
 public:
  explicit MediaDecoder(MediaOptions options)
      : options_(std::move(options)), held_(options_.held_bytes) {}

  const MediaOptions& options() const { return options_; }

  // Whether a content part's type is one this decodes ("image_url", "input_audio").
  static bool IsMediaPart(std::string_view type);

  // Decodes the part at `param` ("messages[0].content[1]") for a model that takes `support`
  // (engine.h); errors are 400s naming the part: a kind of media the model does not take
  // (refused before decoding), a bad payload, limits (with both numbers), an image of more soft
  // tokens than the engine's largest.
  // The decoded item's bytes are added to `held` (from this decoder's budget, given back when
  // `held` is destroyed: keep it until the engine is done with the request).
  ApiResult<MediaInput> Decode(const nlohmann::json& part, const std::string& param,
                               const MediaSupport& support, BodyReservation& held) const;
  // A reservation against the budget of decoded media held at once.
  BodyReservation Reserve() const { return BodyReservation(&held_); }

 private:
  ApiResult<MediaInput> DecodeImagePart(const nlohmann::json& part, const std::string& param,
                                        const MediaSupport& support) const;
  ApiResult<MediaInput> DecodeAudioPart(const nlohmann::json& part, const std::string& param,
                                        const MediaSupport& support) const;

  MediaOptions options_;
  // One decode at a time: the decoded pixels of one image (up to 3–7 bytes × max_pixels) are
  // the most media decoding ever holds, whatever the number of HTTP threads.
  mutable std::mutex mutex_;
  mutable BodyBudget held_;  // the byte budget bodies use too (body_budget.h), for decoded media
};

// GET an http(s) URL whose host is on the allow-list: no redirects, at most max_fetch_bytes,
// within fetch_timeout_ms. Errors say why, for a 400.
Result<std::vector<uint8_t>> FetchMediaUrl(const std::string& url, const MediaOptions& options);

}  // namespace snug::server
