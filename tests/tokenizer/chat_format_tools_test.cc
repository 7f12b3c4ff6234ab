// Tools in the chat formats: declarations, assistant tool calls and tool results rendered as the
// official Jinja templates render them (goldens: tools/golden/render_chat_tools.py, for
// Harmony, Gemma 4 and Llama 3.2), the Qwen3 ChatML form, and the refusals.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tokenizer/chat_format.h"
#include "tokenizer/chat_tools.h"

namespace snug::tokenizer {
namespace {

using Json = nlohmann::ordered_json;

Json LoadToolGoldens() {
  std::ifstream in(std::string(SNUG_SOURCE_DIR) + "/tests/tokenizer/golden/chat_tools.json");
  std::ostringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

// A golden message as the server hands it over: arguments as JSON text.
std::vector<ChatMessage> Messages(const Json& list) {
  std::vector<ChatMessage> messages;
  for (const Json& m : list) {
    ChatMessage message;
    message.role = m.at("role");
    if (m.contains("content") && m.at("content").is_string()) message.content = m.at("content");
    message.tool_call_id = m.value("tool_call_id", "");
    message.reasoning = m.value("reasoning", "");
    for (const Json& call : m.value("tool_calls", Json::array())) {
      message.tool_calls.push_back({call.at("id"), call.at("function").at("name"),
                                    call.at("function").at("arguments").dump()});
    }
    messages.push_back(std::move(message));
  }
  return messages;
}

std::vector<ChatTool> Tools(const Json& list) {
  std::vector<ChatTool> tools;
  for (const Json& tool : list) tools.push_back({tool});
  return tools;
}

TEST(ChatFormatTools, MatchesJinjaGoldensByteForByte) {
  const Json golden = LoadToolGoldens();
  int rendered = 0, refused = 0;
  for (const Json& c : golden.at("cases")) {
    const std::string label = c.at("format").get<std::string>() + "/" +
                              c.at("name").get<std::string>() +
                              (c.at("add_generation_prompt").get<bool>() ? "+prompt" : "");
    ChatOptions options;
    options.add_generation_prompt = c.at("add_generation_prompt");
    options.enable_thinking = c.at("enable_thinking");
    options.tools = Tools(golden.at("tools"));
    if (c.at("format") == "llama3") options.date_string = golden.at("llama_date");
    if (c.at("format") == "harmony") options.date_string = golden.at("harmony_date");
    const Result<std::string> text =
        RenderChat(*ChatFormatFromName(c.at("format").get<std::string>()),
                   Messages(c.at("messages")), options);
    if (c.value("error", false) || c.value("snug_refuses", false)) {
      EXPECT_FALSE(text.ok()) << label << " should be refused";
      ++refused;
      continue;
    }
    ASSERT_TRUE(text.ok()) << label << ": " << text.status().ToString();
    EXPECT_EQ(*text, c.at("expected").get<std::string>()) << label;
    ++rendered;
  }
  EXPECT_GE(rendered, 36);
  EXPECT_GE(refused, 4);
}

// Gemma 4's string delimiter is a control token, and a user's text cannot forge one.
TEST(ChatFormatTools, GemmaDelimitersAreMarkupValuesLiteral) {
  ChatOptions options;
  options.tools = Tools(Json::parse(
      R"([{"type":"function","function":{"name":"f","description":"d","parameters":{}}}])"));
  const std::vector<ChatMessage> messages = {
      {"user", "q"}, {"assistant", "", {{"c1", "f", R"({"a":"x<|\"|>y"})"}}}};
  const Result<ChatPrompt> prompt = RenderChatPrompt(ChatFormat::kGemma4, messages, options);
  ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
  const std::string& text = prompt->text;
  const size_t forged = text.find("x<|\"|>y");
  ASSERT_NE(forged, std::string::npos);
  bool literal = false;
  for (const TextRange& range : prompt->literal) {
    literal = literal || (range.begin <= forged && forged + 7 <= range.end);
  }
  EXPECT_TRUE(literal) << "the argument's text is literal";
  const size_t opening = text.find("call:f{a:") + 9;
  bool markup = true;
  for (const TextRange& range : prompt->literal) {
    markup = markup && !(range.begin <= opening && opening < range.end);
  }
  EXPECT_TRUE(markup) << "the delimiter before it is markup";
}

TEST(ChatFormatTools, ChatMlListsToolsAndCalls) {
  ChatOptions options;
  options.tools = Tools(Json::parse(
      R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])"));
  const std::vector<ChatMessage> messages = {
      {"system", "S"},
      {"user", "q"},
      {"assistant", "", {{"c1", "f", R"({"a": 1})"}, {"c2", "f", R"({"a": 2})"}}},
      {"tool", "one", {}, "c1"},
      {"tool", "two", {}, "c2"}};
  const Result<std::string> text = RenderChat(ChatFormat::kChatMl, messages, options);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text,
            "<|im_start|>system\nS\n\n# Tools\n\nYou may call one or more functions to assist "
            "with the user query.\n\nYou are provided with function signatures within "
            "<tools></tools> XML tags:\n<tools>\n"
            "{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": {\"type\": "
            "\"object\"}}}\n</tools>\n\nFor each function call, return a json object with "
            "function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
            "<|im_end|>\n<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<tool_call>\n"
            "{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>\n<tool_call>\n"
            "{\"name\": \"f\", \"arguments\": {\"a\": 2}}\n</tool_call><|im_end|>\n"
            "<|im_start|>user\n<tool_response>\none\n</tool_response>\n<tool_response>\ntwo\n"
            "</tool_response><|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatFormatTools, RefusalsNameTheMessage) {
  const std::vector<ChatMessage> bad_arguments = {{"user", "q"},
                                                  {"assistant", "", {{"c1", "f", "[1]"}}}};
  for (const ChatFormat format : {ChatFormat::kHarmony, ChatFormat::kGemma4, ChatFormat::kLlama3}) {
    const Result<std::string> text = RenderChat(format, bad_arguments);
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.status().message().find("message 2: the arguments of tool call 'f' are not "
                                           "a JSON object"),
              std::string::npos)
        << text.status().message();
  }
  const std::vector<ChatMessage> orphan = {{"user", "q"}, {"tool", "r", {}, "c1"}};
  for (const ChatFormat format : {ChatFormat::kHarmony, ChatFormat::kGemma4}) {
    const Result<std::string> text = RenderChat(format, orphan);
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.status().message().find("message 2 is a tool result with no tool call"),
              std::string::npos)
        << text.status().message();
  }
  EXPECT_FALSE(ChatFormatHasTools(ChatFormat::kGemma3));
  EXPECT_TRUE(ChatFormatHasTools(ChatFormat::kLlama3));
}

TEST(ChatFormatTools, PythonJsonSpacing) {
  const Json value = Json::parse(R"({"a":[1,2.5,"é\n"],"b":{},"c":[],"d":null,"e":true})");
  EXPECT_EQ(PythonJson(value), R"({"a": [1, 2.5, "é\n"], "b": {}, "c": [], "d": null, "e": true})");
  EXPECT_EQ(PythonJson(Json::parse(R"({"a":[1],"b":{}})"), 2), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
}

}  // namespace
}  // namespace snug::tokenizer
