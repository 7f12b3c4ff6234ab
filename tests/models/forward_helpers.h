// Helpers shared by the forward-pass tests of every architecture: write a synthetic preset and
// load it, run a token list in chunks, compare logits relative to their range.
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

// Writes `preset` with the built-in vocabulary in `type` and loads it.
inline Loaded WriteAndLoad(const std::string& preset, DType type, ThreadPool& pool,
                           int batch_tokens) {
  auto config = synth::FindPreset(preset);
  CHECK(config.ok()) << config.status().ToString();
  synth::Vocabulary vocab = synth::BuiltinVocabulary(config->architecture);
  const synth::ModelPlan plan = synth::PlanModel(*config, vocab, {.main = type});
  // Unique per test: ctest runs the tests of this binary as parallel processes, and rewriting
  // a file another process has mapped would pull its pages away (SIGBUS).
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(test->test_suite_name()) + "." + test->name();
  for (char& c : name) c = (c == '/') ? '_' : c;
  const std::string path = ::testing::TempDir() + "/" + name + ".gguf";
  Status written = synth::WriteModel(plan, /*seed=*/1234, path, 2);
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

}  // namespace snug::test
