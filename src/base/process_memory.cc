#include "base/process_memory.h"

#include <cstdio>
#include <cstring>

#if defined(__APPLE__)
#include <mach/mach.h>
#include <sys/resource.h>
#endif

namespace snug {
namespace {

#if defined(__linux__)
// A "Name:   1234 kB" line of /proc/self/status, in bytes.
int64_t StatusField(const char* name) {
  std::FILE* file = std::fopen("/proc/self/status", "r");
  if (file == nullptr) return 0;
  char line[256];
  int64_t kib = 0;
  const size_t length = std::strlen(name);
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::strncmp(line, name, length) == 0 && line[length] == ':') {
      std::sscanf(line + length + 1, "%ld", &kib);
      break;
    }
  }
  std::fclose(file);
  return kib * 1024;
}
#endif

}  // namespace

int64_t CurrentRssBytes() {
#if defined(__linux__)
  return StatusField("VmRSS");
#elif defined(__APPLE__)
  mach_task_basic_info info{};
  mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
  if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info),
                &count) != KERN_SUCCESS) {
    return 0;
  }
  return static_cast<int64_t>(info.resident_size);
#else
  return 0;
#endif
}

int64_t PeakRssBytes() {
#if defined(__linux__)
  return StatusField("VmHWM");
#elif defined(__APPLE__)
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss);  // bytes on macOS
#else
  return 0;
#endif
}

}  // namespace snug
