// A persistent pool for data-parallel loops. Decode runs one Run() per matrix product, so the
// cost that matters is dispatch + barrier: workers spin briefly on a generation counter before
// sleeping on it (futex), and the caller works as thread 0 instead of waiting idle.
// Not reentrant: a body must not call Run() on the same pool.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace snug {

class ThreadPool {
 public:
  // `num_threads` counts the calling thread; 1 runs every body inline.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls body(thread_index) once on each thread, the caller being thread 0; returns when all
  // calls have returned.
  template <class Body>
  void Run(const Body& body) {
    static_assert(std::is_invocable_v<const Body&, int>);
    Dispatch([](const void* context, int thread) { (*static_cast<const Body*>(context))(thread); },
             &body);
  }

  // Splits [0, count) into one contiguous range per thread, each a multiple of `grain` except
  // the last: body(begin, end, thread_index). Threads whose range is empty are not called.
  template <class Body>
  void ParallelFor(int64_t count, int64_t grain, const Body& body) {
    const int64_t chunks = (count + grain - 1) / grain;
    const int64_t per_thread = (chunks + num_threads_ - 1) / num_threads_;
    Run([&](int thread) {
      const int64_t begin = std::min(count, thread * per_thread * grain);
      const int64_t end = std::min(count, (thread + 1) * per_thread * grain);
      if (begin < end) body(begin, end, thread);
    });
  }

 private:
  using Call = void (*)(const void* context, int thread);
  void Dispatch(Call call, const void* context);
  void WorkerLoop(int thread);

  const int num_threads_;
  std::vector<std::thread> workers_;
  // The job is published by bumping generation_ (release) after writing call_ and context_.
  Call call_ = nullptr;
  const void* context_ = nullptr;
  bool stopping_ = false;
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
};

}  // namespace snug
