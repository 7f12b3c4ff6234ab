#include "engine/step_pacer.h"

#include <algorithm>
#include <cmath>

namespace snug {
namespace {

// Weight of a new timing in the moving averages: recent steps count most (contexts grow, other
// processes come and go), one odd step does not swing the budget.
constexpr double kNewWeight = 0.25;
// Prefill steps shorter than this say little about the cost of a token.
constexpr int kMinObservedPrefill = 8;

void Blend(double& average, double sample) {
  average = average < 0 ? sample : average + kNewWeight * (sample - average);
}

}  // namespace

int StepPacer::PrefillBudget(int decode_tokens, int room) const {
  if (decode_tokens == 0 || prefill_token_ <= 0 || room <= 0) return std::max(room, 0);
  const double decode = std::max(decode_step_, 0.0);
  const double share = std::max(max_pause_, 2 * decode) - decode;
  const double tokens = std::floor(share / prefill_token_);
  if (!(tokens < room)) return room;  // also catches a NaN
  return std::min(room, std::max(kMinPrefillTokens, static_cast<int>(tokens)));
}

void StepPacer::Observe(int decode_tokens, int prefill_tokens, double seconds) {
  if (!(seconds >= 0)) return;
  if (prefill_tokens == 0) {
    if (decode_tokens > 0) Blend(decode_step_, seconds);
    return;
  }
  if (prefill_tokens < kMinObservedPrefill) return;
  const double decode = decode_tokens > 0 ? std::max(decode_step_, 0.0) : 0.0;
  const double per_token = (seconds - decode) / prefill_tokens;
  if (per_token > 0) Blend(prefill_token_, per_token);
}

}  // namespace snug
