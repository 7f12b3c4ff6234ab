#include "engine/stop.h"

#include <algorithm>

namespace snug {

std::vector<int32_t> EndOfGenerationTokens(const tokenizer::Tokenizer& tokenizer) {
  static constexpr std::string_view kTurnEnds[] = {
      "<end_of_turn>", "<turn|>", "<|eot_id|>", "<|eom_id|>", "<|return|>",
      "<|call|>",      "<|endoftext|>", "<|im_end|>", "<|end_of_text|>",
      "<|tool_response>",  // Gemma 4 after its calls: the results are the caller's to write
  };
  std::vector<int32_t> ids;
  const tokenizer::Vocabulary& vocab = tokenizer.vocab();
  for (int32_t id : {vocab.eos, vocab.eot}) {
    if (id != tokenizer::kNoToken) ids.push_back(id);
  }
  for (std::string_view text : kTurnEnds) {
    const int32_t id = tokenizer.Find(text);
    if (id != tokenizer::kNoToken) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::string StopMatcher::Push(std::string_view text) {
  if (stopped_) return {};
  pending_.append(text);
  size_t earliest = std::string::npos;
  for (const std::string& stop : stops_) {
    if (stop.empty()) continue;
    earliest = std::min(earliest, pending_.find(stop));
  }
  if (earliest != std::string::npos) {
    stopped_ = true;
    std::string shown = pending_.substr(0, earliest);
    pending_.clear();
    return shown;
  }
  // Hold back the longest tail that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (size_t length = std::min(stop.size() - 1, pending_.size()); length > hold; --length) {
      if (pending_.compare(pending_.size() - length, length, stop, 0, length) == 0) {
        hold = length;
        break;
      }
    }
  }
  std::string shown = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return shown;
}

std::string StopMatcher::Finish() {
  std::string rest;
  rest.swap(pending_);
  return stopped_ ? std::string() : rest;
}

}  // namespace snug
