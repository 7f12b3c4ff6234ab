#include "engine/stop.h"

#include <gtest/gtest.h>

namespace snug {
namespace {

std::string Feed(StopMatcher& matcher, const std::vector<std::string>& pieces) {
  std::string shown;
  for (const std::string& piece : pieces) {
    shown += matcher.Push(piece);
    if (matcher.stopped()) return shown;
  }
  return shown + matcher.Finish();
}

TEST(StopMatcherTest, StopsBeforeAStopStringSplitAcrossPieces) {
  StopMatcher matcher({"###", "END"});
  EXPECT_EQ(Feed(matcher, {"hello #", "#", "# world"}), "hello ");
  EXPECT_TRUE(matcher.stopped());
}

TEST(StopMatcherTest, HoldsBackOnlyWhatCouldStillMatch) {
  StopMatcher matcher({"END"});
  EXPECT_EQ(matcher.Push("abcE"), "abc");
  EXPECT_EQ(matcher.Push("N"), "");
  EXPECT_EQ(matcher.Push("x"), "ENx");  // "ENx" can no longer become "END"
  EXPECT_FALSE(matcher.stopped());
  EXPECT_EQ(matcher.Push("tail E"), "tail ");
  EXPECT_EQ(matcher.Finish(), "E");
}

TEST(StopMatcherTest, EarliestStopWins) {
  StopMatcher matcher({"cd", "b"});
  EXPECT_EQ(matcher.Push("abcd"), "a");
  EXPECT_TRUE(matcher.stopped());
  EXPECT_EQ(matcher.Finish(), "");
}

TEST(StopMatcherTest, NoStopsPassesEverything) {
  StopMatcher matcher({});
  EXPECT_EQ(Feed(matcher, {"a", "b"}), "ab");
}

}  // namespace
}  // namespace snug
