#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace snug {
namespace {

// Candidates kept before top-p when no top-k is given: sorting 262144 logits per token would
// cost milliseconds; the top 1024 almost always hold the nucleus, and if not we sort them all.
constexpr int kNucleusPrefilter = 1024;

float LogSumExp(std::span<const float> logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float value : logits) sum += std::exp(static_cast<double>(value - max));
  return max + static_cast<float>(std::log(sum));
}

}  // namespace

int32_t Argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

float Logprob(std::span<const float> logits, int32_t token) {
  return logits[token] - LogSumExp(logits);
}

void TopLogprobs(std::span<const float> logits, int count, std::vector<TokenLogprob>& out) {
  out.clear();
  count = std::min<int>(count, static_cast<int>(logits.size()));
  if (count <= 0) return;
  const float log_sum = LogSumExp(logits);
  out.reserve(count + 1);  // the list briefly holds one more: one allocation, if any
  // A running top-`count` list: count is small (≤ 20), the vocabulary large.
  for (size_t i = 0; i < logits.size(); ++i) {
    if (static_cast<int>(out.size()) == count && logits[i] <= out.back().logprob) continue;
    TokenLogprob entry{static_cast<int32_t>(i), logits[i]};
    auto at = std::upper_bound(out.begin(), out.end(), entry,
                               [](const TokenLogprob& a, const TokenLogprob& b) {
                                 return a.logprob > b.logprob;
                               });
    out.insert(at, entry);
    if (static_cast<int>(out.size()) > count) out.pop_back();
  }
  for (TokenLogprob& entry : out) entry.logprob -= log_sum;
}

Sampler::Sampler(const SamplingParams& params, int vocab_size, int max_tokens)
    : params_(params), vocab_size_(vocab_size), rng_(params.seed) {
  candidates_.resize(vocab_size);
  probabilities_.resize(vocab_size);
  working_.resize(vocab_size);
  const size_t window = std::max(params.penalty_window, 0) + 1;
  recent_.reserve(window);
  size_t scratch = window;
  if (counts_generated()) {
    generated_.reserve(std::max(max_tokens, 0));
    scratch = std::max<size_t>(scratch, std::max(max_tokens, 0));
  }
  scratch_.reserve(scratch);
}

void Sampler::AddPrompt(std::span<const int32_t> tokens) {
  const int window = std::max(params_.penalty_window, 0);
  const size_t keep = std::min<size_t>(tokens.size(), window);
  recent_.assign(tokens.end() - keep, tokens.end());
}

void Sampler::ForEachDistinct(const std::vector<int32_t>& tokens,
                              const std::function<void(int32_t, int)>& visit) {
  scratch_.assign(tokens.begin(), tokens.end());  // capacity grows with max_tokens, then stays
  std::sort(scratch_.begin(), scratch_.end());
  for (size_t i = 0; i < scratch_.size();) {
    size_t j = i;
    while (j < scratch_.size() && scratch_[j] == scratch_[i]) ++j;
    visit(scratch_[i], static_cast<int>(j - i));
    i = j;
  }
}

void Sampler::ApplyPenalties(float* logits) {
  if (params_.repetition_penalty != 1.0f) {
    // Each distinct token once (llama.cpp's penalties sampler), however often it recurs.
    ForEachDistinct(recent_, [&](int32_t token, int) {
      float& logit = logits[token];
      logit = logit > 0 ? logit / params_.repetition_penalty : logit * params_.repetition_penalty;
    });
  }
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    ForEachDistinct(generated_, [&](int32_t token, int count) {
      logits[token] -= params_.presence_penalty + params_.frequency_penalty * count;
    });
  }
}

int32_t Sampler::Pick(float* logits) {
  const std::span<const float> all(logits, vocab_size_);
  if (params_.temperature <= 0.0f) return Argmax(all);

  // Candidates: every token, narrowed by top-k (or a prefilter for top-p), sorted by logit.
  int count = vocab_size_;
  std::iota(candidates_.begin(), candidates_.end(), 0);
  auto by_logit = [logits](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  int keep = params_.top_k > 0 ? std::min(params_.top_k, count) : count;
  const bool nucleus = params_.top_p < 1.0f;
  if (nucleus && keep > kNucleusPrefilter) keep = kNucleusPrefilter;
  if (keep < count) {
    std::nth_element(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  }
  std::sort(candidates_.begin(), candidates_.begin() + keep, by_logit);

  // Softmax at temperature over the whole vocabulary's mass (so a prefilter that misses part
  // of the nucleus is detected below).
  const float max = logits[candidates_[0]];
  double total = 0.0;
  for (int i = 0; i < vocab_size_; ++i) {
    total += std::exp(static_cast<double>(logits[i] - max) / params_.temperature);
  }
  if (params_.top_k > 0) {
    total = 0.0;
    for (int i = 0; i < keep; ++i) {
      total += std::exp(static_cast<double>(logits[candidates_[i]] - max) / params_.temperature);
    }
  }
  for (int i = 0; i < keep; ++i) {
    probabilities_[i] = static_cast<float>(
        std::exp(static_cast<double>(logits[candidates_[i]] - max) / params_.temperature) /
        total);
  }
  count = keep;
  if (nucleus) {
    double cumulative = 0.0;
    int cut = count;
    for (int i = 0; i < count; ++i) {
      cumulative += probabilities_[i];
      if (cumulative >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
    if (cut == count && cumulative < params_.top_p && count < vocab_size_ &&
        params_.top_k <= 0) {
      // The prefilter held less than top_p of the mass: fall back to the full sort.
      std::iota(candidates_.begin(), candidates_.end(), 0);
      std::sort(candidates_.begin(), candidates_.end(), by_logit);
      cumulative = 0.0;
      cut = vocab_size_;
      for (int i = 0; i < vocab_size_; ++i) {
        probabilities_[i] = static_cast<float>(
            std::exp(static_cast<double>(logits[candidates_[i]] - max) / params_.temperature) /
            total);
        cumulative += probabilities_[i];
        if (cumulative >= params_.top_p) {
          cut = i + 1;
          break;
        }
      }
    }
    count = cut;
  }
  if (params_.min_p > 0.0f) {
    const float threshold = params_.min_p * probabilities_[0];
    int cut = 1;
    while (cut < count && probabilities_[cut] >= threshold) ++cut;
    count = cut;
  }
  double mass = 0.0;
  for (int i = 0; i < count; ++i) mass += probabilities_[i];
  std::uniform_real_distribution<double> uniform(0.0, mass);
  double target = uniform(rng_);
  for (int i = 0; i < count; ++i) {
    target -= probabilities_[i];
    if (target <= 0.0) return candidates_[i];
  }
  return candidates_[count - 1];
}

int32_t Sampler::Sample(const float* logits) {
  const bool penalties = params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                         params_.frequency_penalty != 0.0f;
  int32_t token;
  if (!penalties && params_.temperature <= 0.0f) {
    token = Argmax({logits, static_cast<size_t>(vocab_size_)});  // greedy: no copy needed
  } else {
    std::copy(logits, logits + vocab_size_, working_.begin());
    ApplyPenalties(working_.data());
    token = Pick(working_.data());
  }
  if (counts_generated()) generated_.push_back(token);
  const int window = std::max(params_.penalty_window, 0);
  if (window > 0) {
    if (static_cast<int>(recent_.size()) >= window) recent_.erase(recent_.begin());
    recent_.push_back(token);
  }
  return token;
}

}  // namespace snug
