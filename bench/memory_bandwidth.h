// Memory read bandwidth as the matmul benchmark's yardstick: threads of a ThreadPool sum their
// share of a buffer far larger than the last-level cache with a plain (auto-vectorized) loop.
// Header-only so bandwidth.cc and matmul_bench.cc measure the same way in the same process.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "base/thread_pool.h"

namespace snug::bench {

// Owns a 64-byte aligned, page-touched array of `count` uint64 words.
class WordBuffer {
 public:
  explicit WordBuffer(size_t count)
      : data_(static_cast<uint64_t*>(std::aligned_alloc(64, count * sizeof(uint64_t)))),
        count_(count) {
    for (size_t i = 0; i < count_; ++i) data_[i] = i * 0x9E3779B97F4A7C15ull;
  }
  ~WordBuffer() { std::free(data_); }
  WordBuffer(const WordBuffer&) = delete;
  WordBuffer& operator=(const WordBuffer&) = delete;
  const uint64_t* data() const { return data_; }
  size_t count() const { return count_; }
  size_t bytes() const { return count_ * sizeof(uint64_t); }

 private:
  uint64_t* data_;
  size_t count_;
};

// Eight independent sums so the loop is bound by loads, not by an add chain.
inline uint64_t SumWords(const uint64_t* words, size_t count) {
  uint64_t sum[8] = {};
  const size_t whole = count / 8;
  for (size_t i = 0; i < whole; ++i) {
    for (int k = 0; k < 8; ++k) sum[k] += words[i * 8 + k];
  }
  for (size_t i = whole * 8; i < count; ++i) sum[0] += words[i];
  uint64_t total = 0;
  for (uint64_t s : sum) total += s;
  return total;
}

inline double Seconds(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// Best of `runs` of reading the whole buffer with every thread of `pool`, in bytes per second.
inline double ReadBandwidth(const WordBuffer& buffer, ThreadPool& pool, int runs) {
  std::vector<uint64_t> sinks(static_cast<size_t>(pool.num_threads()) * 8);  // one line each
  double best = 1e30;
  for (int run = 0; run < runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    pool.ParallelFor(static_cast<int64_t>(buffer.count()), 4096,
                     [&](int64_t begin, int64_t end, int thread) {
                       sinks[thread * 8] += SumWords(buffer.data() + begin, end - begin);
                     });
    best = std::min(best, Seconds(std::chrono::steady_clock::now() - start));
  }
  volatile uint64_t keep = 0;
  for (uint64_t s : sinks) keep = keep + s;
  return static_cast<double>(buffer.bytes()) / best;
}

}  // namespace snug::bench
