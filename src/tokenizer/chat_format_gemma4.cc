// Gemma 4 chat rendering (specs/models.md §8.2), byte for byte the official template
// (google-gemma-4-31B-it.jinja, as llama.cpp ships it) for text messages: no tools, images or
// audio. Goldens: tools/golden/render_chat_gemma4.py.
#include <string>

#include "tokenizer/chat_format.h"
#include "tokenizer/utf8.h"

namespace snug::tokenizer {
namespace {

// The template's strip_thinking: drops every "<|channel>…<channel|>" span (a model turn's
// reasoning), then trims.
std::string StripThinking(std::string_view text) {
  constexpr std::string_view kOpen = "<|channel>", kClose = "<channel|>";
  std::string result;
  size_t begin = 0;
  while (true) {
    const size_t close = text.find(kClose, begin);
    const std::string_view part = text.substr(
        begin, close == std::string_view::npos ? std::string_view::npos : close - begin);
    result += part.substr(0, part.find(kOpen));  // npos keeps the whole part
    if (close == std::string_view::npos) break;
    begin = close + kClose.size();
  }
  return std::string(TrimPythonWhitespace(result));
}

}  // namespace

// "<bos>", a system turn when thinking is on or the first message is system/developer
// ("<|think|>\n" first when thinking), then one "<|turn>{role}\n{content}<turn|>\n" per message
// (assistant -> model; consecutive assistant messages continue one model turn, as the template
// does), and the generation prompt "<|turn>model\n" with an empty thought channel unless
// thinking is on. Roles the template would drop (tool without tool calls) or mislabel are
// refused.
Result<std::string> RenderGemma4(std::span<const ChatMessage> messages,
                                 const ChatOptions& options) {
  if (messages.empty()) {
    return InvalidArgument("tokenizer: gemma4 chat: no messages (the template needs one)");
  }
  std::string out = "<bos>";
  size_t first = 0;
  const bool system_first = messages[0].role == "system" || messages[0].role == "developer";
  if (options.enable_thinking || system_first) {
    out += "<|turn>system\n";
    if (options.enable_thinking) out += "<|think|>\n";
    if (system_first) {
      out += TrimPythonWhitespace(messages[0].content);
      first = 1;
    }
    out += "<turn|>\n";
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "user" && role != "assistant" && role != "model" && role != "system") {
      return InvalidArgument("tokenizer: gemma4 chat: message " + std::to_string(i + 1) +
                             " has role '" + role +
                             "' (system, developer first, user, assistant are supported)");
    }
    const bool model = role == "assistant" || role == "model";
    // The template continues the model turn only after a message whose role is "assistant".
    const bool continues = model && i > first && messages[i - 1].role == "assistant";
    if (!continues) out += "<|turn>" + std::string(model ? "model" : role) + "\n";
    if (model) {
      out += StripThinking(messages[i].content);
    } else {
      out += TrimPythonWhitespace(messages[i].content);
    }
    out += "<turn|>\n";
  }
  if (options.add_generation_prompt) {
    out += "<|turn>model\n";
    if (!options.enable_thinking) out += "<|channel>thought\n<channel|>";
  }
  return out;
}

}  // namespace snug::tokenizer
