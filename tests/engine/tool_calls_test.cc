// MarkupSplitter: Gemma 4 thinking as reasoning, and Gemma 4 / ChatML / Llama 3 tool calls as
// calls with JSON arguments, the same whatever the pieces the text arrives in; the call
// parsers on their own.
#include "engine/tool_calls.h"

#include <gtest/gtest.h>

#include <random>

#include "collect_splitter.h"
#include "engine/reasoning.h"

namespace snug {
namespace {

using tokenizer::ChatFormat;

// Every cut into two pieces, and byte by byte, gives `expected`.
void ExpectAnyCut(const std::string& text, ChatFormat format, bool tools,
                  const ReasoningDelta& expected) {
  std::vector<std::vector<std::string>> splits;
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    splits.push_back({text.substr(0, cut), text.substr(cut)});
  }
  splits.emplace_back();
  for (char c : text) splits.back().emplace_back(1, c);
  for (const auto& pieces : splits) {
    const ReasoningDelta all = Collect(pieces, format, tools);
    const std::string label = pieces.size() == 2 ? "cut at " + std::to_string(pieces[0].size())
                                                 : "bytes";
    EXPECT_EQ(all.reasoning, expected.reasoning) << label;
    EXPECT_EQ(all.content, expected.content) << label;
    ASSERT_EQ(all.tool_calls.size(), expected.tool_calls.size()) << label;
    for (size_t i = 0; i < all.tool_calls.size(); ++i) {
      EXPECT_EQ(all.tool_calls[i].name, expected.tool_calls[i].name) << label;
      EXPECT_EQ(all.tool_calls[i].arguments, expected.tool_calls[i].arguments) << label;
    }
  }
}

TEST(ToolCallsTest, GemmaThinkingIsReasoning) {
  ExpectAnyCut("<|channel>thought\nSky scatters blue.<channel|>Because of Rayleigh.",
               ChatFormat::kGemma4, false,
               {.reasoning = "Sky scatters blue.", .content = "Because of Rayleigh."});
  // Without tools, call markup is text.
  EXPECT_EQ(Collect({"<|tool_call>call:f{}<tool_call|>"}, ChatFormat::kGemma4, false).content,
            "<|tool_call>call:f{}<tool_call|>");
}

TEST(ToolCallsTest, GemmaCallsBecomeJson) {
  ExpectAnyCut(
      "<|channel>thought\nNeed it.<channel|><|tool_call>call:get_weather{city:<|\"|>Paris, "
      "FR<|\"|>,days:3,hourly:false,tags:[<|\"|>a<|\"|>],where:{lat:1.5}}<tool_call|>"
      "<|tool_call>call:get_time{}<tool_call|>",
      ChatFormat::kGemma4, true,
      {.reasoning = "Need it.",
       .tool_calls = {{"get_weather",
                       R"({"city":"Paris, FR","days":3,"hourly":false,"tags":["a"],"where":{"lat":1.5}})"},
                      {"get_time", "{}"}}});
}

TEST(ToolCallsTest, ChatMlCalls) {
  ExpectAnyCut("Let me look.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n"
               "</tool_call>",
               ChatFormat::kChatMl, true,
               {.content = "Let me look.\n", .tool_calls = {{"f", R"({"a":1})"}}});
}

TEST(ToolCallsTest, LlamaWholeMessageCall) {
  ExpectAnyCut(" {\"name\": \"f\", \"parameters\": {\"a\": \"x\"}}", ChatFormat::kLlama3, true,
               {.tool_calls = {{"f", R"({"a":"x"})"}}});
  // Not a call after all: the held message is content.
  ExpectAnyCut("{not json", ChatFormat::kLlama3, true, {.content = "{not json"});
  ExpectAnyCut("Plain {answer}", ChatFormat::kLlama3, true, {.content = "Plain {answer}"});
}

TEST(ToolCallsTest, ParsersAcceptConstrainedJsonAndRefuseOthers) {
  const auto spaced = ParseGemmaCall("call:f{ a :1 , b : <|\"|>x<|\"|> }");
  ASSERT_TRUE(spaced.has_value());
  EXPECT_EQ(spaced->arguments, R"({"a":1,"b":"x"})");
  const auto json = ParseGemmaCall(R"(call:f{"city": "a\"b", "n": [1, 2]})");
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(json->arguments, R"({"city":"a\"b","n":[1,2]})");
  EXPECT_FALSE(ParseGemmaCall("call:f{city:").has_value());
  EXPECT_FALSE(ParseGemmaCall("f{}").has_value());
  EXPECT_FALSE(ParseJsonCall(R"({"name": "f"})").has_value());
  EXPECT_FALSE(ParseJsonCall(R"({"name": "f", "arguments": "x"})").has_value());
}

TEST(ToolCallsTest, ACallCutShortIsDropped) {
  const ReasoningDelta all = Collect({"Hi <|tool_call>call:get_t"}, ChatFormat::kGemma4, true);
  EXPECT_TRUE(all.tool_calls.empty());
  EXPECT_EQ(all.content, "Hi ");
}

TEST(ToolCallsTest, AnUnparsableCallIsShownAsWritten) {
  const ReasoningDelta all =
      Collect({"<tool_call>\nnot json\n</tool_call>"}, ChatFormat::kChatMl, true);
  EXPECT_TRUE(all.tool_calls.empty());
  EXPECT_EQ(all.content, "<tool_call>\nnot json\n");
}

// Random texts made of marker fragments: whatever the model writes and however it is cut, the
// splitter releases the same, and never crashes.
TEST(ToolCallsTest, RandomTextsSplitTheSameWhateverTheCuts) {
  static const std::vector<std::string> kFragments = {
      "<|tool_call>", "<tool_call|>", "<tool_call>", "</tool_call>", "call:f{", "a:", "<|\"|>",
      "x", "}", "{", ",", "<|channel>", "<channel|>", "thought\n", "<|", "|>", " ", "\"name\": ",
      "\"f\"", "\"arguments\": ", "1", "<"};
  std::mt19937 random(7);
  for (const ChatFormat format : {ChatFormat::kGemma4, ChatFormat::kChatMl, ChatFormat::kLlama3}) {
    for (int trial = 0; trial < 300; ++trial) {
      std::string text;
      const int length = static_cast<int>(random() % 24);
      for (int i = 0; i < length; ++i) text += kFragments[random() % kFragments.size()];
      const ReasoningDelta whole = Collect({text}, format, true);
      std::vector<std::string> pieces;
      for (size_t at = 0; at < text.size();) {
        const size_t size = 1 + random() % 6;
        pieces.push_back(text.substr(at, size));
        at += size;
      }
      const ReasoningDelta cut = Collect(pieces, format, true);
      ASSERT_EQ(cut.reasoning, whole.reasoning) << text;
      ASSERT_EQ(cut.content, whole.content) << text;
      ASSERT_EQ(cut.tool_calls.size(), whole.tool_calls.size()) << text;
      for (size_t i = 0; i < cut.tool_calls.size(); ++i) {
        ASSERT_EQ(cut.tool_calls[i].arguments, whole.tool_calls[i].arguments) << text;
      }
    }
  }
}

}  // namespace
}  // namespace snug
