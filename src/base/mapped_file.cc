#include "base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace snug {

Result<MappedFile> MappedFile::Open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; it is refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    std::string message = "file: cannot open '" + path + "': " + std::strerror(error);
    if (error == ENOENT) return NotFound(message);
    return InvalidArgument(message);
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return InvalidArgument("file: '" + path + "' is not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<size_t>(info.st_size);
  if (file.size_ > 0) {
    void* address = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      return ResourceExhausted("file: cannot map '" + path + "': " + std::strerror(error));
    }
    file.data_ = static_cast<const uint8_t*>(address);
  }
  ::close(fd);
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

MappedFile::~MappedFile() { Reset(); }

void MappedFile::Reset() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

namespace {

// The whole pages that hold `bytes`.
std::span<uint8_t> Pages(std::span<const uint8_t> bytes) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(bytes.data()) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(bytes.data()) + bytes.size() + page - 1) &
                        ~(page - 1);
  return {reinterpret_cast<uint8_t*>(begin), end - begin};
}

std::string LimitText(rlim_t limit) {
  return limit == RLIM_INFINITY ? "unlimited" : std::to_string(limit / 1024) + " KiB";
}

}  // namespace

void AdviseWillNeed(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  const std::span<uint8_t> pages = Pages(bytes);
  ::madvise(pages.data(), pages.size(), MADV_WILLNEED);  // advice: a failure changes nothing
}

Status LockInMemory(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return Status::Ok();
  const std::span<uint8_t> pages = Pages(bytes);
  if (::mlock(pages.data(), pages.size()) == 0) return Status::Ok();
  const int error = errno;
  std::string message = "cannot lock " + std::to_string(pages.size()) + " bytes in RAM (mlock): " +
                        std::strerror(error);
  struct rlimit limit {};
  if ((error == ENOMEM || error == EPERM) && ::getrlimit(RLIMIT_MEMLOCK, &limit) == 0) {
    message += "; the locked-memory limit (RLIMIT_MEMLOCK) is " + LimitText(limit.rlim_cur) +
               ": raise it (`ulimit -l unlimited`, systemd's LimitMEMLOCK=infinity) or run without "
               "--mlock";
  }
  return ResourceExhausted(message);
}

}  // namespace snug
