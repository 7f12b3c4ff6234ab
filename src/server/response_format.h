// `response_format` (chat completions and completions): the structured output a request asks
// for, compiled into the grammar the engine decodes under (engine.h, Request::grammar).
// {"type":"text"} or absent: none; {"type":"json_object"}: any JSON object;
// {"type":"json_schema","json_schema":{"name","schema","strict"}}: a value of the schema (the
// subset grammar/grammar.h supports; anything else is a 400 naming the schema path).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "grammar/grammar.h"
#include "server/api_error.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace snug::server {

// `raw_body` is the request's text: the schema is re-read from it in order, because the parsed
// `body` has sorted object keys and properties are written in the schema's order. With a chat
// format, the grammar also writes what opens the answer: Harmony's final channel header
// (<|channel|>final<|message|>), so a constrained gpt-oss answers without an analysis turn.
// Null: no constraint. `grammar` (llama-server's GBNF field) is refused with a 400.
ApiResult<std::shared_ptr<const grammar::Grammar>> ParseResponseFormat(
    const nlohmann::json& body, const std::string& raw_body,
    std::optional<tokenizer::ChatFormat> chat_format, const tokenizer::Tokenizer& tokenizer);

}  // namespace snug::server
