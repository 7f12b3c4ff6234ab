// Gemma 4 chat rendering against goldens rendered by Jinja from the official template
// (tools/golden/render_chat_gemma4.py), the cases snug refuses, and the stop tokens.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_vocabularies.h"
#include "tokenizer/chat_format.h"

namespace snug::tokenizer {
namespace {

using Json = nlohmann::json;

Json LoadGolden() {
  std::ifstream in(std::string(SNUG_SOURCE_DIR) + "/tests/tokenizer/golden/chat_gemma4.json");
  std::ostringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

TEST(ChatFormatGemma4, MatchesJinjaGoldensByteForByte) {
  const Json golden = LoadGolden();
  ASSERT_GE(golden.at("cases").size(), 50u);
  int rendered_cases = 0;
  for (const Json& c : golden.at("cases")) {
    const std::string label = c.at("name").get<std::string>() +
                              (c.at("enable_thinking").get<bool>() ? "+thinking" : "") +
                              (c.at("add_generation_prompt").get<bool>() ? "+prompt" : "");
    std::vector<ChatMessage> messages;
    for (const Json& m : c.at("messages")) {
      messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
    }
    ChatOptions options;
    options.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    options.enable_thinking = c.at("enable_thinking").get<bool>();
    const Result<std::string> rendered = RenderChat(ChatFormat::kGemma4, messages, options);
    if (c.value("error", false) || c.value("snug_refuses", false)) {
      ASSERT_FALSE(rendered.ok()) << label << " should be refused";
      EXPECT_EQ(rendered.status().code(), StatusCode::kInvalidArgument) << label;
      continue;
    }
    ASSERT_TRUE(rendered.ok()) << label << ": " << rendered.status().ToString();
    EXPECT_EQ(*rendered, c.at("expected").get<std::string>()) << label;
    ++rendered_cases;
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
