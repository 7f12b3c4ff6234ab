// Harmony, gpt-oss's chat format (specs/models.md §8.3), byte for byte the official template
// (openai-gpt-oss-120b.jinja, as llama.cpp ships it): text messages, tools (declared in the
// developer message), tool calls and their results. Goldens: tools/golden/render_chat_harmony.py,
// render_chat_tools.py.
#include <array>
#include <string>

#include "tokenizer/chat_format.h"
#include "tokenizer/chat_tools.h"

namespace snug::tokenizer {
namespace {

std::string Position(size_t index) { return "message " + std::to_string(index + 1); }

// "2024-07-26" as is; "26 Jul 2024" (Llama's form, ChatOptions' default) converted.
Result<std::string> IsoDate(std::string_view date) {
  const auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (date.size() == 10 && date[4] == '-' && date[7] == '-' && digits(date.substr(0, 4)) &&
      digits(date.substr(5, 2)) && digits(date.substr(8, 2))) {
    return std::string(date);
  }
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const size_t first = date.find(' '), second = date.rfind(' ');
  if (first != std::string_view::npos && second == first + 4) {
    const std::string_view day = date.substr(0, first), year = date.substr(second + 1);
    const std::string_view month = date.substr(first + 1, 3);
    for (size_t m = 0; m < kMonths.size(); ++m) {
      if (month == kMonths[m] && digits(day) && day.size() <= 2 && digits(year) &&
          year.size() == 4) {
        return std::string(year) + "-" + (m < 9 ? "0" : "") + std::to_string(m + 1) + "-" +
               (day.size() == 1 ? "0" : "") + std::string(day);
      }
    }
  }
  return InvalidArgument("tokenizer: harmony chat: date '" + std::string(date) +
                         "' is neither YYYY-MM-DD nor like '26 Jul 2024'");
}

}  // namespace

// The system message (identity, knowledge cutoff, date, reasoning effort, channels, and with
// tools where their calls go), a developer message with "# Instructions\n\n{text}\n\n" when the
// first message is a non-empty system or developer one and "# Tools\n\n{namespace}" when tools
// are given, then "<|start|>user<|message|>{text}<|end|>" and
// "<|start|>assistant<|channel|>final<|message|>{text}<|end|>" (<|return|> for a final assistant
// message without a generation prompt), contents untrimmed, then "<|start|>assistant". A tool
// call is "<|start|>assistant to=functions.NAME<|channel|>commentary json<|message|>{args}<|call|>"
// (its content, if any, an analysis message before it unless a final answer follows later); a
// tool result "<|start|>functions.NAME to=assistant<|channel|>commentary<|message|>{json
// string}<|end|>". What the template drops silently (a later system/developer message, unknown
// roles, a message's second tool call) or raises on (tool messages without tool calls, channel
// markers in assistant content) is refused.
Result<ChatPrompt> RenderHarmony(std::span<const ChatMessage> messages,
                                 const ChatOptions& options) {
  if (messages.empty()) {
    return InvalidArgument("tokenizer: harmony chat: no messages (the template needs one)");
  }
  const std::string& effort = options.reasoning_effort;
  if (effort != "low" && effort != "medium" && effort != "high") {
    return InvalidArgument("tokenizer: harmony chat: reasoning effort '" + effort +
                           "' (low, medium, high are known)");
  }
  ASSIGN_OR_RETURN(const std::string date, IsoDate(options.date_string));
  const bool tools = !options.tools.empty();
  ChatPrompt out;
  out += "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
         "Knowledge cutoff: 2024-06\nCurrent date: ";
  out.Literal(date);
  out += "\n\nReasoning: ";
  out.Literal(effort);
  out += "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every "
         "message.";
  if (tools) out += "\nCalls to these tools must go to the commentary channel: 'functions'.";
  out += "<|end|>";
  size_t first = 0;
  std::string_view developer;
  if (messages[0].role == "system" || messages[0].role == "developer") {
    developer = messages[0].content;
    first = 1;
  }
  if (!developer.empty() || tools) {
    out += "<|start|>developer<|message|>";
    if (!developer.empty()) {
      out += "# Instructions\n\n";
      out.Literal(developer);
      out += "\n\n";
    }
    if (tools) {
      out += "# Tools\n\n";
      out.Literal(HarmonyToolNamespace(options.tools));
    }
    out += "<|end|>";
  }
  std::string last_call;  // the function the latest tool call named ("": none)
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (message.role == "user") {
      out += "<|start|>user<|message|>";
      out.Literal(message.content);
      out += "<|end|>";
    } else if (message.role == "assistant") {
      // The template refuses channel markers here: reasoning goes in its own field.
      for (const std::string_view marker :
           {"<|channel|>analysis<|message|>", "<|channel|>final<|message|>"}) {
        if (message.content.find(marker) != std::string::npos ||
            message.reasoning.find(marker) != std::string::npos) {
          return InvalidArgument("tokenizer: harmony chat: " + Position(i) +
                                 " (assistant) contains '" + std::string(marker) +
                                 "'; send only the final answer as its content");
        }
      }
      if (!message.tool_calls.empty()) {
        if (message.tool_calls.size() > 1) {
          return InvalidArgument("tokenizer: harmony chat: " + Position(i) + " has " +
                                 std::to_string(message.tool_calls.size()) +
                                 " tool calls; Harmony writes one call per message (the template "
                                 "would drop the others): send each in its own message");
        }
        if (!message.content.empty() && !message.reasoning.empty()) {
          return InvalidArgument("tokenizer: harmony chat: " + Position(i) +
                                 " has both content and reasoning beside its tool call");
        }
        bool final_later = false;
        for (size_t j = i + 1; j < messages.size(); ++j) {
          final_later = final_later ||
                        (messages[j].role == "assistant" && messages[j].tool_calls.empty());
        }
        const std::string& analysis =
            message.content.empty() ? message.reasoning : message.content;
        if (!analysis.empty() && !final_later) {
          out += "<|start|>assistant<|channel|>analysis<|message|>";
          out.Literal(analysis);
          out += "<|end|>";
        }
        const ChatToolCall& call = message.tool_calls[0];
        ASSIGN_OR_RETURN(const nlohmann::ordered_json arguments,
                         ParseToolArguments(call, "harmony chat: " + Position(i)));
        out += "<|start|>assistant to=";
        out.Literal("functions." + call.name);
        out += "<|channel|>commentary json<|message|>";
        out.Literal(PythonJson(arguments));
        out += "<|call|>";
        last_call = call.name;
        continue;
      }
      const bool last = i + 1 == messages.size() && !options.add_generation_prompt;
      out += "<|start|>assistant<|channel|>final<|message|>";
      out.Literal(message.content);
      out += last ? "<|return|>" : "<|end|>";
      last_call.clear();
    } else if (message.role == "tool") {
      if (last_call.empty()) {
        return InvalidArgument("tokenizer: harmony chat: " + Position(i) +
                               " is a tool result with no tool call before it");
      }
      out += "<|start|>";
      out.Literal("functions." + last_call);
      out += " to=assistant<|channel|>commentary<|message|>";
      out.Literal(PythonJson(message.content));
      out += "<|end|>";
    } else if (message.role == "system" || message.role == "developer") {
      return InvalidArgument("tokenizer: harmony chat: " + Position(i) + " is a " + message.role +
                             " message after the first (Harmony takes one, first; the template "
                             "would drop it)");
    } else {
      return InvalidArgument("tokenizer: harmony chat: " + Position(i) + " has role '" +
                             message.role +
                             "' (system or developer first, user, assistant, tool are "
                             "supported)");
    }
  }
  if (options.add_generation_prompt) out += "<|start|>assistant";
  return out;
}

}  // namespace snug::tokenizer
