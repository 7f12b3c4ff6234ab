// The grammar of a forced tool call (tool_choice "required" or a named function) in a chat
// format's own call syntax: the format's markup (control tokens as kToken, text as literals),
// one of the offered function names, and that function's arguments as a value of its JSON
// schema. Harmony: "<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{…}";
// Gemma 4: "<|tool_call>call:NAME{key:<|"|>text<|"|>,…}<tool_call|>" (its own value syntax:
// GrammarBuilder::Syntax::kGemma); Llama 3: {"name": "NAME", "parameters": {…}}; ChatML:
// "<tool_call>\n{"name": "NAME", "arguments": {…}}\n</tool_call>". With `parallel`, Gemma 4
// and ChatML may write several calls; the others write one.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "base/status.h"
#include "grammar/grammar.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace snug::grammar {

struct ToolCallOption {
  std::string name;
  const nlohmann::ordered_json* parameters = nullptr;  // its JSON schema; null: any object
  // A strict tool's schema must compile (else the error names its path); a loose one whose
  // schema uses what the grammar cannot enforce takes any JSON object instead.
  bool strict = false;
};

Result<Grammar> ToolCallGrammar(tokenizer::ChatFormat format,
                                const tokenizer::Tokenizer& tokenizer,
                                std::span<const ToolCallOption> tools, bool parallel);

}  // namespace snug::grammar
