// Harmony, gpt-oss's chat format (specs/models.md §8.3), byte for byte the official template
// (openai-gpt-oss-120b.jinja, as llama.cpp ships it) for text messages: no tools, no separate
// reasoning field. Goldens: tools/golden/render_chat_harmony.py.
#include <array>
#include <string>

#include "tokenizer/chat_format.h"

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

// The system message (identity, knowledge cutoff, date, reasoning effort, channels), a developer
// message "# Instructions\n\n{text}\n\n" when the first message is a non-empty system or
// developer one, then "<|start|>user<|message|>{text}<|end|>" and
// "<|start|>assistant<|channel|>final<|message|>{text}<|end|>" (<|return|> for a final assistant
// message without a generation prompt), contents untrimmed, then "<|start|>assistant". What the
// template drops silently (a later system/developer message, unknown roles) or raises on
// (tool messages without tool calls, channel markers in assistant content) is refused.
Result<std::string> RenderHarmony(std::span<const ChatMessage> messages,
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
  std::string out =
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n"
      "Knowledge cutoff: 2024-06\nCurrent date: " +
      date + "\n\nReasoning: " + effort +
      "\n\n# Valid channels: analysis, commentary, final. Channel must be included for every "
      "message.<|end|>";
  size_t first = 0;
  if (messages[0].role == "system" || messages[0].role == "developer") {
    if (!messages[0].content.empty()) {
      out +=
          "<|start|>developer<|message|># Instructions\n\n" + messages[0].content + "\n\n<|end|>";
    }
    first = 1;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    if (message.role == "user") {
      out += "<|start|>user<|message|>" + message.content + "<|end|>";
    } else if (message.role == "assistant") {
      // The template refuses channel markers here: reasoning goes in its own field, which
      // snug's messages do not carry.
      for (const std::string_view marker :
           {"<|channel|>analysis<|message|>", "<|channel|>final<|message|>"}) {
        if (message.content.find(marker) != std::string::npos) {
          return InvalidArgument("tokenizer: harmony chat: " + Position(i) +
                                 " (assistant) contains '" + std::string(marker) +
                                 "'; send only the final answer as its content");
        }
      }
      const bool last = i + 1 == messages.size() && !options.add_generation_prompt;
      out += "<|start|>assistant<|channel|>final<|message|>" + message.content +
             (last ? "<|return|>" : "<|end|>");
    } else if (message.role == "system" || message.role == "developer") {
      return InvalidArgument("tokenizer: harmony chat: " + Position(i) + " is a " + message.role +
                             " message after the first (Harmony takes one, first; the template "
                             "would drop it)");
    } else {
      return InvalidArgument("tokenizer: harmony chat: " + Position(i) + " has role '" +
                             message.role +
                             "' (system or developer first, user, assistant are "
                             "supported; tool messages need tool calls)");
    }
  }
  if (options.add_generation_prompt) out += "<|start|>assistant";
  return out;
}

}  // namespace snug::tokenizer
