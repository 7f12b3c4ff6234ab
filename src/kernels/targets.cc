#include "kernels/targets.h"

#include <hwy/targets.h>

namespace snug::kernels {

std::vector<int64_t> SupportedTargets() { return hwy::SupportedAndGeneratedTargets(); }

std::string TargetName(int64_t target) { return hwy::TargetName(target); }

std::string BestTargetName() {
  const std::vector<int64_t> targets = SupportedTargets();
  return targets.empty() ? "none" : TargetName(targets.front());
}

ScopedTarget::ScopedTarget(int64_t target) {
  hwy::SetSupportedTargetsForTest(target);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

ScopedTarget::~ScopedTarget() {
  hwy::SetSupportedTargetsForTest(0);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

}  // namespace snug::kernels
