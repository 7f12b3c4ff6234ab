// How many bytes snug may use: --memory when given; else the cgroup limit (v2 memory.max or v1
// memory.limit_in_bytes of this process's cgroup and its ancestors); else the memory available
// now plus what snug already holds; on macOS, physical memory. A reserve for the OS comes off
// the machine-derived budgets. The machine is read into MachineReadings first, so every case
// (cgroups, macOS) is decided by a pure function that tests drive with injected readings.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/status.h"

namespace snug::memory {

struct MachineReadings {
  bool macos = false;
  int64_t physical_bytes = 0;                 // MemTotal, or hw.memsize on macOS
  std::optional<int64_t> available_bytes;     // MemAvailable (Linux)
  int64_t process_rss_bytes = 0;              // what snug holds already (counted as available)
  std::optional<int64_t> cgroup_limit_bytes;  // the tightest limit on this process, if any
  int cgroup_version = 0;                     // 1 or 2 when cgroup_limit_bytes is set
  std::string cgroup_path;                    // e.g. "/user.slice/..." (for the printout)
};

// Returns a file's contents, or nullopt when it cannot be read.
using ReadFileFunction = std::function<std::optional<std::string>(const std::string& path)>;

// Linux readings from /proc/meminfo, /proc/self/cgroup and /sys/fs/cgroup through `read`.
MachineReadings ReadLinuxMachine(const ReadFileFunction& read, int64_t process_rss_bytes);
// This machine (Linux files, or sysctl on macOS).
MachineReadings ReadMachine();

struct BudgetOptions {
  std::optional<int64_t> memory_bytes;   // --memory: the budget itself, no reserve taken off
  std::optional<int64_t> reserve_bytes;  // --reserve: replaces the default reserve
};

struct Budget {
  int64_t bytes = 0;
  int64_t reserve_bytes = 0;  // taken off `base_bytes` to give `bytes`
  int64_t base_bytes = 0;     // the limit or memory the budget was derived from
  std::string source;         // "--memory", "cgroup v2 limit", "available memory", ...
};

// Default reserves: Linux machine memory 1/16 of physical memory within [256 MiB, 1 GiB]; a
// cgroup limit 1/16 of the limit within [64 MiB, 1 GiB] (no OS lives inside the cgroup, but
// page tables, socket buffers and page cache are charged to it); macOS 1/8 of physical memory,
// at least 2 GiB.
int64_t DefaultReserve(const MachineReadings& machine);

// Errors when the budget would be zero or less, or the machine said nothing usable.
Result<Budget> DecideBudget(const BudgetOptions& options, const MachineReadings& machine);

}  // namespace snug::memory
