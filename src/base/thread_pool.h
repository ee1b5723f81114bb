// A fixed pool of worker threads with a blocking parallel_for, used by the CPU kernels.
//
// A decode step makes hundreds of parallel_for calls of tens of microseconds each, so waking a
// sleeping worker for each (a futex wake-up: 10-50 us) would cost as much as the work. Workers
// therefore spin for a while (FATHOM_SPIN_US, default kDefaultSpinUs) after each job before
// they sleep, and claim chunks from one atomic word: the caller never waits for a worker that
// has not started (it runs the chunks itself), only for chunks already being run.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fathom {

class ThreadPool {
 public:
  static constexpr int64_t kDefaultSpinUs = 200;

  /// num_threads <= 0 means std::thread::hardware_concurrency(). Spins FATHOM_SPIN_US.
  explicit ThreadPool(int num_threads = 0);
  /// Workers spin `spin_us` microseconds for the next job before sleeping (0: sleep at once).
  ThreadPool(int num_threads, int64_t spin_us);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls fn(begin, end) on disjoint chunks covering [0, n); the caller's thread takes part.
  /// Blocks until every chunk is done. Not reentrant: fn must not call parallel_for, and one
  /// thread at a time may call it.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                    int64_t min_chunk = 1);

 private:
  void worker_loop();
  /// Claims and runs chunks of the job of `generation` until none is left or a later job
  /// replaced it.
  void run_chunks(uint64_t generation);

  const int64_t spin_us_;
  std::vector<std::thread> workers_;
  /// The job's generation (high bits) and its next unclaimed index (low bits).
  std::atomic<uint64_t> claim_{0};
  std::atomic<const std::function<void(int64_t, int64_t)>*> job_fn_{nullptr};
  std::atomic<int64_t> job_n_{0};
  std::atomic<int64_t> job_chunk_{1};
  std::atomic<int64_t> remaining_{0};  ///< chunks not yet finished
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;  ///< only for sleeping and waking
  std::condition_variable work_cv_;
};

/// The process-wide pool the CPU backend uses (sized once, on first use).
ThreadPool& default_thread_pool();

}  // namespace fathom
