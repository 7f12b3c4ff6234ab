// Gemma 4 chat rendering against goldens rendered by Jinja from the official template
// (tools/golden/render_chat_gemma4.py), the cases snug refuses, and the stop tokens.
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

TEST(ChatFormatGemma4, MatchesJinjaGoldensByteForByte) {
  const Json golden = LoadGolden("chat_gemma4.json");
  ASSERT_GE(golden.at("cases").size(), 50u);
  int rendered_cases = 0;
  for (const Json& c : golden.at("cases")) {
    const std::string label = c.at("name").get<std::string>() +
                              (c.at("enable_thinking").get<bool>() ? "+thinking" : "") +
                              (c.at("add_generation_prompt").get<bool>() ? "+prompt" : "");
    ChatOptions options;
    options.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    options.enable_thinking = c.at("enable_thinking").get<bool>();
    rendered_cases +=
        ExpectMatchesGolden(c, RenderChat(ChatFormat::kGemma4, GoldenMessages(c), options), label);
  }
  EXPECT_GE(rendered_cases, 40);
}

TEST(ChatFormatGemma4, RefusalsNameTheMessage) {
  const std::vector<ChatMessage> tool = {{"user", "q"}, {"tool", "{}"}};
  Result<std::string> r = RenderChat(ChatFormat::kGemma4, tool);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("message 2 has role 'tool'"), std::string::npos)
      << r.status().message();
  r = RenderChat(ChatFormat::kGemma4, std::vector<ChatMessage>{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no messages"), std::string::npos);
}

TEST(ChatFormatGemma4, NameAndStopTokens) {
  EXPECT_EQ(*ChatFormatFromName("gemma4"), ChatFormat::kGemma4);
  EXPECT_EQ(ChatFormatName(ChatFormat::kGemma4), "gemma4");
  testing::VocabBuilder builder(ModelKind::kMergesBpe);
  builder.AddByteTokens();
  const TokenId x = builder.Add("x");
  builder.Merge(x, x);
  const TokenId eos = builder.Add("<eos>", TokenType::kControl);
  const TokenId tool_response = builder.Add("<|tool_response>", TokenType::kUserDefined);
  const TokenId end_of_turn = builder.Add("<turn|>", TokenType::kControl);
  builder.Add("<end_of_turn>", TokenType::kControl);  // Gemma 3's: not a Gemma 4 stop
  const Tokenizer t = builder.Build();
  EXPECT_EQ(StopTokenIds(ChatFormat::kGemma4, t),
            (std::vector<TokenId>{end_of_turn, eos, tool_response}));
}

}  // namespace
}  // namespace snug::tokenizer
