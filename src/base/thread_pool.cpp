#include "base/thread_pool.h"

#include <algorithm>
#include <cstdlib>

namespace fathom {

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::thread::hardware_concurrency());
  num_threads = std::max(num_threads, 1);
  for (int i = 0; i + 1 < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_chunk) {
  if (n <= 0) return;
  const int64_t threads = num_threads();
  int64_t chunk = std::max<int64_t>(min_chunk, (n + threads * 4 - 1) / (threads * 4));
  if (workers_.empty() || n <= chunk) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  job_ = &fn;
  job_n_ = n;
  job_chunk_ = chunk;
  next_begin_ = 0;
  pending_ = static_cast<int>(workers_.size());
  ++generation_;
  work_cv_.notify_all();
  // The caller works too.
  while (next_begin_ < job_n_) {
    int64_t b = next_begin_;
    int64_t e = std::min(job_n_, b + job_chunk_);
    next_begin_ = e;
    lock.unlock();
    fn(b, e);
    lock.lock();
  }
  done_cv_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::worker_loop(int /*worker_idx*/) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    while (next_begin_ < job_n_) {
      int64_t b = next_begin_;
      int64_t e = std::min(job_n_, b + job_chunk_);
      next_begin_ = e;
      const auto* fn = job_;
      lock.unlock();
      (*fn)(b, e);
      lock.lock();
    }
    if (--pending_ == 0) done_cv_.notify_all();
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
