// Status and Result<T>: how every fallible operation on untrusted input reports failure.
// Messages are tagged by module ("gguf: ..."); codes map to HTTP statuses in one place (server/).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/check.h"

namespace snug {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // bad input from a caller: flags, request fields
  kNotFound,           // a named file, tensor, key or model does not exist
  kOutOfRange,         // a value outside what the format or the model allows
  kDataLoss,           // a file is truncated or corrupt
  kUnimplemented,      // valid input that snug does not support (yet)
  kResourceExhausted,  // memory or queue capacity
  kFailedPrecondition, // the system is not in a state to do this
  kUnavailable,        // loading, draining
  kInternal,           // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "DATA_LOSS: gguf: ..." for logs; clients get message() alone.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT
    CHECK(!std::get<Status>(state_).ok()) << "Result built from an ok Status";
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(state_);
  }
  T& value() & {
    CHECK(ok()) << status().ToString();
    return std::get<T>(state_);
  }
  const T& value() const& {
    CHECK(ok()) << status().ToString();
    return std::get<T>(state_);
  }
  T&& value() && {
    CHECK(ok()) << status().ToString();
    return std::get<T>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace snug

#define SNUG_CONCAT_INNER(a, b) a##b
#define SNUG_CONCAT(a, b) SNUG_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::snug::Status snug_status_ = (expr);        \
    if (!snug_status_.ok()) return snug_status_; \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MakeX()): binds the value or returns the Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SNUG_ASSIGN_OR_RETURN_IMPL(SNUG_CONCAT(snug_result_, __LINE__), lhs, expr)
#define SNUG_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                               \
  if (!result.ok()) return result.status();           \
  lhs = std::move(result).value()
