// Heap allocation on the serving path, counted by replacing the global operator new — which is
// why this is its own test binary. (1) Prefill chunks and decode steps allocate nothing that
// grows with the prompt or the position: counted per step over a 1,000-token generation on
// gemma3-tiny, through the engine (the server's and `snug run`'s path). (2) Every allocation the engine's
// loop makes for a request, and Submit's, can fail: each is made to throw std::bad_alloc in
// turn, and only the request concerned ends (with an error); the engine stays healthy and the
// request beside it answers as if nothing happened.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "grammar/grammar.h"

namespace {

// Per thread, so the engine's loop thread is measured apart from the test thread.
thread_local int64_t t_allocations = 0;
thread_local int64_t t_bytes = 0;
thread_local bool t_counting = true;
thread_local int64_t t_fail_in = -1;  // ≥ 0: that many allocations succeed, the next throws
std::atomic<int> g_injected{0};       // failures injected so far, on any thread

void* Allocate(std::size_t size) {
  if (t_counting) {
    ++t_allocations;
    t_bytes += static_cast<int64_t>(size);
    if (t_fail_in >= 0 && t_fail_in-- == 0) {
      ++g_injected;
      throw std::bad_alloc();
    }
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace snug {
namespace {

using namespace snug::testing;  // NOLINT: the helpers of engine_test_util.h

struct StepCount {
  bool prefill = false;  // a prompt chunk (else one decode token)
  int position = 0;      // the step's first position
  int64_t allocations = 0, bytes = 0;
};

// Counts the loop thread's allocations from one Forward to the next: the forward pass itself,
// then turning its logits into tokens and events, then the loop's bookkeeping. The events are
// drained on the loop thread (uncounted) before each step, so what the engine allocates does
// not depend on how fast a consumer happens to read.
class StepCounter {
 public:
  StepCounter(ControlledModel& model, int prompt_tokens) : prompt_tokens_(prompt_tokens) {
    model.before_forward = [this](const Batch& batch) {
      Drain();
      if (!steps_.empty()) {
        steps_.back().allocations = t_allocations - allocations_at_;
        steps_.back().bytes = t_bytes - bytes_at_;
      }
      steps_.push_back({.prefill = batch.positions[0] < prompt_tokens_ && batch.tokens.size() > 1,
                        .position = batch.positions[0]});
      allocations_at_ = t_allocations;
      bytes_at_ = t_bytes;
    };
  }
  void set_handle(RequestHandle* handle) { handle_ = handle; }  // before the prompt is in
  // Every step but the last (whose count has no end).
  std::vector<StepCount> steps() const {
    return std::vector<StepCount>(steps_.begin(), steps_.end() - (steps_.empty() ? 0 : 1));
  }

 private:
  void Drain() {
    t_counting = false;
    if (RequestHandle* handle = handle_.load()) {
      while (std::optional<Event> event = handle->Next(0)) {
        if (std::holds_alternative<events::Done>(*event)) handle_ = nullptr;
      }
    }
    t_counting = true;
  }

  const int prompt_tokens_;
  std::atomic<RequestHandle*> handle_{nullptr};
  std::vector<StepCount> steps_;  // reserved by the test: pushing here must not count
  int64_t allocations_at_ = 0, bytes_at_ = 0;

 public:
  void Reserve(size_t steps) {
    t_counting = false;
    steps_.reserve(steps);
    t_counting = true;
  }
};

// The largest count and bytes of `steps` [begin, end) of one kind.
std::pair<int64_t, int64_t> Largest(const std::vector<StepCount>& steps, bool prefill, size_t begin,
                                    size_t end) {
  int64_t allocations = 0, bytes = 0;
  size_t seen = 0;
  for (const StepCount& step : steps) {
    if (step.prefill != prefill) continue;
    if (seen >= begin && seen < end) {
      allocations = std::max(allocations, step.allocations);
      bytes = std::max(bytes, step.bytes);
    }
    ++seen;
  }
  return {allocations, bytes};
}

// 1,000 prompt tokens in chunks of 64, then 1,000 decode steps: no later step allocates more
// (in count or bytes) than the early ones, so nothing grows with the position.
TEST(AllocationTest, EngineStepsDoNotAllocateMoreAsThePositionGrows) {
  constexpr int kPrompt = 1000, kGenerate = 1000;
  ControlledModel* model = nullptr;
  auto engine = Start({.parallel = 1,
                       .context_tokens = kPrompt + kGenerate + 8,
                       .batch_tokens = kModelBatch,
                       .max_queue = 0},
                      &model);
  StepCounter counter(*model, kPrompt);
  counter.Reserve(kPrompt / kModelBatch + kGenerate + 16);
  Request request = Greedy(RandomTokens(kPrompt, 71), kGenerate);
  request.logprobs = true;
  request.top_logprobs = 2;
  request.stop = {"never appears in this text \x01"};
  // An end-of-generation token would end it early; the tiny model's greedy text has none here.
  auto handle = MustSubmit(*engine, request);
  counter.set_handle(handle.get());
  // Wait for the end without reading (the loop thread drains): until the engine is idle.
  for (int i = 0; i < 20000 && engine->Stats().running > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(engine->Stats().running, 0);
  const std::vector<StepCount> steps = counter.steps();
  const int prefill_steps = static_cast<int>(
      std::count_if(steps.begin(), steps.end(), [](const StepCount& s) { return s.prefill; }));
  const int decode_steps = static_cast<int>(steps.size()) - prefill_steps;
  ASSERT_EQ(prefill_steps, (kPrompt + kModelBatch - 1) / kModelBatch);
  ASSERT_GE(decode_steps, kGenerate - 2) << "the generation stopped early";

  // Prefill chunks: the first half against the second but the last chunk (which also samples).
  // (A chunk's one allocation is its progress event's share of the event queue's blocks.)
  const auto [chunk_allocations, chunk_bytes] = Largest(steps, true, 0, prefill_steps / 2);
  const auto [later_allocations, later_bytes] =
      Largest(steps, true, prefill_steps / 2, prefill_steps - 1);
  EXPECT_LE(later_allocations, chunk_allocations);
  EXPECT_LE(later_bytes, chunk_bytes);
  // Decode: after 8 warm-up steps, the largest of steps 8..108 bounds every later one.
  const auto [early_allocations, early_bytes] = Largest(steps, false, 8, 108);
  const auto [late_allocations, late_bytes] = Largest(steps, false, 108, decode_steps);
  EXPECT_LE(late_allocations, early_allocations);
  EXPECT_LE(late_bytes, early_bytes);
  std::printf(
      "engine: per prefill chunk ≤ %lld allocations (%lld bytes); per decode step ≤ %lld "
      "(%lld bytes) at positions up to %d\n",
      static_cast<long long>(chunk_allocations), static_cast<long long>(chunk_bytes),
      static_cast<long long>(early_allocations), static_cast<long long>(early_bytes),
      kPrompt + decode_steps);
}

// Constrained decoding adds a mask walk and a matcher step per token: neither may grow with
// the document. The model is scripted to open an array of strings and write "a" for ever.
TEST(AllocationTest, ConstrainedStepsDoNotAllocateMoreAsTheDocumentGrows) {
  constexpr int kPrompt = 16, kGenerate = 1000;
  ControlledModel* model = nullptr;
  auto engine = Start({.parallel = 1,
                       .context_tokens = kPrompt + kGenerate + 8,
                       .batch_tokens = kModelBatch,
                       .max_queue = 0},
                      &model);
  const LoadedModel loaded = Load();
  const int vocab_size = loaded.model->spec().vocab_size;
  std::vector<std::pair<int32_t, float>> script;
  for (const auto& [text, logit] :
       {std::pair<const char*, float>{"a", 100}, {"\"", 50}, {"[", 40}}) {
    const int32_t id = loaded.tokenizer.Find(text);
    ASSERT_GE(id, 0) << text;
    script.emplace_back(id, logit);
  }
  model->rewrite_logits = [&](const Batch& batch, float* logits) {
    for (size_t row = 0; row < batch.logit_indices.size(); ++row) {
      for (const auto& [id, logit] : script) logits[row * vocab_size + id] = logit;
    }
  };
  StepCounter counter(*model, kPrompt);
  counter.Reserve(kGenerate + 16);
  Result<grammar::Grammar> grammar = grammar::CompileJsonSchema(
      nlohmann::json::parse(R"({"type":"array","items":{"type":"string"}})"));
  ASSERT_TRUE(grammar.ok());
  Request request = Greedy(RandomTokens(kPrompt, 72), kGenerate);
  request.grammar = std::make_shared<const grammar::Grammar>(std::move(grammar).value());
  auto handle = MustSubmit(*engine, request);
  counter.set_handle(handle.get());
  for (int i = 0; i < 20000 && engine->Stats().running > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(engine->Stats().running, 0);
  model->rewrite_logits = nullptr;
  const std::vector<StepCount> steps = counter.steps();
  const int decode_steps = static_cast<int>(
      std::count_if(steps.begin(), steps.end(), [](const StepCount& s) { return !s.prefill; }));
  ASSERT_GE(decode_steps, kGenerate - 2) << "the generation stopped early";
  const auto [early_allocations, early_bytes] = Largest(steps, false, 8, 108);
  const auto [late_allocations, late_bytes] = Largest(steps, false, 108, decode_steps);
  EXPECT_LE(late_allocations, early_allocations);
  EXPECT_LE(late_bytes, early_bytes);
  std::printf("engine (constrained): per decode step ≤ %lld allocations (%lld bytes)\n",
              static_cast<long long>(early_allocations), static_cast<long long>(early_bytes));
}

// Fault injection. Each round runs request A (two choices, logprobs, a stop string, a prompt
// of three chunks the first time, then served from the prefix cache) beside request B, and
// makes the k-th allocation the loop thread makes after the w-th forward pass fail (before the next
// pass, so never inside the model: a failed step is the engine failure tested elsewhere). Whichever
// request that allocation served ends with an out-of-memory error; the other answers exactly as
// alone; the engine stays healthy.
TEST(AllocationFailureTest, AFailedAllocationEndsOnlyItsRequest) {
  ControlledModel* model = nullptr;
  auto engine = Start(
      {.parallel = 3, .context_tokens = kContext, .batch_tokens = 32, .max_queue = 4}, &model);
  std::atomic<int> fail_after_step{-1}, fail_at{-1}, step{0};
  model->before_forward = [&](const Batch&) {
    t_fail_in = -1;  // never inside Forward
  };
  model->after_forward = [&](const Batch&) {
    if (step++ == fail_after_step) t_fail_in = fail_at;
  };
  const std::vector<int32_t> prompt_a = RandomTokens(70, 81), prompt_b = RandomTokens(9, 82);
  auto request_a = [&] {
    Request request = Greedy(prompt_a, 12);
    request.n = 2;
    request.logprobs = true;
    request.top_logprobs = 2;
    request.stop = {"\x01\x02"};
    return request;
  };
  const Reference reference_a = Generated(prompt_a, 12), reference_b = Generated(prompt_b, 16);

  int failures = 0, rounds = 0;
  for (int w = 0; w < 16; ++w) {
    for (int k = 0; k < 14; ++k) {
      step = 0;  // read by the loop thread only while a request runs
      fail_after_step = w;
      fail_at = k;
      const int injected_before = g_injected;
      // B first; A once B decodes, so A's admission falls inside some window too.
      auto b = MustSubmit(*engine, Greedy(prompt_b, 16));
      Outcome outcome_b;
      std::vector<int32_t> b_first;
      while (std::optional<Event> event = b->Next(10000)) {
        if (const auto* delta = std::get_if<events::Delta>(&*event)) {
          b_first = delta->tokens;
          break;
        }
        if (const auto* failure = std::get_if<events::Failure>(&*event)) {
          outcome_b.error = failure->error;
        }
        if (const auto* done = std::get_if<events::Done>(&*event)) outcome_b.done = *done;
        if (outcome_b.done) break;
      }
      auto a = MustSubmit(*engine, request_a());
      const Outcome outcome_a = Collect(*a, 2);
      if (!outcome_b.done) outcome_b = Collect(*b);
      outcome_b.tokens.resize(1);
      outcome_b.tokens[0].insert(outcome_b.tokens[0].begin(), b_first.begin(), b_first.end());
      fail_after_step = -1;
      ++rounds;
      const bool a_failed = outcome_a.error.has_value(), b_failed = outcome_b.error.has_value();
      for (const std::optional<Status>& error : {outcome_a.error, outcome_b.error}) {
        if (error) {
          EXPECT_EQ(error->code(), StatusCode::kUnavailable) << w << "/" << k;
        }
      }
      EXPECT_FALSE(a_failed && b_failed) << "one allocation ended both requests: " << w << "/" << k;
      if (!a_failed) {
        EXPECT_EQ(outcome_a.tokens[0], reference_a.tokens) << w << "/" << k;
        EXPECT_EQ(outcome_a.tokens[1], reference_a.tokens) << w << "/" << k;
      }
      if (!b_failed) {
        EXPECT_EQ(outcome_b.tokens[0], reference_b.tokens) << w << "/" << k;
      }
      // A failure injected is a request ended; none injected (no k-th allocation): none ended.
      EXPECT_EQ(a_failed + b_failed, g_injected - injected_before) << w << "/" << k;
      failures += a_failed || b_failed;
      const EngineStats stats = engine->Stats();
      ASSERT_TRUE(stats.healthy) << "an allocation for a request failed the engine: " << w << "/"
                                 << k << ": " << stats.failure;
      ASSERT_EQ(stats.running, 0) << w << "/" << k;
    }
  }
  // Most injections hit an allocation (a round whose k-th allocation does not exist fails
  // nothing); and afterwards everything answers as before.
  EXPECT_GT(failures, rounds / 4);
  std::printf("%d of %d injected failures ended a request\n", failures, rounds);
  const Outcome after = Collect(*MustSubmit(*engine, Greedy(prompt_b, 16)));
  EXPECT_EQ(after.tokens[0], reference_b.tokens);
}

// Submit's own allocations (the channel, the handle, the queue) failing refuse that request
// with Unavailable and leave no claimed slot behind.
TEST(AllocationFailureTest, SubmitRefusesWhenItsAllocationsFail) {
  auto engine =
      Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 32, .max_queue = 2});
  const std::vector<int32_t> prompt = RandomTokens(9, 91);
  int refused = 0;
  for (int k = 0; k < 8; ++k) {
    Request request = Greedy(prompt, 4);
    t_fail_in = k;
    auto handle = engine->Submit(std::move(request));
    t_fail_in = -1;
    if (!handle.ok()) {
      ++refused;
      EXPECT_EQ(handle.status().code(), StatusCode::kUnavailable) << k;
      EXPECT_EQ(engine->Stats().running, 0) << k;
      continue;
    }
    Collect(**handle);
  }
  EXPECT_GE(refused, 2);
  EXPECT_EQ(Collect(*MustSubmit(*engine, Greedy(prompt, 4))).tokens[0],
            Generated(prompt, 4).tokens);
}

}  // namespace
}  // namespace snug
