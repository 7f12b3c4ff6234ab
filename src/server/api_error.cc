#include "server/api_error.h"

#include <nlohmann/json.hpp>

namespace snug::server {

ApiError ErrorFromStatus(const Status& status, std::string_view param) {
  ApiError error;
  error.message = status.message();
  error.param = std::string(param);
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnimplemented:
    case StatusCode::kFailedPrecondition:
      break;
    case StatusCode::kOutOfRange:
      error.code = "context_length_exceeded";
      break;
    case StatusCode::kNotFound:
      error.http_status = 404;
      error.code = "model_not_found";
      break;
    case StatusCode::kResourceExhausted:
      error.http_status = 429;
      error.type = "rate_limit_error";
      error.code = "rate_limit_exceeded";
      error.param.clear();
      error.retry_after_seconds = 1;
      break;
    case StatusCode::kUnavailable:
      error.http_status = 503;
      error.type = "service_unavailable_error";
      error.code = "unavailable";
      error.param.clear();
      error.retry_after_seconds = 5;
      break;
    case StatusCode::kOk:  // not an error: a bug in the caller
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      error.http_status = 500;
      error.type = "server_error";
      error.code = "internal_error";
      error.param.clear();
      break;
  }
  return error;
}

std::string Reflected(std::string_view text) {
  constexpr size_t kMaxReflected = 200;
  if (text.size() <= kMaxReflected) return std::string(text);
  return std::string(text.substr(0, kMaxReflected)) + "...";
}

ApiError BadParam(std::string_view param, std::string message) {
  return {.http_status = 400, .param = std::string(param), .message = std::move(message)};
}

ApiError ContextLengthExceeded(std::string_view param, int context_tokens, int prompt_tokens,
                               int max_tokens) {
  std::string message = "This model's maximum context length is " + std::to_string(context_tokens) +
                        " tokens. However, you requested " +
                        std::to_string(prompt_tokens + max_tokens) + " tokens (" +
                        std::to_string(prompt_tokens) + " in the " + std::string(param) + ", " +
                        std::to_string(max_tokens) + " in the completion). Please reduce the " +
                        "length of the " + std::string(param) + " or completion.";
  return {.http_status = 400,
          .code = "context_length_exceeded",
          .param = std::string(param),
          .message = std::move(message)};
}

ApiError ModelNotFound(std::string_view model) {
  return {.http_status = 404,
          .code = "model_not_found",
          .param = "model",
          .message = "The model '" + Reflected(model) + "' does not exist (see /v1/models)."};
}

ApiError InvalidApiKey() {
  return {.http_status = 401,
          .code = "invalid_api_key",
          .message = "Incorrect or missing API key: send 'Authorization: Bearer <key>'."};
}

ApiError BodyTooLarge(size_t limit_bytes) {
  return {.http_status = 413,
          .code = "request_too_large",
          .message = "The request body is larger than the limit of " + std::to_string(limit_bytes) +
                     " bytes (--max-body-bytes)."};
}

ApiError NotLoaded() {
  return {.http_status = 503,
          .type = "service_unavailable_error",
          .code = "server_is_overloaded",
          .message = "The model is still loading; try again shortly.",
          .retry_after_seconds = 5};
}

ApiError Draining() {
  return {.http_status = 503,
          .type = "service_unavailable_error",
          .code = "unavailable",
          .message = "The server is shutting down.",
          .retry_after_seconds = 5};
}

ApiError ClientClosedRequest() {
  return {.http_status = 499,
          .type = "invalid_request_error",
          .code = "client_closed_request",
          .message = "The client closed the connection; the request was cancelled."};
}

ApiError RequestTimeout(int seconds) {
  return {.http_status = 504,
          .type = "server_error",
          .code = "timeout",
          .message = "The request took longer than " + std::to_string(seconds) +
                     " seconds (--request-timeout) and was cancelled.",
          .never_retry = true};
}

std::string JsonText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ErrorBody(const ApiError& error) {
  auto string_or_null = [](const std::string& text) {
    return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
  };
  const nlohmann::json body = {{"error",
                                {{"message", error.message},
                                 {"type", error.type},
                                 {"param", string_or_null(error.param)},
                                 {"code", string_or_null(error.code)}}}};
  return JsonText(body);
}

}  // namespace snug::server
