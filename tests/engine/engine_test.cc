// The engine on a tiny synthetic Gemma 3 (sliding-window rings included): greedy output equals
// Generate() alone and batched with chunked prefill, n choices, seeded sampling, stop strings,
// cancellation, the bounded queue, request validation, shutdown and failure inside a step.
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "base/thread_pool.h"
#include "engine/generate.h"
#include "engine/loaded_model.h"
#include "engine/stop.h"
#include "synth/generator.h"

namespace snug {
namespace {

constexpr int kContext = 160;
constexpr int kModelBatch = 64;

// Delegates to a real model; a test can slow each step down or make it throw.
class ControlledModel : public Model {
 public:
  explicit ControlledModel(std::unique_ptr<Model> inner) : inner_(std::move(inner)) {
    spec_ = inner_->spec();
  }
  size_t activation_bytes() const override { return inner_->activation_bytes(); }
  void Forward(const Batch& batch, KvCache& kv, float* logits) override {
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (fail) throw std::bad_alloc();
    inner_->Forward(batch, kv, logits);
  }
  std::atomic<int> delay_ms{0};
  std::atomic<bool> fail{false};

 private:
  std::unique_ptr<Model> inner_;
};

const std::string& ModelPath() {
  static const std::string path = [] {
    auto config = synth::FindPreset("gemma3-tiny");
    CHECK(config.ok()) << config.status().ToString();
    const synth::ModelPlan plan = synth::PlanModel(
        *config, synth::BuiltinVocabulary(config->architecture), {.main = DType::kF32});
    // Per process: ctest runs these tests as parallel processes, and rewriting a file another
    // process has mapped would pull its pages away (SIGBUS).
    const std::string file =
        ::testing::TempDir() + "/engine-gemma3-tiny-" + std::to_string(getpid()) + ".gguf";
    const Status written = synth::WriteModel(plan, /*seed=*/1234, file, 2);
    CHECK(written.ok()) << written.ToString();
    return file;
  }();
  return path;
}

ThreadPool& Pool() {
  // Outlives every engine (the models keep a reference). One thread: no spinning workers, so
  // the suite stays quick on a loaded 2-core CI machine.
  static ThreadPool pool(1);
  return pool;
}

// Generate() runs on the test thread while engines run theirs: a pool must not be shared.
ThreadPool& ReferencePool() {
  static ThreadPool pool(1);
  return pool;
}

LoadedModel Load(ThreadPool& pool = Pool()) {
  auto loaded = LoadModelFile(ModelPath(), {.batch_tokens = kModelBatch}, pool);
  CHECK(loaded.ok()) << loaded.status().ToString();
  return std::move(*loaded);
}

// Starts an engine whose model the test controls (`control` stays valid while it runs).
std::unique_ptr<Engine> Start(const EngineOptions& options, ControlledModel** control = nullptr) {
  LoadedModel loaded = Load();
  auto model = std::make_unique<ControlledModel>(std::move(loaded.model));
  if (control != nullptr) *control = model.get();
  loaded.model = std::move(model);
  auto engine = StartEngine(std::move(loaded), options);
  CHECK(engine.ok()) << engine.status().ToString();
  return std::move(*engine);
}

std::vector<int32_t> RandomTokens(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(3, 200);
  std::vector<int32_t> tokens(count);
  for (int32_t& token : tokens) token = pick(rng);
  return tokens;
}

struct Reference {
  std::vector<int32_t> tokens;
  FinishReason finish;
};

Reference Generated(const std::vector<int32_t>& prompt, int max_tokens,
                    SamplingParams sampling = {.temperature = 0}) {
  static LoadedModel loaded = Load(ReferencePool());
  auto kv = KvCache::Create(loaded.model->spec().KvLayers(),
                            {.slots = 1, .context_tokens = kContext, .batch_tokens = kModelBatch});
  CHECK(kv.ok());
  GenerateRequest request{.prompt = prompt,
                          .max_tokens = max_tokens,
                          .sampling = sampling,
                          .stop_tokens = EndOfGenerationTokens(loaded.tokenizer),
                          .batch_tokens = kModelBatch};
  Reference reference;
  auto result = Generate(*loaded.model, **kv, 0, request, [&](const TokenEvent& event) {
    reference.tokens.push_back(event.token);
    return true;
  });
  CHECK(result.ok()) << result.status().ToString();
  reference.finish = result->finish;
  return reference;
}

struct Outcome {
  std::vector<std::vector<int32_t>> tokens;  // per choice
  std::vector<std::string> text;
  std::vector<std::optional<FinishReason>> finish;
  std::vector<Event> echoes;
  std::optional<Status> error;
  std::optional<Event> done;
  int prefill_events = 0;
};

// Reads events until kDone; every event must arrive within 10 s.
Outcome Collect(RequestHandle& handle, int n = 1) {
  Outcome outcome;
  outcome.tokens.resize(n);
  outcome.text.resize(n);
  outcome.finish.resize(n);
  while (std::optional<Event> event = handle.Next(10000)) {
    EXPECT_FALSE(outcome.done.has_value()) << "an event after kDone";
    switch (event->kind) {
      case Event::Kind::kDelta:
        EXPECT_FALSE(outcome.finish[event->choice].has_value()) << "a delta after kFinish";
        if (event->echo) {
          outcome.echoes.push_back(*event);
          break;
        }
        outcome.tokens[event->choice].insert(outcome.tokens[event->choice].end(),
                                             event->tokens.begin(), event->tokens.end());
        outcome.text[event->choice] += event->text;
        break;
      case Event::Kind::kFinish:
        outcome.finish[event->choice] = event->finish;
        break;
      case Event::Kind::kError:
        outcome.error = event->error;
        break;
      case Event::Kind::kDone:
        outcome.done = *event;
        break;
      case Event::Kind::kPrefillProgress:
        ++outcome.prefill_events;
        break;
    }
  }
  EXPECT_TRUE(outcome.done.has_value()) << "no kDone within 10 s";
  return outcome;
}

std::unique_ptr<RequestHandle> MustSubmit(Engine& engine, Request request) {
  auto handle = engine.Submit(std::move(request));
  CHECK(handle.ok()) << handle.status().ToString();
  return std::move(*handle);
}

// Waits until the handle has delivered its first generated token (the request is decoding).
Event FirstDelta(RequestHandle& handle) {
  while (std::optional<Event> event = handle.Next(10000)) {
    if (event->kind == Event::Kind::kDelta) return *event;
  }
  ADD_FAILURE() << "no delta";
  return {};
}

// Slots are handed back at the end of the step that sent kDone; wait for that.
int RunningAfterSettling(const Engine& engine) {
  for (int i = 0; i < 200 && engine.Stats().running != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return engine.Stats().running;
}

Request Greedy(std::vector<int32_t> prompt, int max_tokens) {
  Request request;
  request.prompt = std::move(prompt);
  request.max_tokens = max_tokens;
  request.sampling.temperature = 0;
  return request;
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
  EXPECT_EQ(outcome.prefill_events, 1);         // 21 tokens fit one chunk of 32
  EXPECT_EQ(RunningAfterSettling(*engine), 0);  // totals are published with the slots
  EXPECT_EQ(engine->Stats().generated_tokens, static_cast<int64_t>(reference.tokens.size()));
  const EngineStats stats = engine->Stats();
  EXPECT_EQ(stats.prompt_tokens, 21);
  EXPECT_EQ(stats.slots, 2);
  EXPECT_GT(stats.kv_bytes, 0);
  EXPECT_GT(stats.decode_tokens_per_second, 0);  // the last window, flushed on going idle
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
  const Event first = FirstDelta(*handles[0]);  // request 0 decodes while 3 prefills
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
  EXPECT_EQ(RunningAfterSettling(*engine), 0);
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
  EXPECT_EQ(RunningAfterSettling(*engine), 0);
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
  EXPECT_EQ(RunningAfterSettling(*engine), 0);
  EXPECT_EQ(engine->Stats().waiting, 0);

  // Dropping a handle (the client went away) cancels too.
  control->delay_ms = 2;
  auto dropped = MustSubmit(*engine, Greedy(prompt, 100));
  FirstDelta(*dropped);
  dropped.reset();
  EXPECT_EQ(RunningAfterSettling(*engine), 0);
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

// Echoed prompt logprobs equal the log-softmax of PromptLogits at the previous position.
TEST(EngineTest, EchoPromptLogprobsMatchPromptLogits) {
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> prompt = RandomTokens(12, 12);
  Request request = Greedy(prompt, 3);
  request.echo_prompt_logprobs = true;
  request.logprobs = true;
  request.top_logprobs = 2;
  const Outcome outcome = Collect(*MustSubmit(*engine, request));
  ASSERT_EQ(outcome.echoes.size(), 1u);
  const Event& echo = outcome.echoes[0];
  EXPECT_EQ(echo.tokens, prompt);
  ASSERT_EQ(echo.logprobs.size(), prompt.size());
  EXPECT_TRUE(std::isnan(echo.logprobs[0]));

  LoadedModel loaded = Load(ReferencePool());
  const int vocab = loaded.model->spec().vocab_size;
  auto kv = KvCache::Create(loaded.model->spec().KvLayers(),
                            {.slots = 1, .context_tokens = kContext, .batch_tokens = 32});
  ASSERT_TRUE(kv.ok());
  auto logits = PromptLogits(*loaded.model, **kv, 0, prompt, 32);
  ASSERT_TRUE(logits.ok());
  for (size_t i = 1; i < prompt.size(); ++i) {
    const std::span<const float> row(logits->data() + (i - 1) * vocab, vocab);
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
