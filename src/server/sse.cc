#include "server/sse.h"

namespace snug::server {

std::string SseData(const nlohmann::json& chunk) { return "data: " + JsonText(chunk) + "\n\n"; }

std::string SseDone() { return "data: [DONE]\n\n"; }

std::string SseKeepAlive() { return ": keep-alive\n\n"; }

std::string SseError(const ApiError& error) { return "data: " + ErrorBody(error) + "\n\n"; }

}  // namespace snug::server
