#include "memory/budget.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "base/process_memory.h"
#include "memory/size.h"

#if defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>
#endif

namespace snug::memory {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  text = Trim(text);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

// A "Name:   1234 kB" line of /proc/meminfo, in bytes.
std::optional<int64_t> MeminfoField(std::string_view meminfo, std::string_view name) {
  std::istringstream lines{std::string(meminfo)};
  std::string line;
  while (std::getline(lines, line)) {
    std::string_view view = line;
    if (view.size() <= name.size() || view.substr(0, name.size()) != name ||
        view[name.size()] != ':') {
      continue;
    }
    view.remove_prefix(name.size() + 1);
    view = Trim(view);
    if (view.size() >= 2 && view.substr(view.size() - 2) == "kB") {
      const std::optional<int64_t> kib = ParseInt(view.substr(0, view.size() - 2));
      if (kib) return *kib * 1024;
      return std::nullopt;
    }
    return ParseInt(view);
  }
  return std::nullopt;
}

// The parents of a cgroup path, itself first: "/a/b" -> "/a/b", "/a", "".
std::vector<std::string> SelfAndAncestors(std::string path) {
  std::vector<std::string> paths;
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (true) {
    paths.push_back(path);
    if (path.empty()) break;
    path.resize(path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  }
  return paths;
}

struct CgroupLimit {
  std::optional<int64_t> bytes;
  int version = 0;
  std::string path;
};

// The tightest limit on the process's cgroup or any ancestor. Values at or above physical
// memory (v1's "unlimited" is ~2^63) are no limit.
CgroupLimit FindCgroupLimit(const ReadFileFunction& read, int64_t physical_bytes) {
  CgroupLimit result;
  const std::optional<std::string> self = read("/proc/self/cgroup");
  if (!self) return result;
  std::istringstream lines(*self);
  std::string line;
  std::string v2_path, v1_path;
  bool has_v2 = false, has_v1 = false;
  while (std::getline(lines, line)) {
    // "hierarchy-id:controllers:path"; v2 is "0::/path", v1 memory is "N:memory:/path" (the
    // controller list may hold several, comma-separated).
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.substr(0, first) == "0" && controllers.empty()) {
      has_v2 = true;
      v2_path = path;
    }
    std::istringstream list(controllers);
    std::string controller;
    while (std::getline(list, controller, ',')) {
      if (controller == "memory") {
        has_v1 = true;
        v1_path = path;
      }
    }
  }
  const auto consider = [&](const std::string& file, int version, const std::string& path) {
    const std::optional<std::string> text = read(file);
    if (!text) return false;
    const std::optional<int64_t> limit = ParseInt(*text);  // "max" parses as none
    if (limit && (physical_bytes <= 0 || *limit < physical_bytes) &&
        (!result.bytes || *limit < *result.bytes)) {
      result.bytes = limit;
      result.version = version;
      result.path = path;
    }
    return true;
  };
  // Inside a cgroup namespace the process's path may not exist under /sys/fs/cgroup; the
  // walk up to the root covers both views.
  if (has_v1) {
    for (const std::string& path : SelfAndAncestors(v1_path)) {
      consider("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes", 1,
               path.empty() ? "/" : path);
    }
  }
  if (has_v2) {
    for (const std::string& path : SelfAndAncestors(v2_path)) {
      consider("/sys/fs/cgroup" + path + "/memory.max", 2, path.empty() ? "/" : path);
    }
  }
  return result;
}

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

MachineReadings ReadLinuxMachine(const ReadFileFunction& read, int64_t process_rss_bytes) {
  MachineReadings machine;
  machine.process_rss_bytes = process_rss_bytes;
  if (const std::optional<std::string> meminfo = read("/proc/meminfo")) {
    machine.physical_bytes = MeminfoField(*meminfo, "MemTotal").value_or(0);
    machine.available_bytes = MeminfoField(*meminfo, "MemAvailable");
  }
  const CgroupLimit limit = FindCgroupLimit(read, machine.physical_bytes);
  machine.cgroup_limit_bytes = limit.bytes;
  machine.cgroup_version = limit.version;
  machine.cgroup_path = limit.path;
  return machine;
}

MachineReadings ReadMachine() {
#if defined(__APPLE__)
  MachineReadings machine;
  machine.macos = true;
  int64_t physical = 0;
  size_t size = sizeof(physical);
  if (sysctlbyname("hw.memsize", &physical, &size, nullptr, 0) == 0) {
    machine.physical_bytes = physical;
  }
  machine.process_rss_bytes = CurrentRssBytes();
  return machine;
#else
  return ReadLinuxMachine(ReadWholeFile, CurrentRssBytes());
#endif
}

int64_t DefaultReserve(const MachineReadings& machine) {
  if (machine.macos) return std::max<int64_t>(2 * kGiB, machine.physical_bytes / 8);
  if (machine.cgroup_limit_bytes) {
    return std::clamp<int64_t>(*machine.cgroup_limit_bytes / 16, 64 * kMiB, kGiB);
  }
  return std::clamp<int64_t>(machine.physical_bytes / 16, 256 * kMiB, kGiB);
}

Result<Budget> DecideBudget(const BudgetOptions& options, const MachineReadings& machine) {
  Budget budget;
  if (options.memory_bytes) {
    if (*options.memory_bytes <= 0) return InvalidArgument("memory: --memory must be positive");
    budget.bytes = budget.base_bytes = *options.memory_bytes;
    budget.source = "--memory";
    return budget;
  }
  // What the machine can give: memory available now plus what snug holds already (it is
  // counted in the plan's tenants, and MemAvailable does not include it).
  std::optional<int64_t> machine_bytes;
  if (machine.available_bytes) machine_bytes = *machine.available_bytes + machine.process_rss_bytes;
  if (machine.macos) {
    budget.base_bytes = machine.physical_bytes;
    budget.source = "physical memory (macOS)";
  } else if (machine.cgroup_limit_bytes) {
    // The limit is the line the kernel kills at; a host with less free memory still caps it.
    budget.base_bytes = std::min(*machine.cgroup_limit_bytes, machine_bytes.value_or(INT64_MAX));
    budget.source = "cgroup v" + std::to_string(machine.cgroup_version) + " limit (" +
                    machine.cgroup_path + ")";
    if (budget.base_bytes < *machine.cgroup_limit_bytes) {
      budget.source += ", capped by available memory";
    }
  } else if (machine_bytes) {
    budget.base_bytes = *machine_bytes;
    budget.source = "available memory";
  } else {
    return FailedPrecondition(
        "memory: cannot tell how much memory this machine has; pass --memory SIZE");
  }
  budget.reserve_bytes = options.reserve_bytes.value_or(DefaultReserve(machine));
  if (budget.reserve_bytes < 0) return InvalidArgument("memory: --reserve must not be negative");
  budget.bytes = budget.base_bytes - budget.reserve_bytes;
  if (budget.bytes <= 0) {
    return ResourceExhausted("memory: " + budget.source + " is " + FormatBytes(budget.base_bytes) +
                             ", no more than the reserve of " + FormatBytes(budget.reserve_bytes) +
                             " for the OS");
  }
  return budget;
}

}  // namespace snug::memory
