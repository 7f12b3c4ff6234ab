#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace snug {
namespace {

std::vector<float> LogitsOf(const std::vector<double>& probabilities) {
  std::vector<float> logits;
  for (double p : probabilities) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

std::map<int32_t, int> Histogram(const SamplingParams& params, const std::vector<float>& logits,
                                 int draws) {
  Sampler sampler(params, static_cast<int>(logits.size()));
  std::map<int32_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sampler.Sample(logits.data())];
  return counts;
}

TEST(SamplerTest, GreedyIsArgmax) {
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  Sampler sampler({.temperature = 0.0f}, 4);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(sampler.Sample(logits.data()), 1);
}

TEST(SamplerTest, FollowsTheDistributionAtTemperatureOne) {
  const auto counts = Histogram({.temperature = 1.0f, .seed = 11}, LogitsOf({0.5, 0.3, 0.2}), 30000);
  // Binomial standard deviation at n=30000 is ≤ 0.003; allow 4 sigma.
  EXPECT_NEAR(counts.at(0) / 30000.0, 0.5, 0.012);
  EXPECT_NEAR(counts.at(1) / 30000.0, 0.3, 0.012);
  EXPECT_NEAR(counts.at(2) / 30000.0, 0.2, 0.012);
}

TEST(SamplerTest, TopKTopPAndMinPCut) {
  const std::vector<float> logits = LogitsOf({0.4, 0.3, 0.2, 0.1});
  auto top_k = Histogram({.temperature = 1.0f, .top_k = 2, .seed = 1}, logits, 5000);
  EXPECT_EQ(top_k.size(), 2u);
  EXPECT_NEAR(top_k.at(0) / 5000.0, 0.4 / 0.7, 0.03);
  auto top_p = Histogram({.temperature = 1.0f, .top_p = 0.75f, .seed = 2}, logits, 5000);
  EXPECT_EQ(top_p.size(), 3u);  // 0.4 + 0.3 < 0.75 ≤ 0.4 + 0.3 + 0.2
  auto min_p = Histogram({.temperature = 1.0f, .min_p = 0.6f, .seed = 3}, logits, 5000);
  EXPECT_EQ(min_p.size(), 2u);  // p ≥ 0.24
}

TEST(SamplerTest, LowTemperatureSharpens) {
  auto counts = Histogram({.temperature = 0.1f, .seed = 5}, LogitsOf({0.5, 0.4, 0.1}), 2000);
  EXPECT_GT(counts.at(0), 1800);  // (5/4)^10 ≈ 9.3 : 1
}

TEST(SamplerTest, SeedMakesRunsReproducible) {
  const std::vector<float> logits = LogitsOf({0.25, 0.25, 0.25, 0.25});
  Sampler a({.temperature = 1.0f, .seed = 42}, 4), b({.temperature = 1.0f, .seed = 42}, 4);
  Sampler c({.temperature = 1.0f, .seed = 43}, 4);
  std::vector<int32_t> ra, rb, rc;
  for (int i = 0; i < 64; ++i) {
    ra.push_back(a.Sample(logits.data()));
    rb.push_back(b.Sample(logits.data()));
    rc.push_back(c.Sample(logits.data()));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
}

TEST(SamplerTest, PenaltiesDiscourageRepeats) {
  const std::vector<float> logits = {1.0f, 0.9f, -5.0f};
  // Greedy picks 0 first; a presence penalty of 0.5 then moves it below token 1.
  Sampler presence({.temperature = 0.0f, .presence_penalty = 0.5f}, 3);
  EXPECT_EQ(presence.Sample(logits.data()), 0);
  EXPECT_EQ(presence.Sample(logits.data()), 1);
  // Repetition penalty counts the prompt: 1.0 / 2 < 0.9.
  Sampler repetition({.temperature = 0.0f, .repetition_penalty = 2.0f}, 3);
  const std::vector<int32_t> prompt = {0};
  repetition.AddPrompt(prompt);
  EXPECT_EQ(repetition.Sample(logits.data()), 1);
  // Frequency penalty grows with each occurrence.
  Sampler frequency({.temperature = 0.0f, .frequency_penalty = 0.06f}, 3);
  EXPECT_EQ(frequency.Sample(logits.data()), 0);
  EXPECT_EQ(frequency.Sample(logits.data()), 0);  // 1.0 - 0.06 > 0.9
  EXPECT_EQ(frequency.Sample(logits.data()), 1);  // 1.0 - 0.12 < 0.9
}

TEST(LogprobTest, TopLogprobsAreSortedLogSoftmax) {
  const std::vector<float> logits = LogitsOf({0.1, 0.6, 0.05, 0.25});
  std::vector<TokenLogprob> top;
  TopLogprobs(logits, 3, top);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].token, 1);
  EXPECT_EQ(top[1].token, 3);
  EXPECT_EQ(top[2].token, 0);
  EXPECT_NEAR(top[0].logprob, std::log(0.6), 1e-5);
  EXPECT_NEAR(Logprob(logits, 2), std::log(0.05), 1e-5);
  TopLogprobs(logits, 10, top);
  EXPECT_EQ(top.size(), 4u);
}

}  // namespace
}  // namespace snug
