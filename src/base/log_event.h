// The log's format and destination, and structured events (see log.h for LOG lines).
// Process-wide settings made once at start-up: the format (text, or one JSON object a line for
// log shippers) and the destination (stderr, or a file rotated by size). LOG_EVENT writes a
// named event with typed fields: `request id=… status=200` in text, an object with those
// fields in JSON.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "base/log.h"
#include "base/status.h"

namespace snug {

enum class LogFormat { kText, kJson };
void SetLogFormat(LogFormat format);
bool LogIsJson();

// Sends the log, and anything else the process writes to stderr, to `path` (appended). When it
// grows past `max_bytes` it becomes path.1 (path.1 becomes path.2, … up to `keep_files`) and a
// new file begins.
Status LogToFile(const std::string& path, int64_t max_bytes, int keep_files);

// A field of a LOG_EVENT: text (quoted in JSON; "-" in text when empty), an integer, or a
// number printed with `decimals` places.
struct LogField {
  LogField(std::string_view key, std::string_view text) : key(key), value(text), quoted(true) {}
  LogField(std::string_view key, const char* text) : LogField(key, std::string_view(text)) {}
  LogField(std::string_view key, const std::string& text) : LogField(key, std::string_view(text)) {}
  LogField(std::string_view key, int64_t number) : key(key), value(std::to_string(number)) {}
  LogField(std::string_view key, int number) : LogField(key, static_cast<int64_t>(number)) {}
  LogField(std::string_view key, double number, int decimals);

  std::string_view key;
  std::string value;
  bool quoted = false;
};

// `text` as the inside of a JSON string.
std::string JsonEscape(std::string_view text);

namespace internal {
void LogEvent(LogLevel level, const char* file, int line, std::string_view event,
              std::span<const LogField> fields);
inline void LogEvent(LogLevel level, const char* file, int line, std::string_view event,
                     std::initializer_list<LogField> fields) {
  LogEvent(level, file, line, event, std::span<const LogField>(fields.begin(), fields.size()));
}
}  // namespace internal

}  // namespace snug

// LOG_EVENT(INFO, "request", {{"id", id}, {"status", 200}, {"total_ms", ms, 1}});
#define LOG_EVENT(level, event, ...)                                                       \
  do {                                                                                     \
    if (::snug::LogEnabled(SNUG_LOG_##level)) {                                            \
      ::snug::internal::LogEvent(SNUG_LOG_##level, __FILE__, __LINE__, event, __VA_ARGS__); \
    }                                                                                      \
  } while (false)
