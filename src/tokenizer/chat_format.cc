// Gemma 3 and Llama 3.x chat rendering (see chat_format.h); each function follows its template.
#include "tokenizer/chat_format.h"

#include "tokenizer/utf8.h"

namespace snug::tokenizer {

Result<ChatFormat> ChatFormatFromName(std::string_view name) {
  if (name == "gemma3" || name == "gemma") return ChatFormat::kGemma3;
  if (name == "llama3" || name == "llama-3") return ChatFormat::kLlama3;
  if (name == "gemma4") return ChatFormat::kGemma4;
  if (name == "harmony" || name == "gpt-oss") return ChatFormat::kHarmony;
  return NotFound("tokenizer: unknown chat format '" + std::string(name) +
                  "' (gemma3, llama3, gemma4, harmony are known)");
}

std::string_view ChatFormatName(ChatFormat format) {
  switch (format) {
    case ChatFormat::kGemma3:
      return "gemma3";
    case ChatFormat::kLlama3:
      return "llama3";
    case ChatFormat::kGemma4:
      return "gemma4";
    case ChatFormat::kHarmony:
      return "harmony";
  }
  return "?";
}

Result<std::string> RenderGemma4(std::span<const ChatMessage> messages,
                                 const ChatOptions& options);  // chat_format_gemma4.cc
Result<std::string> RenderHarmony(std::span<const ChatMessage> messages,
                                  const ChatOptions& options);  // chat_format_harmony.cc

namespace {

std::string Position(size_t index) { return "message " + std::to_string(index + 1); }

// Gemma 3 template: "<bos>", the system text + "\n\n" (untrimmed) opens the first user turn,
// roles alternate user/model starting with user, each content is trimmed. Before that snug
// merges consecutive messages of one role (joined by a blank line), which the template would
// reject.
Result<std::string> RenderGemma3(std::span<const ChatMessage> messages,
                                 const ChatOptions& options) {
  struct Turn {
    bool user;
    std::string content;
    size_t first_index;
  };
  std::string system;
  bool has_system = false;
  std::vector<Turn> turns;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role == "system") {
      if (!turns.empty()) {
        return InvalidArgument("tokenizer: gemma3 chat: " + Position(i) +
                               " is a system message after the conversation started (Gemma 3 "
                               "takes one system message, first)");
      }
      system += has_system ? "\n\n" + messages[i].content : messages[i].content;
      has_system = true;
      continue;
    }
    bool user;
    if (role == "user") {
      user = true;
    } else if (role == "assistant" || role == "model") {
      user = false;
    } else {
      return InvalidArgument("tokenizer: gemma3 chat: " + Position(i) + " has role '" + role +
                             "' (system, user, assistant are supported)");
    }
    if (!turns.empty() && turns.back().user == user) {
      turns.back().content += "\n\n" + messages[i].content;
    } else {
      turns.push_back({user, messages[i].content, i});
    }
  }
  std::string out = "<bos>";
  for (size_t t = 0; t < turns.size(); ++t) {
    const bool expect_user = t % 2 == 0;
    if (turns[t].user != expect_user) {
      return InvalidArgument("tokenizer: gemma3 chat: " + Position(turns[t].first_index) +
                             " is from the " + (turns[t].user ? "user" : "assistant") +
                             " where the " + (expect_user ? "user" : "assistant") +
                             " should speak (roles must alternate, starting with the user)");
    }
    out += "<start_of_turn>";
    out += turns[t].user ? "user" : "model";
    out += '\n';
    if (t == 0 && has_system) out += system + "\n\n";
    out += TrimPythonWhitespace(turns[t].content);
    out += "<end_of_turn>\n";
  }
  if (options.add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

// Llama 3.2 instruct template without tools: a system header always, dated; every content
// (the system one too) trimmed; roles written as given.
Result<std::string> RenderLlama3(std::span<const ChatMessage> messages,
                                 const ChatOptions& options) {
  std::string_view system;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") {
    system = TrimPythonWhitespace(messages[0].content);
    first = 1;
  }
  std::string out = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n";
  out += "Cutting Knowledge Date: December 2023\nToday Date: ";
  out += options.date_string;
  out += "\n\n";
  out += system;
  out += "<|eot_id|>";
  for (size_t i = first; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    if (role != "user" && role != "assistant" && role != "system") {
      return InvalidArgument("tokenizer: llama3 chat: " + Position(i) + " has role '" + role +
                             "' (system, user, assistant are supported)");
    }
    out += "<|start_header_id|>" + role + "<|end_header_id|>\n\n";
    out += TrimPythonWhitespace(messages[i].content);
    out += "<|eot_id|>";
  }
  if (options.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

}  // namespace

Result<std::string> RenderChat(ChatFormat format, std::span<const ChatMessage> messages,
                               const ChatOptions& options) {
  switch (format) {
    case ChatFormat::kGemma3:
      return RenderGemma3(messages, options);
    case ChatFormat::kLlama3:
      return RenderLlama3(messages, options);
    case ChatFormat::kGemma4:
      return RenderGemma4(messages, options);
    case ChatFormat::kHarmony:
      return RenderHarmony(messages, options);
  }
  return Internal("tokenizer: unknown chat format");
}

std::vector<std::string_view> StopTokenTexts(ChatFormat format) {
  switch (format) {
    case ChatFormat::kGemma3:
      return {"<end_of_turn>", "<eos>"};
    case ChatFormat::kLlama3:
      return {"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"};
    case ChatFormat::kGemma4:
      return {"<turn|>", "<eos>", "<|tool_response>"};
    case ChatFormat::kHarmony:
      return {"<|return|>", "<|call|>", "<|endoftext|>"};
  }
  return {};
}

std::vector<TokenId> StopTokenIds(ChatFormat format, const Tokenizer& tokenizer) {
  std::vector<TokenId> ids;
  for (const std::string_view text : StopTokenTexts(format)) {
    const TokenId id = tokenizer.Find(text);
    if (id != kNoToken) ids.push_back(id);
  }
  return ids;
}

}  // namespace snug::tokenizer
