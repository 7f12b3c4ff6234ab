// The budget from every source, with the machine injected: a fake /proc and /sys for cgroup v1
// and v2 (limits on the process's cgroup and on ancestors), MemAvailable, and macOS readings.
#include "memory/budget.h"

#include <gtest/gtest.h>

#include <map>

#include "memory/size.h"

namespace snug::memory {
namespace {

constexpr int64_t kPhysical = 32 * kGiB;

// A fake file system: path -> contents.
ReadFileFunction Files(std::map<std::string, std::string> files) {
  return [files = std::move(files)](const std::string& path) -> std::optional<std::string> {
    const auto found = files.find(path);
    if (found == files.end()) return std::nullopt;
    return found->second;
  };
}

const std::string kMeminfo =
    "MemTotal:       33554432 kB\n"
    "MemFree:         1000000 kB\n"
    "MemAvailable:   20971520 kB\n"
    "Buffers:          100000 kB\n";

TEST(BudgetTest, ReadsMeminfoWithoutCgroupLimit) {
  const MachineReadings machine =
      ReadLinuxMachine(Files({{"/proc/meminfo", kMeminfo},
                              {"/proc/self/cgroup", "0::/user.slice/session-1.scope\n"},
                              {"/sys/fs/cgroup/user.slice/session-1.scope/memory.max", "max\n"},
                              {"/sys/fs/cgroup/user.slice/memory.max", "max\n"}}),
                       /*process_rss_bytes=*/512 * kMiB);
  EXPECT_EQ(machine.physical_bytes, kPhysical);
  EXPECT_EQ(machine.available_bytes, 20 * kGiB);
  EXPECT_FALSE(machine.cgroup_limit_bytes.has_value());

  const Result<Budget> budget = DecideBudget({}, machine);
  ASSERT_TRUE(budget.ok()) << budget.status().ToString();
  // Available plus what snug holds, minus 1/16 of physical memory capped at 1 GiB.
  EXPECT_EQ(budget->base_bytes, 20 * kGiB + 512 * kMiB);
  EXPECT_EQ(budget->reserve_bytes, kGiB);
  EXPECT_EQ(budget->bytes, 20 * kGiB + 512 * kMiB - kGiB);
  EXPECT_EQ(budget->source, "available memory");
}

TEST(BudgetTest, CgroupV2LimitOnAnAncestorIsTheTightest) {
  const MachineReadings machine = ReadLinuxMachine(
      Files({{"/proc/meminfo", kMeminfo},
             {"/proc/self/cgroup", "0::/system.slice/snug.service\n"},
             {"/sys/fs/cgroup/system.slice/snug.service/memory.max", "12884901888\n"},  // 12 GiB
             {"/sys/fs/cgroup/system.slice/memory.max", "8589934592\n"}}),              // 8 GiB
      0);
  ASSERT_TRUE(machine.cgroup_limit_bytes.has_value());
  EXPECT_EQ(*machine.cgroup_limit_bytes, 8 * kGiB);
  EXPECT_EQ(machine.cgroup_version, 2);
  EXPECT_EQ(machine.cgroup_path, "/system.slice");
  const Result<Budget> budget = DecideBudget({}, machine);
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->base_bytes, 8 * kGiB);
  EXPECT_EQ(budget->reserve_bytes, 512 * kMiB);  // 1/16 of the limit
  EXPECT_EQ(budget->bytes, 8 * kGiB - 512 * kMiB);
  EXPECT_EQ(budget->source, "cgroup v2 limit (/system.slice)");
}

TEST(BudgetTest, CgroupV2InsideANamespaceReadsTheRoot) {
  // A container sees its own cgroup as "/" while /proc/self/cgroup names the host's path.
  const MachineReadings machine =
      ReadLinuxMachine(Files({{"/proc/meminfo", kMeminfo},
                              {"/proc/self/cgroup", "0::/docker/abc123\n"},
                              {"/sys/fs/cgroup/memory.max", "4294967296\n"}}),
                       0);
  ASSERT_TRUE(machine.cgroup_limit_bytes.has_value());
  EXPECT_EQ(*machine.cgroup_limit_bytes, 4 * kGiB);
  EXPECT_EQ(machine.cgroup_path, "/");
}

TEST(BudgetTest, CgroupV1MemoryController) {
  const MachineReadings machine = ReadLinuxMachine(
      Files({{"/proc/meminfo", kMeminfo},
             {"/proc/self/cgroup", "12:cpu,cpuacct:/job\n5:memory:/job\n1:name=systemd:/job\n"},
             {"/sys/fs/cgroup/memory/job/memory.limit_in_bytes", "6442450944\n"},
             // v1's "unlimited" at the root is 2^63 rounded to a page: no limit.
             {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n"}}),
      0);
  ASSERT_TRUE(machine.cgroup_limit_bytes.has_value());
  EXPECT_EQ(*machine.cgroup_limit_bytes, 6 * kGiB);
  EXPECT_EQ(machine.cgroup_version, 1);
  const Result<Budget> budget = DecideBudget({.reserve_bytes = 256 * kMiB}, machine);
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->bytes, 6 * kGiB - 256 * kMiB);
}

TEST(BudgetTest, CgroupLimitAboveAvailableMemoryIsCapped) {
  MachineReadings machine;
  machine.physical_bytes = kPhysical;
  machine.available_bytes = 3 * kGiB;
  machine.process_rss_bytes = kGiB;
  machine.cgroup_limit_bytes = 16 * kGiB;
  machine.cgroup_version = 2;
  machine.cgroup_path = "/a";
  const Result<Budget> budget = DecideBudget({}, machine);
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->base_bytes, 4 * kGiB);
  EXPECT_EQ(budget->bytes, 4 * kGiB - kGiB);  // the reserve of a 16 GiB limit is 1 GiB
  EXPECT_NE(budget->source.find("capped by available memory"), std::string::npos);
}

TEST(BudgetTest, MacOsUsesPhysicalMemoryMinusAReserve) {
  MachineReadings machine;
  machine.macos = true;
  machine.physical_bytes = 16 * kGiB;
  const Result<Budget> budget = DecideBudget({}, machine);
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->reserve_bytes, 2 * kGiB);  // max(2 GiB, 1/8)
  EXPECT_EQ(budget->bytes, 14 * kGiB);
  EXPECT_EQ(budget->source, "physical memory (macOS)");
  machine.physical_bytes = 64 * kGiB;
  EXPECT_EQ(DecideBudget({}, machine)->bytes, 56 * kGiB);
  EXPECT_EQ(DecideBudget({.reserve_bytes = 4 * kGiB}, machine)->bytes, 60 * kGiB);
}

TEST(BudgetTest, MemoryFlagWinsAndTakesNoReserve) {
  MachineReadings machine;
  machine.macos = true;
  machine.physical_bytes = 8 * kGiB;
  const Result<Budget> budget = DecideBudget({.memory_bytes = 16 * kGiB}, machine);
  ASSERT_TRUE(budget.ok());
  EXPECT_EQ(budget->bytes, 16 * kGiB);
  EXPECT_EQ(budget->reserve_bytes, 0);
  EXPECT_EQ(budget->source, "--memory");
}

TEST(BudgetTest, RefusesBudgetsOfNothing) {
  MachineReadings machine;  // no readings at all
  EXPECT_EQ(DecideBudget({}, machine).status().code(), StatusCode::kFailedPrecondition);
  machine.available_bytes = 200 * kMiB;
  machine.physical_bytes = 2 * kGiB;
  const Result<Budget> budget = DecideBudget({}, machine);  // reserve 256 MiB > 200 MiB
  EXPECT_EQ(budget.status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(DecideBudget({.memory_bytes = 0}, machine).ok());
}

TEST(BudgetTest, ReadsThisMachine) {
  const MachineReadings machine = ReadMachine();
  EXPECT_GT(machine.physical_bytes, 0);
  EXPECT_TRUE(DecideBudget({}, machine).ok());
}

}  // namespace
}  // namespace snug::memory
