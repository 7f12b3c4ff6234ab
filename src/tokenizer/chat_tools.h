// What chat formats write for tools: Python's json.dumps (the `tojson` every Hugging Face
// template sees), Harmony's TypeScript-like namespace, Gemma 4's declarations and argument
// syntax. Each follows its official template (goldens: tools/golden/render_chat_tools.py).
// Parsing what a model writes back is the engine's job (engine/tool_calls.h).
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "base/status.h"
#include "tokenizer/chat_format.h"

namespace snug::tokenizer {

// json.dumps(value, ensure_ascii=False, indent=indent): ", " and ": " without an indent,
// newlines and `indent` spaces per level with one (indent < 0: none).
std::string PythonJson(const nlohmann::ordered_json& value, int indent = -1);

// Harmony's "## functions\n\nnamespace functions {...} // namespace functions".
std::string HarmonyToolNamespace(std::span<const ChatTool> tools);

// Gemma 4's string delimiter (a token of its vocabulary).
inline constexpr std::string_view kGemmaQuote = "<|\"|>";

// Gemma 4's "declaration:NAME{description:...,parameters:{...}}" (inside <|tool>...<tool|>).
void AppendGemmaDeclaration(const ChatTool& tool, ChatPrompt& out);
// Gemma 4's value syntax: strings in <|"|>…<|"|> (the delimiters are control tokens, the rest
// literal text), keys sorted and quoted only with `quote_keys`, Python's spelling of other
// scalars.
void AppendGemmaValue(const nlohmann::ordered_json& value, bool quote_keys, ChatPrompt& out);
// The same as one text (delimiters spelled out).
std::string GemmaValueString(const nlohmann::ordered_json& value, bool quote_keys = false);

// A call's arguments, parsed; they must be a JSON object. `where` names the message.
Result<nlohmann::ordered_json> ParseToolArguments(const ChatToolCall& call,
                                                  const std::string& where);

}  // namespace snug::tokenizer
