// The SIMD targets compiled into this binary that this CPU supports, and a scope that forces
// dispatch to one of them: tests run every kernel on every target, benchmarks report which one
// ran. Plain types only, so callers need no SIMD header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace snug::kernels {

std::vector<int64_t> SupportedTargets();  // best first
std::string TargetName(int64_t target);   // "AVX3", "AVX2", "NEON", "EMU128", ...
std::string BestTargetName();             // what dispatch picks with no ScopedTarget

// While alive, every dispatched kernel runs its `target` version. Not thread-safe: tests only.
class ScopedTarget {
 public:
  explicit ScopedTarget(int64_t target);
  ~ScopedTarget();
  ScopedTarget(const ScopedTarget&) = delete;
  ScopedTarget& operator=(const ScopedTarget&) = delete;
};

}  // namespace snug::kernels
