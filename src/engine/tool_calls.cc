// Gemma 4 / Llama 3 / ChatML output split into reasoning, content and tool calls (tool_calls.h).
#include "engine/tool_calls.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace snug {
namespace {

using Json = nlohmann::ordered_json;
using tokenizer::ChatFormat;

constexpr std::string_view kThought = "thought\n";
constexpr std::string_view kGemmaQuote = "<|\"|>";

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// Bytes at the end of `text` that are a proper prefix of `marker`.
size_t PrefixTail(std::string_view text, std::string_view marker) {
  for (size_t length = std::min(marker.size() - 1, text.size()); length > 0; --length) {
    if (text.substr(text.size() - length) == marker.substr(0, length)) return length;
  }
  return 0;
}

// A recursive-descent reader of Gemma 4's value syntax, writing JSON. It also reads JSON
// strings and quoted keys: a forced call (grammar/tool_call_grammar.h) writes its arguments as
// JSON.
class GemmaReader {
 public:
  explicit GemmaReader(std::string_view text) : text_(text) {}

  std::optional<Json> Value() {
    Skip();
    if (Take(kGemmaQuote)) {
      const size_t end = text_.find(kGemmaQuote, at_);
      if (end == std::string_view::npos) return std::nullopt;
      Json value = std::string(text_.substr(at_, end - at_));
      at_ = end + kGemmaQuote.size();
      return value;
    }
    if (Peek('"')) return JsonString();
    if (Take("{")) return Object();
    if (Take("[")) {
      Json array = Json::array();
      Skip();
      if (Take("]")) return array;
      while (true) {
        std::optional<Json> item = Value();
        if (!item) return std::nullopt;
        array.push_back(std::move(*item));
        Skip();
        if (Take("]")) return array;
        if (!Take(",")) return std::nullopt;
      }
    }
    // A bare scalar: a number, true/false, null/None.
    const size_t end = text_.find_first_of(",}]", at_);
    std::string word(text_.substr(at_, end == std::string_view::npos ? end : end - at_));
    while (!word.empty() && IsSpace(word.back())) word.pop_back();
    at_ = end == std::string_view::npos ? text_.size() : end;
    if (word == "None" || word == "null") return Json(nullptr);
    if (word == "true" || word == "True") return Json(true);
    if (word == "false" || word == "False") return Json(false);
    Json number = Json::parse(word, nullptr, /*allow_exceptions=*/false);
    if (number.is_discarded() || !number.is_number()) return std::nullopt;
    return number;
  }

  // After "{": members up to "}".
  std::optional<Json> Object() {
    Json object = Json::object();
    Skip();
    if (Take("}")) return object;
    while (true) {
      Skip();
      std::string key;
      if (Peek('"')) {  // JSON, as a constrained call writes it
        std::optional<Json> quoted = JsonString();
        if (!quoted) return std::nullopt;
        key = quoted->get<std::string>();
      } else if (Take(kGemmaQuote)) {
        const size_t end = text_.find(kGemmaQuote, at_);
        if (end == std::string_view::npos) return std::nullopt;
        key = text_.substr(at_, end - at_);
        at_ = end + kGemmaQuote.size();
      } else {
        const size_t end = text_.find(':', at_);
        if (end == std::string_view::npos) return std::nullopt;
        key = text_.substr(at_, end - at_);
        while (!key.empty() && IsSpace(key.back())) key.pop_back();
        at_ = end;
      }
      Skip();
      if (!Take(":")) return std::nullopt;
      std::optional<Json> value = Value();
      if (!value) return std::nullopt;
      object[key] = std::move(*value);
      Skip();
      if (Take("}")) return object;
      if (!Take(",")) return std::nullopt;
    }
  }

  bool AtEnd() {
    Skip();
    return at_ == text_.size();
  }

 private:
  bool Peek(char c) const { return at_ < text_.size() && text_[at_] == c; }
  // A JSON string at `at_` (its opening quote).
  std::optional<Json> JsonString() {
    size_t end = at_ + 1;
    while (end < text_.size() && text_[end] != '"') end += text_[end] == '\\' ? 2 : 1;
    if (end >= text_.size()) return std::nullopt;
    Json value = Json::parse(text_.substr(at_, end + 1 - at_), nullptr, false);
    if (value.is_discarded()) return std::nullopt;
    at_ = end + 1;
    return value;
  }
  void Skip() {
    while (at_ < text_.size() && IsSpace(text_[at_])) ++at_;
  }
  bool Take(std::string_view what) {
    if (text_.substr(at_, what.size()) != what) return false;
    at_ += what.size();
    return true;
  }

  std::string_view text_;
  size_t at_ = 0;
};

}  // namespace

std::optional<ToolCall> ParseGemmaCall(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  if (!text.starts_with("call:")) return std::nullopt;
  text.remove_prefix(5);
  const size_t brace = text.find('{');
  if (brace == std::string_view::npos || brace == 0) return std::nullopt;
  ToolCall call;
  call.name = std::string(text.substr(0, brace));
  GemmaReader reader(text.substr(brace + 1));
  std::optional<Json> arguments = reader.Object();
  if (!arguments || !reader.AtEnd()) return std::nullopt;
  call.arguments = arguments->dump();
  return call;
}

std::optional<ToolCall> ParseJsonCall(std::string_view text) {
  const Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  const auto name = value.find("name");
  auto arguments = value.find("arguments");
  if (arguments == value.end()) arguments = value.find("parameters");
  if (name == value.end() || !name->is_string() || arguments == value.end() ||
      !arguments->is_object()) {
    return std::nullopt;
  }
  return ToolCall{.name = name->get<std::string>(), .arguments = arguments->dump()};
}

MarkupSplitter::MarkupSplitter(ChatFormat format, bool tool_calls)
    : format_(format), whole_message_call_(tool_calls && format == ChatFormat::kLlama3) {
  if (format == ChatFormat::kGemma4) spans_.push_back({"<|channel>", "<channel|>", false});
  if (tool_calls && format == ChatFormat::kGemma4) {
    spans_.push_back({"<|tool_call>", "<tool_call|>", true});
  }
  if (tool_calls && format == ChatFormat::kChatMl) {
    spans_.push_back({"<tool_call>", "</tool_call>", true});
  }
}

ReasoningDelta MarkupSplitter::Push(std::string_view text) {
  ReasoningDelta delta;
  pending_.append(text);
  Run(delta, /*finishing=*/false);
  return delta;
}

ReasoningDelta MarkupSplitter::Finish() {
  ReasoningDelta delta;
  Run(delta, /*finishing=*/true);
  if (holding_message_) {
    if (std::optional<ToolCall> call = ParseJsonCall(pending_)) {
      delta.tool_calls.push_back(std::move(*call));
    } else {
      delta.content += pending_;
    }
  } else if (open_ != nullptr && !open_->call) {
    CloseSpan(pending_, delta);
  } else if (open_ != nullptr) {  // a call cut short (max_tokens): whole, or not shown at all
    std::optional<ToolCall> call = format_ == ChatFormat::kGemma4 ? ParseGemmaCall(pending_)
                                                                  : ParseJsonCall(pending_);
    if (call) delta.tool_calls.push_back(std::move(*call));
  }
  pending_.clear();
  open_ = nullptr;
  holding_message_ = false;
  return delta;
}

void MarkupSplitter::CloseSpan(std::string_view body, ReasoningDelta& delta) {
  if (!open_->call) {
    if (strip_thought_ && body.starts_with(kThought)) body.remove_prefix(kThought.size());
    strip_thought_ = false;
    delta.reasoning.append(body);
    return;
  }
  std::optional<ToolCall> call = format_ == ChatFormat::kGemma4 ? ParseGemmaCall(body)
                                                                : ParseJsonCall(body);
  if (call) {
    delta.tool_calls.push_back(std::move(*call));
  } else {  // not a call after all: what the model wrote is shown as it is
    delta.content += std::string(open_->open) + std::string(body);
  }
}

void MarkupSplitter::Run(ReasoningDelta& delta, bool finishing) {
  while (!pending_.empty()) {
    if (holding_message_) return;  // decided at Finish
    if (open_ != nullptr) {
      const size_t close = pending_.find(open_->close);
      if (close == std::string::npos) {
        // Reasoning streams (all but a possible closing tail); a call waits for its end.
        if (open_->call) return;
        if (strip_thought_) {
          if (pending_.size() < kThought.size() && kThought.starts_with(pending_)) return;
          if (pending_.starts_with(kThought)) pending_.erase(0, kThought.size());
          strip_thought_ = false;
        }
        const size_t hold = finishing ? 0 : PrefixTail(pending_, open_->close);
        delta.reasoning.append(pending_, 0, pending_.size() - hold);
        pending_.erase(0, pending_.size() - hold);
        return;
      }
      CloseSpan(std::string_view(pending_).substr(0, close), delta);
      pending_.erase(0, close + open_->close.size());
      open_ = nullptr;
      continue;
    }
    if (!started_) {
      const size_t text = pending_.find_first_not_of(" \n\t\r");
      if (text == std::string::npos) {
        if (!finishing) return;  // leading whitespace: wait for what follows
      } else {
        started_ = true;
        if (whole_message_call_ && pending_[text] == '{') {
          holding_message_ = true;
          return;
        }
      }
    }
    // Content up to the first opener; hold a tail that may become one.
    size_t at = std::string::npos;
    const Span* span = nullptr;
    for (const Span& candidate : spans_) {
      const size_t found = pending_.find(candidate.open);
      if (found < at) at = found, span = &candidate;
    }
    if (span == nullptr) {
      size_t hold = 0;
      if (!finishing) {
        for (const Span& candidate : spans_) hold = std::max(hold, PrefixTail(pending_, candidate.open));
      }
      delta.content.append(pending_, 0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
      return;
    }
    delta.content.append(pending_, 0, at);
    pending_.erase(0, at + span->open.size());
    open_ = span;
    strip_thought_ = !span->call;
  }
}

}  // namespace snug
