// Chat formats: a list of messages -> the prompt text a model was trained on, and the tokens
// that end its turn (specs/models.md §8). Each renderer reproduces its family's official Jinja
// template byte for byte (goldens: tools/golden/render_chat.py); where the template would
// accept nonsense or raise, snug returns a precise Status instead. Only the format's own markup
// becomes control tokens: message contents are literal text (EncodeChat), so "<end_of_turn>"
// typed by a user cannot end a turn.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace snug::tokenizer {

enum class ChatFormat {
  // google/gemma-3-*-it tokenizer_config.json template.
  kGemma3,
  // meta-llama/Llama-3.2-*-Instruct template (Llama 3.1+ family: always a system header with
  // "Cutting Knowledge Date: December 2023" and "Today Date: {date}"); tools in the first user
  // message, one JSON call per assistant message (chat_format_llama3.cc).
  kLlama3,
  kGemma4,   // google/gemma-4 template, text and tools (chat_format_gemma4.cc)
  kHarmony,  // gpt-oss (openai/gpt-oss-*), text and tools (chat_format_harmony.cc)
  // ChatML as Qwen3's templates render text messages and tools (Qwen/Qwen3-*:
  // <|im_start|>role\n...<|im_end|>\n, <tool_call> JSON); Qwen2.5's template adds a default
  // system message when none is given, which snug does not (chat_format_chatml.cc).
  kChatMl,
};

// A call the assistant made, as the client sends it back in the conversation.
struct ChatToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object's text
};

// One item of a message's content in order: text, or an image or audio clip that the caller
// has already preprocessed (media/media.h) into `soft_tokens` model positions. The chat format
// renders a media item as its placeholder run (specs/models.md §3.5, Gemma 4:
// "\n\n<|image>" + soft_tokens × "<|image|>" + "<image|>\n\n", and
// "<|audio>" + soft_tokens × "<|audio|>" + "<audio|>"); the caller passes the media themselves
// to the engine in the same order (engine::Request::media). Formats without media markup refuse
// media parts.
enum class ChatPartType { kText, kImage, kAudio };
struct ChatPart {
  ChatPartType type = ChatPartType::kText;
  std::string text;     // kText
  int soft_tokens = 0;  // kImage, kAudio: positions the item fills (PatchGrid::soft_tokens())
};

struct ChatMessage {
  std::string role;  // system, user, assistant (Gemma also accepts model), tool
  std::string content;
  std::vector<ChatToolCall> tool_calls;  // assistant
  std::string tool_call_id;              // tool: the call this result answers
  std::string reasoning;                 // assistant: its thinking, where the format keeps it
  // When not empty: the message's content as ordered parts, and `content` must be empty. Text
  // parts are rendered as `content` would be (a format that trims content trims each part).
  std::vector<ChatPart> parts;
};

// A function the model may call: the OpenAI tool object as the client wrote it (key order
// kept: templates print it), {"type":"function","function":{"name","description","parameters"}}.
struct ChatTool {
  nlohmann::ordered_json definition;

  std::string name() const;
  std::string description() const;
  const nlohmann::ordered_json& parameters() const;  // null when absent
};

struct ChatOptions {
  bool add_generation_prompt = true;
  // Today's date: Llama 3.x writes it as given (this default is its template's own fallback),
  // Harmony as YYYY-MM-DD (it also accepts that form here).
  std::string date_string = "26 Jul 2024";
  bool enable_thinking = false;  // Gemma 4: "<|think|>" opens the system turn
  std::string reasoning_effort = "medium";  // Harmony: low, medium or high
  std::vector<ChatTool> tools;  // declared to the model (formats with tool syntax only)
};

// Whether the format has a tool-call syntax (Gemma 3 has none).
bool ChatFormatHasTools(ChatFormat format);
// Whether the format renders image and audio parts (Gemma 4 only).
bool ChatFormatHasMedia(ChatFormat format);
// The placeholder token texts of a format's media (Gemma 4 §3.1: image "<|image|>" between
// "<|image>" and "<image|>", audio "<|audio|>" between "<|audio>" and "<audio|>"); empty
// strings for a format without media.
struct MediaMarkup {
  std::string_view image_begin, image, image_end;
  std::string_view audio_begin, audio, audio_end;
};
MediaMarkup MediaMarkupOf(ChatFormat format);

// "gemma3", "llama3", "gemma4", "harmony", "chatml"
Result<ChatFormat> ChatFormatFromName(std::string_view name);
std::string_view ChatFormatName(ChatFormat format);

// A rendered prompt: the text, and the parts of it that came from the messages.
struct ChatPrompt {
  std::string text;
  std::vector<TextRange> literal;  // sorted, disjoint: message contents

  // The format's own markup (its control-token texts become control tokens).
  ChatPrompt& operator+=(std::string_view markup) {
    text += markup;
    return *this;
  }
  // Message content: literal text, whatever it spells.
  void Literal(std::string_view content);
};

Result<ChatPrompt> RenderChatPrompt(ChatFormat format, std::span<const ChatMessage> messages,
                                    const ChatOptions& options = {});
// The prompt's tokens: control tokens from the markup only (the text holds the BOS).
std::vector<TokenId> EncodeChat(const Tokenizer& tokenizer, const ChatPrompt& prompt);

// The text alone (the golden tests compare it with the official templates). Never tokenize it
// with parse_special: that would read control-token text inside messages as control tokens.
Result<std::string> RenderChat(ChatFormat format, std::span<const ChatMessage> messages,
                               const ChatOptions& options = {});

// Token texts that end an assistant turn, in preference order: Gemma 3 <end_of_turn>, <eos>;
// Llama 3 <|eot_id|>, <|eom_id|>, <|end_of_text|>; Gemma 4 <turn|>, <eos>, <|tool_response>;
// Harmony <|return|>, <|call|>, <|endoftext|> (never <|end|>: it closes the analysis message).
std::vector<std::string_view> StopTokenTexts(ChatFormat format);
// Those of the stop texts present in the tokenizer's vocabulary, as ids.
std::vector<TokenId> StopTokenIds(ChatFormat format, const Tokenizer& tokenizer);

}  // namespace snug::tokenizer
