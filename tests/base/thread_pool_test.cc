#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

namespace snug {
namespace {

TEST(ThreadPoolTest, RunCallsEveryThreadOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> calls(threads);
    for (int round = 0; round < 300; ++round) {
      pool.Run([&](int thread) { calls[thread].fetch_add(1); });
    }
    for (int t = 0; t < threads; ++t) EXPECT_EQ(calls[t].load(), 300) << "thread " << t;
  }
}

TEST(ThreadPoolTest, ParallelForCoversRangeExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t count : {0, 1, 2, 7, 64, 1000, 1001}) {
    for (int64_t grain : {1, 4, 16}) {
      std::vector<int> hits(count, 0);
      pool.ParallelFor(count, grain, [&](int64_t begin, int64_t end, int) {
        EXPECT_EQ(begin % grain, 0);
        for (int64_t i = begin; i < end; ++i) ++hits[i];
      });
      for (int64_t i = 0; i < count; ++i) ASSERT_EQ(hits[i], 1) << "count " << count << " i " << i;
    }
  }
}

TEST(ThreadPoolTest, ResultsAreVisibleAfterRun) {
  ThreadPool pool(4);
  std::vector<int64_t> partial(4);
  int64_t total = 0;
  for (int round = 0; round < 200; ++round) {
    pool.ParallelFor(10000, 1, [&](int64_t begin, int64_t end, int thread) {
      int64_t sum = 0;
      for (int64_t i = begin; i < end; ++i) sum += i;
      partial[thread] = sum;
    });
    total = std::accumulate(partial.begin(), partial.end(), int64_t{0});
    ASSERT_EQ(total, 10000 * 9999 / 2);
    std::fill(partial.begin(), partial.end(), 0);
  }
}

}  // namespace
}  // namespace snug
