#include "gateway/circuit_breaker.h"

#include <algorithm>

namespace fathom::gateway {

const char* breaker_state_name(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig cfg, const Clock& clock)
    : cfg_(cfg), clock_(clock), buckets_(static_cast<size_t>(std::max(cfg.num_buckets, 1))) {}

int64_t CircuitBreaker::epoch_of(Clock::TimePoint t) const {
  const auto slice = std::max<int64_t>(1, std::chrono::duration_cast<Clock::Duration>(cfg_.window).count() /
                                              static_cast<int64_t>(buckets_.size()));
  return t.time_since_epoch().count() / slice;
}

std::pair<int64_t, int64_t> CircuitBreaker::counts_locked() const {
  const int64_t now = epoch_of(clock_.now());
  const int64_t n = static_cast<int64_t>(buckets_.size());
  int64_t failures = 0, requests = 0;
  for (const Bucket& b : buckets_) {
    if (b.epoch > now - n) {
      failures += b.failures;
      requests += b.requests;
    }
  }
  return {failures, requests};
}

void CircuitBreaker::refresh_locked() const {
  if (state_ == BreakerState::kOpen && clock_.now() - opened_at_ >= cfg_.sleep_window)
    state_ = BreakerState::kHalfOpen;
}

bool CircuitBreaker::allow() {
  std::lock_guard<std::mutex> lock(mu_);
  refresh_locked();
  switch (state_) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen: return false;
    case BreakerState::kHalfOpen:
      if (probes_in_flight_ >= cfg_.half_open_probes) return false;
      ++probes_in_flight_;
      return true;
  }
  return false;
}

void CircuitBreaker::record(Outcome outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  refresh_locked();
  const Clock::TimePoint now = clock_.now();
  if (state_ == BreakerState::kHalfOpen) {
    probes_in_flight_ = std::max(0, probes_in_flight_ - 1);
    if (outcome == Outcome::kSuccess) {
      state_ = BreakerState::kClosed;
      for (Bucket& b : buckets_) b = Bucket{};
    } else {
      state_ = BreakerState::kOpen;
      opened_at_ = now;
    }
    return;
  }
  if (state_ == BreakerState::kOpen) return;  // a straggler from before the breaker opened

  const int64_t epoch = epoch_of(now);
  Bucket& b = buckets_[static_cast<size_t>(epoch % static_cast<int64_t>(buckets_.size()))];
  if (b.epoch != epoch) b = Bucket{epoch, 0, 0};
  ++b.requests;
  if (outcome == Outcome::kFailure) ++b.failures;
  const auto [failures, requests] = counts_locked();
  if (requests >= cfg_.min_requests &&
      static_cast<double>(failures) >= cfg_.error_rate_threshold * static_cast<double>(requests)) {
    state_ = BreakerState::kOpen;
    opened_at_ = now;
  }
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  refresh_locked();
  return state_;
}

std::pair<int64_t, int64_t> CircuitBreaker::window_counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_locked();
}

}  // namespace fathom::gateway
