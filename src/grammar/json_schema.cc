// JSON schema -> grammar rules: the subset OpenAI documents for strict structured outputs
// (type, properties, required, additionalProperties, items, enum, const, anyOf, $ref/$defs).
// Anything else is refused with its schema path rather than silently not enforced.
#include <set>
#include <string>

#include "grammar/grammar.h"

namespace snug::grammar {
namespace {

using json = nlohmann::ordered_json;
using Rule = GrammarBuilder::Rule;

// Keywords that describe without constraining.
const std::set<std::string, std::less<>> kAnnotations = {
    "title",   "description", "$schema",  "$id",       "id",    "$comment",   "examples",
    "default", "deprecated",  "readOnly", "writeOnly", "$defs", "definitions"};
const std::set<std::string, std::less<>> kSupported = {
    "type",  "properties", "required", "additionalProperties", "items", "enum",
    "const", "anyOf",      "$ref"};

// The largest integer the grammar writes (15 digits): a range at least this wide constrains
// nothing, so zod's safe-integer bounds are accepted.
constexpr double kLargestInteger = 999999999999999.0;

// Nesting (subschemas and $ref hops) the compiler follows: deep enough for any real schema,
// shallow enough that a hostile one cannot exhaust the stack of the compiler or the matcher.
constexpr int kMaxDepth = 64;

std::string Escape(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

Status Unsupported(std::string_view what, const std::string& path) {
  return InvalidArgument("schema: unsupported keyword '" + std::string(what) + "' at " + path);
}

bool MatchesType(const json& value, std::string_view type) {
  if (type == "string") return value.is_string();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    return value.is_number_integer() ||
           (value.is_number_float() &&
            value.get<double>() == static_cast<int64_t>(value.get<double>()));
  }
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  return false;
}

class SchemaCompiler {
 public:
  SchemaCompiler(GrammarBuilder& builder, const json& root) : b_(builder), root_(root) {}

  Result<Rule> Compile(const json& schema, const std::string& path) {
    if (depth_ >= kMaxDepth) {
      return InvalidArgument("schema: nested deeper than " + std::to_string(kMaxDepth) +
                             " levels at " + path);
    }
    ++depth_;
    Result<Rule> rule = CompileAt(schema, path);
    --depth_;
    return rule;
  }

 private:
  Result<Rule> CompileAt(const json& schema, const std::string& path) {
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return b_.JsonValue();
      return b_.NewRule(path);  // false: no alternatives, admits nothing
    }
    if (!schema.is_object()) {
      return InvalidArgument("schema: expected an object or a boolean at " + path);
    }
    for (const auto& [key, value] : schema.items()) {
      if (!kAnnotations.contains(key) && !kSupported.contains(key)) {
        if (key == "minimum" || key == "maximum") {
          if (value.is_number() && IsIntegerType(schema) &&
              (key == "minimum" ? value.get<double>() <= -kLargestInteger
                                : value.get<double>() >= kLargestInteger)) {
            continue;  // wider than anything the grammar writes
          }
        }
        return Unsupported(key, path);
      }
    }
    if (const auto ref = schema.find("$ref"); ref != schema.end()) {
      for (const char* other : {"type", "anyOf", "enum", "const", "properties", "items"}) {
        if (schema.contains(other)) return Unsupported(other, path + " (beside $ref)");
      }
      if (!ref->is_string()) return InvalidArgument("schema: $ref must be a string at " + path);
      return Reference(ref->get<std::string>(), path);
    }
    if (const auto any_of = schema.find("anyOf"); any_of != schema.end()) {
      for (const char* other : {"type", "enum", "const", "properties", "items"}) {
        if (schema.contains(other)) return Unsupported(other, path + " (beside anyOf)");
      }
      if (!any_of->is_array()) return InvalidArgument("schema: anyOf must be an array at " + path);
      const Rule rule = b_.NewRule(path + "/anyOf");
      for (size_t i = 0; i < any_of->size(); ++i) {
        ASSIGN_OR_RETURN(Rule alternative,
                         Compile((*any_of)[i], path + "/anyOf/" + std::to_string(i)));
        b_.AddAlternative(rule, {GrammarBuilder::Ref(alternative)});
      }
      return rule;
    }
    std::vector<std::string> types;
    if (const auto type = schema.find("type"); type != schema.end()) {
      if (type->is_string()) {
        types.push_back(type->get<std::string>());
      } else if (type->is_array()) {
        for (const json& t : *type) {
          if (!t.is_string()) return InvalidArgument("schema: type must name types at " + path);
          types.push_back(t.get<std::string>());
        }
      } else {
        return InvalidArgument("schema: type must be a string or an array at " + path);
      }
      for (const std::string& t : types) {
        if (t != "string" && t != "number" && t != "integer" && t != "boolean" && t != "null" &&
            t != "object" && t != "array") {
          return InvalidArgument("schema: unknown type '" + t + "' at " + path + "/type");
        }
      }
    }
    if (schema.contains("enum") || schema.contains("const")) return Values(schema, types, path);
    if (types.empty()) {
      if (schema.contains("properties") || schema.contains("additionalProperties") ||
          schema.contains("required")) {
        types.push_back("object");
      } else if (schema.contains("items")) {
        types.push_back("array");
      } else {
        return b_.JsonValue();
      }
    }
    const Rule rule = b_.NewRule(path);
    for (const std::string& t : types) {
      ASSIGN_OR_RETURN(Rule typed, Typed(schema, t, path));
      b_.AddAlternative(rule, {GrammarBuilder::Ref(typed)});
    }
    return rule;
  }

  static bool IsIntegerType(const json& schema) {
    const auto type = schema.find("type");
    return type != schema.end() && type->is_string() && *type == "integer";
  }

  Result<Rule> Typed(const json& schema, const std::string& type, const std::string& path) {
    if (type == "string") return b_.JsonString();
    if (type == "number" || type == "integer") {
      const Rule rule = b_.NewRule(path);
      b_.AddAlternative(rule,
                        {{type == "number" ? ElementKind::kNumber : ElementKind::kInteger, 0}});
      return rule;
    }
    if (type == "boolean") return b_.Choice({b_.Literal("true"), b_.Literal("false")});
    if (type == "null") return b_.Literal("null");
    if (type == "array") return Array(schema, path);
    return Object(schema, path);
  }

  // enum / const: each allowed value written as compact JSON.
  Result<Rule> Values(const json& schema, const std::vector<std::string>& types,
                      const std::string& path) {
    std::vector<json> values;
    if (const auto c = schema.find("const"); c != schema.end()) values.push_back(*c);
    if (const auto e = schema.find("enum"); e != schema.end()) {
      if (!e->is_array()) return InvalidArgument("schema: enum must be an array at " + path);
      if (schema.contains("const")) {
        std::vector<json> both;
        for (const json& v : *e) {
          if (v == values[0]) both.push_back(v);
        }
        values = std::move(both);
      } else {
        values.assign(e->begin(), e->end());
      }
    }
    const Rule rule = b_.NewRule(path);
    for (const json& value : values) {
      bool typed = types.empty();
      for (const std::string& t : types) typed = typed || MatchesType(value, t);
      if (typed) b_.AddAlternative(rule, {GrammarBuilder::Ref(b_.ValueLiteral(value))});
    }
    return rule;
  }

  Result<Rule> Array(const json& schema, const std::string& path) {
    Rule item;
    if (const auto items = schema.find("items"); items != schema.end()) {
      ASSIGN_OR_RETURN(item, Compile(*items, path + "/items"));
    } else {
      item = b_.JsonValue();
    }
    const Element ws = GrammarBuilder::Ref(b_.Whitespace());
    const Rule more = b_.NewRule(path + "/items");
    b_.AddAlternative(more, {});
    b_.AddAlternative(more,
                      {ws, b_.Byte(','), ws, GrammarBuilder::Ref(item), GrammarBuilder::Ref(more)});
    const Rule rule = b_.NewRule(path);
    b_.AddAlternative(rule, {b_.Byte('['), ws, b_.Byte(']')});
    b_.AddAlternative(rule, {b_.Byte('['), ws, GrammarBuilder::Ref(item), GrammarBuilder::Ref(more),
                             ws, b_.Byte(']')});
    return rule;
  }

  Result<Rule> Object(const json& schema, const std::string& path) {
    const Element ws = GrammarBuilder::Ref(b_.Whitespace());
    const json empty = json::object();
    const auto properties_it = schema.find("properties");
    const json& properties = properties_it == schema.end() ? empty : *properties_it;
    if (!properties.is_object()) {
      return InvalidArgument("schema: properties must be an object at " + path);
    }
    std::set<std::string> required;
    if (const auto r = schema.find("required"); r != schema.end()) {
      if (!r->is_array()) return InvalidArgument("schema: required must be an array at " + path);
      for (const json& name : *r) {
        if (!name.is_string() || !properties.contains(name.get<std::string>())) {
          return InvalidArgument("schema: required names " + name.dump() +
                                 ", which is not among the properties at " + path);
        }
        required.insert(name.get<std::string>());
      }
    }
    const auto additional = schema.find("additionalProperties");
    if (properties.empty()) {
      if (additional == schema.end() || *additional == true) return b_.JsonObject();
      if (*additional == false) return b_.Literal("{}");
      // A map: any keys, every value of the `additionalProperties` schema.
      ASSIGN_OR_RETURN(Rule value, Compile(*additional, path + "/additionalProperties"));
      const Rule member = b_.NewRule(path + "/additionalProperties");
      b_.AddAlternative(member, {GrammarBuilder::Ref(b_.JsonString()), ws, b_.Byte(':'), ws,
                                 GrammarBuilder::Ref(value)});
      const Rule more = b_.NewRule(path + "/additionalProperties");
      b_.AddAlternative(more, {});
      b_.AddAlternative(
          more, {ws, b_.Byte(','), ws, GrammarBuilder::Ref(member), GrammarBuilder::Ref(more)});
      const Rule rule = b_.NewRule(path);
      b_.AddAlternative(rule, {b_.Byte('{'), ws, b_.Byte('}')});
      b_.AddAlternative(rule, {b_.Byte('{'), ws, GrammarBuilder::Ref(member),
                               GrammarBuilder::Ref(more), ws, b_.Byte('}')});
      return rule;
    }
    if (additional != schema.end() && !additional->is_boolean() && !additional->is_object()) {
      return InvalidArgument("schema: additionalProperties must be a boolean or a schema at " +
                             path);
    }
    // Listed properties only, in their order (a subset of what additionalProperties may
    // allow, so every document written is valid). first[i]: properties i.. with none written
    // yet; rest[i]: properties i.. after at least one (each then starts with a comma).
    const size_t count = properties.size();
    std::vector<Rule> members, optional;
    for (const auto& [name, property] : properties.items()) {
      const std::string property_path = path + "/properties/" + Escape(name);
      ASSIGN_OR_RETURN(Rule value, Compile(property, property_path));
      const Rule member = b_.NewRule(property_path);
      b_.AddAlternative(member, {GrammarBuilder::Ref(b_.Key(name)), ws, b_.Byte(':'), ws,
                                 GrammarBuilder::Ref(value)});
      members.push_back(member);
      optional.push_back(!required.contains(name));
    }
    std::vector<Rule> first(count + 1), rest(count + 1);
    first[count] = b_.NewRule(path);
    rest[count] = b_.NewRule(path);
    b_.AddAlternative(first[count], {});
    b_.AddAlternative(rest[count], {});
    for (size_t i = count; i-- > 0;) {
      first[i] = b_.NewRule(path);
      rest[i] = b_.NewRule(path);
      b_.AddAlternative(first[i],
                        {GrammarBuilder::Ref(members[i]), GrammarBuilder::Ref(rest[i + 1])});
      b_.AddAlternative(rest[i], {ws, b_.Byte(','), ws, GrammarBuilder::Ref(members[i]),
                                  GrammarBuilder::Ref(rest[i + 1])});
      if (optional[i]) {
        b_.AddAlternative(first[i], {GrammarBuilder::Ref(first[i + 1])});
        b_.AddAlternative(rest[i], {GrammarBuilder::Ref(rest[i + 1])});
      }
    }
    const Rule rule = b_.NewRule(path);
    b_.AddAlternative(rule, {b_.Byte('{'), ws, GrammarBuilder::Ref(first[0]), ws, b_.Byte('}')});
    return rule;
  }

  // "#", "#/$defs/name", any JSON pointer into the root schema. Each target compiles once, so
  // recursive schemas become recursive rules.
  Result<Rule> Reference(const std::string& ref, const std::string& path) {
    if (const auto it = refs_.find(ref); it != refs_.end()) return it->second;
    if (ref.empty() || ref[0] != '#') {
      return InvalidArgument("schema: only local $ref (\"#...\") is supported, got '" + ref +
                             "' at " + path);
    }
    const json* target = &root_;
    size_t at = 1;
    while (at < ref.size()) {
      if (ref[at] != '/')
        return InvalidArgument("schema: $ref '" + ref + "' is not a JSON pointer at " + path);
      size_t end = ref.find('/', at + 1);
      if (end == std::string::npos) end = ref.size();
      std::string token;
      for (size_t i = at + 1; i < end; ++i) {
        if (ref[i] == '~' && i + 1 < end && (ref[i + 1] == '0' || ref[i + 1] == '1')) {
          token += ref[i + 1] == '0' ? '~' : '/';
          ++i;
        } else {
          token += ref[i];
        }
      }
      const json* next = nullptr;
      if (target->is_object()) {
        if (const auto it = target->find(token); it != target->end()) next = &*it;
      } else if (target->is_array() && !token.empty() &&
                 token.find_first_not_of("0123456789") == std::string::npos && token.size() < 9 &&
                 std::stoul(token) < target->size()) {
        next = &(*target)[std::stoul(token)];
      }
      if (next == nullptr) {
        return InvalidArgument("schema: $ref '" + ref + "' points at nothing, at " + path);
      }
      target = next;
      at = end;
    }
    // The rule exists before its body compiles, so the body may refer back to it.
    const Rule rule = b_.NewRule(ref);
    refs_.emplace(ref, rule);
    ASSIGN_OR_RETURN(Rule body, Compile(*target, ref));
    b_.AddAlternative(rule, {GrammarBuilder::Ref(body)});
    return rule;
  }

  GrammarBuilder& b_;
  const json& root_;
  std::map<std::string, Rule> refs_;
  int depth_ = 0;
};

}  // namespace

Result<GrammarBuilder::Rule> GrammarBuilder::JsonSchema(const nlohmann::ordered_json& schema) {
  SchemaCompiler compiler(*this, schema);
  return compiler.Compile(schema, "#");
}

Result<GrammarBuilder::Rule> GrammarBuilder::JsonSchema(const nlohmann::json& schema) {
  return JsonSchema(nlohmann::ordered_json::parse(schema.dump()));
}

Result<Grammar> CompileJsonSchema(const nlohmann::json& schema) {
  return CompileJsonSchema(nlohmann::ordered_json::parse(schema.dump()));
}

Result<Grammar> CompileJsonSchema(const nlohmann::ordered_json& schema) {
  GrammarBuilder builder;
  ASSIGN_OR_RETURN(GrammarBuilder::Rule value, builder.JsonSchema(schema));
  const GrammarBuilder::Rule root = builder.NewRule("#");
  builder.AddAlternative(root,
                         {GrammarBuilder::Ref(builder.Whitespace()), GrammarBuilder::Ref(value)});
  Result<Grammar> grammar = std::move(builder).Build(root);
  if (!grammar.ok()) {
    std::string message = grammar.status().message();
    if (message.ends_with("admits no value")) {
      return InvalidArgument("schema: no JSON value satisfies this schema");
    }
    if (message.starts_with("grammar: ")) message.replace(0, 9, "schema: $ref ");
    return InvalidArgument(message);
  }
  return grammar;
}

}  // namespace snug::grammar
