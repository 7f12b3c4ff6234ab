// Resident memory of this process, as the kernel counts it (Linux /proc/self/status; macOS
// task_info). 0 where the platform does not say.
#pragma once

#include <cstdint>

namespace snug {

int64_t CurrentRssBytes();  // VmRSS
int64_t PeakRssBytes();     // VmHWM: the high-water mark since start

}  // namespace snug
