// `tools`, `tool_choice` and `parallel_tool_calls` (chat completions): the functions declared to
// the model's chat format, and for tool_choice "required" or a named function the grammar that
// forces a call (grammar/tool_call_grammar.h); with "auto", gpt-oss's calls to strict functions
// are held to their schemas once addressed. A model whose chat format has no tool syntax
// answers 400 naming the model.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "grammar/grammar.h"
#include "server/api_error.h"
#include "server/context.h"
#include "tokenizer/chat_format.h"

namespace snug::server {

struct ToolRequest {
  std::vector<tokenizer::ChatTool> tools;  // declared in the prompt (none for tool_choice none)
  bool parallel = true;                    // parallel_tool_calls
  std::shared_ptr<const grammar::Grammar> forced;  // "required" / a named function
  // "auto" on Harmony: strict functions' argument grammars (Request::argument_grammars).
  std::map<std::string, std::shared_ptr<const grammar::Grammar>> argument_grammars;
};

// `raw_body` is re-read in order: templates print the tools with their keys as written, and
// argument schemas compile in their properties' order.
ApiResult<ToolRequest> ParseTools(const nlohmann::json& body, const std::string& raw_body,
                                  const ServedModel& model);

}  // namespace snug::server
