// Sizes as written on the command line and as the plan prints them.
#include "memory/size.h"

#include <gtest/gtest.h>

namespace snug::memory {
namespace {

TEST(SizeTest, ParsesBinaryAndDecimalUnits) {
  EXPECT_EQ(*ParseSize("16GiB"), 16ll << 30);
  EXPECT_EQ(*ParseSize("12G"), 12ll << 30);
  EXPECT_EQ(*ParseSize("12g"), 12ll << 30);
  EXPECT_EQ(*ParseSize("800MiB"), 800ll << 20);
  EXPECT_EQ(*ParseSize("800M"), 800ll << 20);
  EXPECT_EQ(*ParseSize("16GB"), 16'000'000'000ll);
  EXPECT_EQ(*ParseSize("1.5GiB"), 3ll << 29);
  EXPECT_EQ(*ParseSize("64k"), 64ll << 10);
  EXPECT_EQ(*ParseSize("2TiB"), 2ll << 40);
  EXPECT_EQ(*ParseSize("4096"), 4096);
  EXPECT_EQ(*ParseSize("4096B"), 4096);
  EXPECT_EQ(*ParseSize("16 GiB"), 16ll << 30);
}

TEST(SizeTest, RefusesWhatIsNotASize) {
  for (const char* text :
       {"", "GiB", "-1G", "12X", "1.2.3G", ".", "12GiBs", "1e3G", "99999999999TiB"}) {
    const Result<int64_t> size = ParseSize(text);
    EXPECT_FALSE(size.ok()) << text;
    if (!size.ok()) {
      EXPECT_NE(size.status().message().find("is not a size"), std::string::npos) << text;
    }
  }
}

TEST(SizeTest, Formats) {
  EXPECT_EQ(FormatBytes(16ll << 30), "16.00 GiB");
  EXPECT_EQ(FormatBytes(800ll << 20), "800.0 MiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(-(3ll << 30)), "-3.00 GiB");
}

}  // namespace
}  // namespace snug::memory
