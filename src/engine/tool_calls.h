// What Gemma 4, Llama 3.x and ChatML (Qwen) models write, split as it streams (Harmony has its
// own state machine in reasoning.cc): Gemma 4's thinking "<|channel>thought\n…<channel|>" is
// reasoning; with tools, Gemma 4's "<|tool_call>call:NAME{…}<tool_call|>", ChatML's
// "<tool_call>{"name","arguments"}</tool_call>" and a Llama 3 message that is one JSON object
// {"name","parameters"} are tool calls, returned with their arguments as JSON text; the rest is
// content. A tail that could still open a marker is held back. Pure: no engine state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/chat_format.h"

namespace snug {

// A tool call, or a piece of one: calls parsed at their end come whole (opens and closes);
// Harmony's, whose body is the arguments, stream: an opening piece (name, recipient), pieces of
// arguments, and a closing piece.
struct ToolCall {
  std::string name;          // the function: "get_weather" (opening piece)
  std::string arguments;     // JSON text (as the model wrote it, or converted from its syntax)
  std::string recipient;     // Harmony: "functions.get_weather"
  std::string content_type;  // Harmony: "json" (from "<|constrain|>json"), or empty
  bool opens = true;         // starts a new call (else continues the last one)
  bool closes = true;        // the call is complete
};

// What one Push (or Finish) released.
struct ReasoningDelta {
  std::string reasoning;
  std::string content;
  std::vector<ToolCall> tool_calls;  // calls and pieces of calls, in order

  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
};

class MarkupSplitter {
 public:
  // `tool_calls`: parse the format's call syntax (a request with tools); else only reasoning.
  MarkupSplitter(tokenizer::ChatFormat format, bool tool_calls);

  ReasoningDelta Push(std::string_view text);
  // An unclosed span: reasoning as it stands; a call if it parses, else nothing (its markup is
  // never content).
  ReasoningDelta Finish();

 private:
  struct Span {
    std::string_view open, close;
    bool call;  // else reasoning
  };
  void Run(ReasoningDelta& delta, bool finishing);
  void CloseSpan(std::string_view body, ReasoningDelta& delta);

  tokenizer::ChatFormat format_;
  std::vector<Span> spans_;
  bool whole_message_call_;  // Llama 3: a message starting with '{' may be a call
  std::string pending_;
  const Span* open_ = nullptr;  // the span being read
  bool started_ = false;        // content other than whitespace was seen
  bool holding_message_ = false;  // Llama 3: the message is held until its end
  bool strip_thought_ = false;  // Gemma 4: "thought\n" may still open the reasoning
};

// Gemma 4's call "call:NAME{key:value,…}" (strings in <|"|>…<|"|>, keys bare) as a name and
// JSON arguments; nullopt if it is not one.
std::optional<ToolCall> ParseGemmaCall(std::string_view text);
// {"name": NAME, "arguments"|"parameters": {...}} (ChatML, Llama 3); nullopt if it is not one.
std::optional<ToolCall> ParseJsonCall(std::string_view text);

}  // namespace snug
