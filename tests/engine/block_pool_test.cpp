#include "kv/block_pool.h"

#include <gtest/gtest.h>

namespace fathom::kv {
namespace {

TEST(BlockPoolTest, AllocateUntilEmptyThenSayNo) {
  BlockPool pool(4);
  auto a = pool.allocate(3);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(pool.num_free(), 1);
  EXPECT_FALSE(pool.allocate(2).has_value());  // "no" is a value, not an error
  EXPECT_EQ(pool.num_free(), 1);
  pool.release(*a);
  EXPECT_EQ(pool.num_free(), 4);
}

TEST(BlockPoolTest, SharedBlocksReturnOnlyAtZeroReferences) {
  BlockPool pool(2);
  auto a = pool.allocate(1);
  ASSERT_TRUE(a);
  pool.retain(*a);
  EXPECT_EQ(pool.ref_count((*a)[0]), 2);
  pool.release(*a);
  EXPECT_EQ(pool.num_free(), 1);
  pool.release(*a);
  EXPECT_EQ(pool.num_free(), 2);
}

TEST(BlockPoolTest, BlocksForTokensRoundsUp) {
  EXPECT_EQ(blocks_for_tokens(0, 16), 0);
  EXPECT_EQ(blocks_for_tokens(1, 16), 1);
  EXPECT_EQ(blocks_for_tokens(16, 16), 1);
  EXPECT_EQ(blocks_for_tokens(17, 16), 2);
}

}  // namespace
}  // namespace fathom::kv
