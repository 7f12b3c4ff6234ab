// Pre-tokenizer regexes under PCRE2 against splits computed by an independent engine (V8's
// RegExp with the u flag, tools/golden style: node -e 'text.match(pattern)') on text where
// JavaScript's \s and Rust's \s agree; plus the Rust-\s translation itself.
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

namespace snug::tokenizer {
namespace {

using Pieces = std::vector<std::string_view>;

Pieces Split(std::string_view name, std::string_view text) {
  Result<PreTokenizer> pre = PreTokenizer::Create(PreTokenizerPattern(name));
  CHECK(pre.ok()) << pre.status().ToString();
  Pieces pieces;
  pre->Split(text, pieces);
  return pieces;
}

constexpr std::string_view kText1 = "Hello world's 12345 !!\n\n  x";
constexpr std::string_view kText2 =
    "HelloWorld'S ABCdef 1234567\r\n\tpath/to/file.txt  \xC2\xA0y";  // U+00A0 before y
// 日本語テキスト café́ 👍🏽 I'LL
constexpr std::string_view kText3 =
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88"
    " cafe\xCC\x81 \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD I'LL";

TEST(PreTokenizer, Llama3) {
  EXPECT_EQ(Split("llama-bpe", kText1),
            (Pieces{"Hello", " world", "'s", " ", "123", "45", " !!\n\n", " ", " x"}));
  EXPECT_EQ(Split("llama-bpe", kText2),
            (Pieces{"HelloWorld", "'S", " ABCdef", " ", "123", "456", "7", "\r\n", "\tpath", "/to",
                    "/file", ".txt", "  ", "\xC2\xA0y"}));
  EXPECT_EQ(Split("llama-bpe", kText3), (Pieces{kText3.substr(0, 21), " cafe", "\xCC\x81",
                                                " \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", " I", "'LL"}));
}

TEST(PreTokenizer, O200k) {
  EXPECT_EQ(Split("gpt-4o", kText1),
            (Pieces{"Hello", " world's", " ", "123", "45", " !!\n\n", " ", " x"}));
  EXPECT_EQ(Split("gpt-4o", kText2),
            (Pieces{"Hello", "World'S", " ABCdef", " ", "123", "456", "7", "\r\n", "\tpath", "/to",
                    "/file", ".txt", "  ", "\xC2\xA0y"}));
  EXPECT_EQ(Split("gpt-4o", kText3), (Pieces{kText3.substr(0, 21), " cafe\xCC\x81",
                                             " \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", " I'LL"}));
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(Split("gpt2", kText1),
            (Pieces{"Hello", " world", "'s", " 12345", " !!", "\n\n ", " x"}));
  EXPECT_EQ(Split("default", kText3),
            (Pieces{kText3.substr(0, 21), " cafe", "\xCC\x81", " \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
                    " I", "'", "LL"}));
}

TEST(PreTokenizer, RustWhiteSpaceIncludesNextLine) {
  // U+0085 is White_Space for Rust/tiktoken (and llama.cpp) but not \s for PCRE2.
  // With PCRE2's own \s the two U+0085 would be one punctuation piece.
  EXPECT_EQ(Split("gpt2",
                  "a\xC2\x85\xC2\x85"
                  "b"),
            (Pieces{"a", "\xC2\x85", "\xC2\x85", "b"}));
  Result<std::string> translated = TranslateRustRegex(R"([^\s\p{L}]\s\S)");
  ASSERT_TRUE(translated.ok());
  EXPECT_EQ(*translated, R"([^\t-\r\x{85}\p{Z}\p{L}][\t-\r\x{85}\p{Z}][^\t-\r\x{85}\p{Z}])");
  EXPECT_FALSE(TranslateRustRegex(R"([\S])").ok());
  EXPECT_FALSE(PreTokenizer::Create("(unclosed").ok());
  EXPECT_TRUE(PreTokenizerPattern("no-such-pre").empty());
}

}  // namespace
}  // namespace snug::tokenizer
