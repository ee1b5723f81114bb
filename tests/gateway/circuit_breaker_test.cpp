#include "gateway/circuit_breaker.h"

#include <gtest/gtest.h>

namespace fathom::gateway {
namespace {

using namespace std::chrono_literals;

CircuitBreakerConfig config() {
  CircuitBreakerConfig c;
  c.window = 10s;
  c.num_buckets = 10;
  c.min_requests = 4;
  c.error_rate_threshold = 0.5;
  c.sleep_window = 30s;
  c.half_open_probes = 1;
  return c;
}

TEST(CircuitBreakerTest, StaysClosedBelowTheMinimumVolume) {
  FakeClock clock;
  CircuitBreaker b(config(), clock);
  for (int i = 0; i < 3; ++i) b.record(Outcome::kFailure);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_TRUE(b.allow());
}

TEST(CircuitBreakerTest, OpensAtTheErrorRateAndProbesAfterTheSleepWindow) {
  FakeClock clock;
  CircuitBreaker b(config(), clock);
  b.record(Outcome::kSuccess);
  b.record(Outcome::kSuccess);
  b.record(Outcome::kFailure);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  b.record(Outcome::kFailure);  // 2 of 4 = 50%
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.allow());

  clock.advance(29s);
  EXPECT_FALSE(b.allow());
  clock.advance(1s);  // no sleeping in tests
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  EXPECT_TRUE(b.allow());   // the one probe
  EXPECT_FALSE(b.allow());  // no second probe while the first is in flight
  b.record(Outcome::kSuccess);
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.window_counts(), (std::pair<int64_t, int64_t>{0, 0}));
}

TEST(CircuitBreakerTest, AFailedProbeOpensItAgain) {
  FakeClock clock;
  CircuitBreaker b(config(), clock);
  for (int i = 0; i < 4; ++i) b.record(Outcome::kFailure);
  clock.advance(30s);
  ASSERT_TRUE(b.allow());
  b.record(Outcome::kFailure);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  clock.advance(29s);
  EXPECT_EQ(b.state(), BreakerState::kOpen);  // the sleep window restarted
}

TEST(CircuitBreakerTest, OldOutcomesLeaveTheRollingWindow) {
  FakeClock clock;
  CircuitBreaker b(config(), clock);
  for (int i = 0; i < 3; ++i) b.record(Outcome::kFailure);
  clock.advance(11s);  // those three are out of the window now
  for (int i = 0; i < 3; ++i) b.record(Outcome::kSuccess);
  b.record(Outcome::kFailure);
  EXPECT_EQ(b.window_counts(), (std::pair<int64_t, int64_t>{1, 4}));
  EXPECT_EQ(b.state(), BreakerState::kClosed);
}

}  // namespace
}  // namespace fathom::gateway
