// response_format -> grammar (response_format.h).
#include "server/response_format.h"

namespace snug::server {
namespace {

constexpr char kParam[] = "response_format";

}  // namespace

ApiResult<std::shared_ptr<const grammar::Grammar>> ParseResponseFormat(
    const nlohmann::json& body, const std::string& raw_body,
    std::optional<tokenizer::ChatFormat> chat_format, const tokenizer::Tokenizer& tokenizer) {
  using GrammarPtr = std::shared_ptr<const grammar::Grammar>;
  if (const auto gbnf = body.find("grammar"); gbnf != body.end() && !gbnf->is_null()) {
    return BadParam("grammar",
                    "GBNF grammars are not supported; use response_format with a JSON schema");
  }
  const auto format = body.find("response_format");
  if (format == body.end() || format->is_null()) return GrammarPtr();
  if (!format->is_object()) {
    return BadParam(kParam, std::string("'response_format' must be an object, not ") +
                                format->type_name());
  }
  const auto type = format->find("type");
  if (type == format->end() || !type->is_string()) {
    return BadParam(std::string(kParam) + ".type", "'response_format' needs a string 'type'");
  }
  grammar::GrammarBuilder builder;
  grammar::GrammarBuilder::Rule value;
  if (*type == "text") {
    return GrammarPtr();
  } else if (*type == "json_object") {
    value = builder.JsonObject();
  } else if (*type == "json_schema") {
    const std::string param = std::string(kParam) + ".json_schema";
    const auto spec = format->find("json_schema");
    if (spec == format->end() || !spec->is_object()) {
      return BadParam(param, "'json_schema' must be an object with 'name' and 'schema'");
    }
    const auto name = spec->find("name");
    if (name == spec->end() || !name->is_string()) {
      return BadParam(param + ".name", "'json_schema' needs a string 'name'");
    }
    const auto schema = spec->find("schema");
    if (schema == spec->end() || !(schema->is_object() || schema->is_boolean())) {
      return BadParam(param + ".schema", "'json_schema' needs a 'schema' object");
    }
    // The same schema with its keys in the order the client wrote them.
    nlohmann::ordered_json ordered;
    try {
      ordered = nlohmann::ordered_json::parse(raw_body)["response_format"]["json_schema"]["schema"];
    } catch (const nlohmann::json::exception&) {
      ordered = nlohmann::ordered_json::parse(schema->dump());
    }
    Result<grammar::GrammarBuilder::Rule> compiled = builder.JsonSchema(ordered);
    if (!compiled.ok()) return BadParam(param + ".schema", compiled.status().message());
    value = *compiled;
  } else {
    return BadParam(std::string(kParam) + ".type",
                    "response_format type '" + Reflected(type->get<std::string>()) +
                        "' is not supported; use text, json_object or json_schema");
  }
  std::vector<grammar::GrammarBuilder::Rule> parts;
  if (chat_format == tokenizer::ChatFormat::kHarmony) {
    const tokenizer::TokenId channel = tokenizer.Find("<|channel|>");
    const tokenizer::TokenId message = tokenizer.Find("<|message|>");
    if (channel == tokenizer::kNoToken || message == tokenizer::kNoToken) {
      return BadParam(kParam, "the model's vocabulary lacks Harmony's channel tokens");
    }
    parts = {builder.TokenRule(channel), builder.Literal("final"), builder.TokenRule(message)};
  }
  parts.push_back(builder.Whitespace());
  parts.push_back(value);
  const grammar::GrammarBuilder::Rule root = builder.Sequence(parts);
  Result<grammar::Grammar> grammar = std::move(builder).Build(root);
  if (!grammar.ok()) {
    std::string message = grammar.status().message();
    if (message.ends_with("admits no value")) {
      message = "schema: no JSON value satisfies this schema";
    } else if (message.starts_with("grammar: ")) {
      message.replace(0, 9, "schema: $ref ");
    }
    return BadParam(std::string(kParam) + ".json_schema.schema", message);
  }
  return GrammarPtr(std::make_shared<const grammar::Grammar>(std::move(grammar).value()));
}

}  // namespace snug::server
