// A read-only memory-mapped file. Model weights are used in place from the mapping (zero-copy),
// so they cost page cache, not heap, and the OS can drop and re-read them under pressure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace snug {

class MappedFile {
 public:
  static Result<MappedFile> Open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Residency of mapped bytes (model weights) once loaded. Both round the span out to whole pages.
// Asks the OS to read `bytes` in now, in the background (madvise MADV_WILLNEED), so the first
// tokens do not wait on page faults one readahead window at a time.
void AdviseWillNeed(std::span<const uint8_t> bytes);
// Locks `bytes` in RAM (mlock): the OS can no longer drop them under memory pressure and re-read
// them from disk mid-answer. Errors name RLIMIT_MEMLOCK when it is the reason.
Status LockInMemory(std::span<const uint8_t> bytes);

}  // namespace snug
