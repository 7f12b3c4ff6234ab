#include "base/log.h"

#include "base/log_event.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

namespace snug {
namespace {

LogLevel LevelFromEnvironment() {
  const char* value = std::getenv("SNUG_LOG");
  if (value == nullptr) return LogLevel::kInfo;
  if (std::strcmp(value, "debug") == 0) return LogLevel::kDebug;
  if (std::strcmp(value, "warning") == 0) return LogLevel::kWarning;
  if (std::strcmp(value, "error") == 0) return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<int>& MinimumLevel() {
  static std::atomic<int> level{static_cast<int>(LevelFromEnvironment())};
  return level;
}

std::atomic<bool>& JsonFormat() {
  static std::atomic<bool> json{false};
  return json;
}

// Where lines go: stderr (fd 2), which LogToFile points at a file it rotates.
struct Sink {
  std::mutex mutex;
  std::string path;  // empty: stderr as it came
  int64_t max_bytes = 0;
  int keep_files = 0;
  int64_t written_bytes = 0;
};

Sink& TheSink() {
  static Sink sink;
  return sink;
}

Status OpenOnStderr(const std::string& path, int64_t* size) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("log: cannot open '" + path + "': " + std::strerror(errno));
  const off_t end = lseek(fd, 0, SEEK_END);
  *size = end > 0 ? end : 0;
  std::fflush(stderr);
  const bool moved = dup2(fd, STDERR_FILENO) >= 0;
  close(fd);
  if (!moved) return Unavailable("log: cannot send stderr to '" + path + "'");
  return Status::Ok();
}

// Called with the sink's mutex held, after a line was written.
void RotateIfFull(Sink& sink, size_t line_bytes) {
  sink.written_bytes += static_cast<int64_t>(line_bytes);
  if (sink.path.empty() || sink.written_bytes < sink.max_bytes) return;
  std::fflush(stderr);
  for (int i = sink.keep_files - 1; i >= 1; --i) {
    std::rename((sink.path + "." + std::to_string(i)).c_str(),
                (sink.path + "." + std::to_string(i + 1)).c_str());
  }
  if (sink.keep_files >= 1) {
    std::rename(sink.path.c_str(), (sink.path + ".1").c_str());
  } else {
    std::remove(sink.path.c_str());
  }
  int64_t size = 0;
  if (OpenOnStderr(sink.path, &size).ok()) sink.written_bytes = size;
}

void Write(LogLevel level, const std::string& text) {
  Sink& sink = TheSink();
  std::lock_guard lock(sink.mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  if (level >= LogLevel::kWarning || !sink.path.empty()) std::fflush(stderr);
  RotateIfFull(sink, text.size());
}

constexpr const char* kLevelNames[] = {"debug", "info", "warning", "error"};

const char* BaseName(const char* file) {
  const char* base = std::strrchr(file, '/');
  return base ? base + 1 : file;
}

// "2026-12-02T05:20:01.123Z" (JSON) or "05:20:01.123" local time (text).
std::string Stamp(bool json) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm parts{};
  if (json) {
    gmtime_r(&seconds, &parts);
  } else {
    localtime_r(&seconds, &parts);
  }
  char stamp[40];
  const size_t length =
      std::strftime(stamp, sizeof(stamp), json ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &parts);
  std::snprintf(stamp + length, sizeof(stamp) - length, json ? ".%03dZ" : ".%03d", millis);
  return stamp;
}

// The start of a JSON line, up to and without the closing brace.
std::string JsonHead(LogLevel level, const char* file, int line) {
  return std::string("{\"time\":\"") + Stamp(true) + "\",\"level\":\"" +
         kLevelNames[static_cast<int>(level)] + "\",\"source\":\"" + JsonEscape(BaseName(file)) +
         ":" + std::to_string(line) + "\"";
}

}  // namespace

void SetLogLevel(LogLevel level) { MinimumLevel().store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= MinimumLevel().load(std::memory_order_relaxed);
}

void SetLogFormat(LogFormat format) { JsonFormat().store(format == LogFormat::kJson); }

bool LogIsJson() { return JsonFormat().load(std::memory_order_relaxed); }

Status LogToFile(const std::string& path, int64_t max_bytes, int keep_files) {
  Sink& sink = TheSink();
  std::lock_guard lock(sink.mutex);
  int64_t size = 0;
  RETURN_IF_ERROR(OpenOnStderr(path, &size));
  sink.path = path;
  sink.max_bytes = max_bytes;
  sink.keep_files = keep_files;
  sink.written_bytes = size;
  return Status::Ok();
}

LogField::LogField(std::string_view key, double number, int decimals) : key(key) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, number);
  value = text;
}

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out;
}

namespace internal {

void LogEvent(LogLevel level, const char* file, int line, std::string_view event,
              std::span<const LogField> fields) {
  std::string text;
  if (JsonFormat().load(std::memory_order_relaxed)) {
    text = JsonHead(level, file, line) + ",\"message\":\"" + JsonEscape(event) + "\"";
    for (const LogField& field : fields) {
      text += ",\"" + JsonEscape(field.key) + "\":";
      if (field.quoted) {
        text += '"';
        text += JsonEscape(field.value);
        text += '"';
      } else {
        text += field.value;
      }
    }
    text += "}\n";
  } else {
    static constexpr char kLetters[] = {'D', 'I', 'W', 'E'};
    text = std::string(1, kLetters[static_cast<int>(level)]) + ' ' + Stamp(false) + ' ' +
           BaseName(file) + ':' + std::to_string(line) + "] " + std::string(event);
    for (const LogField& field : fields) {
      text += ' ';
      text += field.key;
      text += '=';
      if (field.quoted && field.value.empty()) {
        text += '-';
      } else if (field.quoted && field.value.find_first_of(" \"=") != std::string::npos) {
        text += '"' + JsonEscape(field.value) + '"';  // text with spaces stays one field
      } else {
        text += field.value;
      }
    }
    text += '\n';
  }
  Write(level, text);
}

// The line's head goes into the stream first; in JSON the message after kMessageKey is escaped
// when the line ends.
constexpr std::string_view kMessageKey = ",\"message\":\"";

LogLine::LogLine(LogLevel level, const char* file, int line) : level_(level) {
  if (JsonFormat().load(std::memory_order_relaxed)) {
    stream_ << JsonHead(level, file, line) << kMessageKey;
  } else {
    static constexpr char kLetters[] = {'D', 'I', 'W', 'E'};
    stream_ << kLetters[static_cast<int>(level)] << ' ' << Stamp(false) << ' ' << BaseName(file)
            << ':' << line << "] ";
  }
}

LogLine::~LogLine() {
  std::string text = stream_.str();
  if (text.size() > 0 && text[0] == '{') {
    const size_t message = text.find(kMessageKey) + kMessageKey.size();
    text = text.substr(0, message) + JsonEscape(std::string_view(text).substr(message)) + "\"}\n";
  } else {
    text += '\n';
  }
  Write(level_, text);
}

}  // namespace internal
}  // namespace snug
