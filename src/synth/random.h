// Seeded, counter-based random numbers for synthetic weights. Every row of every tensor gets its
// own stream (seed, tensor name, row), so the bytes do not depend on the thread count.
#pragma once

#include <cstdint>
#include <string_view>

namespace snug::synth {

// splitmix64's finalizer: a bijective 64-bit mix with good avalanche.
inline uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// FNV-1a, then mixed: names become stream identifiers.
inline uint64_t HashName(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return Mix64(h);
}

// splitmix64: one add and one mix per draw; plenty for weights, and fast enough to fill 12B
// values in seconds.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ull;
    return Mix64(state_);
  }
  // Approximately N(0, 1): the sum of four 16-bit uniforms (Irwin-Hall, n = 4) scaled to unit
  // variance. Bounded by ±2√3, which keeps quantized blocks free of rare huge outliers.
  float Normalish() {
    const uint64_t bits = Next();
    const uint32_t sum = static_cast<uint32_t>(bits & 0xffff) + ((bits >> 16) & 0xffff) +
                         ((bits >> 32) & 0xffff) + ((bits >> 48) & 0xffff);
    // Each uniform is (u + 0.5) / 65536 with mean 0.5 and variance 1/12; four of them: mean 2,
    // variance 1/3.
    constexpr float kScale = 1.7320508f / 65536.0f;  // sqrt(3) / 65536
    return (static_cast<float>(sum) + 2.0f - 2.0f * 65536.0f) * kScale;
  }

 private:
  uint64_t state_;
};

// The stream for one row of one tensor.
inline SplitMix64 RowStream(uint64_t seed, uint64_t name_hash, int64_t row) {
  return SplitMix64(Mix64(seed ^ name_hash) + static_cast<uint64_t>(row) * 0xd1b54a32d192ed03ull);
}

}  // namespace snug::synth
