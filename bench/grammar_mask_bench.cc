// Cost of one constrained-decoding token mask on a real vocabulary: prints JSON with the mean
// microseconds of Matcher::FillMask at a few typical states (inside a free string, at an
// object's key, inside a number, after a value) of a nested schema. Compare with a decode
// step's time to see what a schema costs (`snug bench` gives decode tokens/s).
//   grammar_mask_bench TOKENIZER_DIR    (a Hugging Face tokenizer.json folder)
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  using namespace snug;
  if (argc != 2) {
    std::fprintf(stderr, "usage: grammar_mask_bench TOKENIZER_DIR\n");
    return 2;
  }
  Result<tokenizer::Tokenizer> tokenizer = tokenizer::Tokenizer::FromHuggingFaceDirectory(argv[1]);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", tokenizer.status().ToString().c_str());
    return 1;
  }
  const auto build_start = std::chrono::steady_clock::now();
  const grammar::TokenIndex index = grammar::TokenIndex::FromTokenizer(*tokenizer);
  const double build_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - build_start)
                              .count();
  Result<grammar::Grammar> compiled = grammar::CompileJsonSchema(nlohmann::ordered_json::parse(R"({
    "$defs":{"item":{"type":"object","properties":{"name":{"type":"string"},
      "size":{"enum":["small","medium","large"]},"count":{"type":"integer"}},
      "required":["name","size","count"],"additionalProperties":false}},
    "type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/$defs/item"}},
      "note":{"type":"string"},"ok":{"type":"boolean"}},
    "required":["items","note","ok"],"additionalProperties":false})"));
  if (!compiled.ok()) return 1;
  auto grammar = std::make_shared<const grammar::Grammar>(std::move(compiled).value());
  const std::pair<const char*, const char*> states[] = {
      {"start", ""},
      {"object_key", R"({"items":[{)"},
      {"in_string", R"({"items":[{"name":"Some text)"},
      {"in_number", R"({"items":[{"name":"a","size":"small","count":12)"},
      {"after_value", R"({"items":[{"name":"a","size":"small","count":12},{"name":"b","size":"large","count":1}])"},
  };
  std::vector<uint64_t> mask(index.mask_words());
  std::printf("{\"vocab_size\": %d, \"index_build_ms\": %.1f, \"fill_mask_us\": {", index.vocab_size(),
              build_ms);
  bool first = true;
  for (const auto& [name, prefix] : states) {
    grammar::Matcher matcher(grammar, &index);
    if (!matcher.AcceptBytes(prefix) && prefix[0] != '\0') return 1;
    matcher.FillMask(mask);  // warm
    constexpr int kRepeats = 50;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRepeats; ++i) matcher.FillMask(mask);
    const double us = std::chrono::duration<double, std::micro>(
                          std::chrono::steady_clock::now() - start)
                          .count() /
                      kRepeats;
    int allowed = 0;
    for (uint64_t word : mask) allowed += __builtin_popcountll(word);
    std::printf("%s\"%s\": {\"us\": %.1f, \"allowed\": %d}", first ? "" : ", ", name, us, allowed);
    first = false;
  }
  std::printf("}}\n");
  return 0;
}
