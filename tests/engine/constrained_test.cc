// Constrained decoding in the engine: with random weights and random sampling, every choice's
// text is a complete document of the request's grammar, ends as soon as nothing can follow,
// and the logprobs describe the masked distribution.
#include <cmath>

#include "engine_test_util.h"
#include "grammar/grammar.h"
#include "grammar/matcher.h"

namespace snug::testing {
namespace {

using json = nlohmann::ordered_json;

// No free strings: with random weights a string ends only when a quote happens to be drawn.
const char* kSchema = R"({
  "$defs":{"size":{"enum":["small","medium","large"]}},
  "type":"object","properties":{
    "sizes":{"type":"array","items":{"$ref":"#/$defs/size"}},
    "count":{"type":"integer"},"ratio":{"type":"number"},"ok":{"type":"boolean"},
    "pair":{"type":"object","properties":{"a":{"type":"null"},"b":{"$ref":"#/$defs/size"}},
            "required":["a","b"],"additionalProperties":false}},
  "required":["sizes","count","ratio","ok","pair"],"additionalProperties":false})";

std::shared_ptr<const grammar::Grammar> Schema() {
  Result<grammar::Grammar> grammar = grammar::CompileJsonSchema(json::parse(kSchema));
  CHECK(grammar.ok()) << grammar.status().ToString();
  return std::make_shared<const grammar::Grammar>(std::move(grammar).value());
}

bool Complete(const std::shared_ptr<const grammar::Grammar>& grammar, const std::string& text) {
  grammar::Matcher matcher(grammar, nullptr);
  return matcher.AcceptBytes(text) && matcher.CanEnd();
}

TEST(ConstrainedTest, RandomSamplingWritesValidDocuments) {
  auto engine = Start({.parallel = 2, .context_tokens = 640, .batch_tokens = kModelBatch});
  const auto grammar = Schema();
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Request request;
    request.prompt = RandomTokens(12, static_cast<uint32_t>(seed));
    request.max_tokens = 600;
    request.n = 2;
    request.sampling = {.temperature = 1.0f, .seed = seed};
    request.logprobs = true;
    request.top_logprobs = 3;
    request.grammar = grammar;
    auto handle = MustSubmit(*engine, request);
    const Outcome outcome = Collect(*handle, 2);
    ASSERT_FALSE(outcome.error.has_value()) << outcome.error->ToString();
    for (int c = 0; c < 2; ++c) {
      SCOPED_TRACE(outcome.text[c]);
      EXPECT_EQ(outcome.finish[c], FinishReason::kStop);
      EXPECT_TRUE(Complete(grammar, outcome.text[c]));
      EXPECT_TRUE(json::accept(outcome.text[c]));
      // The text ends with the document: the closing brace is the last thing written.
      ASSERT_FALSE(outcome.text[c].empty());
      EXPECT_EQ(outcome.text[c].back(), '}');
      for (const auto& alternatives : outcome.top_logprobs[c]) {
        for (const TokenLogprob& alternative : alternatives) {
          // Masked tokens have probability 0: an alternative is either allowed or -inf.
          EXPECT_FALSE(std::isnan(alternative.logprob));
        }
      }
      for (float logprob : outcome.logprobs[c]) EXPECT_TRUE(std::isfinite(logprob));
    }
  }
}

TEST(ConstrainedTest, GreedyAnyObjectAndUnconstrainedNeighbours) {
  auto engine = Start({.parallel = 2, .context_tokens = 640, .batch_tokens = kModelBatch});
  auto object = std::make_shared<const grammar::Grammar>(grammar::AnyJsonObject());
  Request constrained = Greedy(RandomTokens(10, 5), 500);
  constrained.grammar = object;
  Request free = Greedy(RandomTokens(10, 6), 40);
  auto a = MustSubmit(*engine, constrained);
  auto b = MustSubmit(*engine, free);
  const Outcome with = Collect(*a);
  const Outcome without = Collect(*b);
  // A greedy string may run to max_tokens; either way the text is a prefix of an object.
  grammar::Matcher matcher(object, nullptr);
  EXPECT_TRUE(matcher.AcceptBytes(with.text[0])) << with.text[0];
  if (with.finish[0] == FinishReason::kStop) {
    EXPECT_TRUE(matcher.CanEnd()) << with.text[0];
  }
  // The unconstrained request beside it is what Generate() writes alone.
  EXPECT_EQ(without.tokens[0], Generated(RandomTokens(10, 6), 40).tokens);
}

}  // namespace
}  // namespace snug::testing
