// Grammars over bytes for constrained decoding, and how to build them: by hand (literals,
// sequences, choices — what a chat format's tool-call syntax needs) or from a JSON schema (the
// subset OpenAI documents for strict structured outputs). Matching them is matcher.h's job.
//
// A grammar is a context-free grammar whose terminals are byte classes plus three built-in
// lexical automata (a JSON string, number and integer), so the matcher does not expand a rule
// per character inside a string. Build() removes what can derive nothing and refuses rules that
// reach themselves without consuming a byte, so every state the matcher reaches can still be
// completed.
//
// Example (a tool call: fixed text, then JSON arguments constrained by the tool's schema):
//   grammar::GrammarBuilder builder;
//   ASSIGN_OR_RETURN(auto arguments, builder.JsonSchema(parameters_schema));
//   auto call = builder.Sequence({builder.Literal("<|channel|>commentary to=functions.f"),
//                                 arguments, builder.Literal("<|call|>")});
//   ASSIGN_OR_RETURN(grammar::Grammar grammar, std::move(builder).Build(call));
//   request.grammar = std::make_shared<const grammar::Grammar>(std::move(grammar));
// Choice({...}) of several such sequences lets the model pick the function.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace snug::grammar {

using ByteSet = std::array<uint64_t, 4>;  // bit b: byte b

enum class ElementKind : uint8_t {
  kEnd,      // end of an alternative
  kBytes,    // one byte of byte_sets[value]
  kRule,     // rule `value`
  kString,   // a JSON string, quotes included: valid UTF-8, escapes, no control characters
  kNumber,   // a JSON number (at most 15 integer digits, 15 fraction digits, 2 exponent digits)
  kInteger,  // a JSON integer (at most 15 digits, so a double holds it exactly)
  kToken,    // the token `value` itself: for control tokens, which add no bytes (<|channel|>)
};

struct Element {
  ElementKind kind = ElementKind::kEnd;
  int32_t value = 0;
};

// Immutable once built; share it between the choices of a request (std::shared_ptr<const>).
struct Grammar {
  std::vector<Element> elements;            // every alternative, each ended by kEnd
  std::vector<std::vector<int32_t>> rules;  // [rule] -> first element of each alternative
  std::vector<std::string> rule_names;      // [rule] for messages
  std::vector<ByteSet> byte_sets;
  int32_t root = 0;
};

class GrammarBuilder {
 public:
  using Rule = int32_t;

  // A rule with no alternatives yet (for recursion: define it later with AddAlternative).
  Rule NewRule(std::string name);
  void AddAlternative(Rule rule, std::vector<Element> sequence);

  static Element Ref(Rule rule) { return {ElementKind::kRule, rule}; }
  Element Bytes(const ByteSet& set);
  Element Byte(uint8_t byte);
  Element ByteRange(uint8_t first, uint8_t last);
  // A control token (one whose text is not decoded as bytes: "<|channel|>", "<|call|>"); text
  // tokens are matched by their bytes, so write those with Literal.
  static Element Token(int32_t id) { return {ElementKind::kToken, id}; }
  Rule TokenRule(int32_t id);

  Rule Literal(std::string_view bytes);
  Rule Sequence(const std::vector<Rule>& parts);
  Rule Choice(const std::vector<Rule>& alternatives);

  // How JSON values are spelled: JSON, or Gemma 4's call-argument syntax (strings between
  // <|"|> delimiters and holding no '<', object keys bare, no whitespace, as its template
  // writes arguments).
  // Set it before building any JSON rule: the built-in rules are made once per builder.
  enum class Syntax { kJson, kGemma };
  void set_syntax(Syntax syntax) { syntax_ = syntax; }
  Syntax syntax() const { return syntax_; }
  // An object's key `name`, and a given value (enum, const), in the syntax.
  Rule Key(std::string_view name);
  Rule ValueLiteral(const nlohmann::ordered_json& value);

  // JSON. Whitespace between tokens is allowed (at most 20 bytes per gap), none after the
  // document, so an object's grammar ends at its closing brace.
  Rule JsonValue();   // any JSON value
  Rule JsonObject();  // any JSON object (response_format json_object)
  Rule JsonString();
  Rule Whitespace();
  // The schema's values; errors name the schema path: "schema: unsupported keyword
  // 'patternProperties' at #/properties/a". A schema that admits nothing fails in Build().
  // Properties are written in the schema's order: pass an ordered_json parsed from the text
  // (a plain nlohmann::json has already sorted its keys).
  Result<Rule> JsonSchema(const nlohmann::ordered_json& schema);
  Result<Rule> JsonSchema(const nlohmann::json& schema);

  // Prunes alternatives that can derive nothing; fails if `root` then derives nothing, or if a
  // rule reaches itself before consuming a byte (the matcher would loop).
  Result<Grammar> Build(Rule root) &&;

 private:
  std::vector<std::vector<std::vector<Element>>> rules_;  // [rule][alternative] elements
  std::vector<std::string> names_;
  std::vector<ByteSet> byte_sets_;
  std::map<ByteSet, int32_t> byte_set_ids_;
  Rule json_value_ = -1, json_object_ = -1, json_string_ = -1, whitespace_ = -1;
  Syntax syntax_ = Syntax::kJson;
};

// A value of `schema` (response_format json_schema), after optional leading whitespace.
Result<Grammar> CompileJsonSchema(const nlohmann::ordered_json& schema);
Result<Grammar> CompileJsonSchema(const nlohmann::json& schema);
// Any JSON object (response_format json_object).
Grammar AnyJsonObject();

}  // namespace snug::grammar
