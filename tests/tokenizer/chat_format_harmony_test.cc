// Harmony (gpt-oss) chat rendering against goldens rendered by Jinja from the official template
// (tools/golden/render_chat_harmony.py), the cases snug refuses, dates, and the stop tokens.
#include <gtest/gtest.h>

#include "chat_golden.h"
#include "test_vocabularies.h"
#include "tokenizer/chat_format.h"

namespace snug::tokenizer {
namespace {

using testing::ExpectMatchesGolden;
using testing::GoldenMessages;
using testing::Json;
using testing::LoadGolden;

TEST(ChatFormatHarmony, MatchesJinjaGoldensByteForByte) {
  const Json golden = LoadGolden("chat_harmony.json");
  ASSERT_GE(golden.at("cases").size(), 40u);
  ASSERT_EQ(golden.at("date").get<std::string>(), "2024-07-26");
  int rendered_cases = 0;
  for (const Json& c : golden.at("cases")) {
    const std::string label = c.at("name").get<std::string>() +
                              (c.at("add_generation_prompt").get<bool>() ? "+prompt" : "");
    ChatOptions options;  // the default date, "26 Jul 2024", is the goldens' 2024-07-26
    options.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    options.reasoning_effort = c.at("reasoning_effort").get<std::string>();
    rendered_cases +=
        ExpectMatchesGolden(c, RenderChat(ChatFormat::kHarmony, GoldenMessages(c), options), label);
  }
  EXPECT_GE(rendered_cases, 30);
}

TEST(ChatFormatHarmony, RefusalsNameTheMessage) {
  const std::vector<ChatMessage> later = {{"user", "q"}, {"assistant", "a"}, {"system", "s"}};
  Result<std::string> r = RenderChat(ChatFormat::kHarmony, later);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("message 3 is a system message after the first"),
            std::string::npos)
      << r.status().message();
  const std::vector<ChatMessage> tool = {{"user", "q"}, {"tool", "{}"}};
  r = RenderChat(ChatFormat::kHarmony, tool);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("message 2 is a tool result with no tool call"), std::string::npos);
  const std::vector<ChatMessage> channel = {{"user", "q"},
                                            {"assistant", "<|channel|>final<|message|>x"}};
  r = RenderChat(ChatFormat::kHarmony, channel);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("message 2 (assistant) contains"), std::string::npos);
  r = RenderChat(ChatFormat::kHarmony, std::vector<ChatMessage>{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no messages"), std::string::npos);
  const std::vector<ChatMessage> hi = {{"user", "hi"}};
  r = RenderChat(ChatFormat::kHarmony, hi, {.reasoning_effort = "extreme"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("reasoning effort 'extreme'"), std::string::npos);
}

TEST(ChatFormatHarmony, DatesInBothForms) {
  const std::vector<ChatMessage> hi = {{"user", "hi"}};
  const auto date_line = [&](const std::string& date) -> std::string {
    Result<std::string> r = RenderChat(ChatFormat::kHarmony, hi, {.date_string = date});
    if (!r.ok()) return "error: " + r.status().message();
    const size_t at = r->find("Current date: ");
    return r->substr(at + 14, r->find('\n', at) - at - 14);
  };
  EXPECT_EQ(date_line("2025-01-31"), "2025-01-31");
  EXPECT_EQ(date_line("5 Mar 2025"), "2025-03-05");
  EXPECT_EQ(date_line("26 Dec 2024"), "2024-12-26");
  EXPECT_NE(date_line("March 5").find("error: tokenizer: harmony chat: date 'March 5'"),
            std::string::npos);
  EXPECT_NE(date_line("5 Foo 2025").find("error:"), std::string::npos);
}

TEST(ChatFormatHarmony, NameAndStopTokensNeverEnd) {
  EXPECT_EQ(*ChatFormatFromName("harmony"), ChatFormat::kHarmony);
  EXPECT_EQ(*ChatFormatFromName("gpt-oss"), ChatFormat::kHarmony);
  EXPECT_EQ(ChatFormatName(ChatFormat::kHarmony), "harmony");
  testing::VocabBuilder builder(ModelKind::kMergesBpe);
  builder.AddByteTokens();
  const TokenId x = builder.Add("x");
  builder.Merge(x, x);
  const TokenId end_of_text = builder.Add("<|endoftext|>", TokenType::kControl);
  const TokenId return_token = builder.Add("<|return|>", TokenType::kControl);
  builder.Add("<|end|>", TokenType::kControl);  // closes the analysis message: not a stop
  const TokenId call = builder.Add("<|call|>", TokenType::kControl);
  const Tokenizer t = builder.Build();
  EXPECT_EQ(StopTokenIds(ChatFormat::kHarmony, t),
            (std::vector<TokenId>{return_token, call, end_of_text}));
}

}  // namespace
}  // namespace snug::tokenizer
