// Against a real Redis: two gateway replicas (two RedisQuota connections) enforce one limit;
// the shared response cache; reconnecting after Redis restarts.
#include "gateway/quota/redis_quota.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <thread>

#include "gateway/response_cache.h"
#include "support/redis_server.h"

namespace fathom::gateway {
namespace {

class RedisQuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.ready()) << "redis-server did not start (scripts/setup.sh installs it)";
    for (auto* replica : {&a_, &b_}) {
      auto q = RedisQuota::connect("127.0.0.1", redis_.port(), "test:");
      ASSERT_TRUE(q.ok()) << q.status().to_string();
      *replica = std::move(*q);
    }
  }
  fathom::testing::RedisServer redis_;
  std::unique_ptr<RedisQuota> a_, b_;
};

TEST_F(RedisQuotaTest, RequestsPerMinuteAreSharedAcrossReplicas) {
  for (auto* q : {a_.get(), b_.get()}) q->set_key_limits("k", {.requests_per_minute = 10});
  const Admission req{"k", "acme", 1};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (auto* q : {a_.get(), b_.get()})
    threads.emplace_back([&, q] {
      for (int i = 0; i < 20; ++i) {
        Clock::Duration retry{};
        if (q->admit(req, &retry).ok()) {
          ++admitted;
          q->release(req, 1);
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 10);  // exactly the limit, not 10 per replica
  Clock::Duration retry{};
  Status s = a_->admit(req, &retry);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("requests per minute"), std::string::npos);
  EXPECT_GT(retry, Clock::Duration::zero());
}

TEST_F(RedisQuotaTest, ConcurrencyAndMonthlyBudgetAcrossReplicas) {
  for (auto* q : {a_.get(), b_.get()}) {
    q->set_tenant_limits("acme", {.max_concurrent = 2, .monthly_tokens = 100});
  }
  const Admission req{"k2", "acme", 10};
  Clock::Duration retry{};
  ASSERT_TRUE(a_->admit(req, &retry).ok());
  ASSERT_TRUE(b_->admit(req, &retry).ok());
  Status third = a_->admit(req, &retry);
  EXPECT_NE(third.message().find("tenant limit on concurrent requests"), std::string::npos) << third.message();
  a_->release(req, 60);
  b_->release(req, 50);  // 110 tokens this month >= 100
  Status budget = b_->admit(req, &retry);
  EXPECT_NE(budget.message().find("monthly token budget"), std::string::npos) << budget.message();
}

TEST_F(RedisQuotaTest, TokensPerMinuteArePrecheckedAndSettled) {
  for (auto* q : {a_.get(), b_.get()}) q->set_key_limits("k3", {.tokens_per_minute = 100});
  const Admission big{"k3", "t3", 80};
  Clock::Duration retry{};
  ASSERT_TRUE(a_->admit(big, &retry).ok());
  EXPECT_FALSE(b_->admit(big, &retry).ok());  // 20 left < 80 estimated
  a_->release(big, 10);                       // only 10 used: 70 refunded
  EXPECT_TRUE(b_->admit(big, &retry).ok());
}

TEST(RedisQuotaConnectTest, UnreachableRedisIsUnavailable) {
  auto q = RedisQuota::connect("127.0.0.1", fathom::testing::free_port());
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), Code::kUnavailable);
}

std::unique_ptr<RedisClient> connect_to(const fathom::testing::RedisServer& redis) {
  auto c = RedisClient::connect("127.0.0.1", redis.port());
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return std::move(*c);
}

TEST(RedisResponseCacheTest, ReplicasShareEntriesThatExpireInRedis) {
  fathom::testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  auto connect = [&] { return connect_to(redis); };
  RedisResponseCache a(connect(), std::chrono::milliseconds(60'000), "t:");
  RedisResponseCache b(connect(), std::chrono::milliseconds(60'000), "t:");
  EXPECT_FALSE(a.get("k").has_value());
  a.put("k", std::string("{\"id\":\"x\"}\0binary", 17));
  auto hit = b.get("k");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(*hit, std::string("{\"id\":\"x\"}\0binary", 17));
  auto probe = connect();
  auto ttl = probe->command({"PTTL", "t:k"});
  ASSERT_TRUE(ttl.ok());
  EXPECT_GT((*ttl)->integer, 0);
  EXPECT_LE((*ttl)->integer, 60'000);
}

// With data protection the entry in Redis is ciphertext (SM4 here); a replica with the same
// key reads it, anything edited in Redis or sealed with another key is a miss.
TEST(RedisResponseCacheTest, EntriesAreEncryptedAtRest) {
  fathom::testing::RedisServer redis;
  ASSERT_TRUE(redis.ready());
  auto connect = [&] { return connect_to(redis); };
  auto key = DataProtection::create(std::string(32, 's'), DataSuite::kSm4);
  auto other = DataProtection::create(std::string(32, 'o'), DataSuite::kSm4);
  ASSERT_TRUE(key.ok() && other.ok());
  RedisResponseCache a(connect(), std::chrono::milliseconds(60'000), "t:", *key);
  RedisResponseCache b(connect(), std::chrono::milliseconds(60'000), "t:", *key);
  RedisResponseCache stranger(connect(), std::chrono::milliseconds(60'000), "t:", *other);
  const std::string answer = R"({"choices":[{"message":{"content":"call 13912345678"}}]})";
  a.put("k", answer);
  EXPECT_EQ(b.get("k"), answer);
  EXPECT_FALSE(stranger.get("k").has_value());
  auto probe = connect();
  auto raw = probe->command({"GET", "t:k"});
  ASSERT_TRUE(raw.ok());
  const std::string stored((*raw)->str, (*raw)->len);
  EXPECT_EQ(stored.find("13912345678"), std::string::npos);
  std::string edited = stored;
  edited[edited.size() / 2] ^= 1;
  ASSERT_TRUE(probe->command({"SET", "t:k", edited}).ok());
  EXPECT_FALSE(b.get("k").has_value());
}

TEST(RedisClientTest, ACommandAfterRedisRestartedReconnects) {
  auto redis = std::make_unique<fathom::testing::RedisServer>();
  ASSERT_TRUE(redis->ready());
  const int port = redis->port();
  auto c = RedisClient::connect("127.0.0.1", port);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->command({"SET", "a", "1"}).ok());
  redis.reset();  // Redis goes away: commands fail with Unavailable, not a crash
  EXPECT_EQ((*c)->command({"GET", "a"}).status().code(), Code::kUnavailable);
  fathom::testing::RedisServer again(port);  // and comes back on the same port
  ASSERT_TRUE(again.ready());
  auto r = (*c)->command({"SET", "a", "2"});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
}

}  // namespace
}  // namespace fathom::gateway
