// Server-sent events exactly as OpenAI frames them: `data: {json}\n\n` per chunk, then
// `data: [DONE]\n\n`; comments (`: keep-alive\n\n`) keep idle proxies and clients from timing
// out during long prefills; a failure mid-stream is a `data: {"error":...}` event then [DONE].
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "server/api_error.h"

namespace snug::server {

std::string SseData(const nlohmann::json& chunk);
std::string SseDone();
std::string SseKeepAlive();
std::string SseError(const ApiError& error);

}  // namespace snug::server
