// What a client sees when a request fails: the OpenAI error object and its HTTP status
// (design.md, "Errors a client sees"). ErrorFromStatus is the one place a Status becomes HTTP.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/check.h"
#include "base/status.h"

namespace snug::server {

struct ApiError {
  int http_status = 400;
  std::string type = "invalid_request_error";
  std::string code;   // empty: JSON null
  std::string param;  // empty: JSON null
  std::string message;
  int retry_after_seconds = 0;  // > 0: a Retry-After header (429, 503)
  bool never_retry = false;     // x-should-retry: false (SDKs would otherwise retry a 5xx)
};

// The mapping, by code: InvalidArgument/Unimplemented/FailedPrecondition → 400
// invalid_request_error; OutOfRange → 400 context_length_exceeded (the engine's "can never
// fit"); NotFound → 404 model_not_found; ResourceExhausted → 429 rate_limit_exceeded; Unavailable
// → 503; anything else → 500 server_error. `param` names the request field at fault.
ApiError ErrorFromStatus(const Status& status, std::string_view param = "");

// Input quoted back in a message, cut to 200 bytes ("..." marks the cut), so an error body
// stays small whatever the request said.
std::string Reflected(std::string_view text);

// A request field that is missing, of the wrong type or out of range: 400 naming it.
ApiError BadParam(std::string_view param, std::string message);
ApiError ContextLengthExceeded(std::string_view param, int context_tokens, int prompt_tokens,
                               int max_tokens);
ApiError ModelNotFound(std::string_view model);
ApiError InvalidApiKey();
ApiError BodyTooLarge(size_t limit_bytes);
ApiError NotLoaded();                  // 503 while the model loads
ApiError Draining();                   // 503 while shutting down
ApiError RequestTimeout(int seconds);  // 504, --request-timeout passed
ApiError ClientClosedRequest();        // 499 (nginx's): the client hung up; nobody reads it

// {"error":{"message","type","param","code"}}
std::string ErrorBody(const ApiError& error);

// JSON text; invalid UTF-8 (a token that splits a character) becomes U+FFFD, never a throw.
std::string JsonText(const nlohmann::json& value);

// A value, or the ApiError that explains why there is none (request parsing).
template <class T>
class ApiResult {
 public:
  ApiResult(T value) : state_(std::move(value)) {}         // NOLINT: implicit by design
  ApiResult(ApiError error) : state_(std::move(error)) {}  // NOLINT
  bool ok() const { return std::holds_alternative<T>(state_); }
  const ApiError& error() const {
    CHECK(!ok());
    return std::get<ApiError>(state_);
  }
  T& value() {
    CHECK(ok()) << error().message;
    return std::get<T>(state_);
  }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, ApiError> state_;
};

}  // namespace snug::server
