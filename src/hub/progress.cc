// Download progress (see progress.h).
#include "hub/progress.h"

#include <algorithm>
#include <cstdio>

namespace snug::hub {

std::string FormatBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

Progress::Progress(uint64_t total_bytes, bool enabled)
    : total_bytes_(total_bytes), enabled_(enabled) {}

void Progress::Skip(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  done_bytes_ += bytes;
  Draw(false);
}

void Progress::Add(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  done_bytes_ += bytes;
  transferred_bytes_ += bytes;
  Draw(false);
}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::Finish() {
  std::lock_guard lock(mutex_);
  Draw(true);
  if (enabled_) std::fputc('\n', stderr);
}

void Progress::Draw(bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  const double rate = transferred_bytes_ / std::max(seconds(), 1e-3);
  std::string eta = "";
  if (rate > 0 && done_bytes_ < total_bytes_) {
    const uint64_t left_seconds = static_cast<uint64_t>((total_bytes_ - done_bytes_) / rate);
    eta = "  " + std::to_string(left_seconds / 60) + "m" + std::to_string(left_seconds % 60) +
          "s left";
  }
  const int percent = total_bytes_ ? static_cast<int>(100.0 * done_bytes_ / total_bytes_) : 100;
  std::fprintf(stderr, "\r\033[K%3d%%  %s / %s  %s/s%s", percent, FormatBytes(done_bytes_).c_str(),
               FormatBytes(total_bytes_).c_str(), FormatBytes(static_cast<uint64_t>(rate)).c_str(),
               eta.c_str());
  std::fflush(stderr);
}

}  // namespace snug::hub
