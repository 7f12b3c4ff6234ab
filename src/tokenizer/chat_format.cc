// Gemma 3 chat rendering and what all formats share (see chat_format.h).
#include "tokenizer/chat_format.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace snug::tokenizer {

Result<ChatFormat> ChatFormatFromName(std::string_view name) {
  if (name == "gemma3" || name == "gemma") return ChatFormat::kGemma3;
  if (name == "llama3" || name == "llama-3") return ChatFormat::kLlama3;
  if (name == "gemma4") return ChatFormat::kGemma4;
  if (name == "harmony" || name == "gpt-oss") return ChatFormat::kHarmony;
  if (name == "chatml" || name == "qwen") return ChatFormat::kChatMl;
  return NotFound("tokenizer: unknown chat format '" + std::string(name) +
                  "' (gemma3, llama3, gemma4, harmony, chatml are known)");
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
    case ChatFormat::kChatMl:
      return "chatml";
  }
  return "?";
}

Result<ChatPrompt> RenderGemma4(std::span<const ChatMessage> messages,
                                const ChatOptions& options);  // chat_format_gemma4.cc
Result<ChatPrompt> RenderHarmony(std::span<const ChatMessage> messages,
                                 const ChatOptions& options);  // chat_format_harmony.cc
Result<ChatPrompt> RenderChatMl(std::span<const ChatMessage> messages,
                                const ChatOptions& options);  // chat_format_chatml.cc
Result<ChatPrompt> RenderLlama3(std::span<const ChatMessage> messages,
                                const ChatOptions& options);  // chat_format_llama3.cc

bool ChatFormatHasTools(ChatFormat format) { return format != ChatFormat::kGemma3; }

bool ChatFormatHasMedia(ChatFormat format) { return format == ChatFormat::kGemma4; }

MediaMarkup MediaMarkupOf(ChatFormat format) {
  if (format != ChatFormat::kGemma4) return {};
  return {.image_begin = "<|image>",
          .image = "<|image|>",
          .image_end = "<image|>",
          .audio_begin = "<|audio>",
          .audio = "<|audio|>",
          .audio_end = "<audio|>"};
}

void ChatPrompt::Literal(std::string_view content) {
  if (content.empty()) return;
  if (!literal.empty() && literal.back().end == text.size()) {
    literal.back().end += content.size();
  } else {
    literal.push_back({text.size(), text.size() + content.size()});
  }
  text += content;
}

namespace {

std::string Position(size_t index) { return "message " + std::to_string(index + 1); }

// Gemma 3 template: "<bos>", the system text + "\n\n" (untrimmed) opens the first user turn,
// roles alternate user/model starting with user, each content is trimmed. Before that snug
// merges consecutive messages of one role (joined by a blank line), which the template would
// reject.
Result<ChatPrompt> RenderGemma3(std::span<const ChatMessage> messages,
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
    if (!messages[i].tool_calls.empty()) {
      return InvalidArgument("tokenizer: gemma3 chat: " + Position(i) +
                             " has tool calls; Gemma 3 has no tool-call format");
    }
    if (!turns.empty() && turns.back().user == user) {
      turns.back().content += "\n\n" + messages[i].content;
    } else {
      turns.push_back({user, messages[i].content, i});
    }
  }
  ChatPrompt out;
  out += "<bos>";
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
    out += "\n";
    if (t == 0 && has_system) {
      out.Literal(system);
      out += "\n\n";
    }
    out.Literal(TrimPythonWhitespace(turns[t].content));
    out += "<end_of_turn>\n";
  }
  if (options.add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace

namespace {

// Messages given as parts, for a format that renders text only: text parts joined into
// `content` (nothing between them, as the templates concatenate them); a media part is refused.
Result<std::vector<ChatMessage>> TextOnly(ChatFormat format,
                                          std::span<const ChatMessage> messages) {
  std::vector<ChatMessage> flat(messages.begin(), messages.end());
  for (size_t i = 0; i < flat.size(); ++i) {
    ChatMessage& message = flat[i];
    for (const ChatPart& part : message.parts) {
      if (part.type != ChatPartType::kText) {
        return InvalidArgument("tokenizer: " + std::string(ChatFormatName(format)) +
                               " chat: " + Position(i) + " has an " +
                               (part.type == ChatPartType::kImage ? "image" : "audio") +
                               " part; this chat format takes text only");
      }
      message.content += part.text;
    }
    message.parts.clear();
  }
  return flat;
}

}  // namespace

Result<ChatPrompt> RenderChatPrompt(ChatFormat format, std::span<const ChatMessage> messages,
                                    const ChatOptions& options) {
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].parts.empty() && !messages[i].content.empty()) {
      return InvalidArgument("tokenizer: chat: " + Position(i) +
                             " has both content text and content parts");
    }
    for (const ChatPart& part : messages[i].parts) {
      if (part.type != ChatPartType::kText && part.soft_tokens <= 0) {
        return InvalidArgument("tokenizer: chat: " + Position(i) +
                               " has a media part of no soft tokens");
      }
    }
  }
  const bool any_parts = std::any_of(messages.begin(), messages.end(),
                                     [](const ChatMessage& m) { return !m.parts.empty(); });
  if (any_parts && format != ChatFormat::kGemma4) {
    ASSIGN_OR_RETURN(const std::vector<ChatMessage> flat, TextOnly(format, messages));
    return RenderChatPrompt(format, flat, options);
  }
  switch (format) {
    case ChatFormat::kGemma3:
      return RenderGemma3(messages, options);
    case ChatFormat::kLlama3:
      return RenderLlama3(messages, options);
    case ChatFormat::kGemma4:
      return RenderGemma4(messages, options);
    case ChatFormat::kHarmony:
      return RenderHarmony(messages, options);
    case ChatFormat::kChatMl:
      return RenderChatMl(messages, options);
  }
  return Internal("tokenizer: unknown chat format");
}

std::vector<TokenId> EncodeChat(const Tokenizer& tokenizer, const ChatPrompt& prompt) {
  return tokenizer.Encode(prompt.text,
                          {.add_bos = false, .parse_special = true, .literal = prompt.literal});
}

Result<std::string> RenderChat(ChatFormat format, std::span<const ChatMessage> messages,
                               const ChatOptions& options) {
  ASSIGN_OR_RETURN(ChatPrompt prompt, RenderChatPrompt(format, messages, options));
  return std::move(prompt.text);
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
    case ChatFormat::kChatMl:
      return {"<|im_end|>", "<|endoftext|>"};
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
