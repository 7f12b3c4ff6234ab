// Tool declarations and values as the official templates write them (chat_tools.h).
#include "tokenizer/chat_tools.h"

#include "tokenizer/utf8.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace snug::tokenizer {

// Gemma 4 text with kQuote for <|"|> (see AppendGemma).
std::string GemmaValueText(const nlohmann::ordered_json& value, bool quote_keys);

namespace {

using Json = nlohmann::ordered_json;

// Gemma 4's string delimiter, the token <|"|>, while a text is built: a byte no JSON text (valid
// UTF-8) holds, so AppendGemma can tell it from the text around it.
constexpr std::string_view kQuote = "\xff";

// Text built with kQuote into the prompt: the delimiters as markup (the control token), the
// rest literal.
void AppendGemma(std::string_view text, ChatPrompt& out) {
  size_t begin = 0;
  for (size_t at = text.find(kQuote); at != std::string_view::npos;
       at = text.find(kQuote, begin)) {
    out.Literal(text.substr(begin, at - begin));
    out += "<|\"|>";
    begin = at + kQuote.size();
  }
  out.Literal(text.substr(begin));
}

// Python's str() of a JSON scalar (what a template prints with {{ value }}).
std::string PythonScalar(const Json& value) {
  if (value.is_null()) return "None";
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();  // numbers: nlohmann writes Python's shortest round-trip form
}

// Jinja's dictsort: items by key, case-insensitively (stable).
std::vector<std::pair<std::string, const Json*>> DictSort(const Json& object) {
  std::vector<std::pair<std::string, const Json*>> items;
  for (const auto& [key, value] : object.items()) items.emplace_back(key, &value);
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(
        a.first.begin(), a.first.end(), b.first.begin(), b.first.end(),
        [](char x, char y) { return std::tolower(x) < std::tolower(y); });
  });
  return items;
}

// Jinja's truthiness.
bool IsTruthy(const Json& value) {
  if (value.is_null()) return false;
  if (value.is_string()) return !value.get<std::string>().empty();
  if (value.is_array() || value.is_object()) return !value.empty();
  if (value.is_boolean()) return value.get<bool>();
  return value.get<double>() != 0;
}

// An optional member, if truthy.
const Json* Truthy(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || !IsTruthy(*it)) return nullptr;
  return &*it;
}

std::string Upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// `value['type'] | upper`: a missing type is "", a list prints as Python's list does.
std::string UpperType(const Json& spec) {
  const auto type = spec.find("type");
  if (type == spec.end() || type->is_null()) return "";
  if (type->is_string()) return Upper(type->get<std::string>());
  if (type->is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < type->size(); ++i) {
      out += (i > 0 ? ", '" : "'") + PythonScalar((*type)[i]) + "'";
    }
    return Upper(out + "]");
  }
  return Upper(PythonScalar(*type));
}

bool TypeIs(const Json& spec, std::string_view type) {
  const auto it = spec.find("type");
  return it != spec.end() && it->is_string() && *it == type;
}

bool Contains(const Json* list, const std::string& name) {
  if (list == nullptr || !list->is_array()) return false;
  return std::find(list->begin(), list->end(), Json(name)) != list->end();
}

// The template's render_typescript_type.
std::string TypeScript(const Json& spec) {
  if (!spec.is_object()) return "any";
  const Json* nullable = Truthy(spec, "nullable");
  if (TypeIs(spec, "array")) {
    std::string out = "any[]";
    if (const Json* items = Truthy(spec, "items")) {
      if (TypeIs(*items, "string")) {
        out = "string[]";
      } else if (TypeIs(*items, "number") || TypeIs(*items, "integer")) {
        out = "number[]";
      } else if (TypeIs(*items, "boolean")) {
        out = "boolean[]";
      } else {
        const std::string inner = TypeScript(*items);
        out = inner == "object | object" || inner.size() > 50 ? "any[]" : inner + "[]";
      }
    }
    return nullable ? out + " | null" : out;
  }
  if (const auto type = spec.find("type");
      type != spec.end() && type->is_array() && !type->empty()) {
    std::string out;
    for (size_t i = 0; i < type->size(); ++i) out += (i > 0 ? " | " : "") + PythonScalar((*type)[i]);
    return out;
  }
  if (const Json* one_of = Truthy(spec, "oneOf"); one_of && one_of->is_array()) {
    std::string out;
    for (size_t i = 0; i < one_of->size(); ++i) {
      out += TypeScript((*one_of)[i]);
      if (i + 1 < one_of->size()) out += " | \n";
    }
    return out;
  }
  if (TypeIs(spec, "string")) {
    if (const Json* values = Truthy(spec, "enum"); values && values->is_array()) {
      std::string out = "\"";
      for (size_t i = 0; i < values->size(); ++i) {
        out += (i > 0 ? "\" | \"" : "") + PythonScalar((*values)[i]);
      }
      return out + "\"";
    }
    return nullable ? "string | null" : "string";
  }
  if (TypeIs(spec, "number") || TypeIs(spec, "integer")) return "number";
  if (TypeIs(spec, "boolean")) return "boolean";
  if (TypeIs(spec, "object")) {
    const Json* properties = Truthy(spec, "properties");
    if (properties == nullptr || !properties->is_object()) return "object";
    const Json* required = Truthy(spec, "required");
    std::string out = "{\n";
    size_t i = 0;
    for (const auto& [name, property] : properties->items()) {
      // The template's "{{ type }}" after a line break keeps that line's indentation.
      out += name + (Contains(required, name) ? "" : "?") + ": \n                " +
             TypeScript(property);
      if (++i < properties->size()) out += ", ";
    }
    return out + "}";
  }
  return "any";
}

// The template's format_parameters: properties sorted, standard keys skipped.
std::string GemmaParameters(const Json& properties) {
  static constexpr std::string_view kStandard[] = {"description", "type", "properties",
                                                   "required", "nullable"};
  std::string out;
  bool first = true;
  for (const auto& [key, value_ptr] : DictSort(properties)) {
    if (std::find(std::begin(kStandard), std::end(kStandard), key) != std::end(kStandard)) {
      continue;
    }
    const Json& value = *value_ptr;
    if (!first) out += ",";
    first = false;
    out += key + ":{";
    bool comma = false;
    const auto field = [&](const std::string& text) {
      out += (comma ? "," : "") + text;
      comma = true;
    };
    if (const Json* description = Truthy(value, "description")) {
      field("description:" + std::string(kQuote) + PythonScalar(*description) +
            std::string(kQuote));
    }
    const std::string type = value.is_object() ? UpperType(value) : "";
    if (type == "STRING") {
      if (const Json* values = Truthy(value, "enum")) field("enum:" + GemmaValueText(*values, true));
    } else if (type == "ARRAY") {
      if (const Json* items = Truthy(value, "items"); items && items->is_object()) {
        std::string text = "items:{";
        bool first_item = true;
        for (const auto& [item_key, item_value] : DictSort(*items)) {
          if (item_value->is_null()) continue;
          if (!first_item) text += ",";
          first_item = false;
          if (item_key == "properties") {
            text += "properties:{" + (item_value->is_object() ? GemmaParameters(*item_value) : "") +
                    "}";
          } else if (item_key == "required") {
            text += "required:[";
            for (size_t i = 0; i < item_value->size(); ++i) {
              text += (i > 0 ? "," : "") + std::string(kQuote) + PythonScalar((*item_value)[i]) +
                      std::string(kQuote);
            }
            text += "]";
          } else if (item_key == "type") {
            Json upper = *item_value;
            if (upper.is_string()) upper = Upper(upper.get<std::string>());
            if (upper.is_array()) {
              for (Json& t : upper) {
                if (t.is_string()) t = Upper(t.get<std::string>());
              }
            }
            text += "type:" + GemmaValueText(upper, true);
          } else {
            text += item_key + ":" + GemmaValueText(*item_value, true);
          }
        }
        field(text + "}");
      }
    }
    if (Truthy(value, "nullable")) field("nullable:true");
    if (type == "OBJECT") {
      const auto nested = value.find("properties");
      const Json& listed = nested != value.end() && nested->is_object() ? *nested : value;
      field("properties:{" + GemmaParameters(listed) + "}");
      if (const Json* required = Truthy(value, "required")) {
        std::string text = "required:[";
        for (size_t i = 0; i < required->size(); ++i) {
          text += (i > 0 ? "," : "") + std::string(kQuote) + PythonScalar((*required)[i]) +
                  std::string(kQuote);
        }
        field(text + "]");
      }
    }
    field("type:" + std::string(kQuote) + type + std::string(kQuote) + "}");
  }
  return out;
}

void AppendPythonJson(const Json& value, int indent, int depth, std::string& out) {
  const bool object = value.is_object();
  if (!object && !value.is_array()) {
    out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  if (value.empty()) {
    out += object ? "{}" : "[]";
    return;
  }
  const std::string newline =
      indent < 0 ? "" : "\n" + std::string(static_cast<size_t>(indent) * (depth + 1), ' ');
  out += object ? "{" : "[";
  bool first = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!first) out += indent < 0 ? ", " : ",";
    first = false;
    out += newline;
    if (object) out += Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace) + ": ";
    AppendPythonJson(*it, indent, depth + 1, out);
  }
  if (indent >= 0) out += "\n" + std::string(static_cast<size_t>(indent) * depth, ' ');
  out += object ? "}" : "]";
}

}  // namespace

std::string ChatTool::name() const {
  const auto function = definition.find("function");
  if (function == definition.end() || !function->is_object()) return "";
  return function->value("name", "");
}

std::string ChatTool::description() const {
  const auto function = definition.find("function");
  if (function == definition.end() || !function->is_object()) return "";
  const auto it = function->find("description");
  return it != function->end() && it->is_string() ? it->get<std::string>() : "";
}

const nlohmann::ordered_json& ChatTool::parameters() const {
  static const Json kNull;
  const auto function = definition.find("function");
  if (function == definition.end() || !function->is_object()) return kNull;
  const auto it = function->find("parameters");
  return it == function->end() ? kNull : *it;
}

std::string PythonJson(const nlohmann::ordered_json& value, int indent) {
  std::string out;
  AppendPythonJson(value, indent, 0, out);
  return out;
}

std::string HarmonyToolNamespace(std::span<const ChatTool> tools) {
  std::string out = "## functions\n\nnamespace functions {\n\n";
  for (const ChatTool& tool : tools) {
    out += "// " + tool.description() + "\n";
    out += "type " + tool.name() + " = ";
    const Json& parameters = tool.parameters();
    const Json* properties = Truthy(parameters, "properties");
    if (properties == nullptr || !properties->is_object()) {
      out += "() => any;\n\n";
      continue;
    }
    const Json* required = Truthy(parameters, "required");
    out += "(_: {\n";
    for (const auto& [name, spec] : properties->items()) {
      if (const Json* description = Truthy(spec, "description")) {
        out += "// " + PythonScalar(*description) + "\n";
      }
      out += name + (Contains(required, name) ? "" : "?") + ": " + TypeScript(spec);
      if (const auto value = spec.find("default"); spec.is_object() && value != spec.end()) {
        if (Truthy(spec, "enum")) {
          out += ", // default: " + PythonScalar(*value);
        } else if (Truthy(spec, "oneOf")) {
          out += "// default: " + PythonScalar(*value);
        } else {
          out += ", // default: " + PythonJson(*value);
        }
      }
      out += ",\n";
    }
    out += "}) => any;\n\n";
  }
  return out + "} // namespace functions";
}

namespace {

std::string GemmaDeclarationText(const ChatTool& tool) {
  std::string out = "declaration:" + tool.name() + "{description:" + std::string(kQuote) +
                    tool.description() + std::string(kQuote);
  const Json& parameters = tool.parameters();
  if (IsTruthy(parameters)) {
    out += ",parameters:{";
    if (const Json* properties = Truthy(parameters, "properties")) {
      out += "properties:{" + (properties->is_object() ? GemmaParameters(*properties) : "") + "},";
    }
    if (const Json* required = Truthy(parameters, "required")) {
      out += "required:[";
      for (size_t i = 0; i < required->size(); ++i) {
        out += (i > 0 ? "," : "") + std::string(kQuote) + PythonScalar((*required)[i]) +
               std::string(kQuote);
      }
      out += "],";
    }
    if (Truthy(parameters, "type")) {
      out += "type:" + std::string(kQuote) + UpperType(parameters) + std::string(kQuote) + "}";
    }
  }
  return out + "}";
}

}  // namespace

std::string GemmaValueText(const nlohmann::ordered_json& value, bool quote_keys) {
  if (value.is_string()) return std::string(kQuote) + value.get<std::string>() + std::string(kQuote);
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, item] : DictSort(value)) {
      if (!first) out += ",";
      first = false;
      out += quote_keys ? std::string(kQuote) + key + std::string(kQuote) : key;
      out += ":" + GemmaValueText(*item, quote_keys);
    }
    return out + "}";
  }
  if (value.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < value.size(); ++i) {
      out += (i > 0 ? "," : "") + GemmaValueText(value[i], quote_keys);
    }
    return out + "]";
  }
  return PythonScalar(value);
}

void AppendGemmaDeclaration(const ChatTool& tool, ChatPrompt& out) {
  AppendGemma(TrimPythonWhitespace(GemmaDeclarationText(tool)), out);
}

void AppendGemmaValue(const nlohmann::ordered_json& value, bool quote_keys, ChatPrompt& out) {
  AppendGemma(GemmaValueText(value, quote_keys), out);
}

std::string GemmaValueString(const nlohmann::ordered_json& value, bool quote_keys) {
  ChatPrompt prompt;
  AppendGemmaValue(value, quote_keys, prompt);
  return std::move(prompt.text);
}

Result<nlohmann::ordered_json> ParseToolArguments(const ChatToolCall& call,
                                                  const std::string& where) {
  Json arguments = Json::parse(call.arguments, nullptr, /*allow_exceptions=*/false);
  if (arguments.is_discarded() || !arguments.is_object()) {
    return InvalidArgument("tokenizer: " + where + ": the arguments of tool call '" + call.name +
                           "' are not a JSON object");
  }
  return arguments;
}

}  // namespace snug::tokenizer
