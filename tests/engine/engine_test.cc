// The engine on a tiny synthetic Gemma 3 (sliding-window rings included): greedy output equals
// a plain greedy reference (Generated), alone and batched with chunked prefill, n choices,
// seeded sampling, stop strings, cancellation, the bounded queue, request validation, shutdown
// and failure inside a step.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "engine/score.h"
#include "engine_test_util.h"

namespace snug {
namespace {

using namespace snug::testing;  // NOLINT: the helpers of engine_test_util.h

// Waits until the handle has delivered its first generated token (the request is decoding).
events::Delta FirstDelta(RequestHandle& handle) {
  while (std::optional<Event> event = handle.Next(10000)) {
    if (const auto* delta = std::get_if<events::Delta>(&*event)) return *delta;
  }
  ADD_FAILURE() << "no delta";
  return {};
}

// A dropped handle is noticed at the loop's next step; wait for that.
int RunningAfterSettling(const Engine& engine) {
  for (int i = 0; i < 200 && engine.Stats().running != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return engine.Stats().running;
}

// Rates are published at the end of the step that sent kDone; wait for that.
double DecodeRateAfterSettling(const Engine& engine) {
  for (int i = 0; i < 100 && engine.Stats().decode_tokens_per_second == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return engine.Stats().decode_tokens_per_second;
}

TEST(EngineTest, GreedyAloneEqualsGenerate) {
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> prompt = RandomTokens(21, 1);
  const Reference reference = Generated(prompt, 30);
  ASSERT_GT(reference.tokens.size(), 3u);
  auto handle = MustSubmit(*engine, Greedy(prompt, 30));
  const Outcome outcome = Collect(*handle);
  EXPECT_EQ(outcome.tokens[0], reference.tokens);
  EXPECT_EQ(outcome.finish[0], reference.finish);
  EXPECT_EQ(outcome.done->prompt_tokens, 21);
  EXPECT_EQ(outcome.done->completion_tokens, static_cast<int>(reference.tokens.size()));
  EXPECT_EQ(outcome.prefill_events, 2);      // admitted, then 21 tokens in one chunk of 32
  EXPECT_EQ(outcome.first_prefill_done, 0);  // the first says it holds its slot
  EXPECT_EQ(engine->Stats().running, 0);     // the slot is free before kDone, totals published
  EXPECT_EQ(engine->Stats().generated_tokens, static_cast<int64_t>(reference.tokens.size()));
  const EngineStats stats = engine->Stats();
  EXPECT_EQ(stats.prompt_tokens, 21);
  EXPECT_EQ(stats.slots, 2);
  EXPECT_GT(stats.kv_bytes, 0);
  EXPECT_GT(DecodeRateAfterSettling(*engine), 0);  // the last window, flushed on going idle
  EXPECT_TRUE(stats.healthy);
}

// Four requests decode together; the long one (100 tokens, batch of 32) is prefilled in chunks
// between their decode steps.
TEST(EngineTest, GreedyBatchedWithChunkedPrefillEqualsGenerate) {
  auto engine = Start({.parallel = 4, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<std::vector<int32_t>> prompts = {RandomTokens(5, 2), RandomTokens(17, 3),
                                                     RandomTokens(9, 4), RandomTokens(100, 5)};
  std::vector<std::unique_ptr<RequestHandle>> handles;
  for (int i = 0; i < 3; ++i) handles.push_back(MustSubmit(*engine, Greedy(prompts[i], 40)));
  const events::Delta first = FirstDelta(*handles[0]);  // request 0 decodes while 3 prefills
  handles.push_back(MustSubmit(*engine, Greedy(prompts[3], 40)));
  for (int i = 0; i < 4; ++i) {
    const Reference reference = Generated(prompts[i], 40);
    Outcome outcome = Collect(*handles[i]);
    if (i == 0) {
      outcome.tokens[0].insert(outcome.tokens[0].begin(), first.tokens.begin(), first.tokens.end());
    }
    EXPECT_EQ(outcome.tokens[0], reference.tokens) << "request " << i;
    EXPECT_EQ(outcome.finish[0], reference.finish) << "request " << i;
    if (i == 3) {
      EXPECT_GE(outcome.prefill_events, 4);  // ≥ 100 / 32 chunks
    }
  }
  EXPECT_EQ(engine->Stats().running, 0);
}

// n = 2 prefills once and copies the KV; at 60 tokens the sliding rings (16 + 32 rows) have
// wrapped.
TEST(EngineTest, GreedyChoicesShareThePromptAndEqualGenerate) {
  auto engine = Start({.parallel = 3, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> prompt = RandomTokens(60, 6);
  const Reference reference = Generated(prompt, 30);
  Request request = Greedy(prompt, 30);
  request.n = 2;
  auto handle = MustSubmit(*engine, request);
  const Outcome outcome = Collect(*handle, 2);
  EXPECT_EQ(outcome.tokens[0], reference.tokens);
  EXPECT_EQ(outcome.tokens[1], reference.tokens);
  EXPECT_EQ(outcome.done->completion_tokens, 2 * static_cast<int>(reference.tokens.size()));
  EXPECT_EQ(engine->Stats().running, 0);
  EXPECT_EQ(engine->Stats().prompt_tokens, 60);  // prefilled once
}

TEST(EngineTest, SeededSamplingIsReproducibleAndChoicesDiffer) {
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32});
  Request request;
  request.prompt = RandomTokens(12, 7);
  request.max_tokens = 24;
  request.sampling = {.temperature = 1.5f, .seed = 99};
  request.n = 2;
  const Outcome a = Collect(*MustSubmit(*engine, request), 2);
  const Outcome b = Collect(*MustSubmit(*engine, request), 2);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_NE(a.tokens[0], a.tokens[1]);  // seeds 99 and 100
  EXPECT_FALSE(a.tokens[0].empty());
}

TEST(EngineTest, StopStringAndMaxTokensFinishReasons) {
  auto engine = Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> prompt = RandomTokens(15, 8);
  const Outcome full = Collect(*MustSubmit(*engine, Greedy(prompt, 30)));
  const std::string& text = full.text[0];
  ASSERT_GE(text.size(), 8u) << "the tiny model should say something";

  // A stop string from the middle of the text: the answer ends right before it.
  const std::string stop = text.substr(text.size() / 2, 2);
  Request stopped = Greedy(prompt, 30);
  stopped.stop = {stop};
  const Outcome outcome = Collect(*MustSubmit(*engine, stopped));
  EXPECT_EQ(outcome.finish[0], FinishReason::kStop);
  EXPECT_EQ(outcome.text[0], text.substr(0, text.find(stop)));

  const Outcome limited = Collect(*MustSubmit(*engine, Greedy(prompt, 4)));
  EXPECT_EQ(limited.finish[0], FinishReason::kLength);
  EXPECT_EQ(limited.done->completion_tokens, 4);
  EXPECT_EQ(limited.tokens[0],
            std::vector<int32_t>(full.tokens[0].begin(), full.tokens[0].begin() + 4));
}

// One slot, one place in the queue: the third request is refused; cancelling the first frees
// its slot within a step and the queued one runs to the same result as alone.
TEST(EngineTest, CancelFreesTheSlotForTheQueueAndAFullQueueRefuses) {
  ControlledModel* control = nullptr;
  auto engine = Start(
      {.parallel = 1, .context_tokens = kContext, .batch_tokens = 32, .max_queue = 1}, &control);
  control->delay_ms = 2;
  auto first = MustSubmit(*engine, Greedy(RandomTokens(10, 9), 100));
  FirstDelta(*first);
  const std::vector<int32_t> prompt = RandomTokens(11, 10);
  auto queued = MustSubmit(*engine, Greedy(prompt, 12));
  EXPECT_EQ(engine->Stats().waiting, 1);
  EXPECT_EQ(engine->Stats().running, 1);
  auto refused = engine->Submit(Greedy(prompt, 12));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);

  first->Cancel();
  const Outcome cancelled = Collect(*first);
  EXPECT_EQ(cancelled.finish[0], FinishReason::kCancelled);
  control->delay_ms = 0;
  const Outcome outcome = Collect(*queued);
  EXPECT_EQ(outcome.tokens[0], Generated(prompt, 12).tokens);
  EXPECT_EQ(engine->Stats().running, 0);
  EXPECT_EQ(engine->Stats().waiting, 0);

  // Dropping a handle (the client went away) cancels too.
  control->delay_ms = 2;
  auto dropped = MustSubmit(*engine, Greedy(prompt, 100));
  FirstDelta(*dropped);
  dropped.reset();
  EXPECT_EQ(RunningAfterSettling(*engine), 0);
}

// Issue 14 item 10: a long prefill does not hold back a short prompt admitted beside it. The
// short one is told at once that it holds a slot (its queue time ends), is prefilled in the
// next step (fewest remaining prompt tokens first) and answers while the long prompt is still
// going in; the long one takes the rest of each step and then answers as alone.
TEST(EngineTest, AShortPromptIsNotHeldBehindALongPrefill) {
  ControlledModel* control = nullptr;
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 16}, &control);
  control->delay_ms = 5;
  const std::vector<int32_t> long_prompt = RandomTokens(150, 21);  // ≥ 10 steps of 16
  auto long_handle = MustSubmit(*engine, Greedy(long_prompt, 3));
  int long_done = 0;
  while (long_done == 0) {  // its first chunk is in
    std::optional<Event> event = long_handle->Next(10000);
    ASSERT_TRUE(event.has_value());
    if (const auto* progress = std::get_if<events::PrefillProgress>(&*event)) {
      long_done = progress->prefill_done;
    }
  }
  const std::vector<int32_t> short_prompt = RandomTokens(4, 22);
  const Outcome short_outcome = Collect(*MustSubmit(*engine, Greedy(short_prompt, 2)));
  EXPECT_EQ(short_outcome.first_prefill_done, 0);  // admitted: nothing of it in the KV yet
  EXPECT_EQ(short_outcome.tokens[0], Generated(short_prompt, 2).tokens);
  // The long prompt is still being prefilled.
  while (std::optional<Event> event = long_handle->Next(0)) {
    ASSERT_FALSE(std::holds_alternative<events::Delta>(*event)) << "the long prompt answered first";
    if (const auto* progress = std::get_if<events::PrefillProgress>(&*event)) {
      long_done = progress->prefill_done;
    }
  }
  EXPECT_LT(long_done, static_cast<int>(long_prompt.size()));
  control->delay_ms = 0;
  const Outcome long_outcome = Collect(*long_handle);
  EXPECT_EQ(long_outcome.tokens[0], Generated(long_prompt, 3).tokens);
}

// A slot is free before the kDone that ends its request, so a client that sends its next
// request the moment it has its answer never finds the slot taken: with one slot and no queue
// (and with one queue place), back-to-back requests are never refused.
TEST(EngineTest, BackToBackRequestsNeverFindTheSlotTaken) {
  for (int max_queue : {0, 1}) {
    auto engine = Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 32,
                         .max_queue = max_queue});
    for (int i = 0; i < 40; ++i) {
      Request request = Greedy(RandomTokens(6, 100 + i), 3);
      request.n = 1;
      auto handle = engine->Submit(std::move(request));
      ASSERT_TRUE(handle.ok()) << "request " << i << " with max_queue " << max_queue << ": "
                               << handle.status().ToString();
      const Outcome outcome = Collect(**handle);
      EXPECT_FALSE(outcome.error.has_value());
      EXPECT_EQ(engine->Stats().running, 0) << "request " << i;
      EXPECT_EQ(engine->Stats().waiting, 0) << "request " << i;
    }
  }
}

TEST(EngineTest, RefusesInvalidRequests) {
  auto engine = Start({.parallel = 2, .context_tokens = 64, .batch_tokens = 32});
  auto code = [&](Request request) { return engine->Submit(std::move(request)).status().code(); };
  EXPECT_EQ(code(Greedy({}, 4)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Greedy({1, 2, 1 << 20}, 4)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Greedy({1, 2, -1}, 4)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Greedy({1, 2}, -1)), StatusCode::kInvalidArgument);
  Request choices = Greedy({1, 2}, 4);
  choices.n = 3;  // more than parallel
  EXPECT_EQ(code(choices), StatusCode::kInvalidArgument);
  choices.n = 0;
  EXPECT_EQ(code(choices), StatusCode::kInvalidArgument);

  auto too_long = engine->Submit(Greedy(RandomTokens(50, 11), 20));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(too_long.status().message(),
            "engine: the prompt (50 tokens) plus max_tokens (20) exceeds the context of 64 "
            "tokens");
}

// Echoed prompt logprobs equal the log-softmax of ScorePrompt's logits at the previous position
// (scored in chunks of 5, so chunk boundaries are crossed).
TEST(EngineTest, EchoPromptLogprobsMatchPromptLogits) {
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> prompt = RandomTokens(12, 12);
  Request request = Greedy(prompt, 3);
  request.echo_prompt_logprobs = true;
  request.logprobs = true;
  request.top_logprobs = 2;
  const Outcome outcome = Collect(*MustSubmit(*engine, request));
  ASSERT_EQ(outcome.echoes.size(), 1u);
  const events::Delta& echo = outcome.echoes[0];
  EXPECT_EQ(echo.tokens, prompt);
  ASSERT_EQ(echo.logprobs.size(), prompt.size());
  EXPECT_TRUE(std::isnan(echo.logprobs[0]));

  LoadedModel loaded = Load(ReferencePool());
  const int vocab = loaded.model->spec().vocab_size;
  auto kv = KvCache::Create(loaded.model->spec().KvLayers(),
                            {.slots = 1, .context_tokens = kContext, .batch_tokens = 32});
  ASSERT_TRUE(kv.ok());
  std::vector<float> logits(prompt.size() * vocab);  // [prompt, vocab]
  const Status scored = ScorePrompt(*loaded.model, **kv, 0, prompt, 5,
                                    [&](int first, std::span<const float> chunk) {
                                      std::copy(chunk.begin(), chunk.end(),
                                                logits.begin() + first * vocab);
                                    });
  ASSERT_TRUE(scored.ok()) << scored.ToString();
  for (size_t i = 1; i < prompt.size(); ++i) {
    const std::span<const float> row(logits.data() + (i - 1) * vocab, vocab);
    EXPECT_NEAR(echo.logprobs[i], Logprob(row, prompt[i]), 1e-3) << i;
    ASSERT_EQ(echo.top_logprobs[i].size(), 2u);
  }
  EXPECT_EQ(outcome.done->completion_tokens, static_cast<int>(outcome.tokens[0].size()));
}

TEST(EngineTest, ShutdownLetsShortRequestsFinishAndCancelsTheRest) {
  ControlledModel* control = nullptr;
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32}, &control);
  control->delay_ms = 5;
  auto long_one = MustSubmit(*engine, Greedy(RandomTokens(8, 13), 120));
  FirstDelta(*long_one);
  std::thread shutdown([&] { engine->Shutdown(/*grace_ms=*/150); });
  const Outcome outcome = Collect(*long_one);
  shutdown.join();
  ASSERT_TRUE(outcome.error.has_value());
  EXPECT_EQ(outcome.error->code(), StatusCode::kUnavailable);
  EXPECT_GT(outcome.done->completion_tokens, 5);  // it ran during the grace period
  auto after = engine->Submit(Greedy({1, 2, 3}, 2));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
}

TEST(EngineTest, ShutdownWithGraceFinishesRunningRequests) {
  ControlledModel* control = nullptr;
  auto engine = Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 32}, &control);
  control->delay_ms = 2;
  auto handle = MustSubmit(*engine, Greedy(RandomTokens(8, 14), 6));
  engine->Shutdown(/*grace_ms=*/10000);
  const Outcome outcome = Collect(*handle);
  EXPECT_FALSE(outcome.error.has_value());
  EXPECT_TRUE(outcome.finish[0].has_value());
}

// A step that throws (out of memory) ends every request with an error instead of leaving
// handles waiting, and the engine reports why and refuses new work.
TEST(EngineTest, AFailedStepEndsEveryRequestAndMarksTheEngineUnhealthy) {
  ControlledModel* control = nullptr;
  auto engine = Start(
      {.parallel = 1, .context_tokens = kContext, .batch_tokens = 32, .max_queue = 2}, &control);
  control->delay_ms = 2;
  auto running = MustSubmit(*engine, Greedy(RandomTokens(8, 15), 100));
  FirstDelta(*running);
  auto waiting = MustSubmit(*engine, Greedy(RandomTokens(8, 16), 10));
  control->fail = true;
  for (RequestHandle* handle : {running.get(), waiting.get()}) {
    const Outcome outcome = Collect(*handle);
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(outcome.error->code(), StatusCode::kInternal);
  }
  const EngineStats stats = engine->Stats();
  EXPECT_FALSE(stats.healthy);
  EXPECT_NE(stats.failure.find("bad_alloc"), std::string::npos) << stats.failure;
  auto refused = engine->Submit(Greedy({1, 2, 3}, 2));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace snug
