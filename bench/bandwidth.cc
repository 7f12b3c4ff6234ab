// Prints the memory read bandwidth (GB/s, best of several runs) with 1 and 2 threads, on a
// 1 GiB buffer (far larger than any last-level cache), as JSON.
#include <cstdio>

#include "base/thread_pool.h"
#include "memory_bandwidth.h"

int main() {
  constexpr size_t kBytes = size_t{1} << 30;
  constexpr int kRuns = 7;
  const snug::bench::WordBuffer buffer(kBytes / sizeof(uint64_t));
  std::printf("{\"benchmark\": \"bandwidth\", \"buffer_bytes\": %zu, \"runs\": %d", kBytes, kRuns);
  for (int threads : {1, 2}) {
    snug::ThreadPool pool(threads);
    const double bandwidth = snug::bench::ReadBandwidth(buffer, pool, kRuns);
    std::printf(", \"read_gb_per_s_%d_thread%s\": %.2f", threads, threads > 1 ? "s" : "",
                bandwidth / 1e9);
  }
  std::printf("}\n");
  return 0;
}
