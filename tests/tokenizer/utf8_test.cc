// UTF-8 well-formedness, repair, Python-compatible trim and the GPT-2 byte map.
#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

namespace snug::tokenizer {
namespace {

using Kind = Utf8Sequence::Kind;

TEST(Utf8, ClassifiesSequences) {
  EXPECT_EQ(NextUtf8Sequence("a").kind, Kind::kComplete);
  const Utf8Sequence euro = NextUtf8Sequence("\xE2\x82\xAC!");
  EXPECT_EQ(euro.kind, Kind::kComplete);
  EXPECT_EQ(euro.length, 3u);
  EXPECT_EQ(euro.codepoint, 0x20ACu);
  EXPECT_EQ(NextUtf8Sequence("\xF0\x9F\x98\x80").codepoint, 0x1F600u);
  // Truncated but consistent so far: more bytes could complete it.
  EXPECT_EQ(NextUtf8Sequence("\xE2\x82").kind, Kind::kIncomplete);
  EXPECT_EQ(NextUtf8Sequence("\xF0").kind, Kind::kIncomplete);
  // Ill-formed: stray continuation, overlong, surrogate, beyond U+10FFFF, bad continuation.
  EXPECT_EQ(NextUtf8Sequence("\x80").kind, Kind::kInvalid);
  EXPECT_EQ(NextUtf8Sequence("\xC0\xAF").kind, Kind::kInvalid);
  EXPECT_EQ(NextUtf8Sequence("\xE0\x80\x80").kind, Kind::kInvalid);
  EXPECT_EQ(NextUtf8Sequence("\xED\xA0\x80").kind, Kind::kInvalid);
  EXPECT_EQ(NextUtf8Sequence("\xF4\x90\x80\x80").kind, Kind::kInvalid);
  const Utf8Sequence bad_third = NextUtf8Sequence("\xE2\x82X");
  EXPECT_EQ(bad_third.kind, Kind::kInvalid);
  EXPECT_EQ(bad_third.length, 2u);  // the maximal subpart E2 82
}

TEST(Utf8, RepairReplacesMaximalSubparts) {
  EXPECT_EQ(RepairUtf8("ok"), "ok");
  EXPECT_EQ(RepairUtf8("a\x80z"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(RepairUtf8("a\xE2\x82z"), "a\xEF\xBF\xBDz");  // one U+FFFD for E2 82
  EXPECT_EQ(ReplaceInvalidBytes("a\xE2\x82z"), "a\xEF\xBF\xBD\xEF\xBF\xBDz");  // one per byte
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("tail\xC3"));
}

TEST(Utf8, TrimMatchesPythonStrip) {
  EXPECT_EQ(TrimPythonWhitespace("  \t\nhi there\r\n "), "hi there");
  EXPECT_EQ(TrimPythonWhitespace("\xE3\x80\x80x\xC2\xA0"), "x");      // U+3000, U+00A0
  EXPECT_EQ(TrimPythonWhitespace("\x1Fx\x1C"), "x");                  // Python counts these
  EXPECT_EQ(TrimPythonWhitespace("\xE2\x80\x8Bx"), "\xE2\x80\x8Bx");  // U+200B is not space
  EXPECT_EQ(TrimPythonWhitespace("   "), "");
}

TEST(Utf8, ByteUnicodeMapRoundTrips) {
  const ByteUnicodeMap map;
  EXPECT_EQ(map.Encode(' '), "\xC4\xA0");   // "Ġ"
  EXPECT_EQ(map.Encode('\n'), "\xC4\x8A");  // "Ċ"
  EXPECT_EQ(map.Encode('a'), "a");
  for (int b = 0; b < 256; ++b) {
    const std::string_view encoded = map.Encode(static_cast<uint8_t>(b));
    const Utf8Sequence seq = NextUtf8Sequence(encoded);
    ASSERT_EQ(seq.kind, Kind::kComplete);
    EXPECT_EQ(map.Decode(seq.codepoint), b);
  }
}

}  // namespace
}  // namespace snug::tokenizer
