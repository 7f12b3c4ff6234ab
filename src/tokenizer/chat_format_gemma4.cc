// Gemma 4 chat rendering (specs/models.md §8.2), byte for byte the official template
// (google-gemma-4-31B-it.jinja, as llama.cpp ships it) for text messages and tools; image and
// audio parts as the 12B unified processor expands them (§3.5). Goldens:
// tools/golden/render_chat_gemma4.py, render_chat_tools.py.
#include <string>

#include "tokenizer/chat_format.h"
#include "tokenizer/chat_tools.h"
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

// A message's content: its text (trimmed; a model turn's stripped of thinking), or its parts in
// order, each text part so, and each media part as the processor expands the template's
// placeholder (§3.5): an image "\n\n<|image>" + n × "<|image|>" + "<image|>\n\n", audio
// "<|audio>" + n × "<|audio|>" + "<audio|>".
void AppendContent(const ChatMessage& message, bool model, ChatPrompt& out) {
  auto text = [&](std::string_view content) {
    if (model) {
      out.Literal(StripThinking(content));
    } else {
      out.Literal(TrimPythonWhitespace(content));
    }
  };
  if (message.parts.empty()) {
    text(message.content);
    return;
  }
  for (const ChatPart& part : message.parts) {
    switch (part.type) {
      case ChatPartType::kText:
        text(part.text);
        break;
      case ChatPartType::kImage:
        out += "\n\n<|image>";
        for (int i = 0; i < part.soft_tokens; ++i) out += "<|image|>";
        out += "<image|>\n\n";
        break;
      case ChatPartType::kAudio:
        out += "<|audio>";
        for (int i = 0; i < part.soft_tokens; ++i) out += "<|audio|>";
        out += "<audio|>";
        break;
    }
  }
}

}  // namespace

// The role of the nearest message before `i` that is not a tool result ("": none).
std::string_view PreviousRole(std::span<const ChatMessage> messages, size_t first, size_t i) {
  for (size_t j = i; j-- > first;) {
    if (messages[j].role != "tool") return messages[j].role;
  }
  return "";
}

// "<bos>", a system turn when thinking is on, tools are given or the first message is
// system/developer ("<|think|>\n" first when thinking, then the system text, then one
// "<|tool>declaration:…<tool|>" per tool), then one "<|turn>{role}\n{content}<turn|>\n" per
// message (assistant -> model; an assistant message after another, tool results between them
// aside, continues one model turn, as the template does). An assistant's tool calls are
// "<|tool_call>call:NAME{args}<tool_call|>", followed by the results of the tool messages after
// it "<|tool_response>response:NAME{value:…}<tool_response|>"; the turn stays open for the
// answer. The generation prompt is "<|turn>model\n" with an empty thought channel unless thinking
// is on, and nothing after tool results (the model continues its turn). Roles the template
// would drop (a tool result without a call before it) or mislabel are refused.
Result<ChatPrompt> RenderGemma4(std::span<const ChatMessage> messages,
                                const ChatOptions& options) {
  if (messages.empty()) {
    return InvalidArgument("tokenizer: gemma4 chat: no messages (the template needs one)");
  }
  ChatPrompt out;
  out += "<bos>";
  size_t first = 0;
  const bool system_first = messages[0].role == "system" || messages[0].role == "developer";
  const bool tools = !options.tools.empty();
  if (options.enable_thinking || system_first || tools) {
    out += "<|turn>system\n";
    if (options.enable_thinking) out += "<|think|>\n";
    if (system_first) {
      AppendContent(messages[0], /*model=*/false, out);
      first = 1;
    }
    for (const ChatTool& tool : options.tools) {
      out += "<|tool>";
      AppendGemmaDeclaration(tool, out);
      out += "<tool|>";
    }
    out += "<turn|>\n";
  }
  size_t last_user = first;  // the template's guard for a tool-call turn's reasoning
  bool any_user = false;
  for (size_t i = first; i < messages.size(); ++i) {
    if (messages[i].role == "user") last_user = i, any_user = true;
  }
  // What the last message left open: a call without results, or results (no generation prompt
  // then).
  enum class Open { kNone, kToolCall, kToolResponse } open = Open::kNone;
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    const std::string& role = message.role;
    const std::string where = "message " + std::to_string(i + 1);
    if (role == "tool") {
      // Rendered with the assistant message whose calls it answers.
      const std::string_view previous = PreviousRole(messages, first, i);
      size_t owner = i;
      while (owner > first && messages[owner - 1].role == "tool") --owner;
      if (previous != "assistant" || owner == first || messages[owner - 1].tool_calls.empty()) {
        return InvalidArgument("tokenizer: gemma4 chat: " + where +
                               " is a tool result with no tool call before it");
      }
      continue;
    }
    if (role != "user" && role != "assistant" && role != "model" && role != "system") {
      return InvalidArgument("tokenizer: gemma4 chat: " + where + " has role '" + role +
                             "' (system, developer first, user, assistant, tool are supported)");
    }
    open = Open::kNone;
    const bool model = role == "assistant" || role == "model";
    // The template continues the model turn only after a message whose role is "assistant".
    const bool continues = model && i > first && PreviousRole(messages, first, i) == "assistant";
    if (!continues) out += "<|turn>" + std::string(model ? "model" : role) + "\n";
    const bool calls = !message.tool_calls.empty();
    if (calls && !message.reasoning.empty() && (!any_user || i > last_user)) {
      out += "<|channel>thought\n";
      out.Literal(message.reasoning);
      out += "\n<channel|>";
    }
    bool responded = false;
    if (calls) {
      for (const ChatToolCall& call : message.tool_calls) {
        ASSIGN_OR_RETURN(const nlohmann::ordered_json arguments,
                         ParseToolArguments(call, "gemma4 chat: " + where));
        out += "<|tool_call>call:";
        out.Literal(call.name);
        AppendGemmaValue(arguments, /*quote_keys=*/false, out);
        out += "<tool_call|>";
      }
      open = Open::kToolCall;
      for (size_t k = i + 1; k < messages.size() && messages[k].role == "tool"; ++k) {
        std::string name = "unknown";
        for (const ChatToolCall& call : message.tool_calls) {
          if (call.id == messages[k].tool_call_id) name = call.name;
        }
        out += "<|tool_response>response:";
        out.Literal(name);
        out += "{value:";
        AppendGemmaValue(messages[k].content, /*quote_keys=*/false, out);
        out += "}<tool_response|>";
        responded = true;
        open = Open::kToolResponse;
      }
    }
    AppendContent(message, model, out);
    if (open == Open::kToolCall && !responded) {
      out += "<|tool_response>";
    } else if (!(responded && message.content.empty() && message.parts.empty())) {
      out += "<turn|>\n";
    }
  }
  if (options.add_generation_prompt && open == Open::kNone) {
    out += "<|turn>model\n";
    if (!options.enable_thinking) out += "<|channel>thought\n<channel|>";
  }
  return out;
}

}  // namespace snug::tokenizer
