// Byte sizes as people write them on a command line ("16GiB", "12G", "800MiB", "1.5GB") and as
// the plan prints them. Binary units for K/M/G/T and KiB/MiB/GiB/TiB; SI units for KB/MB/GB/TB.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace snug::memory {

inline constexpr int64_t kKiB = int64_t{1} << 10;
inline constexpr int64_t kMiB = int64_t{1} << 20;
inline constexpr int64_t kGiB = int64_t{1} << 30;
inline constexpr int64_t kTiB = int64_t{1} << 40;

// A non-negative size; errors name the text ("memory: '12X' is not a size (...)").
Result<int64_t> ParseSize(std::string_view text);

// "16.00 GiB", "812.3 MiB", "4.0 KiB", "512 B"; negative sizes get a minus sign.
std::string FormatBytes(int64_t bytes);

}  // namespace snug::memory
