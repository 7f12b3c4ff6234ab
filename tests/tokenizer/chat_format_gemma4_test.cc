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
  EXPECT_NE(r.status().message().find("message 2 is a tool result with no tool call"), std::string::npos)
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

namespace snug::tokenizer {
namespace {

// §3.5: an image part is "\n\n<|image|>\n\n" in the template, expanded by the processor to the
// image's soft tokens between <|image> and <image|>; audio "<|audio|>" likewise.
TEST(ChatFormatGemma4Media, PartsRenderInOrderWithExpandedPlaceholders) {
  ChatMessage user{.role = "user"};
  user.parts = {{.type = ChatPartType::kText, .text = " Look: "},
                {.type = ChatPartType::kImage, .soft_tokens = 3},
                {.type = ChatPartType::kText, .text = "and listen"},
                {.type = ChatPartType::kAudio, .soft_tokens = 2}};
  const std::vector<ChatMessage> messages = {user};
  Result<ChatPrompt> prompt = RenderChatPrompt(ChatFormat::kGemma4, messages);
  ASSERT_TRUE(prompt.ok()) << prompt.status().message();
  EXPECT_EQ(prompt->text,
            "<bos><|turn>user\nLook:\n\n<|image><|image|><|image|><|image|><image|>\n\nand "
            "listen<|audio><|audio|><|audio|><audio|><turn|>\n<|turn>model\n"
            "<|channel>thought\n<channel|>");
  // Only the text parts are literal: the placeholders are markup (control tokens).
  ASSERT_EQ(prompt->literal.size(), 2u);
  EXPECT_EQ(prompt->text.substr(prompt->literal[0].begin,
                                prompt->literal[0].end - prompt->literal[0].begin),
            "Look:");
}

TEST(ChatFormatGemma4Media, TextOnlyFormatsJoinTextPartsAndRefuseMedia) {
  ChatMessage user{.role = "user"};
  user.parts = {{.type = ChatPartType::kText, .text = "a"},
                {.type = ChatPartType::kText, .text = "b"}};
  std::vector<ChatMessage> messages = {user};
  Result<std::string> text = RenderChat(ChatFormat::kChatMl, messages);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_NE(text->find("<|im_start|>user\nab<|im_end|>"), std::string::npos) << *text;
  messages[0].parts.push_back({.type = ChatPartType::kImage, .soft_tokens = 4});
  text = RenderChat(ChatFormat::kChatMl, messages);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("message 1 has an image part"), std::string::npos)
      << text.status().message();
  messages[0].content = "both";
  text = RenderChat(ChatFormat::kGemma4, messages);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("both content text and content parts"), std::string::npos);
  EXPECT_TRUE(ChatFormatHasMedia(ChatFormat::kGemma4));
  EXPECT_FALSE(ChatFormatHasMedia(ChatFormat::kChatMl));
  EXPECT_EQ(MediaMarkupOf(ChatFormat::kGemma4).image, "<|image|>");
}

}  // namespace
}  // namespace snug::tokenizer
