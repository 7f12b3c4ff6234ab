// Test helper: everything a ReasoningSplitter releases for `pieces`, Finish included, with the
// pieces of each tool call joined into one call.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/reasoning.h"

namespace snug {

inline ReasoningDelta Collect(const std::vector<std::string>& pieces,
                              tokenizer::ChatFormat format = tokenizer::ChatFormat::kHarmony,
                              bool tools = false) {
  ReasoningSplitter splitter(format, tools);
  ReasoningDelta total;
  const auto add = [&](ReasoningDelta delta) {
    total.reasoning += delta.reasoning;
    total.content += delta.content;
    for (ToolCall& call : delta.tool_calls) {
      if (call.opens) {
        total.tool_calls.push_back(std::move(call));
      } else {
        total.tool_calls.back().arguments += call.arguments;
      }
    }
  };
  for (const std::string& piece : pieces) add(splitter.Push(piece));
  add(splitter.Finish());
  return total;
}

}  // namespace snug
