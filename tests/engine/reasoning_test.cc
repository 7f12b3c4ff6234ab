// ReasoningSplitter: Harmony output split into reasoning, content and tool calls, the same
// whatever the pieces it arrives in (markers cut anywhere), streamed as soon as it is certain.
#include "engine/reasoning.h"

#include <gtest/gtest.h>

#include "collect_splitter.h"

namespace snug {
namespace {

using tokenizer::ChatFormat;

// A typical gpt-oss answer after the prompt's "<|start|>assistant" (specs/models.md §8.3).
const std::string kAnswer =
    "<|channel|>analysis<|message|>User asks 2+2. Easy: 4.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.";

TEST(ReasoningSplitterTest, AnalysisIsReasoningFinalIsContent) {
  const ReasoningDelta all = Collect({kAnswer});
  EXPECT_EQ(all.reasoning, "User asks 2+2. Easy: 4.");
  EXPECT_EQ(all.content, "2 + 2 = 4.");
  EXPECT_TRUE(all.tool_calls.empty());
}

TEST(ReasoningSplitterTest, AnyCutIntoTwoPiecesAndByteByByteGiveTheSame) {
  for (size_t cut = 0; cut <= kAnswer.size(); ++cut) {
    const ReasoningDelta all = Collect({kAnswer.substr(0, cut), kAnswer.substr(cut)});
    EXPECT_EQ(all.reasoning, "User asks 2+2. Easy: 4.") << "cut at " << cut;
    EXPECT_EQ(all.content, "2 + 2 = 4.") << "cut at " << cut;
  }
  std::vector<std::string> bytes;
  for (char c : kAnswer) bytes.emplace_back(1, c);
  const ReasoningDelta all = Collect(bytes);
  EXPECT_EQ(all.reasoning, "User asks 2+2. Easy: 4.");
  EXPECT_EQ(all.content, "2 + 2 = 4.");
}

TEST(ReasoningSplitterTest, StreamsAsSoonAsCertainAndHoldsOnlyPossibleMarkers) {
  ReasoningSplitter splitter(ChatFormat::kHarmony);
  EXPECT_TRUE(splitter.Push("<|chan").empty());  // may be a header
  EXPECT_TRUE(splitter.Push("nel|>analysis<|message|>").empty());
  EXPECT_EQ(splitter.Push("Thinking").reasoning, "Thinking");
  ReasoningDelta delta = splitter.Push(" more<|e");  // "<|e" may open <|end|>
  EXPECT_EQ(delta.reasoning, " more");
  delta = splitter.Push("nd|><|start|>assistant<|channel|>final<|message|>Hi <|");
  EXPECT_EQ(delta.reasoning, "");
  EXPECT_EQ(delta.content, "Hi ");
  delta = splitter.Push("reserved_200010|> there");  // not a terminator after all
  EXPECT_EQ(delta.content, "<|reserved_200010|> there");
  EXPECT_EQ(splitter.Push("<|ret").content, "");
  delta = splitter.Finish();  // generation stopped mid-marker: the text is the model's
  EXPECT_EQ(delta.content, "<|ret");
}

TEST(ReasoningSplitterTest, ToolCallsInBothHeaderOrders) {
  // The model's order (specs/models.md §8.3), then the chat template's.
  const ReasoningDelta model = Collect(
      {"<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary"
       " to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>"});
  EXPECT_EQ(model.reasoning, "Need weather.");
  EXPECT_EQ(model.content, "");
  ASSERT_EQ(model.tool_calls.size(), 1u);
  EXPECT_EQ(model.tool_calls[0].recipient, "functions.get_weather");
  EXPECT_EQ(model.tool_calls[0].content_type, "json");
  EXPECT_EQ(model.tool_calls[0].arguments, "{\"city\":\"Paris\"}");

  const ReasoningDelta templated =
      Collect({" to=functions.lookup<|channel|>commentary json<|message|>{}<|call|>"});
  ASSERT_EQ(templated.tool_calls.size(), 1u);
  EXPECT_EQ(templated.tool_calls[0].recipient, "functions.lookup");
  EXPECT_EQ(templated.tool_calls[0].content_type, "json");
  EXPECT_EQ(templated.tool_calls[0].arguments, "{}");
}

TEST(ReasoningSplitterTest, ToolCallArgumentsStreamAsPieces) {
  ReasoningSplitter splitter(ChatFormat::kHarmony, /*tool_calls=*/true);
  ReasoningDelta delta =
      splitter.Push("<|channel|>commentary to=functions.f <|constrain|>json<|message|>");
  ASSERT_EQ(delta.tool_calls.size(), 1u);
  EXPECT_TRUE(delta.tool_calls[0].opens);
  EXPECT_FALSE(delta.tool_calls[0].closes);
  EXPECT_EQ(delta.tool_calls[0].name, "f");
  EXPECT_EQ(delta.tool_calls[0].arguments, "");
  delta = splitter.Push("{\"a\":");
  ASSERT_EQ(delta.tool_calls.size(), 1u);
  EXPECT_FALSE(delta.tool_calls[0].opens);
  EXPECT_EQ(delta.tool_calls[0].arguments, "{\"a\":");
  delta = splitter.Push("1}<|call|>");
  ASSERT_EQ(delta.tool_calls.size(), 2u);
  EXPECT_EQ(delta.tool_calls[0].arguments, "1}");
  EXPECT_FALSE(delta.tool_calls[0].closes);
  EXPECT_FALSE(delta.tool_calls[1].opens);
  EXPECT_TRUE(delta.tool_calls[1].closes);
}

TEST(ReasoningSplitterTest, PreamblesAreContentAndTheTurnEndsAtReturn) {
  const ReasoningDelta all = Collect(
      {"<|channel|>commentary<|message|>Let me check. <|end|><|start|>assistant<|channel|>final"
       "<|message|>Done.<|return|><|start|>assistant<|channel|>final<|message|>extra"});
  EXPECT_EQ(all.content, "Let me check. Done.");
  EXPECT_EQ(all.reasoning, "");
}

TEST(ReasoningSplitterTest, TextWithoutHeadersIsContent) {
  EXPECT_EQ(Collect({"Plain ", "answer."}).content, "Plain answer.");
  EXPECT_EQ(Collect({"<", "b>bold</b>"}).content, "<b>bold</b>");
  // An unfinished header is dropped; an unfinished tool call is returned as it stands.
  EXPECT_TRUE(Collect({"<|channel|>analysis"}).empty());
  const ReasoningDelta cut = Collect({"<|channel|>commentary to=functions.f<|message|>{\"a\":"});
  ASSERT_EQ(cut.tool_calls.size(), 1u);
  EXPECT_EQ(cut.tool_calls[0].arguments, "{\"a\":");
}

TEST(ReasoningSplitterTest, OtherFormatsPassThrough) {
  const ReasoningDelta all = Collect({"<|channel|>analysis<|message|>x"}, ChatFormat::kGemma3);
  EXPECT_EQ(all.content, "<|channel|>analysis<|message|>x");
  EXPECT_EQ(all.reasoning, "");
}

}  // namespace
}  // namespace snug
