#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace fathom {
namespace {

TEST(ThreadPoolTest, ParallelForCoversEveryIndexExactlyOnce) {
  ThreadPool pool(3);
  for (int64_t n : {1, 2, 7, 100, 1001}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPoolTest, RepeatedJobsDoNotInterfere) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 200; ++rep)
    pool.parallel_for(64, [&](int64_t b, int64_t e) { sum.fetch_add(e - b); });
  EXPECT_EQ(sum.load(), 200 * 64);
}

// Back-to-back jobs of different sizes and functions: a worker late for one job must never run
// its function on the next job's range (each job checks it saw only its own indices, once).
void check_jobs_stay_apart(ThreadPool& pool) {
  for (int rep = 0; rep < 2000; ++rep) {
    const int64_t n = 1 + (rep * 37) % 97;
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::atomic<int> foreign{0};
    pool.parallel_for(n, [&, n](int64_t b, int64_t e) {
      if (b < 0 || e > n || b >= e) foreign.fetch_add(1);
      for (int64_t i = b; i < e && i < n; ++i) hits[i].fetch_add(1);
    });
    ASSERT_EQ(foreign.load(), 0) << "job " << rep;
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "job " << rep << " i=" << i;
  }
}

TEST(ThreadPoolTest, SpinningWorkersKeepJobsApart) {
  ThreadPool pool(3, /*spin_us=*/100000);
  check_jobs_stay_apart(pool);
}

TEST(ThreadPoolTest, SleepingWorkersKeepJobsApart) {
  ThreadPool pool(3, /*spin_us=*/0);  // every job wakes the workers from the condition variable
  check_jobs_stay_apart(pool);
}

TEST(ThreadPoolTest, WorkIsSharedWhenChunksAreSlow) {
  ThreadPool pool(2, /*spin_us=*/0);
  std::atomic<int> done{0};
  // Chunk 0 blocks until another chunk has run: that needs a second thread, so a pool that
  // ran every chunk on the caller would never finish.
  pool.parallel_for(2, [&](int64_t b, int64_t) {
    if (b == 0)
      while (done.load() == 0) std::this_thread::yield();
    done.fetch_add(1);
  });
  EXPECT_EQ(done.load(), 2);
}

TEST(ThreadPoolTest, DestroysWhileWorkersSpinOrSleep) {
  for (int64_t spin : {int64_t{0}, int64_t{1000000}}) {
    ThreadPool pool(4, spin);
    std::atomic<int64_t> sum{0};
    pool.parallel_for(16, [&](int64_t b, int64_t e) { sum.fetch_add(e - b); });
    EXPECT_EQ(sum.load(), 16);
  }  // the destructor must wake and join them either way
}

}  // namespace
}  // namespace fathom
