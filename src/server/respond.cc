// How handlers answer: JSON bodies and OpenAI-shaped errors with their retry headers.
#include "server/routes.h"

namespace snug::server {

void SendJson(httplib::Response& response, const nlohmann::json& body, int status) {
  response.status = status;
  response.set_content(JsonText(body), "application/json");
}

void SendError(httplib::Response& response, const ApiError& error) {
  response.status = error.http_status;
  if (error.retry_after_seconds > 0) {
    response.set_header("Retry-After", std::to_string(error.retry_after_seconds));
    response.set_header("retry-after-ms", std::to_string(error.retry_after_seconds * 1000));
  }
  if (error.never_retry) response.set_header("x-should-retry", "false");
  response.set_content(ErrorBody(error), "application/json");
}

}  // namespace snug::server
