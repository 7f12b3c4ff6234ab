// Llama 3.x chat rendering (see chat_format.h), byte for byte the Llama 3.2 instruct template
// (tools/golden/templates/llama-3.2-instruct.jinja) with its defaults: tools are listed in the
// first user message, a tool call is the assistant's whole message
// {"name": NAME, "parameters": ARGS}, a tool result is an "ipython" message holding its content
// as a JSON string. Goldens: tools/golden/render_chat.py, render_chat_tools.py.
#include <string>

#include "tokenizer/chat_format.h"
#include "tokenizer/chat_tools.h"
#include "tokenizer/utf8.h"

namespace snug::tokenizer {
namespace {

std::string Position(size_t index) { return "message " + std::to_string(index + 1); }

}  // namespace

// A system header always ("Environment: ipython" first with tools), dated; every content (the
// system one too) trimmed; roles written as given. With tools the first message after the
// system one must be the user's: the tools are written into it.
Result<ChatPrompt> RenderLlama3(std::span<const ChatMessage> messages,
                                const ChatOptions& options) {
  std::string_view system;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") {
    system = TrimPythonWhitespace(messages[0].content);
    first = 1;
  }
  const bool tools = !options.tools.empty();
  ChatPrompt out;
  out += "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n";
  if (tools) out += "Environment: ipython\n";
  out += "Cutting Knowledge Date: December 2023\nToday Date: ";
  out.Literal(options.date_string);
  out += "\n\n";
  out.Literal(system);
  out += "<|eot_id|>";
  if (tools) {
    if (first == messages.size() || messages[first].role != "user") {
      return InvalidArgument("tokenizer: llama3 chat: with tools the first message (after the "
                             "system one) must be the user's: the template writes the tools "
                             "into it");
    }
    out += "<|start_header_id|>user<|end_header_id|>\n\n";
    out += "Given the following functions, please respond with a JSON for a function call with "
           "its proper arguments that best answers the given prompt.\n\n";
    out += "Respond in the format {\"name\": function name, \"parameters\": dictionary of "
           "argument name and its value}.Do not use variables.\n\n";
    for (const ChatTool& tool : options.tools) {
      out.Literal(PythonJson(tool.definition, 4));
      out += "\n\n";
    }
    out.Literal(TrimPythonWhitespace(messages[first].content));
    out += "<|eot_id|>";
    ++first;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& message = messages[i];
    const std::string& role = message.role;
    if (role == "tool") {
      out += "<|start_header_id|>ipython<|end_header_id|>\n\n";
      out.Literal(PythonJson(message.content));  // a string is iterable: the template's tojson
      out += "<|eot_id|>";
      continue;
    }
    if (role != "user" && role != "assistant" && role != "system") {
      return InvalidArgument("tokenizer: llama3 chat: " + Position(i) + " has role '" + role +
                             "' (system, user, assistant, tool are supported)");
    }
    if (!message.tool_calls.empty()) {
      if (message.tool_calls.size() != 1) {
        return InvalidArgument("tokenizer: llama3 chat: " + Position(i) + " has " +
                               std::to_string(message.tool_calls.size()) +
                               " tool calls; Llama 3 makes one call per message");
      }
      const ChatToolCall& call = message.tool_calls[0];
      ASSIGN_OR_RETURN(const nlohmann::ordered_json arguments,
                       ParseToolArguments(call, "llama3 chat: " + Position(i)));
      out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      out.Literal("{\"name\": \"" + call.name + "\", \"parameters\": " + PythonJson(arguments) +
                  "}");
      out += "<|eot_id|>";
      continue;
    }
    out += "<|start_header_id|>" + role + "<|end_header_id|>\n\n";
    out.Literal(TrimPythonWhitespace(message.content));
    out += "<|eot_id|>";
  }
  if (options.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

}  // namespace snug::tokenizer
