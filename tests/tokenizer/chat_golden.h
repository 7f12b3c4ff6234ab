// Helpers of the chat-format golden tests: load a golden file of tools/golden/render_chat*.py,
// read a case's messages, and check what snug rendered against the case.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/status.h"
#include "tokenizer/chat_format.h"

namespace snug::tokenizer::testing {

using Json = nlohmann::json;

// tests/tokenizer/golden/<file_name>, parsed.
inline Json LoadGolden(const std::string& file_name) {
  std::ifstream in(std::string(SNUG_SOURCE_DIR) + "/tests/tokenizer/golden/" + file_name);
  std::ostringstream text;
  text << in.rdbuf();
  return Json::parse(text.str());
}

// The case's "messages": [{role, content}].
inline std::vector<ChatMessage> GoldenMessages(const Json& golden_case) {
  std::vector<ChatMessage> messages;
  for (const Json& m : golden_case.at("messages")) {
    messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  }
  return messages;
}

// Where the template errors or snug refuses the case, `rendered` must be an InvalidArgument;
// else it must equal the case's "expected" byte for byte. Returns whether the case rendered.
inline bool ExpectMatchesGolden(const Json& golden_case, const Result<std::string>& rendered,
                                const std::string& label) {
  if (golden_case.value("error", false) || golden_case.value("snug_refuses", false)) {
    EXPECT_FALSE(rendered.ok()) << label << " should be refused";
    if (!rendered.ok()) {
      EXPECT_EQ(rendered.status().code(), StatusCode::kInvalidArgument) << label;
    }
    return false;
  }
  EXPECT_TRUE(rendered.ok()) << label << ": " << rendered.status().ToString();
  if (!rendered.ok()) return false;
  EXPECT_EQ(*rendered, golden_case.at("expected").get<std::string>()) << label;
  return true;
}

}  // namespace snug::tokenizer::testing
