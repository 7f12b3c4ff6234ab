#include "memory/size.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

namespace snug::memory {
namespace {

struct Unit {
  std::string_view name;  // lower case
  int64_t bytes;
};

constexpr Unit kUnits[] = {
    {"", 1},
    {"b", 1},
    {"k", kKiB},
    {"kib", kKiB},
    {"kb", 1000},
    {"m", kMiB},
    {"mib", kMiB},
    {"mb", 1000 * 1000},
    {"g", kGiB},
    {"gib", kGiB},
    {"gb", 1000 * 1000 * 1000},
    {"t", kTiB},
    {"tib", kTiB},
    {"tb", int64_t{1000} * 1000 * 1000 * 1000},
};

Status NotASize(std::string_view text, std::string_view why) {
  return InvalidArgument("memory: '" + std::string(text) + "' is not a size (" + std::string(why) +
                         "; e.g. 16GiB, 12G, 800MiB)");
}

}  // namespace

Result<int64_t> ParseSize(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  const std::string number(text.substr(0, i));
  if (number.empty() || number == "." || number.find('.') != number.rfind('.')) {
    return NotASize(text, "no number");
  }
  std::string unit;
  for (size_t j = i; j < text.size(); ++j) {
    if (text[j] == ' ' && unit.empty()) continue;  // "16 GiB"
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[j])));
  }
  for (const Unit& candidate : kUnits) {
    if (candidate.name != unit) continue;
    const long double value = std::stold(number) * candidate.bytes;
    if (value > 9.0e18L) return NotASize(text, "too large");
    return static_cast<int64_t>(std::llround(value));
  }
  return NotASize(text, "unknown unit '" + unit + "'");
}

std::string FormatBytes(int64_t bytes) {
  const char* sign = bytes < 0 ? "-" : "";
  const double magnitude = std::fabs(static_cast<double>(bytes));
  char text[64];
  if (magnitude >= kGiB) {
    std::snprintf(text, sizeof(text), "%s%.2f GiB", sign, magnitude / kGiB);
  } else if (magnitude >= kMiB) {
    std::snprintf(text, sizeof(text), "%s%.1f MiB", sign, magnitude / kMiB);
  } else if (magnitude >= kKiB) {
    std::snprintf(text, sizeof(text), "%s%.1f KiB", sign, magnitude / kKiB);
  } else {
    std::snprintf(text, sizeof(text), "%s%.0f B", sign, magnitude);
  }
  return text;
}

}  // namespace snug::memory
