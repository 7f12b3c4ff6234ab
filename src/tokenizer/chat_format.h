// Chat formats: a list of messages -> the prompt text a model was trained on, and the tokens
// that end its turn (specs/models.md §8). Each renderer reproduces its family's official Jinja
// template byte for byte (goldens: tools/golden/render_chat.py); where the template would
// accept nonsense or raise, snug returns a precise Status instead. Tokenizing the result is the
// caller's job (Encode with parse_special = true and add_bos = false: the text holds the BOS).
#pragma once

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
  // "Cutting Knowledge Date: December 2023" and "Today Date: {date}"); no tools.
  kLlama3,
  kGemma4,  // google/gemma-4 template, text messages (chat_format_gemma4.cc)
  kHarmony,  // gpt-oss (openai/gpt-oss-*), text messages (chat_format_harmony.cc)
};

struct ChatMessage {
  std::string role;  // system, user, assistant (Gemma also accepts model)
  std::string content;
};

struct ChatOptions {
  bool add_generation_prompt = true;
  // Today's date: Llama 3.x writes it as given (this default is its template's own fallback),
  // Harmony as YYYY-MM-DD (it also accepts that form here).
  std::string date_string = "26 Jul 2024";
  bool enable_thinking = false;  // Gemma 4: "<|think|>" opens the system turn
  std::string reasoning_effort = "medium";  // Harmony: low, medium or high
};

// "gemma3", "llama3", "gemma4", "harmony"
Result<ChatFormat> ChatFormatFromName(std::string_view name);
std::string_view ChatFormatName(ChatFormat format);

Result<std::string> RenderChat(ChatFormat format, std::span<const ChatMessage> messages,
                               const ChatOptions& options = {});

// Token texts that end an assistant turn, in preference order: Gemma 3 <end_of_turn>, <eos>;
// Llama 3 <|eot_id|>, <|eom_id|>, <|end_of_text|>; Gemma 4 <turn|>, <eos>, <|tool_response>;
// Harmony <|return|>, <|call|>, <|endoftext|> (never <|end|>: it closes the analysis message).
std::vector<std::string_view> StopTokenTexts(ChatFormat format);
// Those of the stop texts present in the tokenizer's vocabulary, as ids.
std::vector<TokenId> StopTokenIds(ChatFormat format, const Tokenizer& tokenizer);

}  // namespace snug::tokenizer
