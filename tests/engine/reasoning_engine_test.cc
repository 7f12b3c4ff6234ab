// The engine's side of reasoning output: a Harmony request's generated text is split into the
// analysis channel (Event::reasoning) and the final channel (Event::text) as it streams, with
// stop strings applied to the content only. The model's answer is scripted through its logits.
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "tokenizer/chat_format.h"

namespace snug::testing {
namespace {

struct Answer {
  std::string reasoning, content;
  std::optional<FinishReason> finish;
};

// Runs `request` on gptoss-tiny whose greedy answer is forced to be `script` (token by token).
Answer RunScripted(Request request, const std::string& script) {
  ControlledModel* control = nullptr;
  auto engine = Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = kModelBatch},
                      &control, "gptoss-tiny");
  const LoadedModel reference = Load(ReferencePool(), "gptoss-tiny");
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
    if (event->kind == Event::Kind::kDelta) {
      answer.reasoning += event->reasoning;
      answer.content += event->text;
    } else if (event->kind == Event::Kind::kFinish) {
      answer.finish = event->finish;
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

}  // namespace
}  // namespace snug::testing
