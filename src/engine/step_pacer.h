// How many prompt tokens one step may prefill beside running streams. A step's time is the
// pause every decoding stream sees between two tokens, so while streams run the prefill share is
// sized from the steps' own timings to keep that pause near `max_pause_seconds` (or twice a
// decode-only step, when that alone is longer: a slow model still gives prefill half of each
// step). With no stream decoding, a prompt takes the whole step: its time to first token is all
// that matters then.
#pragma once

namespace snug {

class StepPacer {
 public:
  // The smallest prefill share beside streams: a long prompt keeps moving on any model.
  static constexpr int kMinPrefillTokens = 16;

  explicit StepPacer(double max_pause_seconds) : max_pause_(max_pause_seconds) {}

  // Prompt tokens for a step with `decode_tokens` decoding streams and `room` tokens left in
  // its buffers; at most `room`.
  int PrefillBudget(int decode_tokens, int room) const;

  // A finished step: its decode and prefill tokens and how long its forward pass took.
  void Observe(int decode_tokens, int prefill_tokens, double seconds);

  double decode_step_seconds() const { return decode_step_; }
  double prefill_token_seconds() const { return prefill_token_; }

 private:
  double max_pause_;
  double decode_step_ = -1;    // a decode-only step (moving average; < 0: not seen yet)
  double prefill_token_ = -1;  // one prefill token on top of it (moving average)
};

}  // namespace snug
