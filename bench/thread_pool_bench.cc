// Prints the per-dispatch cost of ThreadPool::Run with an empty body (what every matrix
// product of a decode step pays on top of its work), median and 90th percentile of many runs,
// in microseconds, with 1 and 2 threads, as JSON.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "base/thread_pool.h"

int main() {
  constexpr int kWarmup = 1000;
  constexpr int kSamples = 20000;
  std::printf("{\"benchmark\": \"thread_pool\", \"samples\": %d", kSamples);
  for (int threads : {1, 2}) {
    snug::ThreadPool pool(threads);
    std::vector<double> micros;
    micros.reserve(kSamples);
    for (int i = 0; i < kWarmup + kSamples; ++i) {
      const auto start = std::chrono::steady_clock::now();
      pool.Run([](int) {});
      const auto end = std::chrono::steady_clock::now();
      if (i < kWarmup) continue;
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    std::sort(micros.begin(), micros.end());
    const char* suffix = threads > 1 ? "s" : "";
    std::printf(", \"run_us_median_%d_thread%s\": %.3f, \"run_us_p90_%d_thread%s\": %.3f", threads,
                suffix, micros[micros.size() / 2], threads, suffix, micros[micros.size() * 9 / 10]);
  }
  std::printf("}\n");
  return 0;
}
