// The prefix cache: the slot table's choice (longest reusable prefix, LRU on ties and misses,
// the sliding-window ring rule at its exact boundary), and the engine reusing a cached prefix —
// only the rest is prefilled, and greedy tokens and log-probabilities are bit-identical to a
// cold run — on Gemma 3 (sliding rings) and Llama (full attention only).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <span>
#include <vector>

#include "engine/slot_table.h"
#include "engine_test_util.h"

namespace snug {
namespace {

using namespace snug::testing;  // NOLINT: the helpers of engine_test_util.h

// Two full layers and two sliding ones (window 16) over a context of 160 with batch 32: rings
// of 48 rows, as gemma3-tiny's.
std::vector<KvLayerSpec> MixedLayers() {
  return {{.num_kv_heads = 1, .head_dim = 32, .window_tokens = 16, .source_layer = 0},
          {.num_kv_heads = 1, .head_dim = 32, .window_tokens = 0, .source_layer = 1},
          {.num_kv_heads = 1, .head_dim = 32, .window_tokens = 16, .source_layer = 2},
          {.num_kv_heads = 1, .head_dim = 32, .window_tokens = 16, .source_layer = 0}};
}

constexpr KvCacheOptions kTableOptions{.slots = 3, .context_tokens = 160, .batch_tokens = 32};

std::vector<int32_t> Iota(int count, int32_t first) {
  std::vector<int32_t> tokens(count);
  std::iota(tokens.begin(), tokens.end(), first);
  return tokens;
}

TEST(SlotTableTest, TakesTheLongestPrefixThenTheLeastRecentlyReleased) {
  SlotTable table({{.num_kv_heads = 1, .head_dim = 32, .source_layer = 0}}, kTableOptions);
  EXPECT_EQ(table.free_count(), 3);
  // Misses go in LRU order: never-used slots first, lowest index first.
  const SlotTable::Claim a = table.TakeBest(Iota(50, 1000));
  EXPECT_EQ(a.reused_tokens, 0);
  table.Append(a.slot, Iota(50, 1000));
  const SlotTable::Claim b = table.TakeBest(Iota(30, 2000));
  EXPECT_NE(b.slot, a.slot);
  table.Append(b.slot, Iota(30, 2000));
  table.Release(a.slot);
  table.Release(b.slot);
  EXPECT_EQ(table.free_count(), 3);

  // The longest common prefix wins, capped at prompt - 1.
  std::vector<int32_t> prompt = Iota(20, 2000);
  prompt.push_back(7);
  EXPECT_EQ(table.ReusableTokens(b.slot, prompt), 20);
  EXPECT_EQ(table.ReusableTokens(a.slot, prompt), 0);
  EXPECT_EQ(table.ReusableTokens(b.slot, Iota(20, 2000)), 19);
  const SlotTable::Claim hit = table.TakeBest(prompt);
  EXPECT_EQ(hit.slot, b.slot);
  EXPECT_EQ(hit.reused_tokens, 20);
  EXPECT_EQ(table.held(b.slot).size(), 20u);  // the rest of what it held is gone
  table.Release(b.slot);

  // A miss evicts the least recently released: the never-used slot, then a (released before
  // b), then b.
  const int fresh = table.TakeBest(Iota(5, 3000)).slot;
  EXPECT_NE(fresh, a.slot);
  EXPECT_NE(fresh, b.slot);
  EXPECT_EQ(table.TakeBest(Iota(5, 4000)).slot, a.slot);
  EXPECT_EQ(table.TakeBest(Iota(5, 5000)).slot, b.slot);
  EXPECT_EQ(table.free_count(), 0);
}

TEST(SlotTableTest, EqualPrefixesGoToTheLeastRecentlyReleased) {
  SlotTable table({{.num_kv_heads = 1, .head_dim = 32, .source_layer = 0}}, kTableOptions);
  const int first = table.TakeLeastRecent();
  const int second = table.TakeLeastRecent();
  table.Append(first, Iota(10, 1));
  table.Append(second, Iota(10, 1));
  table.Release(second);
  table.Release(first);
  EXPECT_EQ(table.TakeBest(Iota(12, 1)).slot, second);
}

// A slot that held L positions can serve P of them only while every ring (48 rows, window
// 16) still holds the 15 positions before P: L - P ≤ 48 - 16 + 1.
TEST(SlotTableTest, SlidingRingsServeAPrefixOnlyWhileTheyHoldItsWindow) {
  SlotTable table(MixedLayers(), kTableOptions);
  const int slot = table.TakeLeastRecent();
  const std::vector<int32_t> held = Iota(100, 1);
  table.Append(slot, held);
  table.Release(slot);
  auto prompt_sharing = [&](int shared) {
    std::vector<int32_t> prompt(held.begin(), held.begin() + shared);
    prompt.push_back(9999);
    return prompt;
  };
  EXPECT_EQ(table.ReusableTokens(slot, prompt_sharing(67)), 67);  // L - P = 33
  EXPECT_EQ(table.ReusableTokens(slot, prompt_sharing(66)), 0);   // 34: a row was overwritten
  EXPECT_EQ(table.ReusableTokens(slot, prompt_sharing(10)), 0);

  // Short sequences never wrapped: any prefix is servable.
  SlotTable short_table(MixedLayers(), kTableOptions);
  const int other = short_table.TakeLeastRecent();
  short_table.Append(other, Iota(48, 1));
  EXPECT_EQ(short_table.ReusableTokens(other, Iota(5, 1)), 4);

  // Reusing a prefix does not bring overwritten rows back: after taking 67 of the 100 and
  // writing 3 more, the ring still lacks what the first 100 overwrote.
  const SlotTable::Claim claim = table.TakeBest(prompt_sharing(67));
  ASSERT_EQ(claim.reused_tokens, 67);
  table.Append(slot, Iota(3, 500));
  table.Release(slot);
  std::vector<int32_t> again(held.begin(), held.begin() + 60);
  again.push_back(1);
  EXPECT_EQ(table.ReusableTokens(slot, again), 0);  // 100 - 60 > 33
  // A copy inherits that history.
  const int copy = table.TakeLeastRecent();
  table.Copy(slot, copy);
  EXPECT_EQ(table.ReusableTokens(copy, again), 0);
  std::vector<int32_t> longer(table.held(slot).begin(), table.held(slot).end());
  longer.push_back(1);
  EXPECT_EQ(table.ReusableTokens(copy, longer), 70);
}

// The ring rule is exact: at its boundary the reused KV gives bit-identical logits to a cold
// prefill; one position past it, an overwritten row changes them.
TEST(SlotTableTest, TheRingBoundaryMatchesWhatTheKvHolds) {
  LoadedModel loaded = Load(ReferencePool());
  const int vocab = loaded.model->spec().vocab_size;
  const KvCacheOptions options{.slots = 2, .context_tokens = kContext, .batch_tokens = 32};
  auto kv = KvCache::Create(loaded.model->spec().KvLayers(), options);
  ASSERT_TRUE(kv.ok());
  const std::vector<int32_t> held = RandomTokens(100, 21);  // gemma3-tiny: rings of 48
  auto last_logits = [&](int slot, std::span<const int32_t> prompt, int from) {
    std::vector<float> last(vocab);
    std::vector<int32_t> positions, slots;
    const int32_t row = 0;
    for (int begin = from; begin < static_cast<int>(prompt.size()); begin += 32) {
      const int n = std::min<int>(32, prompt.size() - begin);
      positions.resize(n);
      std::iota(positions.begin(), positions.end(), begin);
      slots.assign(n, slot);
      const bool final = begin + n == static_cast<int>(prompt.size());
      const int32_t last_row = n - 1;
      loaded.model->Forward(
          {prompt.subspan(begin, n), positions, slots,
           final ? std::span<const int32_t>(&last_row, 1) : std::span<const int32_t>(&row, 0)},
          **kv, last.data());
      (*kv)->set_length(slot, begin + n);
    }
    return last;
  };
  for (const int shared : {67, 66}) {
    (*kv)->Clear(0);
    last_logits(0, held, 0);
    SlotTable table(loaded.model->spec().KvLayers(), options);
    const int slot = table.TakeLeastRecent();
    table.Append(slot, held);
    table.Release(slot);
    std::vector<int32_t> prompt(held.begin(), held.begin() + shared);
    const std::vector<int32_t> rest = RandomTokens(20, 22);
    prompt.insert(prompt.end(), rest.begin(), rest.end());
    const bool servable = table.ReusableTokens(slot, prompt) == shared;
    EXPECT_EQ(servable, shared == 67);
    (*kv)->set_length(0, shared);
    const std::vector<float> reused = last_logits(0, prompt, shared);
    (*kv)->Clear(1);
    const std::vector<float> cold = last_logits(1, prompt, 0);
    if (servable) {
      EXPECT_EQ(reused, cold) << "reusing " << shared << " of 100";
    } else {
      EXPECT_NE(reused, cold) << "the rule refused a prefix the KV still held";
    }
  }
}

struct PrefixCase {
  std::string preset;
  int max_tokens_first;  // how far the first request runs past the shared prefix
  bool expect_reuse;
};

class PrefixCacheTest : public ::testing::TestWithParam<PrefixCase> {};

// Request A = X + Y1 runs; then B = X + Y2 reuses X: only Y2 is prefilled, and B's greedy
// tokens, log-probabilities and alternatives equal those of B on a cold engine, bit for bit.
TEST_P(PrefixCacheTest, ASecondRequestPrefillsOnlyTheRestAndAnswersAsCold) {
  const PrefixCase& c = GetParam();
  const std::vector<int32_t> shared = RandomTokens(100, 31);
  const std::vector<int32_t> first = Concat(shared, {201, 202, 203, 204, 205, 206, 207, 208});
  const std::vector<int32_t> second = Concat(shared, RandomTokens(12, 32));
  auto request = [](std::vector<int32_t> prompt, int max_tokens) {
    Request r = Greedy(std::move(prompt), max_tokens);
    r.logprobs = true;
    r.top_logprobs = 3;
    return r;
  };
  const EngineOptions options{.parallel = 2, .context_tokens = kContext, .batch_tokens = 32};
  auto cold_engine = Start(options, nullptr, c.preset);
  const Outcome cold = Collect(*MustSubmit(*cold_engine, request(second, 24)));
  ASSERT_FALSE(cold.tokens[0].empty());
  EXPECT_EQ(cold.done->cached_tokens, 0);

  auto engine = Start(options, nullptr, c.preset);
  const Outcome a = Collect(*MustSubmit(*engine, request(first, c.max_tokens_first)));
  EXPECT_EQ(a.done->cached_tokens, 0);
  // The case is about how far A ran: it must not have stopped early.
  ASSERT_EQ(a.done->completion_tokens, c.max_tokens_first);
  const int64_t prefilled_before = engine->Stats().prompt_tokens;
  const Outcome b = Collect(*MustSubmit(*engine, request(second, 24)));
  const int cached = c.expect_reuse ? 100 : 0;
  EXPECT_EQ(b.done->cached_tokens, cached);
  EXPECT_EQ(b.done->prompt_tokens, static_cast<int>(second.size()));
  EXPECT_EQ(engine->Stats().prompt_tokens - prefilled_before,
            static_cast<int64_t>(second.size()) - cached);
  EXPECT_EQ(engine->Stats().cached_prompt_tokens, cached);
  EXPECT_EQ(engine->Stats().prefix_cache_hits, c.expect_reuse ? 1 : 0);
  EXPECT_EQ(b.first_prefill_done, cached);  // admitted: the prompt tokens the cache holds

  EXPECT_EQ(b.tokens, cold.tokens);
  EXPECT_EQ(b.logprobs, cold.logprobs);  // exact: the same floats
  ASSERT_EQ(b.top_logprobs[0].size(), cold.top_logprobs[0].size());
  for (size_t i = 0; i < b.top_logprobs[0].size(); ++i) {
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(b.top_logprobs[0][i][k].token, cold.top_logprobs[0][i][k].token) << i;
      EXPECT_EQ(b.top_logprobs[0][i][k].logprob, cold.top_logprobs[0][i][k].logprob) << i;
    }
  }
  EXPECT_EQ(b.finish, cold.finish);
}

// gemma3-tiny's rings hold 48 rows (window 16 + batch 32), so a prefix stays servable while
// A ran at most 33 positions past it: 8 prompt tokens + 19 fed of 20 generated do; 8 + 39 fed
// of 40 overwrite it (the ring rule refuses, and B is prefilled cold). Llama has no rings: it
// reuses either way.
INSTANTIATE_TEST_SUITE_P(
    Presets, PrefixCacheTest,
    ::testing::Values(PrefixCase{"gemma3-tiny", 20, true}, PrefixCase{"gemma3-tiny", 40, false},
                      PrefixCase{"llama-tiny", 20, true}, PrefixCase{"llama-tiny", 40, true}),
    [](const auto& info) {
      std::string name = info.param.preset + "_" + std::to_string(info.param.max_tokens_first);
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// n = 2 on a cached prefix: both choices are copies of the reused KV plus the rest.
TEST(PrefixCacheEngineTest, ChoicesShareAReusedPrefix) {
  auto engine = Start({.parallel = 3, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> shared = RandomTokens(70, 41);
  Collect(*MustSubmit(*engine, Greedy(Concat(shared, {5, 6, 7}), 4)));
  const std::vector<int32_t> prompt = Concat(shared, RandomTokens(9, 42));
  Request request = Greedy(prompt, 20);
  request.n = 2;
  const Outcome outcome = Collect(*MustSubmit(*engine, request), 2);
  EXPECT_EQ(outcome.done->cached_tokens, 70);
  const Reference reference = Generated(prompt, 20);
  EXPECT_EQ(outcome.tokens[0], reference.tokens);
  EXPECT_EQ(outcome.tokens[1], reference.tokens);
}

// Two slots: A and B cached; C (no common prefix) evicts the least recently used (A's); B's
// prefix still hits, A's now misses.
TEST(PrefixCacheEngineTest, EvictsTheLeastRecentlyUsedSlot) {
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32});
  // Distinct first tokens (250, 251, 252): no two of them share any prefix.
  const std::vector<int32_t> x = Concat({250}, RandomTokens(39, 51));
  const std::vector<int32_t> y = Concat({251}, RandomTokens(39, 52));
  auto cached = [&](const std::vector<int32_t>& prompt) {
    return Collect(*MustSubmit(*engine, Greedy(prompt, 3))).done->cached_tokens;
  };
  EXPECT_EQ(cached(Concat(x, {10, 11})), 0);
  EXPECT_EQ(cached(Concat(y, {10, 11})), 0);
  EXPECT_EQ(cached(Concat({252}, RandomTokens(29, 53))), 0);  // evicts x's slot
  EXPECT_EQ(cached(Concat(y, {12, 13})), 40);
  EXPECT_EQ(cached(Concat(x, {12, 13})), 0);
}

// Echo scores every prompt token, so it reuses nothing, and its logprobs stay whole.
TEST(PrefixCacheEngineTest, EchoPrefillsTheWholePrompt) {
  auto engine = Start({.parallel = 1, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> prompt = RandomTokens(40, 61);
  Collect(*MustSubmit(*engine, Greedy(prompt, 2)));
  Request echo = Greedy(prompt, 2);
  echo.echo_prompt_logprobs = true;
  echo.logprobs = true;
  const Outcome outcome = Collect(*MustSubmit(*engine, echo));
  EXPECT_EQ(outcome.done->cached_tokens, 0);
  ASSERT_EQ(outcome.echoes.size(), 1u);
  EXPECT_EQ(outcome.echoes[0].logprobs.size(), prompt.size());
  // A plain request after it reuses the prompt the echo left.
  EXPECT_EQ(Collect(*MustSubmit(*engine, Greedy(prompt, 2))).done->cached_tokens, 39);
}

// A short common prefix (a chat template's opening) is not worth evicting a more recent slot:
// it goes to the least recently used one, uncached.
TEST(PrefixCacheEngineTest, AShortCommonPrefixIsAMiss) {
  auto engine = Start({.parallel = 2, .context_tokens = kContext, .batch_tokens = 32});
  const std::vector<int32_t> opening = {250, 251, 252, 253, 254, 255, 256, 257};
  const std::vector<int32_t> x = Concat(opening, RandomTokens(40, 62));
  const std::vector<int32_t> y = Concat(opening, RandomTokens(40, 63));
  auto cached = [&](const std::vector<int32_t>& prompt) {
    return Collect(*MustSubmit(*engine, Greedy(prompt, 3))).done->cached_tokens;
  };
  EXPECT_EQ(cached(Concat(x, {1})), 0);
  EXPECT_EQ(cached(Concat(y, {1})), 0);       // shares 8 with x's slot: a miss, so the other slot
  EXPECT_EQ(cached(Concat(x, {2})), 40 + 8);  // x's slot was kept
  EXPECT_EQ(cached(Concat(y, {2})), 40 + 8);
}

}  // namespace
}  // namespace snug
