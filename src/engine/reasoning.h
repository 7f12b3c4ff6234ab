// Splits a model's generated text into reasoning, user-visible content and tool calls, piece by
// piece as it streams. Harmony (gpt-oss, specs/models.md §8.3): the analysis channel is
// reasoning, the final channel and commentary without a recipient are content, commentary
// addressed "to=functions.NAME" is a tool call. Markers may arrive split across pieces: a tail
// that could still become one is held back until it is decided. Other chat formats pass
// through as content. Pure: no engine or server state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/chat_format.h"

namespace snug {

struct ToolCall {
  std::string recipient;     // "functions.get_weather"
  std::string content_type;  // "json" (from "<|constrain|>json"), or empty
  std::string arguments;     // the message body, as the model wrote it
};

// What one Push (or Finish) released.
struct ReasoningDelta {
  std::string reasoning;
  std::string content;
  std::vector<ToolCall> tool_calls;  // each once, when its message has ended

  bool empty() const { return reasoning.empty() && content.empty() && tool_calls.empty(); }
};

class ReasoningSplitter {
 public:
  // The text fed must carry the format's control tokens as text (decode with
  // render_special = true): they are the channel boundaries.
  explicit ReasoningSplitter(tokenizer::ChatFormat format) : format_(format) {}

  ReasoningDelta Push(std::string_view text);
  // End of generation: whatever was held back (an unfinished header is dropped; an unfinished
  // tool call is returned as it stands).
  ReasoningDelta Finish();

 private:
  enum class State {
    kStart,   // expecting a message: <|start|>, a bare header ("<|channel|>…", the first
              // message's), or plain text (no header: final content)
    kHeader,  // "[role][<|channel|>name][ to=recipient][ <|constrain|>type]" until <|message|>
    kBody,    // a message's content, until <|end|>, <|return|>, <|call|>, ...
    kDone,    // after <|return|> or <|call|>: the turn is over
  };
  enum class Channel { kReasoning, kContent, kToolCall };

  void Run(ReasoningDelta& delta, bool finishing);
  void StartMessage();
  void EndMessage(ReasoningDelta& delta);
  void Emit(std::string_view text, ReasoningDelta& delta);

  tokenizer::ChatFormat format_;
  State state_ = State::kStart;
  std::string pending_;  // received, not yet consumed
  std::string header_;   // the current message's header text
  Channel channel_ = Channel::kContent;
  ToolCall call_;  // the tool call being written (channel_ == kToolCall)
};

}  // namespace snug
