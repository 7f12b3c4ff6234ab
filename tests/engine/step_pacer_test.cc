#include "engine/step_pacer.h"

#include <gtest/gtest.h>

namespace snug {
namespace {

TEST(StepPacerTest, WholeRoomUntilItHasMeasuredAPrefill) {
  StepPacer pacer(0.5);
  EXPECT_EQ(pacer.PrefillBudget(4, 508), 508);
  pacer.Observe(4, 0, 0.05);  // decode-only steps teach nothing about a prompt token
  EXPECT_EQ(pacer.PrefillBudget(4, 508), 508);
}

TEST(StepPacerTest, NoStreamsMeansTheWholeStep) {
  StepPacer pacer(0.5);
  pacer.Observe(0, 512, 5.12);  // 10 ms a token
  EXPECT_EQ(pacer.PrefillBudget(0, 512), 512);
}

TEST(StepPacerTest, StreamsKeepThePauseNearTheTarget) {
  StepPacer pacer(0.5);
  pacer.Observe(4, 0, 0.1);       // a decode step: 0.1 s
  pacer.Observe(4, 500, 5.1);     // 500 prompt tokens took 5 s more: 10 ms each
  EXPECT_NEAR(pacer.decode_step_seconds(), 0.1, 1e-12);
  EXPECT_NEAR(pacer.prefill_token_seconds(), 0.01, 1e-12);
  // (0.5 - 0.1) / 0.01 = 40 tokens beside the streams.
  EXPECT_EQ(pacer.PrefillBudget(4, 508), 40);
  EXPECT_EQ(pacer.PrefillBudget(4, 30), 30);  // never more than the room
}

TEST(StepPacerTest, ASlowModelStillGivesPrefillHalfAStep) {
  StepPacer pacer(0.5);
  pacer.Observe(1, 0, 0.4);     // a decode step alone is 0.4 s
  pacer.Observe(1, 100, 10.4);  // 0.1 s a prompt token
  // max(0.5, 2 × 0.4) - 0.4 = 0.4 s: 4 tokens, raised to the floor that keeps prompts moving.
  EXPECT_EQ(pacer.PrefillBudget(1, 511), StepPacer::kMinPrefillTokens);
  // A very slow one (4 s a decode step) gets its share in proportion: 4 s = 40 tokens.
  for (int i = 0; i < 100; ++i) pacer.Observe(1, 0, 4.0);
  EXPECT_NEAR(pacer.PrefillBudget(1, 511), 40, 1);
}

TEST(StepPacerTest, AveragesAndIgnoresTinyOrBadSamples) {
  StepPacer pacer(0.5);
  pacer.Observe(2, 0, 0.1);
  pacer.Observe(2, 100, 1.1);  // 10 ms a token
  pacer.Observe(2, 4, 100.0);  // too few tokens to judge
  pacer.Observe(2, 100, -1.0);
  EXPECT_NEAR(pacer.prefill_token_seconds(), 0.01, 1e-12);
  pacer.Observe(2, 100, 2.1);  // 20 ms: the average moves a quarter of the way
  EXPECT_NEAR(pacer.prefill_token_seconds(), 0.0125, 1e-12);
}

}  // namespace
}  // namespace snug
