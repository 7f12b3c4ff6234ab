// Logging to stderr: LOG(INFO) << "loaded " << n << " tensors";
// The minimum level is the one process-wide setting (SNUG_LOG=debug|info|warning|error, or
// SetLogLevel from the command line); it is read on every line, written once at start-up.
#pragma once

#include <sstream>

namespace snug {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

namespace internal {

class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  template <class T>
  LogLine& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace internal
}  // namespace snug

#define SNUG_LOG_DEBUG ::snug::LogLevel::kDebug
#define SNUG_LOG_INFO ::snug::LogLevel::kInfo
#define SNUG_LOG_WARNING ::snug::LogLevel::kWarning
#define SNUG_LOG_ERROR ::snug::LogLevel::kError

#define LOG(level)                                    \
  if (!::snug::LogEnabled(SNUG_LOG_##level)) {        \
  } else                                              \
    ::snug::internal::LogLine(SNUG_LOG_##level, __FILE__, __LINE__)
