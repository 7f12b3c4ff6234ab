// ChatML as Qwen3's template renders text messages (tools: chat_format_tools_test.cc):
// expected strings written from the template by hand.
#include <gtest/gtest.h>

#include <vector>

#include "tokenizer/chat_format.h"

namespace snug::tokenizer {
namespace {

TEST(ChatMl, RendersTurnsAndTheGenerationPrompt) {
  const std::vector<ChatMessage> messages = {
      {"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", " Why? "}};
  const Result<std::string> text = RenderChat(ChatFormat::kChatMl, messages);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n Why? <|im_end|>\n"
            "<|im_start|>assistant\n");
  const Result<std::string> no_prompt =
      RenderChat(ChatFormat::kChatMl, messages, {.add_generation_prompt = false});
  ASSERT_TRUE(no_prompt.ok());
  EXPECT_EQ(no_prompt->find("<|im_start|>assistant\n", no_prompt->size() - 30),
            std::string::npos);
}

TEST(ChatMl, RefusesUnknownRolesAndLateSystemMessages) {
  // (A tool result is a role ChatML renders: chat_format_tools_test.cc.)
  const std::vector<ChatMessage> unknown = {{"user", "Hi"}, {"robot", "{}"}};
  EXPECT_FALSE(RenderChat(ChatFormat::kChatMl, unknown).ok());
  const std::vector<ChatMessage> late = {{"user", "Hi"}, {"system", "x"}};
  EXPECT_FALSE(RenderChat(ChatFormat::kChatMl, late).ok());
  EXPECT_EQ(ChatFormatFromName("chatml").value(), ChatFormat::kChatMl);
  EXPECT_EQ(ChatFormatName(ChatFormat::kChatMl), "chatml");
  EXPECT_EQ(StopTokenTexts(ChatFormat::kChatMl).front(), "<|im_end|>");
}

}  // namespace
}  // namespace snug::tokenizer
