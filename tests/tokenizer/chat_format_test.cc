// Native chat rendering against goldens rendered by Jinja from the official templates
// (tools/golden/render_chat.py), plus the errors snug adds where the templates accept nonsense.
#include "tokenizer/chat_format.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_vocabularies.h"

namespace snug::tokenizer {
namespace {

using Json = nlohmann::json;

Json LoadChatGolden() {
  std::ifstream in(std::string(SNUG_SOURCE_DIR) + "/tests/tokenizer/golden/chat.json");
  std::ostringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

TEST(ChatFormat, MatchesJinjaGoldensByteForByte) {
  const Json golden = LoadChatGolden();
  ASSERT_GE(golden.at("cases").size(), 20u);
  for (const Json& c : golden.at("cases")) {
    const std::string label = c.at("format").get<std::string>() + "/" +
                              c.at("name").get<std::string>() +
                              (c.at("add_generation_prompt").get<bool>() ? "+prompt" : "");
    Result<ChatFormat> format = ChatFormatFromName(c.at("format").get<std::string>());
    ASSERT_TRUE(format.ok()) << label;
    std::vector<ChatMessage> messages;
    for (const Json& m : c.at("messages")) {
      messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
    }
    ChatOptions options;
    options.add_generation_prompt = c.at("add_generation_prompt").get<bool>();
    if (c.contains("date_string")) options.date_string = c.at("date_string").get<std::string>();
    const Result<std::string> rendered = RenderChat(*format, messages, options);
    if (c.value("error", false)) {
      EXPECT_FALSE(rendered.ok()) << label << " should fail like the template";
      continue;
    }
    ASSERT_TRUE(rendered.ok()) << label << ": " << rendered.status().ToString();
    EXPECT_EQ(*rendered, c.at("expected").get<std::string>()) << label;
  }
}

TEST(ChatFormat, Gemma3ErrorsArePrecise) {
  const std::vector<ChatMessage> late_system = {{"user", "a"}, {"system", "b"}};
  Result<std::string> r = RenderChat(ChatFormat::kGemma3, late_system);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("message 2 is a system message"), std::string::npos)
      << r.status().message();

  const std::vector<ChatMessage> assistant_first = {{"system", "s"}, {"assistant", "a"}};
  r = RenderChat(ChatFormat::kGemma3, assistant_first);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("message 2 is from the assistant where the user"),
            std::string::npos)
      << r.status().message();

  const std::vector<ChatMessage> tool = {{"tool", "{}"}};
  r = RenderChat(ChatFormat::kGemma3, tool);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("role 'tool'"), std::string::npos);
  // Llama 3 renders a tool result as an "ipython" turn (chat_format_tools_test.cc); an
  // unknown role stays refused.
  EXPECT_FALSE(RenderChat(ChatFormat::kLlama3, std::vector<ChatMessage>{{"robot", "x"}}).ok());
}

TEST(ChatFormat, ModelIsAnAliasOfAssistantForGemma) {
  const std::vector<ChatMessage> a = {{"user", "q"}, {"model", "a"}, {"user", "q2"}};
  const std::vector<ChatMessage> b = {{"user", "q"}, {"assistant", "a"}, {"user", "q2"}};
  EXPECT_EQ(*RenderChat(ChatFormat::kGemma3, a), *RenderChat(ChatFormat::kGemma3, b));
}

TEST(ChatFormat, NamesAndStopTokens) {
  EXPECT_EQ(*ChatFormatFromName("gemma3"), ChatFormat::kGemma3);
  EXPECT_EQ(*ChatFormatFromName("llama3"), ChatFormat::kLlama3);
  EXPECT_EQ(ChatFormatFromName("vicuna").status().code(), StatusCode::kNotFound);
  testing::VocabBuilder builder(ModelKind::kMergesBpe);
  builder.AddByteTokens();
  const TokenId x = builder.Add("x");
  builder.Merge(x, x);
  const TokenId eos = builder.Add("<eos>", TokenType::kControl);
  const TokenId end_of_turn = builder.Add("<end_of_turn>", TokenType::kControl);
  const Tokenizer t = builder.Build();
  EXPECT_EQ(StopTokenIds(ChatFormat::kGemma3, t), (std::vector<TokenId>{end_of_turn, eos}));
  EXPECT_TRUE(StopTokenIds(ChatFormat::kLlama3, t).empty());
}

}  // namespace
}  // namespace snug::tokenizer
