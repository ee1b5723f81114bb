#include <gtest/gtest.h>

#include <set>

#include "gateway/quota/token_bucket.h"
#include "gateway/security/api_keys.h"

namespace fathom::gateway {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucketTest, AdmitsUpToCapacityThenRefillsOverThePeriod) {
  FakeClock clock;
  TokenBucket b({.capacity = 60, .period = 60s}, clock);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(b.try_consume(1)) << i;
  EXPECT_FALSE(b.try_consume(1));
  EXPECT_EQ(b.time_until(1), std::chrono::duration_cast<Clock::Duration>(1s));
  clock.advance(1s);
  EXPECT_TRUE(b.try_consume(1));
  EXPECT_FALSE(b.try_consume(1));
  clock.advance(10min);
  EXPECT_DOUBLE_EQ(b.available(), 60.0);  // never above capacity
}

TEST(TokenBucketTest, SettlingCanGoIntoDebtAndRefundsReturnTokens) {
  FakeClock clock;
  TokenBucket b({.capacity = 100, .period = 60s}, clock);
  ASSERT_TRUE(b.try_consume(80));  // pre-check from the prompt size
  b.refund(30);                    // the request used less than estimated
  EXPECT_DOUBLE_EQ(b.available(), 50.0);
  b.force_consume(70);             // real usage was larger
  EXPECT_DOUBLE_EQ(b.available(), -20.0);
  EXPECT_FALSE(b.try_consume(1));
}

TEST(TokenBucketTest, ZeroCapacityIsUnlimited) {
  FakeClock clock;
  TokenBucket b({.capacity = 0}, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.try_consume(1000));
}

TEST(ApiKeysTest, KeysAreRandomAndHashedDeterministically) {
  std::set<std::string> keys;
  for (int i = 0; i < 50; ++i) {
    auto k = generate_api_key();
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(k->rfind("fk-", 0), 0u);
    EXPECT_EQ(k->size(), 3u + 43u);
    keys.insert(*k);
  }
  EXPECT_EQ(keys.size(), 50u);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_api_key("fk-x"), hash_api_key("fk-x"));
  EXPECT_EQ(key_id(hash_api_key("fk-x")).size(), 12u);
}

TEST(ApiKeysTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace fathom::gateway
