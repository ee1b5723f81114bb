#include "runtime/host_buffer_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace fathom::runtime {
namespace {

constexpr size_t kBig = HostBufferPool::kMinPooledBytes * 4;

bool all_zero(const void* p, size_t bytes) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < bytes; ++i)
    if (b[i] != 0) return false;
  return true;
}

TEST(HostBufferPoolTest, ReleasedBlockIsReusedAndZeroedAgain) {
  HostBufferPool pool;
  void* first = nullptr;
  {
    auto a = pool.take(kBig);
    first = a.get();
    ASSERT_TRUE(all_zero(a.get(), kBig));
    std::memset(a.get(), 0xAB, kBig);
  }
  EXPECT_GT(pool.idle_bytes(), 0u);
  auto b = pool.take(kBig - 100);  // a smaller request fits the same block
  EXPECT_EQ(b.get(), first);
  EXPECT_TRUE(all_zero(b.get(), kBig - 100));
  EXPECT_EQ(pool.idle_bytes(), 0u);
}

TEST(HostBufferPoolTest, BlocksInUseAreNeverHandedOutTwice) {
  HostBufferPool pool;
  auto a = pool.take(kBig), b = pool.take(kBig);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.get()) % 64, 0u);
}

TEST(HostBufferPoolTest, AFarLargerIdleBlockIsNotSpentOnASmallRequest) {
  HostBufferPool pool;
  void* huge = nullptr;
  {
    auto a = pool.take(kBig * 16);
    huge = a.get();
  }
  auto b = pool.take(kBig);
  EXPECT_NE(b.get(), huge);
  EXPECT_GT(pool.idle_bytes(), 0u);  // the large one still waits
}

TEST(HostBufferPoolTest, IdleBytesStayUnderTheCap) {
  HostBufferPool pool(/*idle_cap_bytes=*/size_t{4} << 20);
  {
    auto a = pool.take(size_t{3} << 20), b = pool.take(size_t{3} << 20);  // 4 MiB blocks each
  }
  EXPECT_LE(pool.idle_bytes(), size_t{4} << 20);
  EXPECT_GT(pool.idle_bytes(), 0u);
}

TEST(HostBufferPoolTest, SmallRequestsAreZeroedAndNotPooled) {
  HostBufferPool pool;
  { auto a = pool.take(100); ASSERT_TRUE(all_zero(a.get(), 100)); }
  { auto z = pool.take(0); EXPECT_NE(z.get(), nullptr); }
  EXPECT_EQ(pool.idle_bytes(), 0u);
}

TEST(HostBufferPoolTest, BlocksMayOutliveThePool) {
  std::shared_ptr<void> kept;
  {
    HostBufferPool pool;
    kept = pool.take(kBig);
  }
  std::memset(kept.get(), 1, kBig);  // still valid; freed when `kept` goes (ASan checks)
}

TEST(HostBufferPoolTest, ConcurrentTakeAndRelease) {
  HostBufferPool pool;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 200; ++i) {
        auto a = pool.take(kBig * (1 + (i + t) % 3));
        static_cast<unsigned char*>(a.get())[0] = 1;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_LE(pool.idle_bytes(), HostBufferPool::kDefaultIdleCapBytes);
}

}  // namespace
}  // namespace fathom::runtime
