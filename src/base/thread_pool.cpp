#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace fathom {
namespace {

using Clock = std::chrono::steady_clock;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// A claim word: the job's generation in the high 24 bits, the next unclaimed index below.
constexpr int kIndexBits = 40;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr uint64_t kGenerationMask = (uint64_t{1} << (64 - kIndexBits)) - 1;

int64_t spin_us_from_env() {
  const char* env = std::getenv("FATHOM_SPIN_US");
  return env ? std::max(0, std::atoi(env)) : ThreadPool::kDefaultSpinUs;
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) : ThreadPool(num_threads, spin_us_from_env()) {}

ThreadPool::ThreadPool(int num_threads, int64_t spin_us) : spin_us_(spin_us) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::thread::hardware_concurrency());
  num_threads = std::max(num_threads, 1);
  for (int i = 0; i + 1 < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_chunk) {
  if (n <= 0) return;
  const int64_t threads = num_threads();
  const int64_t chunk = std::max<int64_t>(min_chunk, (n + threads * 4 - 1) / (threads * 4));
  if (workers_.empty() || n <= chunk) {
    fn(0, n);
    return;
  }
  // Close the previous job's claim word first: a late worker that reads this job's fields under
  // the previous generation then fails its claim (run_chunks). Then the fields, then the claim
  // word that makes the job visible (generation + 1, index 0).
  const uint64_t previous = claim_.load(std::memory_order_relaxed) >> kIndexBits;
  claim_.store((previous << kIndexBits) | kIndexMask, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  job_fn_.store(&fn, std::memory_order_relaxed);
  job_n_.store(n, std::memory_order_relaxed);
  job_chunk_.store(chunk, std::memory_order_relaxed);
  remaining_.store((n + chunk - 1) / chunk, std::memory_order_relaxed);
  const uint64_t generation = (previous + 1) & kGenerationMask;
  claim_.store(generation << kIndexBits, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mu_);  // a sleeper re-checks claim_ under mu_
    work_cv_.notify_all();
  }
  run_chunks(generation);
  // Every chunk was claimed; wait for the ones other threads are still running.
  for (int64_t spins = 0; remaining_.load(std::memory_order_acquire) > 0; ++spins) {
    if (spins < 4096)
      cpu_relax();
    else
      std::this_thread::yield();  // a worker was preempted: give it the core
  }
}

void ThreadPool::run_chunks(uint64_t generation) {
  uint64_t word = claim_.load(std::memory_order_acquire);
  for (;;) {
    if ((word >> kIndexBits) != generation) return;  // a later job
    // Fields read after the claim word of `generation`: this job's, or a later one's (then the
    // claim word was closed before they were written, and the compare-exchange below fails).
    const auto* fn = job_fn_.load(std::memory_order_relaxed);
    const int64_t n = job_n_.load(std::memory_order_relaxed);
    const int64_t chunk = job_chunk_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    const auto begin = static_cast<int64_t>(word & kIndexMask);
    if (begin >= n) return;
    const int64_t end = std::min(n, begin + chunk);
    if (!claim_.compare_exchange_weak(word, (generation << kIndexBits) | static_cast<uint64_t>(end),
                                      std::memory_order_acq_rel, std::memory_order_acquire))
      continue;
    (*fn)(begin, end);
    remaining_.fetch_sub(1, std::memory_order_acq_rel);
    word = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;  // the generation at construction: a job may be published before we run
  for (;;) {
    // Spin a while for the next job (no wake-up cost between the ops of a step), then sleep.
    const auto spin_until = Clock::now() + std::chrono::microseconds(spin_us_);
    uint64_t generation = claim_.load(std::memory_order_acquire) >> kIndexBits;
    for (int64_t i = 0; generation == seen && !stop_.load(std::memory_order_relaxed); ++i) {
      cpu_relax();
      if ((i & 255) == 255 && Clock::now() >= spin_until) break;
      generation = claim_.load(std::memory_order_acquire) >> kIndexBits;
    }
    if (generation == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      work_cv_.wait(lock, [&] {
        generation = claim_.load(std::memory_order_seq_cst) >> kIndexBits;
        return stop_.load() || generation != seen;
      });
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      if (stop_.load()) return;
    }
    if (stop_.load(std::memory_order_relaxed)) return;
    seen = generation;
    run_chunks(generation);
  }
}

ThreadPool& default_thread_pool() {
  static ThreadPool pool([] {
    const char* env = std::getenv("FATHOM_NUM_THREADS");
    return env ? std::atoi(env) : 0;
  }());
  return pool;
}

}  // namespace fathom
