// Forced tool calls: each chat format's call syntax around arguments that are values of the
// tool's schema (Gemma 4 in its own value syntax), one or several calls, and the schema errors
// of strict and loose tools.
#include "grammar/tool_call_grammar.h"

#include <gtest/gtest.h>

#include "../tokenizer/test_vocabularies.h"
#include "grammar/matcher.h"

namespace snug::grammar {
namespace {

using tokenizer::ChatFormat;
using Json = nlohmann::ordered_json;

const Json kWeather = Json::parse(R"({"type": "object", "properties": {
    "city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]},
    "days": {"type": "integer"}}, "required": ["city", "unit"], "additionalProperties": false})");
const Json kTime = Json::parse(R"({"type": "object", "properties": {}})");

struct Fixture {
  tokenizer::Tokenizer tokenizer;
  int channel, constrain, message;
};

Fixture HarmonyVocabulary() {
  tokenizer::testing::VocabBuilder builder(tokenizer::ModelKind::kMergesBpe);
  builder.AddByteTokens();
  const tokenizer::TokenId x = builder.Add("x");
  builder.Merge(x, x);
  const int channel = builder.Add("<|channel|>", tokenizer::TokenType::kControl);
  const int constrain = builder.Add("<|constrain|>", tokenizer::TokenType::kControl);
  const int message = builder.Add("<|message|>", tokenizer::TokenType::kControl);
  return {builder.Build(), channel, constrain, message};
}

std::shared_ptr<const Grammar> Compile(ChatFormat format, const tokenizer::Tokenizer& tokenizer,
                                       bool parallel, bool strict = false,
                                       const Json* weather = &kWeather) {
  const std::vector<ToolCallOption> tools = {{"get_weather", weather, strict},
                                             {"get_time", &kTime, false}};
  Result<Grammar> grammar = ToolCallGrammar(format, tokenizer, tools, parallel);
  EXPECT_TRUE(grammar.ok()) << grammar.status().ToString();
  return std::make_shared<const Grammar>(std::move(grammar).value());
}

bool Whole(const std::shared_ptr<const Grammar>& grammar, std::string_view text) {
  Matcher matcher(grammar, nullptr);
  return matcher.AcceptBytes(text) && matcher.CanEnd();
}

TEST(ToolCallGrammarTest, HarmonyHeaderControlTokensAndArguments) {
  const Fixture f = HarmonyVocabulary();
  const auto grammar = Compile(ChatFormat::kHarmony, f.tokenizer, true);
  const TokenIndex index = TokenIndex::FromTokenizer(f.tokenizer);
  Matcher matcher(grammar, &index);
  EXPECT_FALSE(matcher.AcceptBytes("<|channel|>"));  // the token, not its text
  ASSERT_TRUE(matcher.AcceptToken(f.channel));
  ASSERT_TRUE(matcher.AcceptBytes("commentary to=functions.get_weather "));
  ASSERT_TRUE(matcher.AcceptToken(f.constrain));
  ASSERT_TRUE(matcher.AcceptBytes("json"));
  ASSERT_TRUE(matcher.AcceptToken(f.message));
  EXPECT_FALSE(matcher.AcceptBytes(R"({"unit":"celsius")"));  // city comes first, and is required
  ASSERT_TRUE(matcher.AcceptBytes(R"({"city":"Paris","unit":"kelvin")") == false);
  ASSERT_TRUE(matcher.AcceptBytes(R"({"city":"Paris","unit":"celsius"})"));
  EXPECT_TRUE(matcher.Done());  // one call: the turn ends at it
}

TEST(ToolCallGrammarTest, GemmaWritesItsOwnValueSyntax) {
  const Fixture f = HarmonyVocabulary();
  const auto one = Compile(ChatFormat::kGemma4, f.tokenizer, false);
  EXPECT_TRUE(Whole(one, "<|tool_call>call:get_weather{city:<|\"|>Paris, FR<|\"|>,"
                         "unit:<|\"|>celsius<|\"|>,days:3}<tool_call|>"));
  EXPECT_TRUE(Whole(one, "<|tool_call>call:get_time{}<tool_call|>"));
  EXPECT_FALSE(Whole(one, "<|tool_call>call:get_weather{\"city\":\"Paris\",\"unit\":\"celsius\"}"
                          "<tool_call|>"));
  EXPECT_FALSE(Whole(one, "<|tool_call>call:get_time{}<tool_call|><|tool_call>call:get_time{}"
                          "<tool_call|>"));
  const auto several = Compile(ChatFormat::kGemma4, f.tokenizer, true);
  EXPECT_TRUE(Whole(several, "<|tool_call>call:get_time{}<tool_call|><|tool_call>call:get_time{}"
                             "<tool_call|>"));
}

TEST(ToolCallGrammarTest, LlamaAndChatMl) {
  const Fixture f = HarmonyVocabulary();
  const auto llama = Compile(ChatFormat::kLlama3, f.tokenizer, true);
  EXPECT_TRUE(Whole(llama, R"({"name": "get_time", "parameters": {}})"));
  EXPECT_FALSE(Whole(llama, R"({"name": "other", "parameters": {}})"));
  const auto chatml = Compile(ChatFormat::kChatMl, f.tokenizer, true);
  EXPECT_TRUE(Whole(chatml, "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n"
                            "</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                            "{\"city\": \"x\", \"unit\": \"celsius\"}}\n</tool_call>"));
}

TEST(ToolCallGrammarTest, StrictSchemasMustCompileLooseOnesTakeAnyObject) {
  const Fixture f = HarmonyVocabulary();
  const Json pattern = Json::parse(R"({"type": "object", "properties": {
      "city": {"type": "string", "pattern": "^[A-Z]"}}})");
  const std::vector<ToolCallOption> strict = {{"get_weather", &pattern, true}};
  const Result<Grammar> refused = ToolCallGrammar(ChatFormat::kLlama3, f.tokenizer, strict, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "tool 'get_weather': schema: unsupported keyword 'pattern' at #/properties/city"),
            std::string::npos)
      << refused.status().message();
  const auto loose = Compile(ChatFormat::kLlama3, f.tokenizer, false, false, &pattern);
  EXPECT_TRUE(Whole(loose, R"({"name": "get_weather", "parameters": {"anything": [1, true]}})"));
}

}  // namespace
}  // namespace snug::grammar
