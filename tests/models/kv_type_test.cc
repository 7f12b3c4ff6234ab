// Decoding with a q8_0 or q4_0 KV cache against the f16 KV cache on tiny synthetic models:
// the f16 cache's greedy tokens (near-ties aside) and log-probabilities within a stated bound.
// Prompts run past gemma3-tiny's window of 16 in chunks, so its sliding rings wrap.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "base/thread_pool.h"
#include "forward_helpers.h"
#include "kv/kv_cache.h"
#include "models/model.h"

namespace snug {
namespace {

constexpr int kChunkTokens = 8;  // prefill chunk, and the cache's batch (rings of window + 8)
constexpr int kSteps = 16;       // decoded tokens per prompt

// log-softmax of one row of logits.
std::vector<float> LogSoftmax(const float* logits, int vocab) {
  const float max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const float log_sum = max + static_cast<float>(std::log(sum));
  std::vector<float> out(logits, logits + vocab);
  for (float& x : out) x -= log_sum;
  return out;
}

// Prefills `prompt` in chunks, then decodes one token per Forward: kSteps + 1 next-token
// distributions. With `forced` the fed tokens are forced[i]; without, the greedy choice
// (written to *greedy).
std::vector<std::vector<float>> Decode(Model& model, KvCache& kv,
                                       const std::vector<int32_t>& prompt,
                                       const std::vector<int32_t>* forced,
                                       std::vector<int32_t>* greedy) {
  const int vocab = model.spec().vocab_size;
  std::vector<float> logits(vocab);
  std::vector<std::vector<float>> steps;
  kv.Clear(0);
  for (size_t begin = 0; begin < prompt.size(); begin += kChunkTokens) {
    const size_t end = std::min(prompt.size(), begin + kChunkTokens);
    std::vector<int32_t> positions(end - begin), slots(end - begin, 0);
    std::iota(positions.begin(), positions.end(), static_cast<int32_t>(begin));
    const int32_t last = static_cast<int32_t>(end - begin - 1);
    model.Forward(
        {std::span(prompt.data() + begin, end - begin), positions, slots, std::span(&last, 1)}, kv,
        logits.data());
  }
  steps.push_back(LogSoftmax(logits.data(), vocab));
  for (int i = 0; i < kSteps; ++i) {
    const std::vector<float>& last = steps.back();
    const int32_t token =
        forced != nullptr
            ? (*forced)[i]
            : static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    if (greedy != nullptr) greedy->push_back(token);
    const int32_t position = static_cast<int32_t>(prompt.size()) + i, slot = 0, row = 0;
    model.Forward(
        {std::span(&token, 1), std::span(&position, 1), std::span(&slot, 1), std::span(&row, 1)},
        kv, logits.data());
    steps.push_back(LogSoftmax(logits.data(), vocab));
  }
  return steps;
}

struct Distance {
  double max_logprob_error = 0;  // over the f16 cache's top 5 of every step
  int mismatches = 0;            // greedy choices that differ, near-ties excluded
  int near_ties = 0;             // differing choices whose f16 top-2 gap is inside the bound
};

// Compares `quantized` (decoded along the f16 cache's greedy tokens) with `exact` (the f16
// cache's own distributions).
Distance Compare(const std::vector<std::vector<float>>& exact,
                 const std::vector<std::vector<float>>& quantized, double bound) {
  Distance distance;
  for (size_t step = 0; step < exact.size(); ++step) {
    const std::vector<float>& a = exact[step];
    const std::vector<float>& b = quantized[step];
    std::vector<int> order(a.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                      [&](int x, int y) { return a[x] > a[y]; });
    for (int k = 0; k < 5; ++k) {
      distance.max_logprob_error =
          std::max(distance.max_logprob_error, std::abs(double{a[order[k]]} - b[order[k]]));
    }
    const int choice = static_cast<int>(std::max_element(b.begin(), b.end()) - b.begin());
    if (choice != order[0]) {
      if (a[order[0]] - a[choice] <= 2 * bound) {
        ++distance.near_ties;
      } else {
        ++distance.mismatches;
      }
    }
  }
  return distance;
}

class KvTypeTest : public ::testing::TestWithParam<std::string> {};

// Bounds from the measured distances (the models and prompts are seeded; the test prints them):
//   q8_0 (K, V within 1/254 of each 32-value block's max): gemma3-tiny 0.102, llama-tiny 0.080;
//     bound 0.15, and every greedy token the f16 cache's unless the two are within 2 × 0.15 of
//     each other (one step of gemma3-tiny: its f16 top-2 gap is 0.018);
//   q4_0 (within 1/8, 32× coarser): 1.85 and 1.14; bound 2.5, tokens not checked (a third of
//     the steps are near-ties at that bound).
// These are the quantized cache's own effect, not the kernels': llama.cpp with its own q8_0 KV
// cache is 0.04 from snug's on these models (tests/reference/conformance.mjs --kv-type q8_0),
// and the attention kernels are within 1e-4 of exact attention over the decoded rows
// (tests/kernels/attention_test.cc). Random tiny models are flat (top-5 within ~0.2) with
// large attention logits, which magnifies the error; see the report for gemma3-1b.
TEST_P(KvTypeTest, QuantizedCacheDecodesLikeF16) {
  const std::string preset = GetParam();
  ThreadPool pool(2);
  test::Loaded loaded = test::WriteAndLoad(preset, DType::kF32, pool, kChunkTokens);
  Model& model = *loaded.model;
  const int vocab = model.spec().vocab_size;
  const KvCacheOptions base{.slots = 1, .context_tokens = 128, .batch_tokens = kChunkTokens};
  auto f16 = KvCache::Create(model.spec().KvLayers(), base);
  ASSERT_TRUE(f16.ok()) << f16.status().ToString();
  struct Case {
    KvType type;
    double bound;
  };
  for (const Case& c : {Case{KvType::kQ8_0, 0.15}, Case{KvType::kQ4_0, 2.5}}) {
    KvCacheOptions options = base;
    options.type = c.type;
    auto quantized = KvCache::Create(model.spec().KvLayers(), options);
    ASSERT_TRUE(quantized.ok()) << quantized.status().ToString();
    EXPECT_LT((*quantized)->bytes(), (*f16)->bytes());
    Distance worst;
    for (int prompt_tokens : {5, 20, 40}) {
      const std::vector<int32_t> prompt =
          test::RandomTokens(prompt_tokens, vocab, 100 + prompt_tokens);
      std::vector<int32_t> greedy;
      const auto exact = Decode(model, **f16, prompt, nullptr, &greedy);
      const auto approximate = Decode(model, **quantized, prompt, &greedy, nullptr);
      const Distance d = Compare(exact, approximate, c.bound);
      worst.max_logprob_error = std::max(worst.max_logprob_error, d.max_logprob_error);
      worst.mismatches += d.mismatches;
      worst.near_ties += d.near_ties;
    }
    std::printf(
        "%s %s KV vs f16 KV: max |logprob error| %.4f (bound %.2f), greedy tokens "
        "differ at %d steps (%d of them near-ties)\n",
        preset.c_str(), std::string(KvTypeName(c.type)).c_str(), worst.max_logprob_error, c.bound,
        worst.mismatches + worst.near_ties, worst.near_ties);
    EXPECT_LE(worst.max_logprob_error, c.bound) << KvTypeName(c.type);
    if (c.type == KvType::kQ8_0) {
      EXPECT_EQ(worst.mismatches, 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, KvTypeTest, ::testing::Values("gemma3-tiny", "llama-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace snug
