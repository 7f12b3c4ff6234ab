// tools / tool_choice / parallel_tool_calls -> ToolRequest (tools.h).
#include "server/tools.h"

#include "grammar/tool_call_grammar.h"
#include "server/field_reader.h"

namespace snug::server {
namespace {

using Ordered = nlohmann::ordered_json;

// The tool_choice: "auto", "none", "required", or {"type":"function","function":{"name"}}.
struct Choice {
  std::string mode = "auto";
  std::string name;  // mode "named"
};

ApiResult<Choice> ParseChoice(const nlohmann::json& body) {
  Choice choice;
  const auto it = body.find("tool_choice");
  if (it == body.end() || it->is_null()) return choice;
  if (it->is_string()) {
    choice.mode = it->get<std::string>();
    if (choice.mode != "auto" && choice.mode != "none" && choice.mode != "required") {
      return BadParam("tool_choice", "'tool_choice' must be 'auto', 'none', 'required' or "
                                     "{\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
    return choice;
  }
  const nlohmann::json* function = nullptr;
  if (it->is_object()) {
    const auto f = it->find("function");
    if (f != it->end() && f->is_object()) function = &*f;
  }
  if (function == nullptr || !function->contains("name") || !(*function)["name"].is_string()) {
    return BadParam("tool_choice", "a named 'tool_choice' must be {\"type\": \"function\", "
                                   "\"function\": {\"name\": ...}}");
  }
  choice.mode = "named";
  choice.name = (*function)["name"].get<std::string>();
  return choice;
}

}  // namespace

ApiResult<ToolRequest> ParseTools(const nlohmann::json& body, const std::string& raw_body,
                                  const ServedModel& model) {
  ToolRequest request;
  FieldReader reader(body);
  reader.Boolean("parallel_tool_calls", &request.parallel);
  if (!reader.ok()) return reader.error();
  const auto tools = body.find("tools");
  const bool has_tools = tools != body.end() && !tools->is_null() &&
                         !(tools->is_array() && tools->empty());
  ApiResult<Choice> choice = ParseChoice(body);
  if (!choice.ok()) return choice.error();
  if (!has_tools) {
    if (choice->mode == "required" || choice->mode == "named") {
      return BadParam("tool_choice", "'tool_choice' needs 'tools'");
    }
    return request;
  }
  if (!model.chat_format.ok() || !tokenizer::ChatFormatHasTools(*model.chat_format)) {
    return BadParam("tools", "model '" + model.id + "' has no tool-call format (chat format " +
                                 (model.chat_format.ok()
                                      ? std::string(tokenizer::ChatFormatName(*model.chat_format))
                                      : std::string("none")) +
                                 "); send the request without 'tools'");
  }
  if (!tools->is_array()) {
    return BadParam("tools", "'tools' must be a list of {\"type\": \"function\", ...}");
  }
  const tokenizer::ChatFormat format = *model.chat_format;
  // The same tools with their keys in the order the client wrote them.
  Ordered ordered = Ordered::parse(raw_body, nullptr, /*allow_exceptions=*/false);
  if (ordered.is_discarded() || !ordered.contains("tools")) ordered = Ordered::parse(body.dump());
  const Ordered& ordered_tools = ordered["tools"];
  std::vector<grammar::ToolCallOption> options;
  for (size_t i = 0; i < ordered_tools.size(); ++i) {
    const Ordered& tool = ordered_tools[i];
    const std::string param = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object() || tool.value("type", "") != "function") {
      return BadParam(param + ".type", "only tools of type 'function' are supported");
    }
    const auto function = tool.find("function");
    if (function == tool.end() || !function->is_object() || !function->contains("name") ||
        !(*function)["name"].is_string() || (*function)["name"].get<std::string>().empty()) {
      return BadParam(param + ".function.name", "a function needs a non-empty string 'name'");
    }
    const auto parameters = function->find("parameters");
    if (parameters != function->end() && !parameters->is_null() && !parameters->is_object()) {
      return BadParam(param + ".function.parameters", "'parameters' must be a JSON schema object");
    }
    request.tools.push_back({tool});
    grammar::ToolCallOption option;
    option.name = (*function)["name"].get<std::string>();
    option.strict = function->value("strict", false);
    if (parameters != function->end()) option.parameters = &*parameters;
    if (choice->mode != "named" || choice->name == option.name) options.push_back(option);
  }
  if (choice->mode == "none") {
    request.tools.clear();  // the model is not told of them, so it calls none
    return request;
  }
  if (choice->mode == "named" && options.empty()) {
    return BadParam("tool_choice", "'tool_choice' names '" + choice->name +
                                       "', which is not among the tools");
  }
  if (choice->mode == "auto") {
    if (format != tokenizer::ChatFormat::kHarmony) return request;
    for (size_t i = 0; i < options.size(); ++i) {
      if (!options[i].strict) continue;
      const Ordered empty = Ordered::object();
      Result<grammar::Grammar> arguments =
          grammar::CompileJsonSchema(options[i].parameters ? *options[i].parameters : empty);
      if (!arguments.ok()) {
        return BadParam("tools[" + std::to_string(i) + "].function.parameters",
                        arguments.status().message());
      }
      request.argument_grammars[options[i].name] =
          std::make_shared<const grammar::Grammar>(std::move(arguments).value());
    }
    return request;
  }
  Result<grammar::Grammar> forced =
      grammar::ToolCallGrammar(format, model.tokenizer, options, request.parallel);
  if (!forced.ok()) return BadParam("tools", forced.status().message());
  request.forced = std::make_shared<const grammar::Grammar>(std::move(forced).value());
  return request;
}

}  // namespace snug::server
