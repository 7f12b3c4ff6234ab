// JSON schema -> grammar: every supported keyword admits exactly the documents it should
// (checked by matching bytes), unsupported ones fail naming their path, empty languages fail.
#include <gtest/gtest.h>

#include "grammar/grammar.h"
#include "grammar/matcher.h"

namespace snug::grammar {
namespace {

using json = nlohmann::ordered_json;

std::shared_ptr<const Grammar> Compile(const json& schema) {
  Result<Grammar> grammar = CompileJsonSchema(schema);
  EXPECT_TRUE(grammar.ok()) << grammar.status().ToString();
  return std::make_shared<const Grammar>(std::move(grammar).value());
}

// Whole document accepted.
bool Matches(const std::shared_ptr<const Grammar>& grammar, std::string_view document) {
  Matcher matcher(grammar, nullptr);
  return matcher.AcceptBytes(document) && matcher.CanEnd();
}

std::string Error(const json& schema) {
  Result<Grammar> grammar = CompileJsonSchema(schema);
  return grammar.ok() ? "(compiled)" : grammar.status().message();
}

TEST(JsonSchemaTest, ObjectWithRequiredPropertiesInOrder) {
  auto g = Compile(json::parse(R"({"type":"object","properties":{
      "name":{"type":"string"},"age":{"type":"integer"}},
      "required":["name","age"],"additionalProperties":false})"));
  EXPECT_TRUE(Matches(g, R"({"name":"Ada","age":36})"));
  EXPECT_TRUE(Matches(g, "{ \"name\" : \"Ada\" ,\n  \"age\": 36 }"));
  EXPECT_TRUE(Matches(g, R"(  {"name":"","age":-0})"));
  EXPECT_FALSE(Matches(g, R"({"name":"Ada"})"));
  EXPECT_FALSE(Matches(g, R"({"age":36,"name":"Ada"})"));
  EXPECT_FALSE(Matches(g, R"({"name":"Ada","age":36,"x":1})"));
  EXPECT_FALSE(Matches(g, R"({"name":"Ada","age":36.5})"));
  EXPECT_FALSE(Matches(g, R"({"name":"Ada","age":36} )"));  // nothing after the document
}

TEST(JsonSchemaTest, OptionalPropertiesMayBeLeftOut) {
  auto g = Compile(json::parse(R"({"type":"object","properties":{
      "a":{"type":"boolean"},"b":{"type":"null"},"c":{"type":"number"}},"required":["b"]})"));
  EXPECT_TRUE(Matches(g, R"({"b":null})"));
  EXPECT_TRUE(Matches(g, R"({"a":true,"b":null})"));
  EXPECT_TRUE(Matches(g, R"({"b":null,"c":1.5})"));
  EXPECT_TRUE(Matches(g, R"({"a":false,"b":null,"c":2})"));
  EXPECT_FALSE(Matches(g, R"({"a":true})"));
  EXPECT_FALSE(Matches(g, R"({,"b":null})"));
  EXPECT_FALSE(Matches(g, R"({"b":null,})"));
}

TEST(JsonSchemaTest, ArraysEnumsConstAnyOf) {
  auto g = Compile(json::parse(R"({"type":"object","properties":{
      "tags":{"type":"array","items":{"enum":["red","green",3,null]}},
      "kind":{"const":"fixed"},
      "value":{"anyOf":[{"type":"string"},{"type":"integer"}]},
      "maybe":{"type":["string","null"]}},
      "required":["tags","kind","value","maybe"],"additionalProperties":false})"));
  EXPECT_TRUE(Matches(g, R"({"tags":[],"kind":"fixed","value":"x","maybe":null})"));
  EXPECT_TRUE(Matches(g, R"({"tags":["red",3,null],"kind":"fixed","value":12,"maybe":"s"})"));
  EXPECT_TRUE(Matches(g, R"({"tags":[ "green" ,"red" ],"kind":"fixed","value":1,"maybe":"s"})"));
  EXPECT_FALSE(Matches(g, R"({"tags":["blue"],"kind":"fixed","value":1,"maybe":null})"));
  EXPECT_FALSE(Matches(g, R"({"tags":[],"kind":"other","value":1,"maybe":null})"));
  EXPECT_FALSE(Matches(g, R"({"tags":[],"kind":"fixed","value":1.5,"maybe":null})"));
  EXPECT_FALSE(Matches(g, R"({"tags":[],"kind":"fixed","value":true,"maybe":null})"));
  EXPECT_FALSE(Matches(g, R"({"tags":[,],"kind":"fixed","value":1,"maybe":null})"));
}

TEST(JsonSchemaTest, EnumValuesAreFilteredByType) {
  auto g = Compile(json::parse(R"({"type":"string","enum":["a",1,"b"]})"));
  EXPECT_TRUE(Matches(g, R"("a")"));
  EXPECT_TRUE(Matches(g, R"("b")"));
  EXPECT_FALSE(Matches(g, "1"));
}

TEST(JsonSchemaTest, RefsAndRecursion) {
  auto g = Compile(json::parse(R"({
      "$defs":{"node":{"type":"object","properties":{
          "name":{"type":"string"},
          "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
        "required":["name","children"],"additionalProperties":false},
        "level":{"enum":["low","high"]}},
      "type":"object",
      "properties":{"root":{"$ref":"#/$defs/node"},"level":{"$ref":"#/$defs/level"}},
      "required":["root","level"],"additionalProperties":false})"));
  EXPECT_TRUE(Matches(g, R"({"root":{"name":"a","children":[]},"level":"low"})"));
  EXPECT_TRUE(Matches(
      g,
      R"({"root":{"name":"a","children":[{"name":"b","children":[{"name":"c","children":[]}]}]},"level":"high"})"));
  EXPECT_FALSE(Matches(g, R"({"root":{"name":"a","children":[{"name":"b"}]},"level":"low"})"));
  // definitions (draft-07, zod-to-json-schema) and "#" itself.
  auto tree = Compile(json::parse(R"({"type":"object","properties":{
      "next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}},"required":["next"],
      "additionalProperties":false})"));
  EXPECT_TRUE(Matches(tree, R"({"next":{"next":{"next":null}}})"));
  auto draft7 = Compile(json::parse(
      R"({"definitions":{"x":{"type":"boolean"}},"type":"array","items":{"$ref":"#/definitions/x"}})"));
  EXPECT_TRUE(Matches(draft7, "[true,false]"));
}

TEST(JsonSchemaTest, FreeFormValues) {
  auto object = std::make_shared<const Grammar>(AnyJsonObject());
  EXPECT_TRUE(Matches(object, R"({})"));
  EXPECT_TRUE(Matches(object, R"({"a":[1,{"b":null},"c",-2.5e-3,true],"d":{}})"));
  EXPECT_FALSE(Matches(object, R"([1])"));
  EXPECT_FALSE(Matches(object, R"("text")"));
  auto any = Compile(json::object());
  EXPECT_TRUE(Matches(any, "[1,2]"));
  EXPECT_TRUE(Matches(any, "\"x\""));
  EXPECT_TRUE(Matches(any, "false"));
  auto map = Compile(json::parse(R"({"type":"object","additionalProperties":{"type":"integer"}})"));
  EXPECT_TRUE(Matches(map, R"({"x":1,"y":2})"));
  EXPECT_FALSE(Matches(map, R"({"x":"1"})"));
  auto empty_object =
      Compile(json::parse(R"({"type":"object","properties":{},"additionalProperties":false})"));
  EXPECT_TRUE(Matches(empty_object, "{}"));
  EXPECT_FALSE(Matches(empty_object, R"({"a":1})"));
}

TEST(JsonSchemaTest, Strings) {
  auto g = Compile(json::parse(R"({"type":"string"})"));
  EXPECT_TRUE(Matches(g, R"("plain")"));
  EXPECT_TRUE(Matches(g, R"("esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00")"));
  EXPECT_TRUE(
      Matches(g, "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xED\x9F\xBF \xF4\x8F\xBF\xBF\""));
  EXPECT_FALSE(Matches(g, R"("bad \x escape")"));
  EXPECT_FALSE(Matches(g, R"("\u12G4")"));
  EXPECT_FALSE(Matches(g, "\"raw\nnewline\""));
  EXPECT_FALSE(Matches(g, "\"tab\there\""));
  EXPECT_FALSE(Matches(g, "\"\xC3\""));              // truncated sequence
  EXPECT_FALSE(Matches(g, "\"\xC0\xAF\""));          // overlong
  EXPECT_FALSE(Matches(g, "\"\xE0\x80\xAF\""));      // overlong
  EXPECT_FALSE(Matches(g, "\"\xED\xA0\x80\""));      // a UTF-16 surrogate
  EXPECT_FALSE(Matches(g, "\"\xF4\x90\x80\x80\""));  // past U+10FFFF
  EXPECT_FALSE(Matches(g, "\"\x80\""));              // lone continuation byte
  EXPECT_FALSE(Matches(g, "\"unterminated"));
}

TEST(JsonSchemaTest, NumbersAndIntegers) {
  auto number = Compile(json::parse(R"({"type":"number"})"));
  for (const char* ok : {"0", "-0", "1", "-1", "10", "1.5", "-0.25", "1e5", "1E+5", "2.5e-3", "0e0",
                         "123456789012345", "0.123456789012345", "1e99"}) {
    EXPECT_TRUE(Matches(number, ok)) << ok;
  }
  for (const char* bad : {"01", "-", "+1", "1.", ".5", "1e", "1e+", "--1", "0x1", "1.5.2",
                          "1234567890123456", "1e100", "NaN", "Infinity", "-01"}) {
    EXPECT_FALSE(Matches(number, bad)) << bad;
  }
  auto integer = Compile(json::parse(R"({"type":"integer"})"));
  for (const char* ok : {"0", "-0", "7", "-42", "123456789012345"}) {
    EXPECT_TRUE(Matches(integer, ok)) << ok;
  }
  for (const char* bad : {"1.0", "1e5", "00", "-", "1234567890123456"}) {
    EXPECT_FALSE(Matches(integer, bad)) << bad;
  }
  // zod's safe-integer bounds are wider than any integer written: accepted.
  auto zod_int = Compile(
      json::parse(R"({"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991})"));
  EXPECT_TRUE(Matches(zod_int, "12"));
}

TEST(JsonSchemaTest, BooleanAndNull) {
  auto g = Compile(json::parse(R"({"type":["boolean","null"]})"));
  EXPECT_TRUE(Matches(g, "true"));
  EXPECT_TRUE(Matches(g, "false"));
  EXPECT_TRUE(Matches(g, "null"));
  EXPECT_FALSE(Matches(g, "nul"));
  EXPECT_FALSE(Matches(g, "True"));
}

TEST(JsonSchemaTest, UnsupportedKeywordsNameTheirPath) {
  EXPECT_EQ(
      Error(json::parse(
          R"({"type":"object","properties":{"a":{"type":"object","patternProperties":{}}}})")),
      "schema: unsupported keyword 'patternProperties' at #/properties/a");
  EXPECT_EQ(Error(json::parse(R"({"type":"string","pattern":"^a"})")),
            "schema: unsupported keyword 'pattern' at #");
  EXPECT_EQ(Error(json::parse(R"({"type":"array","items":{"type":"integer","minimum":0}})")),
            "schema: unsupported keyword 'minimum' at #/items");
  EXPECT_EQ(Error(json::parse(R"({"$defs":{"a":{"oneOf":[]}},"$ref":"#/$defs/a"})")),
            "schema: unsupported keyword 'oneOf' at #/$defs/a");
  EXPECT_EQ(Error(json::parse(R"({"anyOf":[{"type":"string"},{"allOf":[]}]})")),
            "schema: unsupported keyword 'allOf' at #/anyOf/1");
  EXPECT_EQ(Error(json::parse(R"({"properties":{"a/b":{"format":"date"}}})")),
            "schema: unsupported keyword 'format' at #/properties/a~1b");
  EXPECT_EQ(Error(json::parse(R"({"type":"strin"})")), "schema: unknown type 'strin' at #/type");
  EXPECT_EQ(Error(json::parse(R"({"$ref":"#/$defs/missing"})")),
            "schema: $ref '#/$defs/missing' points at nothing, at #");
  EXPECT_EQ(
      Error(json::parse(R"({"$ref":"http://example.com/s.json"})")),
      "schema: only local $ref (\"#...\") is supported, got 'http://example.com/s.json' at #");
  EXPECT_EQ(Error(json::parse(R"({"properties":{"a":{}},"required":["b"]})")),
            "schema: required names \"b\", which is not among the properties at #");
  EXPECT_EQ(Error(json::parse("3")), "schema: expected an object or a boolean at #");
}

TEST(JsonSchemaTest, DeepNestingIsRefused) {
  json schema = json::parse(R"({"type":"integer"})");
  for (int i = 0; i < 100; ++i) schema = json{{"type", "array"}, {"items", schema}};
  EXPECT_TRUE(Error(schema).starts_with("schema: nested deeper than 64 levels at #/items/items"))
      << Error(schema);
  json shallow = json::parse(R"({"type":"integer"})");
  for (int i = 0; i < 40; ++i) shallow = json{{"type", "array"}, {"items", shallow}};
  EXPECT_EQ(Error(shallow), "(compiled)");
}

TEST(JsonSchemaTest, SchemasThatAdmitNothingFail) {
  const std::string nothing = "schema: no JSON value satisfies this schema";
  EXPECT_EQ(Error(json::parse(R"({"enum":[]})")), nothing);
  EXPECT_EQ(Error(json::parse(R"({"anyOf":[]})")), nothing);
  EXPECT_EQ(Error(json::parse("false")), nothing);
  EXPECT_EQ(Error(json::parse(R"({"type":"integer","enum":["a","b"]})")), nothing);
  EXPECT_EQ(
      Error(json::parse(R"({"type":"object","properties":{"a":{"enum":[]}},"required":["a"]})")),
      nothing);
  // Infinitely deep: an object that must contain itself.
  EXPECT_EQ(Error(json::parse(
                R"({"type":"object","properties":{"self":{"$ref":"#"}},"required":["self"]})")),
            nothing);
  // A ref cycle that never reaches a value.
  EXPECT_EQ(Error(json::parse(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},
                                  "$ref":"#/$defs/a"})")),
            nothing);
  // An empty branch of anyOf is dropped, the rest still works.
  auto g = Compile(json::parse(R"({"anyOf":[{"enum":[]},{"type":"boolean"}]})"));
  EXPECT_TRUE(Matches(g, "true"));
}

TEST(JsonSchemaTest, RefCycleWithoutProgressFails) {
  // Productive (through "x"), but the matcher would expand #/$defs/a forever.
  EXPECT_EQ(Error(json::parse(R"({"$defs":{"a":{"anyOf":[{"$ref":"#/$defs/a"},{"const":"x"}]}},
                                  "$ref":"#/$defs/a"})")),
            "schema: $ref '#/$defs/a' refers to itself before consuming anything");
}

TEST(GrammarBuilderTest, LiteralsSequencesChoices) {
  GrammarBuilder builder;
  Result<GrammarBuilder::Rule> arguments =
      builder.JsonSchema(json::parse(R"({"type":"object","properties":{"x":{"type":"integer"}},
                                         "required":["x"],"additionalProperties":false})"));
  ASSERT_TRUE(arguments.ok());
  const auto call = [&](const std::string& name) {
    return builder.Sequence(
        {builder.Literal("<call " + name + ">"), *arguments, builder.Literal("</call>")});
  };
  const auto root = builder.Choice({call("a"), call("b")});
  Result<Grammar> grammar = std::move(builder).Build(root);
  ASSERT_TRUE(grammar.ok()) << grammar.status().ToString();
  auto g = std::make_shared<const Grammar>(std::move(grammar).value());
  EXPECT_TRUE(Matches(g, R"(<call a>{"x":1}</call>)"));
  EXPECT_TRUE(Matches(g, R"(<call b>{ "x": -3 }</call>)"));
  EXPECT_FALSE(Matches(g, R"(<call c>{"x":1}</call>)"));
  EXPECT_FALSE(Matches(g, R"(<call a>{"x":1})"));
}

TEST(MatcherTest, DoneOnlyWhenNothingCanFollow) {
  auto object = std::make_shared<const Grammar>(AnyJsonObject());
  Matcher m(object, nullptr);
  EXPECT_FALSE(m.CanEnd());
  ASSERT_TRUE(m.AcceptBytes("{\"a\":1"));
  EXPECT_FALSE(m.CanEnd());
  EXPECT_FALSE(m.AcceptBytes("]"));  // rejected bytes leave the state as it was
  ASSERT_TRUE(m.AcceptBytes("}"));
  EXPECT_TRUE(m.CanEnd());
  EXPECT_TRUE(m.Done());
  EXPECT_FALSE(m.AcceptBytes(" "));
  auto number = Compile(json::parse(R"({"type":"number"})"));
  Matcher n(number, nullptr);
  ASSERT_TRUE(n.AcceptBytes("12"));
  EXPECT_TRUE(n.CanEnd());
  EXPECT_FALSE(n.Done());  // more digits may follow
}

TEST(MatcherTest, LongDocumentsKeepTheArenaSmall) {
  auto g = Compile(json::parse(R"({"type":"array","items":{"type":"string"}})"));
  Matcher m(g, nullptr);
  ASSERT_TRUE(m.AcceptBytes("["));
  for (int i = 0; i < 20000; ++i) ASSERT_TRUE(m.AcceptBytes(i == 0 ? "\"ab\"" : ",\"ab\""));
  ASSERT_TRUE(m.AcceptBytes("]"));
  EXPECT_TRUE(m.Done());
}

}  // namespace
}  // namespace snug::grammar
