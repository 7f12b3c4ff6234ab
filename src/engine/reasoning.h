// Splits a model's generated text into reasoning, user-visible content and tool calls, piece by
// piece as it streams. Harmony (gpt-oss, specs/models.md §8.3): the analysis channel is
// reasoning, the final channel and commentary without a recipient are content, commentary
// addressed "to=functions.NAME" is a tool call. Markers may arrive split across pieces: a tail
// that could still become one is held back until it is decided. Gemma 4, Llama 3 and ChatML go
// through MarkupSplitter (tool_calls.h); Gemma 3 passes through as content. Pure: no engine or
// server state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/tool_calls.h"
#include "tokenizer/chat_format.h"

namespace snug {

class ReasoningSplitter {
 public:
  // The text fed must carry the format's control tokens as text (decode with
  // render_special = true): they are the channel boundaries.
  // `tool_calls`: the request declared tools (formats other than Harmony parse calls only then).
  explicit ReasoningSplitter(tokenizer::ChatFormat format, bool tool_calls = false)
      : format_(format), markup_(format, tool_calls) {}

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
  void StartMessage(ReasoningDelta& delta);
  void EndMessage(ReasoningDelta& delta);
  void Emit(std::string_view text, ReasoningDelta& delta);

  tokenizer::ChatFormat format_;
  MarkupSplitter markup_;  // formats other than Harmony
  State state_ = State::kStart;
  std::string pending_;  // received, not yet consumed
  std::string header_;   // the current message's header text
  Channel channel_ = Channel::kContent;
};

}  // namespace snug
