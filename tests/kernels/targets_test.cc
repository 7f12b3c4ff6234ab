#include "kernels/targets.h"

#include <gtest/gtest.h>

namespace snug::kernels {
namespace {

TEST(TargetsTest, AtLeastOneTargetAndItsName) {
  const std::vector<int64_t> targets = SupportedTargets();
  ASSERT_FALSE(targets.empty());
  for (int64_t target : targets) {
    ScopedTarget scope(target);
    EXPECT_FALSE(TargetName(target).empty());
  }
  EXPECT_EQ(BestTargetName(), TargetName(targets.front()));
}

}  // namespace
}  // namespace snug::kernels
