// How handlers answer: JSON bodies and OpenAI-shaped errors with their retry headers.
#include "server/routes.h"

namespace snug::server {

void SendJson(HttpResponse& response, const nlohmann::json& body, int status) {
  response.status = status;
  response.SetContent(JsonText(body), "application/json");
}

void SendError(HttpResponse& response, const ApiError& error) {
  response.status = error.http_status;
  if (error.retry_after_seconds > 0) {
    response.SetHeader("Retry-After", std::to_string(error.retry_after_seconds));
    response.SetHeader("retry-after-ms", std::to_string(error.retry_after_seconds * 1000));
  }
  if (error.never_retry) response.SetHeader("x-should-retry", "false");
  response.SetContent(ErrorBody(error), "application/json");
}

}  // namespace snug::server
