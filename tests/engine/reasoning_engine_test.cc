// The engine's side of reasoning output: a Harmony request's generated text is split into the
// analysis channel (events::Delta::reasoning) and the final channel (events::Delta::text) as it streams, with
// stop strings applied to the content only. The model's answer is scripted through its logits.
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "grammar/grammar.h"
#include "tokenizer/chat_format.h"

namespace snug::testing {
namespace {

struct Answer {
  std::string reasoning, content;
  std::optional<FinishReason> finish;
  std::vector<events::ToolCallDelta> calls;  // the pieces, merged per call
};

// Runs `request` on `preset` whose greedy answer is forced to be `script` (token by token).
Answer RunScripted(Request request, const std::string& script,
                   const std::string& preset = "gptoss-tiny") {
  ControlledModel* control = nullptr;
  auto engine = Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = kModelBatch},
                      &control, preset);
  const LoadedModel reference = Load(ReferencePool(), preset);
  const std::vector<int32_t> tokens =
      reference.tokenizer.Encode(script, {.add_bos = false, .parse_special = true});
  const int vocab = reference.model->spec().vocab_size;
  size_t next = 0;
  control->rewrite_logits = [&](const Batch& batch, float* logits) {
    for (size_t row = 0; row < batch.logit_indices.size(); ++row) {
      float* out = logits + row * vocab;
      const int32_t forced = tokens[std::min(next, tokens.size() - 1)];
      for (int i = 0; i < vocab; ++i) out[i] = i == forced ? 100.0f : 0.0f;
    }
    if (!batch.logit_indices.empty()) ++next;
  };
  request.sampling.temperature = 0;
  auto handle = engine->Submit(std::move(request));
  EXPECT_TRUE(handle.ok()) << handle.status().ToString();
  Answer answer;
  while (std::optional<Event> event = (*handle)->Next(10000)) {
    if (const auto* delta = std::get_if<events::Delta>(&*event)) {
      answer.reasoning += delta->reasoning;
      answer.content += delta->text;
    } else if (const auto* finish = std::get_if<events::Finish>(&*event)) {
      answer.finish = finish->reason;
    } else if (const auto* piece = std::get_if<events::ToolCallDelta>(&*event)) {
      if (piece->index == static_cast<int>(answer.calls.size())) answer.calls.emplace_back();
      EXPECT_LT(piece->index, static_cast<int>(answer.calls.size()));
      events::ToolCallDelta& call = answer.calls[piece->index];
      call.id += piece->id;
      call.name += piece->name;
      call.arguments += piece->arguments;
    }
  }
  return answer;
}

const char kScript[] =
    "<|channel|>analysis<|message|>The user greets; answer briefly.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Hello there, friend!<|return|>";

TEST(ReasoningEngineTest, HarmonyAnalysisIsReasoningAndFinalIsContent) {
  Request request;
  request.prompt = {1, 2, 3};
  request.max_tokens = 100;
  request.reasoning_format = tokenizer::ChatFormat::kHarmony;
  const Answer answer = RunScripted(request, kScript);
  EXPECT_EQ(answer.reasoning, "The user greets; answer briefly.");
  EXPECT_EQ(answer.content, "Hello there, friend!");
  EXPECT_EQ(answer.finish, FinishReason::kStop);  // on <|return|>
}

TEST(ReasoningEngineTest, StopStringsApplyToTheContentOnly) {
  Request request;
  request.prompt = {1, 2, 3};
  request.max_tokens = 100;
  request.reasoning_format = tokenizer::ChatFormat::kHarmony;
  request.stop = {"briefly", "friend"};  // "briefly" is in the reasoning: it must not stop
  const Answer answer = RunScripted(request, kScript);
  EXPECT_EQ(answer.reasoning, "The user greets; answer briefly.");
  EXPECT_EQ(answer.content, "Hello there, ");
  EXPECT_EQ(answer.finish, FinishReason::kStop);
}

TEST(ReasoningEngineTest, WithoutAReasoningFormatControlTokensStayHidden) {
  Request request;
  request.prompt = {1, 2, 3};
  request.max_tokens = 100;
  const Answer answer = RunScripted(request, kScript);
  EXPECT_EQ(answer.reasoning, "");
  EXPECT_EQ(answer.content,
            "analysisThe user greets; answer briefly.assistantfinalHello there, friend!");
}

const char kHarmonyCall[] =
    "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>"
    "commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";

// A Harmony request that declared tools.
Request HarmonyWithTools() {
  Request request;
  request.prompt = {1, 2, 3};
  request.max_tokens = 100;
  request.reasoning_format = tokenizer::ChatFormat::kHarmony;
  request.tool_format = tokenizer::ChatFormat::kHarmony;
  return request;
}

TEST(ReasoningEngineTest, HarmonyToolCallsAreEventsWithTools) {
  Request request = HarmonyWithTools();
  const Answer answer = RunScripted(request, kHarmonyCall);
  EXPECT_EQ(answer.reasoning, "Need the weather.");
  EXPECT_EQ(answer.content, "");
  ASSERT_EQ(answer.calls.size(), 1u);
  EXPECT_TRUE(answer.calls[0].id.starts_with("call_")) << answer.calls[0].id;
  EXPECT_EQ(answer.calls[0].name, "get_weather");
  EXPECT_EQ(answer.calls[0].arguments, "{\"city\":\"Paris\"}");
  EXPECT_EQ(answer.finish, FinishReason::kToolCalls);

  request.tool_format.reset();  // no tools declared: a call the model writes is not delivered
  const Answer without = RunScripted(request, kHarmonyCall);
  EXPECT_TRUE(without.calls.empty());
  EXPECT_EQ(without.finish, FinishReason::kStop);
}

// A strict function's arguments hold to its schema once the model addresses it, whatever the
// model would write: here "kelvin", which the enum does not allow.
TEST(ReasoningEngineTest, StrictArgumentsFollowTheirSchemaOnceAddressed) {
  Request request = HarmonyWithTools();
  Result<grammar::Grammar> schema = grammar::CompileJsonSchema(nlohmann::json::parse(
      R"({"type":"object","properties":{"unit":{"enum":["celsius","fahrenheit"]}},)"
      R"("required":["unit"],"additionalProperties":false})"));
  ASSERT_TRUE(schema.ok());
  request.argument_grammars["get_weather"] =
      std::make_shared<const grammar::Grammar>(std::move(schema).value());
  const std::string script =
      "<|channel|>analysis<|message|>Kelvin.<|end|><|start|>assistant<|channel|>commentary "
      "to=functions.get_weather <|constrain|>json<|message|>{\"unit\":\"kelvin\"}<|call|>";
  const Answer answer = RunScripted(request, script);
  EXPECT_EQ(answer.reasoning, "Kelvin.");  // before the call: free
  ASSERT_EQ(answer.calls.size(), 1u);
  const nlohmann::json arguments = nlohmann::json::parse(answer.calls[0].arguments, nullptr, false);
  ASSERT_TRUE(arguments.is_object()) << answer.calls[0].arguments;
  EXPECT_TRUE(arguments["unit"] == "celsius" || arguments["unit"] == "fahrenheit")
      << answer.calls[0].arguments;
  EXPECT_EQ(answer.finish, FinishReason::kToolCalls);

  request.argument_grammars.clear();  // not strict: what the model writes
  EXPECT_EQ(RunScripted(request, script).calls[0].arguments, "{\"unit\":\"kelvin\"}");
}

const char kGemmaCalls[] =
    "<|channel>thought\nTwo calls.<channel|><|tool_call>call:get_time{zone:<|\"|>UTC<|\"|>}"
    "<tool_call|><|tool_call>call:get_date{}<tool_call|><|tool_response>";

TEST(ReasoningEngineTest, GemmaToolCallsOneOrSeveral) {
  Request request;
  request.prompt = {2, 3, 4};
  request.max_tokens = 100;
  request.reasoning_format = tokenizer::ChatFormat::kGemma4;
  request.tool_format = tokenizer::ChatFormat::kGemma4;
  const Answer both = RunScripted(request, kGemmaCalls, "gemma4-tiny");
  EXPECT_EQ(both.reasoning, "Two calls.");
  EXPECT_EQ(both.content, "");
  ASSERT_EQ(both.calls.size(), 2u);
  EXPECT_EQ(both.calls[0].name, "get_time");
  EXPECT_EQ(both.calls[0].arguments, "{\"zone\":\"UTC\"}");
  EXPECT_EQ(both.calls[1].name, "get_date");
  EXPECT_NE(both.calls[0].id, both.calls[1].id);
  EXPECT_EQ(both.finish, FinishReason::kToolCalls);  // on <|tool_response>

  request.parallel_tool_calls = false;  // the turn ends at the first call
  const Answer one = RunScripted(request, kGemmaCalls, "gemma4-tiny");
  ASSERT_EQ(one.calls.size(), 1u);
  EXPECT_EQ(one.calls[0].name, "get_time");
  EXPECT_EQ(one.finish, FinishReason::kToolCalls);
}

}  // namespace
}  // namespace snug::testing
