// ChatML, as Qwen3's chat templates render messages and tools (Qwen/Qwen3-* tokenizer_config.json):
//   <|im_start|>{role}\n{content}<|im_end|>\n ... <|im_start|>assistant\n
// The system message, if any, comes first; contents are written as given (no trimming). Tools
// are listed in the system message as JSON lines inside <tools></tools>; a call is
// <tool_call>\n{"name": NAME, "arguments": ARGS}\n</tool_call> after the assistant's content;
// consecutive tool results share one user turn, each inside <tool_response></tool_response>.
#include <string>

#include "tokenizer/chat_format.h"
#include "tokenizer/chat_tools.h"

namespace snug::tokenizer {

Result<ChatPrompt> RenderChatMl(std::span<const ChatMessage> messages,
                                const ChatOptions& options) {
  ChatPrompt out;
  size_t first = 0;
  if (!options.tools.empty()) {
    out += "<|im_start|>system\n";
    if (!messages.empty() && messages[0].role == "system") {
      out.Literal(messages[0].content);
      out += "\n\n";
      first = 1;
    }
    out += "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
           "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    for (const ChatTool& tool : options.tools) {
      out += "\n";
      out.Literal(PythonJson(tool.definition));
    }
    out += "\n</tools>\n\nFor each function call, return a json object with function name and "
           "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
           "<function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    const std::string& role = message.role;
    const std::string where = "message " + std::to_string(i + 1);
    if (role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n";
      out.Literal(message.content);
      out += "\n</tool_response>";
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
      continue;
    }
    if (role != "system" && role != "user" && role != "assistant") {
      return InvalidArgument("tokenizer: chatml chat: " + where + " has role '" + role +
                             "' (system, user, assistant or tool)");
    }
    if (role == "system" && i != 0) {
      return InvalidArgument("tokenizer: chatml chat: " + where +
                             " is a system message after the conversation started");
    }
    out += "<|im_start|>" + role + "\n";
    out.Literal(message.content);
    for (size_t c = 0; c < message.tool_calls.size(); ++c) {
      const ChatToolCall& call = message.tool_calls[c];
      if (c > 0 || !message.content.empty()) out += "\n";
      out += "<tool_call>\n";
      // The template writes string arguments (what OpenAI clients send) as they are.
      out.Literal("{\"name\": \"" + call.name + "\", \"arguments\": " + call.arguments + "}");
      out += "\n</tool_call>";
    }
    out += "<|im_end|>\n";
  }
  if (options.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace snug::tokenizer
