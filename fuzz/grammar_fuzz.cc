// libFuzzer target for the JSON-schema compiler and the matcher: the input is a schema, a zero
// byte, then document bytes. A schema that compiles is matched against the bytes one at a
// time, and at every step the token mask over a small vocabulary of awkward tokens must equal
// trying each token (the invariant constrained decoding rests on).
// Its seeds are valid schema and document pairs (seeds.h).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seeds.h"
#include "base/check.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"

namespace {

using snug::grammar::Grammar;
using snug::grammar::Matcher;
using snug::grammar::TokenIndex;

const TokenIndex& Vocabulary() {
  static const TokenIndex index = [] {
    std::vector<std::string> tokens = {"",   "{",  "{\"", "\"",   "\":",   "\",",  "\"}", " ",
                                       "\n", "a",  "ab", "\\",   "\\\"",  "\\u00", "é",   "true",
                                       "1",  "-",  "0",  ".5",   "e5",    "}",    "]",   "[",
                                       ",",  ":",  "null", "false", "\"a\"", "}]",  "\t", "12"};
    for (int b = 0; b < 256; b += 7) tokens.push_back(std::string(1, static_cast<char>(b)));
    return TokenIndex(tokens);
  }();
  return index;
}

void CheckMask(const Matcher& matcher) {
  const TokenIndex& index = Vocabulary();
  Matcher probe = matcher;
  std::vector<uint64_t> mask(index.mask_words());
  probe.FillMask(mask);
  for (int token = 0; token < index.vocab_size(); ++token) {
    Matcher trial = matcher;
    const bool allowed = (mask[token / 64] >> (token % 64)) & 1;
    CHECK_EQ(allowed, trial.AcceptToken(token)) << "token " << token;
  }
}

std::vector<std::string> Seeds() {
  const char* seeds[][2] = {
      {R"({"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a","b"],"additionalProperties":false})",
       R"({"a":"x\u00e9\n","b":-12})"},
      {R"({"$defs":{"n":{"type":"object","properties":{"c":{"type":"array","items":{"$ref":"#/$defs/n"}}},"required":["c"]}},"$ref":"#/$defs/n"})",
       R"({"c":[{"c":[]}]})"},
      {R"({"anyOf":[{"type":"number"},{"enum":["a","b",null]},{"type":["boolean","null"]}]})",
       "-0.5e+3"},
      {R"({"type":"object"})", R"({"k":[1,true,{"z":null}]})"},
      {R"({"type":"string","pattern":"a"})", "\"a\""},
  };
  std::vector<std::string> inputs;
  for (const auto& [schema, document] : seeds) {
    inputs.push_back(std::string(schema) + '\0' + document);
  }
  return inputs;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  snug::fuzz::WriteSeedsIfAsked(Seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string schema_text = input.substr(0, split);
  const std::string document = split == std::string::npos ? "" : input.substr(split + 1, 64);
  const auto schema = nlohmann::ordered_json::parse(schema_text, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return 0;
  snug::Result<Grammar> grammar = snug::grammar::CompileJsonSchema(schema);
  if (!grammar.ok()) return 0;
  Matcher matcher(std::make_shared<const Grammar>(std::move(grammar).value()), &Vocabulary());
  CheckMask(matcher);
  for (char byte : document) {
    matcher.AcceptBytes(std::string(1, byte));
    CheckMask(matcher);
  }
  return 0;
}
