// When generation ends: end-of-generation token ids of a vocabulary, and stop strings matched
// on the streamed text, holding back any tail that could still become a stop string so a
// client never sees part of one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace snug {

// EOS, EOT and the turn/return tokens of the chat formats snug knows ("<end_of_turn>",
// "<turn|>", "<|eot_id|>", "<|return|>", "<|call|>", "<|endoftext|>", ...) present in the vocab.
std::vector<int32_t> EndOfGenerationTokens(const tokenizer::Tokenizer& tokenizer);

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Feeds newly decoded text; returns what may be shown now. Once a stop string is found,
  // stopped() is true and the text before it is the last returned.
  std::string Push(std::string_view text);
  // End of generation: the held-back tail (no stop string was completed).
  std::string Finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace snug
