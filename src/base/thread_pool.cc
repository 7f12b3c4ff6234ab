#include "base/thread_pool.h"

#include <algorithm>
#include <thread>

#include "base/check.h"

namespace snug {
namespace {

// About 20-50 microseconds of spinning: long enough to bridge the gap between the matrix
// products of one decode step, short enough not to burn a core between requests.
constexpr int kSpinIterations = 1 << 12;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(std::max(1, num_threads)) {
  workers_.reserve(num_threads_ - 1);
  for (int thread = 1; thread < num_threads_; ++thread) {
    workers_.emplace_back([this, thread] { WorkerLoop(thread); });
  }
}

ThreadPool::~ThreadPool() {
  if (workers_.empty()) return;
  stopping_ = true;
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Dispatch(Call call, const void* context) {
  if (workers_.empty()) {
    call(context, 0);
    return;
  }
  call_ = call;
  context_ = context;
  pending_.store(num_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  call(context, 0);
  // Spin while the workers finish; if they were descheduled (more runnable threads than
  // cores), give the core away instead of burning the time slice they need.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::WorkerLoop(int thread) {
  uint32_t seen = 0;
  while (true) {
    uint32_t current = generation_.load(std::memory_order_acquire);
    for (int spin = 0; current == seen; ++spin) {
      if (spin < kSpinIterations) {
        CpuRelax();
      } else {
        generation_.wait(seen, std::memory_order_acquire);
      }
      current = generation_.load(std::memory_order_acquire);
    }
    seen = current;
    if (stopping_) return;
    call_(context_, thread);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace snug
