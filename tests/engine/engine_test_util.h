// What the engine's test binaries share: tiny synthetic models written once per process, a
// model wrapper the test controls (slow steps, failing steps, a hook per step), Generate() as
// the reference, and a collector of a request's events.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/check.h"
#include "base/overloaded.h"
#include "base/thread_pool.h"
#include "engine/engine.h"
#include "engine/loaded_model.h"
#include "engine/score.h"
#include "engine/stop.h"
#include "synth/generator.h"

namespace snug::testing {

inline constexpr int kContext = 160;
inline constexpr int kModelBatch = 64;

// Delegates to a real model; a test can slow each step down, make it throw, or watch it.
class ControlledModel : public Model {
 public:
  explicit ControlledModel(std::unique_ptr<Model> inner) : inner_(std::move(inner)) {
    spec_ = inner_->spec();
  }
  size_t activation_bytes() const override { return inner_->activation_bytes(); }
  void Forward(const Batch& batch, KvCache& kv, float* logits) override {
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    if (fail) throw std::bad_alloc();
    if (before_forward) before_forward(batch);
    inner_->Forward(batch, kv, logits);
    if (after_forward) after_forward(batch);
    if (rewrite_logits) rewrite_logits(batch, logits);
  }
  std::atomic<int> delay_ms{0};
  std::atomic<bool> fail{false};
  // Run on the engine's loop thread around each Forward; set before the first request.
  std::function<void(const Batch&)> before_forward, after_forward;
  // Run after each Forward with its logits [logit_indices.size(), vocab]: a test can script
  // what the model "says".
  std::function<void(const Batch&, float*)> rewrite_logits;

 private:
  std::unique_ptr<Model> inner_;
};

// The preset's file (f32 weights, builtin vocabulary), written once per process: ctest runs
// tests as parallel processes, and rewriting a file another process has mapped would pull its
// pages away (SIGBUS).
inline const std::string& ModelPath(const std::string& preset = "gemma3-tiny") {
  static std::map<std::string, std::string> paths;
  auto it = paths.find(preset);
  if (it != paths.end()) return it->second;
  auto config = synth::FindPreset(preset);
  CHECK(config.ok()) << config.status().ToString();
  const synth::ModelPlan plan = synth::PlanModel(
      *config, synth::BuiltinVocabulary(config->architecture), {.main = DType::kF32});
  const std::string file =
      ::testing::TempDir() + "/engine-" + preset + "-" + std::to_string(getpid()) + ".gguf";
  const Status written = synth::WriteModel(plan, /*seed=*/1234, file, 2);
  CHECK(written.ok()) << written.ToString();
  return paths.emplace(preset, file).first->second;
}

// Outlives every engine (the models keep a reference). One thread: no spinning workers, so
// the suite stays quick on a loaded 2-core CI machine.
inline ThreadPool& Pool() {
  static ThreadPool pool(1);
  return pool;
}

// The reference (Generated) runs on the test thread while engines run theirs: a pool must not
// be shared.
inline ThreadPool& ReferencePool() {
  static ThreadPool pool(1);
  return pool;
}

inline LoadedModel Load(ThreadPool& pool = Pool(), const std::string& preset = "gemma3-tiny") {
  auto loaded = LoadModelFile(ModelPath(preset), {.batch_tokens = kModelBatch}, pool);
  CHECK(loaded.ok()) << loaded.status().ToString();
  return std::move(*loaded);
}

// Starts an engine whose model the test controls (`control` stays valid while it runs).
inline std::unique_ptr<Engine> Start(const EngineOptions& options,
                                     ControlledModel** control = nullptr,
                                     const std::string& preset = "gemma3-tiny") {
  LoadedModel loaded = Load(Pool(), preset);
  auto model = std::make_unique<ControlledModel>(std::move(loaded.model));
  if (control != nullptr) *control = model.get();
  loaded.model = std::move(model);
  auto engine = StartEngine(std::move(loaded), options);
  CHECK(engine.ok()) << engine.status().ToString();
  return std::move(*engine);
}

inline std::vector<int32_t> RandomTokens(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(3, 200);
  std::vector<int32_t> tokens(count);
  for (int32_t& token : tokens) token = pick(rng);
  return tokens;
}

inline std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Reference {
  std::vector<int32_t> tokens;
  FinishReason finish;
};

// Greedy decoding written the plainest way, independent of the engine: each step scores the
// whole sequence so far in a fresh KV slot (ScorePrompt) and takes the argmax of the last row,
// until an end-of-generation token or `max_tokens`. What the engine must match (rows do not
// depend on the batch they run in). Quadratic, so for the short sequences of these tests.
inline Reference Generated(const std::vector<int32_t>& prompt, int max_tokens,
                           const std::string& preset = "gemma3-tiny") {
  static std::map<std::string, LoadedModel> models;
  auto it = models.find(preset);
  if (it == models.end()) it = models.emplace(preset, Load(ReferencePool(), preset)).first;
  LoadedModel& loaded = it->second;
  auto kv = KvCache::Create(loaded.model->spec().KvLayers(),
                            {.slots = 1, .context_tokens = kContext, .batch_tokens = kModelBatch});
  CHECK(kv.ok());
  const std::vector<int32_t> end_tokens = EndOfGenerationTokens(loaded.tokenizer);
  const int vocab = loaded.model->spec().vocab_size;
  Reference reference{.finish = FinishReason::kLength};
  std::vector<int32_t> sequence = prompt;
  while (static_cast<int>(reference.tokens.size()) < max_tokens) {
    int32_t next = 0;
    const Status scored = ScorePrompt(
        *loaded.model, **kv, 0, sequence, kModelBatch,
        [&](int first, std::span<const float> logits) {
          const int rows = static_cast<int>(logits.size()) / vocab;
          if (first + rows != static_cast<int>(sequence.size())) return;  // not the last chunk
          const std::span<const float> last = logits.subspan(static_cast<size_t>(rows - 1) * vocab);
          next = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
        });
    CHECK(scored.ok()) << scored.ToString();
    if (std::find(end_tokens.begin(), end_tokens.end(), next) != end_tokens.end()) {
      reference.finish = FinishReason::kStop;
      break;
    }
    reference.tokens.push_back(next);
    sequence.push_back(next);
  }
  return reference;
}

struct Outcome {
  std::vector<std::vector<int32_t>> tokens;                          // per choice
  std::vector<std::vector<float>> logprobs;                          // per choice, when requested
  std::vector<std::vector<std::vector<TokenLogprob>>> top_logprobs;  // per choice
  std::vector<std::string> text;
  std::vector<std::optional<FinishReason>> finish;
  std::vector<events::Delta> echoes;
  std::optional<Status> error;
  std::optional<events::Done> done;
  int prefill_events = 0;
  int first_prefill_done = -1;  // prefill_done of the first progress event
};

// Reads events until kDone; every event must arrive within 10 s.
inline Outcome Collect(RequestHandle& handle, int n = 1) {
  Outcome outcome;
  outcome.tokens.resize(n);
  outcome.logprobs.resize(n);
  outcome.top_logprobs.resize(n);
  outcome.text.resize(n);
  outcome.finish.resize(n);
  while (std::optional<Event> event = handle.Next(10000)) {
    EXPECT_FALSE(outcome.done.has_value()) << "an event after Done";
    std::visit(
        Overloaded{
            [&](const events::Delta& delta) {
              EXPECT_FALSE(outcome.finish[delta.choice].has_value()) << "a delta after Finish";
              if (delta.echo) {
                outcome.echoes.push_back(delta);
                return;
              }
              const int c = delta.choice;
              outcome.tokens[c].insert(outcome.tokens[c].end(), delta.tokens.begin(),
                                       delta.tokens.end());
              outcome.logprobs[c].insert(outcome.logprobs[c].end(), delta.logprobs.begin(),
                                         delta.logprobs.end());
              outcome.top_logprobs[c].insert(outcome.top_logprobs[c].end(),
                                             delta.top_logprobs.begin(), delta.top_logprobs.end());
              outcome.text[c] += delta.text;
            },
            [&](const events::ToolCallDelta&) { ADD_FAILURE() << "a tool call without tools"; },
            [&](const events::Finish& finish) { outcome.finish[finish.choice] = finish.reason; },
            [&](const events::Failure& failure) { outcome.error = failure.error; },
            [&](const events::Done& done) { outcome.done = done; },
            [&](const events::PrefillProgress& progress) {
              if (outcome.prefill_events++ == 0) outcome.first_prefill_done = progress.prefill_done;
            }},
        *event);
  }
  EXPECT_TRUE(outcome.done.has_value()) << "no Done within 10 s";
  return outcome;
}

inline std::unique_ptr<RequestHandle> MustSubmit(Engine& engine, Request request) {
  auto handle = engine.Submit(std::move(request));
  CHECK(handle.ok()) << handle.status().ToString();
  return std::move(*handle);
}

inline Request Greedy(std::vector<int32_t> prompt, int max_tokens) {
  Request request;
  request.prompt = std::move(prompt);
  request.max_tokens = max_tokens;
  request.sampling.temperature = 0;
  return request;
}

}  // namespace snug::testing
