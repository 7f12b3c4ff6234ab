// Download progress on stderr: bytes done of the total, the rate and the time left, redrawn in
// place at most a few times a second when stderr is a terminal; silent otherwise (logs and
// pipes get only the lines the caller prints).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace snug::hub {

// "1.5 GiB", "12.0 MiB", "512 B".
std::string FormatBytes(uint64_t bytes);

class Progress {
 public:
  Progress(uint64_t total_bytes, bool enabled);
  // Bytes that were already there (resumed files, cached blobs) count as done but not toward
  // the rate.
  void Skip(uint64_t bytes);
  void Add(uint64_t bytes);
  // Draws the last state and ends the line.
  void Finish();
  uint64_t transferred_bytes() const { return transferred_bytes_; }
  double seconds() const;

 private:
  void Draw(bool force);

  std::mutex mutex_;
  const uint64_t total_bytes_;
  const bool enabled_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_draw_{};
  uint64_t done_bytes_ = 0;
  uint64_t transferred_bytes_ = 0;
};

}  // namespace snug::hub
