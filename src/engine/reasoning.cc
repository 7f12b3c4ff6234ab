// Harmony's message grammar as a small state machine over the streamed text (reasoning.h):
// [<|start|>role]header<|message|>body(<|end|>|<|return|>|<|call|>) ...
#include "engine/reasoning.h"

#include <algorithm>
#include <span>

namespace snug {
namespace {

// What may open a message: a new one after <|end|>, or the first one, whose "<|start|>assistant"
// the prompt already wrote (so its header begins at the channel or the recipient).
constexpr std::string_view kOpeners[] = {"<|start|>", "<|channel|>", " to="};
constexpr std::string_view kMessage = "<|message|>";
// What ends a message's body. <|start|> too: a model may omit <|end|> before the next header.
constexpr std::string_view kTerminators[] = {"<|end|>", "<|return|>", "<|call|>", "<|endoftext|>",
                                             "<|start|>"};
// A header is a role, a channel, a recipient and a type: far less than this. Text that goes on
// longer without <|message|> is not a header, and is shown as content rather than held forever.
constexpr size_t kMaxHeaderBytes = 256;

bool IsProperPrefixOfAny(std::string_view text, std::span<const std::string_view> markers) {
  for (std::string_view marker : markers) {
    if (text.size() < marker.size() && marker.substr(0, text.size()) == text) return true;
  }
  return false;
}

// Bytes at the end of `text` that are a proper prefix of some marker (held back in a body).
size_t HeldTail(std::string_view text, std::span<const std::string_view> markers) {
  size_t hold = 0;
  for (std::string_view marker : markers) {
    for (size_t length = std::min(marker.size() - 1, text.size()); length > hold; --length) {
      if (text.substr(text.size() - length) == marker.substr(0, length)) {
        hold = length;
        break;
      }
    }
  }
  return hold;
}

// The word after `key` in a header, up to a space or the next marker.
std::string WordAfter(std::string_view header, std::string_view key) {
  const size_t at = header.find(key);
  if (at == std::string_view::npos) return {};
  const std::string_view rest = header.substr(at + key.size());
  return std::string(rest.substr(0, rest.find_first_of(" <")));
}

}  // namespace

ReasoningDelta ReasoningSplitter::Push(std::string_view text) {
  if (format_ != tokenizer::ChatFormat::kHarmony) return markup_.Push(text);
  ReasoningDelta delta;
  pending_.append(text);
  Run(delta, /*finishing=*/false);
  return delta;
}

ReasoningDelta ReasoningSplitter::Finish() {
  if (format_ != tokenizer::ChatFormat::kHarmony) return markup_.Finish();
  ReasoningDelta delta;
  Run(delta, /*finishing=*/true);
  if (state_ == State::kBody) EndMessage(delta);
  pending_.clear();
  state_ = State::kDone;
  return delta;
}

void ReasoningSplitter::StartMessage(ReasoningDelta& delta) {
  const std::string channel = WordAfter(header_, "<|channel|>");
  ToolCall call;
  call.recipient = WordAfter(header_, " to=");
  call.content_type = WordAfter(header_, "<|constrain|>");
  call.name =
      call.recipient.starts_with("functions.") ? call.recipient.substr(10) : call.recipient;
  if (call.content_type.empty() && !channel.empty()) {
    // The template's own order: "<|channel|>commentary json" (a bare type after the channel).
    const std::string after = WordAfter(header_, "<|channel|>" + channel + " ");
    if (!after.empty() && after.rfind("to=", 0) != 0) call.content_type = after;
  }
  if (channel == "analysis") {
    channel_ = Channel::kReasoning;
  } else if (!call.recipient.empty()) {
    channel_ = Channel::kToolCall;
    call.closes = false;  // its body streams as pieces of arguments
    delta.tool_calls.push_back(std::move(call));
  } else {
    channel_ = Channel::kContent;  // final, commentary without a recipient (a preamble), none
  }
  header_.clear();
}

void ReasoningSplitter::EndMessage(ReasoningDelta& delta) {
  if (channel_ == Channel::kToolCall) delta.tool_calls.push_back({.opens = false});
  channel_ = Channel::kContent;
}

void ReasoningSplitter::Emit(std::string_view text, ReasoningDelta& delta) {
  switch (channel_) {
    case Channel::kReasoning:
      delta.reasoning.append(text);
      break;
    case Channel::kContent:
      delta.content.append(text);
      break;
    case Channel::kToolCall:
      if (!text.empty()) {
        delta.tool_calls.push_back(
            {.arguments = std::string(text), .opens = false, .closes = false});
      }
      break;
  }
}

void ReasoningSplitter::Run(ReasoningDelta& delta, bool finishing) {
  while (!pending_.empty()) {
    switch (state_) {
      case State::kStart: {
        if (pending_.rfind("<|start|>", 0) == 0) {
          pending_.erase(0, 9);
          state_ = State::kHeader;
        } else if (pending_.rfind("<|channel|>", 0) == 0 || pending_.rfind(" to=", 0) == 0 ||
                   pending_.rfind(kMessage, 0) == 0) {
          state_ = State::kHeader;
        } else if (!finishing && IsProperPrefixOfAny(pending_, kOpeners)) {
          return;  // "<|cha" may still become a header
        } else {
          channel_ = Channel::kContent;  // no header: plain text is the answer
          state_ = State::kBody;
        }
        break;
      }
      case State::kHeader: {
        const size_t at = pending_.find(kMessage);
        if (at == std::string::npos) {
          if (pending_.size() <= kMaxHeaderBytes && !finishing) return;
          if (finishing) {  // an unfinished header says nothing to the user
            pending_.clear();
            return;
          }
          channel_ = Channel::kContent;  // not a header after all
          state_ = State::kBody;
          break;
        }
        header_ = pending_.substr(0, at);
        pending_.erase(0, at + kMessage.size());
        StartMessage(delta);
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        size_t at = std::string::npos;
        std::string_view marker;
        for (std::string_view terminator : kTerminators) {
          const size_t found = pending_.find(terminator);
          if (found < at) at = found, marker = terminator;
        }
        if (at == std::string::npos) {
          const size_t hold = finishing ? 0 : HeldTail(pending_, kTerminators);
          Emit(std::string_view(pending_).substr(0, pending_.size() - hold), delta);
          pending_.erase(0, pending_.size() - hold);
          return;
        }
        Emit(std::string_view(pending_).substr(0, at), delta);
        pending_.erase(0, at + marker.size());
        EndMessage(delta);
        if (marker == "<|end|>") {
          state_ = State::kStart;
        } else if (marker == "<|start|>") {
          state_ = State::kHeader;
        } else {
          state_ = State::kDone;
        }
        break;
      }
      case State::kDone:
        pending_.clear();  // the turn ended: anything after is not part of the answer
        return;
    }
  }
}

}  // namespace snug
