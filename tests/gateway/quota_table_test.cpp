#include "gateway/quota/quota_table.h"

#include <gtest/gtest.h>

namespace fathom::gateway {
namespace {

using namespace std::chrono_literals;

const Admission kReq{"key1", "acme", 100};

TEST(QuotaTableTest, RequestsPerMinuteGive429AtTheRightCountWithRetryAfter) {
  FakeClock clock;
  QuotaTable q(clock);
  q.set_key_limits("key1", {.requests_per_minute = 3});
  Clock::Duration retry{};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(q.admit(kReq, &retry).ok()) << i;
    q.release(kReq, 100);
  }
  Status s = q.admit(kReq, &retry);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("3 requests per minute"), std::string::npos);
  EXPECT_EQ(retry, std::chrono::duration_cast<Clock::Duration>(20s));
  clock.advance(20s);
  EXPECT_TRUE(q.admit(kReq, &retry).ok());
}

TEST(QuotaTableTest, TokensPerMinuteArePrecheckedAndSettled) {
  FakeClock clock;
  QuotaTable q(clock);
  q.set_tenant_limits("acme", {.tokens_per_minute = 250});
  Clock::Duration retry{};
  ASSERT_TRUE(q.admit(kReq, &retry).ok());  // 100 estimated
  q.release(kReq, 40);                      // used 40: 60 refunded
  ASSERT_TRUE(q.admit(kReq, &retry).ok());
  q.release(kReq, 100);
  ASSERT_TRUE(q.admit(kReq, &retry).ok());  // 140 + 100 = 240 <= 250
  q.release(kReq, 100);
  Status s = q.admit(kReq, &retry);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("tenant limit of 250 tokens per minute"), std::string::npos) << s.message();
}

TEST(QuotaTableTest, ConcurrencyLimitCountsInFlightRequests) {
  FakeClock clock;
  QuotaTable q(clock);
  q.set_key_limits("key1", {.max_concurrent = 2});
  Clock::Duration retry{};
  ASSERT_TRUE(q.admit(kReq, &retry).ok());
  ASSERT_TRUE(q.admit(kReq, &retry).ok());
  EXPECT_NE(q.admit(kReq, &retry).message().find("limit of 2 concurrent requests"), std::string::npos);
  q.release(kReq, 1);
  EXPECT_TRUE(q.admit(kReq, &retry).ok());
}

TEST(QuotaTableTest, MonthlyBudgetStopsTheTenant) {
  FakeClock clock;
  QuotaTable q(clock);
  q.set_tenant_limits("acme", {.monthly_tokens = 1000});
  q.set_monthly_usage("acme", 950);
  Clock::Duration retry{};
  ASSERT_TRUE(q.admit(kReq, &retry).ok());
  q.release(kReq, 60);  // now 1010
  Status s = q.admit(kReq, &retry);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_NE(s.message().find("monthly token budget"), std::string::npos);
}

TEST(QuotaTableTest, ARejectedRequestChargesNothing) {
  FakeClock clock;
  QuotaTable q(clock);
  q.set_key_limits("key1", {.requests_per_minute = 10});
  q.set_tenant_limits("acme", {.max_concurrent = 1});
  Clock::Duration retry{};
  ASSERT_TRUE(q.admit(kReq, &retry).ok());
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(q.admit(kReq, &retry).ok());  // tenant concurrency
  q.release(kReq, 1);
  // Only one request was charged against the key's 10 per minute.
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(q.admit(kReq, &retry).ok()) << i;
    q.release(kReq, 1);
  }
  EXPECT_FALSE(q.admit(kReq, &retry).ok());
}

}  // namespace
}  // namespace fathom::gateway

namespace fathom::gateway {
namespace {

TEST(QuotaSlotTest, ReleasesOnceWhetherReleasedMovedOrDestroyed) {
  FakeClock clock;
  QuotaTable q(clock);
  q.set_tenant_limits("acme", {.max_concurrent = 1});
  Clock::Duration retry{};
  {
    ASSERT_TRUE(q.admit(kReq, &retry).ok());
    QuotaSlot slot(q, kReq);
    EXPECT_EQ(q.admit(kReq, &retry).code(), Code::kResourceExhausted);  // held
    QuotaSlot moved = std::move(slot);
    slot.release(0);  // moved from: releases nothing
    EXPECT_EQ(q.admit(kReq, &retry).code(), Code::kResourceExhausted);
  }  // destroyed unreleased (an error path): the slot comes back
  ASSERT_TRUE(q.admit(kReq, &retry).ok());
  QuotaSlot slot(q, kReq);
  slot.release(10);
  slot.release(10);  // a second release is a no-op, not a double refund
  ASSERT_TRUE(q.admit(kReq, &retry).ok());
  EXPECT_EQ(q.admit(kReq, &retry).code(), Code::kResourceExhausted);
  q.release(kReq, 0);
}

}  // namespace
}  // namespace fathom::gateway
