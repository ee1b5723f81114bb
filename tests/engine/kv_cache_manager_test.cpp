#include "kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <numeric>

namespace fathom::kv {
namespace {

std::vector<int32_t> iota_tokens(int n, int start = 0) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

TEST(KvCacheManagerTest, FullBlocksOfACommittedPrefixAreReused) {
  KvCacheManager m(8, 4, true);
  const auto tokens = iota_tokens(10);
  SequenceBlocks a;
  EXPECT_EQ(m.attach_cached_prefix(a, tokens), 0);
  ASSERT_TRUE(m.grow(a, 10));
  EXPECT_EQ(a.table.size(), 3u);
  m.commit(a, tokens, 10);  // blocks 0 and 1 are full
  SequenceBlocks b;
  EXPECT_EQ(m.attach_cached_prefix(b, tokens), 8);
  EXPECT_EQ(b.table[0], a.table[0]);
  EXPECT_EQ(b.table[1], a.table[1]);
  EXPECT_EQ(m.prefix_hits(), 8);
  EXPECT_EQ(m.prefix_queries(), 20);
}

TEST(KvCacheManagerTest, PrefixesAreKeyedByCacheSalt) {
  // A LoRA adapter's KV differs from the base model's for the same tokens: a prefix cached
  // under one salt (adapter) is never found under another, but is under the same one.
  KvCacheManager m(16, 4, true);
  const auto tokens = iota_tokens(10);
  SequenceBlocks a;
  a.cache_salt = 7;
  ASSERT_TRUE(m.grow(a, 10));
  m.commit(a, tokens, 10);
  SequenceBlocks base, other, same;
  other.cache_salt = 8;
  same.cache_salt = 7;
  EXPECT_EQ(m.attach_cached_prefix(base, tokens), 0);
  EXPECT_EQ(m.attach_cached_prefix(other, tokens), 0);
  EXPECT_EQ(m.attach_cached_prefix(same, tokens), 8);
  EXPECT_EQ(same.table[0], a.table[0]);
}

TEST(KvCacheManagerTest, AtLeastOneTokenIsLeftToCompute) {
  KvCacheManager m(8, 4, true);
  const auto tokens = iota_tokens(8);
  SequenceBlocks a;
  ASSERT_TRUE(m.grow(a, 8));
  m.commit(a, tokens, 8);
  SequenceBlocks b;
  EXPECT_EQ(m.attach_cached_prefix(b, tokens), 4);  // not 8: the last token must run
}

TEST(KvCacheManagerTest, ReleasedBlocksStayCachedUntilEvicted) {
  KvCacheManager m(3, 4, true);
  const auto tokens = iota_tokens(9);
  SequenceBlocks a;
  ASSERT_TRUE(m.grow(a, 9));
  m.commit(a, tokens, 9);
  m.release(a);
  EXPECT_EQ(m.num_free(), 3);
  SequenceBlocks b;
  EXPECT_EQ(m.attach_cached_prefix(b, tokens), 8);
  m.release(b);
  // A different sequence needing every block evicts the cached ones.
  SequenceBlocks c;
  ASSERT_TRUE(m.grow(c, 12));
  m.release(c);
  SequenceBlocks d;
  EXPECT_EQ(m.attach_cached_prefix(d, tokens), 0);
}

TEST(KvCacheManagerTest, GrowSaysNoWithoutChangingAnything) {
  KvCacheManager m(2, 4, false);
  SequenceBlocks a;
  EXPECT_FALSE(m.grow(a, 9));
  EXPECT_TRUE(a.table.empty());
  EXPECT_EQ(m.num_free(), 2);
}

TEST(KvCacheManagerTest, DifferentPrefixesDoNotCollide) {
  KvCacheManager m(8, 4, true);
  const auto x = iota_tokens(9), y = iota_tokens(9, 100);
  SequenceBlocks a;
  ASSERT_TRUE(m.grow(a, 9));
  m.commit(a, x, 9);
  SequenceBlocks b;
  EXPECT_EQ(m.attach_cached_prefix(b, y), 0);
  EXPECT_NE(hash_block(0, std::span(x).first(4)), hash_block(0, std::span(y).first(4)));
}

}  // namespace
}  // namespace fathom::kv
