// Helpers shared by the forward-pass tests of every architecture: write a synthetic preset and
// load it, run a token list in chunks, compare logits relative to their range, and the two
// invariants every model keeps (chunking does not matter, batch company does not matter).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kv/kv_cache.h"
#include "models/model.h"
#include "synth/generator.h"

namespace snug::test {

struct Loaded {
  std::shared_ptr<const gguf::File> file;
  std::unique_ptr<Model> model;
};

// Writes `preset` with the built-in vocabulary in `types`, from `seed`, and loads it.
inline Loaded WriteAndLoad(const std::string& preset, const synth::TypeOptions& types,
                           ThreadPool& pool, int batch_tokens, uint64_t seed = 1234) {
  auto config = synth::FindPreset(preset);
  CHECK(config.ok()) << config.status().ToString();
  synth::Vocabulary vocab = synth::BuiltinVocabulary(config->architecture);
  const synth::ModelPlan plan = synth::PlanModel(*config, vocab, types);
  // Unique per test: ctest runs the tests of this binary as parallel processes, and rewriting
  // a file another process has mapped would pull its pages away (SIGBUS).
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(test->test_suite_name()) + "." + test->name();
  for (char& c : name) c = (c == '/') ? '_' : c;
  const std::string path = ::testing::TempDir() + "/" + name + ".gguf";
  Status written = synth::WriteModel(plan, seed, path, 2);
  CHECK(written.ok()) << written.ToString();
  auto file = gguf::File::Open(path);
  CHECK(file.ok()) << file.status().ToString();
  Loaded loaded;
  loaded.file = std::make_shared<gguf::File>(std::move(*file));
  auto model = LoadModel(loaded.file, {.batch_tokens = batch_tokens}, pool);
  CHECK(model.ok()) << model.status().ToString();
  loaded.model = std::move(*model);
  return loaded;
}

// The same with every matrix in `type`.
inline Loaded WriteAndLoad(const std::string& preset, DType type, ThreadPool& pool,
                           int batch_tokens) {
  return WriteAndLoad(preset, synth::TypeOptions{.main = type}, pool, batch_tokens);
}

inline std::vector<int32_t> RandomTokens(int count, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  std::vector<int32_t> tokens(count);
  for (int32_t& token : tokens) token = pick(rng);
  return tokens;
}

// Logits of every token of `tokens` run in chunks of `chunk` in `slot` (cleared first).
inline std::vector<float> RunInChunks(Model& model, KvCache& kv, const std::vector<int32_t>& tokens,
                                      int chunk, int slot = 0) {
  const int vocab = model.spec().vocab_size;
  std::vector<float> logits(tokens.size() * vocab);
  kv.Clear(slot);
  for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
    const size_t end = std::min(tokens.size(), begin + chunk);
    std::vector<int32_t> positions(end - begin), slots(end - begin, slot), rows(end - begin);
    std::iota(positions.begin(), positions.end(), static_cast<int32_t>(begin));
    std::iota(rows.begin(), rows.end(), 0);
    Batch batch{std::span<const int32_t>(tokens.data() + begin, end - begin), positions, slots,
                rows};
    model.Forward(batch, kv, logits.data() + begin * vocab);
  }
  return logits;
}

// max |a - b| / max |a|.
inline double MaxRelativeDifference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double scale = 0, difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(a[i])));
    difference = std::max(difference, static_cast<double>(std::abs(a[i] - b[i])));
  }
  return difference / std::max(scale, 1e-9);
}

// Runs `tokens` in one batch of `batch_tokens`, in chunks of 7 and one at a time: every logit
// is finite and the three runs agree to 1e-4 of their range. Returns the one-shot run.
inline std::vector<float> ExpectChunkingAgrees(Model& model, KvCache& kv,
                                               const std::vector<int32_t>& tokens,
                                               int batch_tokens) {
  const std::vector<float> one_shot = RunInChunks(model, kv, tokens, batch_tokens);
  const std::vector<float> sevens = RunInChunks(model, kv, tokens, 7);
  const std::vector<float> single = RunInChunks(model, kv, tokens, 1);
  EXPECT_TRUE(std::all_of(one_shot.begin(), one_shot.end(),
                          [](float value) { return std::isfinite(value); }));
  EXPECT_LT(MaxRelativeDifference(one_shot, sevens), 1e-4);
  EXPECT_LT(MaxRelativeDifference(one_shot, single), 1e-4);
  return one_shot;
}

// max |logit|.
inline float LargestMagnitude(const std::vector<float>& logits) {
  float largest = 0.0f;
  for (float value : logits) largest = std::max(largest, std::abs(value));
  return largest;
}

// Prefills `a` in slot 0 and `b` in slot 1 each alone, then both in one batch with their tokens
// interleaved: each sequence's logits must not depend on the other's company. Random tokens of
// the given lengths (at most 128, the cache's context), from seeds 1 and 2.
inline void ExpectBatchedEqualsAlone(Model& model, int a_length, int b_length, int batch_tokens) {
  const int vocab = model.spec().vocab_size;
  auto created = KvCache::Create(model.spec().KvLayers(),
                                 {.slots = 2, .context_tokens = 128, .batch_tokens = batch_tokens});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  KvCache& kv = **created;
  const std::vector<int32_t> a = RandomTokens(a_length, vocab, 1);
  const std::vector<int32_t> b = RandomTokens(b_length, vocab, 2);
  const std::vector<float> alone_a = RunInChunks(model, kv, a, batch_tokens, 0);
  const std::vector<float> alone_b = RunInChunks(model, kv, b, batch_tokens, 1);
  std::vector<int32_t> tokens, positions, slots, rows;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size()) tokens.push_back(a[i]), positions.push_back(i), slots.push_back(0);
    if (i < b.size()) tokens.push_back(b[i]), positions.push_back(i), slots.push_back(1);
  }
  rows.resize(tokens.size());
  std::iota(rows.begin(), rows.end(), 0);
  std::vector<float> together(tokens.size() * vocab);  // [tokens, vocab]
  kv.Clear(0);
  kv.Clear(1);
  model.Forward({tokens, positions, slots, rows}, kv, together.data());
  std::vector<float> together_a, together_b;
  for (size_t r = 0; r < tokens.size(); ++r) {
    std::vector<float>& out = slots[r] == 0 ? together_a : together_b;
    out.insert(out.end(), together.begin() + r * vocab, together.begin() + (r + 1) * vocab);
  }
  EXPECT_LT(MaxRelativeDifference(alone_a, together_a), 1e-4);
  EXPECT_LT(MaxRelativeDifference(alone_b, together_b), 1e-4);
}

}  // namespace snug::test
